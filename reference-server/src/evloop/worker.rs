//! One event-loop thread: its own epoll (mio `Poll`), a clone of the listening socket, and a slab of
//! [`Slot`]s, one per connection. Readiness is edge-triggered: a connection is read until the socket
//! says `WouldBlock` (or, past a budget, put on a list to continue with after the others), and its
//! replies to one read leave in one write. Buffers are the thread's: one for reads, one for replies;
//! a connection holds bytes only when its client reads too slowly ([`Phase::Open::pending`]).

use std::collections::VecDeque;
use std::io::{self, ErrorKind, Read, Write};
use std::net::Shutdown;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token};

use super::slot::{Carry, Phase, Slot};
use crate::config::Config;
use crate::conn::Connection;
use crate::error::HandshakeError;
use crate::handshake::{parse_request, response_101, response_error, HandshakePolicy};

/// The listening socket's token.
const LISTENER: Token = Token(usize::MAX - 1);
/// The waker's token (shutdown).
pub const WAKER: Token = Token(usize::MAX);
/// Bytes read per system call.
const READ_BUF: usize = 64 * 1024;
/// Reads of one connection per turn before the others get theirs.
pub(super) const READS_PER_TURN: usize = 16;
/// How often deadlines are checked.
const SWEEP: Duration = Duration::from_millis(100);

/// What every worker shares.
pub struct Shared {
    /// The configuration.
    pub config: Config,
    /// Set to stop: every open connection gets close 1001.
    pub stop: AtomicBool,
    /// Connections open across the workers (for `max_connections`).
    pub open: AtomicUsize,
}

/// One worker's state.
pub struct Worker {
    poll: Poll,
    listener: TcpListener,
    pub(super) shared: Arc<Shared>,
    policy: HandshakePolicy,
    pub(super) slots: Vec<Option<Slot>>,
    free: Vec<usize>,
    /// Connections with bytes left to read after their budget.
    again: VecDeque<usize>,
    pub(super) read: Vec<u8>,
    pub(super) out: Vec<u8>,
    start: Instant,
    pub(super) stopping: Option<Instant>,
}

impl Worker {
    /// A worker on `listener` (each worker has its own clone of the listening socket).
    pub fn new(poll: Poll, mut listener: TcpListener, shared: Arc<Shared>) -> io::Result<Worker> {
        poll.registry().register(&mut listener, LISTENER, Interest::READABLE)?;
        let policy = shared.config.handshake_policy();
        Ok(Worker {
            poll,
            listener,
            shared,
            policy,
            slots: Vec::new(),
            free: Vec::new(),
            again: VecDeque::new(),
            read: vec![0; READ_BUF],
            out: Vec::with_capacity(READ_BUF),
            start: Instant::now(),
            stopping: None,
        })
    }

    /// Connection `i` has bytes left: it continues after the others.
    pub(super) fn again_push(&mut self, i: usize) {
        self.again.push_back(i);
    }

    /// Retries accepting (the sweep calls it: an accept that failed for lack of descriptors).
    pub(super) fn accept_more(&mut self) {
        self.accept();
    }

    /// Ends connection `i`.
    pub(super) fn remove_slot(&mut self, i: usize) {
        self.remove(i);
    }

    pub(super) fn now_ms(&self) -> u32 {
        self.start.elapsed().as_millis() as u32
    }

    /// Runs until shutdown is done.
    pub fn run(mut self) -> io::Result<()> {
        let mut events = Events::with_capacity(1024);
        let mut last_sweep = Instant::now();
        loop {
            let timeout = if self.again.is_empty() { SWEEP } else { Duration::ZERO };
            if let Err(e) = self.poll.poll(&mut events, Some(timeout)) {
                if e.kind() != ErrorKind::Interrupted {
                    return Err(e);
                }
            }
            for ev in events.iter() {
                match ev.token() {
                    LISTENER => self.accept(),
                    WAKER => {}
                    Token(i) => self.ready(i),
                }
            }
            for _ in 0..self.again.len() {
                if let Some(i) = self.again.pop_front() {
                    self.ready(i);
                }
            }
            if self.shared.stop.load(Ordering::Relaxed) && self.stopping.is_none() {
                self.begin_shutdown();
            }
            if last_sweep.elapsed() >= SWEEP {
                last_sweep = Instant::now();
                self.sweep();
            }
            if let Some(since) = self.stopping {
                let grace = self.shared.config.close_timeout * 2 + Duration::from_secs(1);
                if self.slots.iter().all(Option::is_none) || since.elapsed() > grace {
                    return Ok(());
                }
            }
        }
    }

    /// Accepts until the backlog is empty.
    fn accept(&mut self) {
        if self.stopping.is_some() {
            return;
        }
        loop {
            match self.listener.accept() {
                Ok((stream, _)) => self.insert(stream),
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => {
                    // out of file descriptors, or a reset before accept: the sweep tries again
                    tracing::warn!(error = %e, "accept failed");
                    return;
                }
            }
        }
    }

    fn insert(&mut self, mut stream: TcpStream) {
        let _ = stream.set_nodelay(true);
        let i = self.free.pop().unwrap_or(self.slots.len());
        if let Err(e) = self.poll.registry().register(&mut stream, Token(i), Interest::READABLE | Interest::WRITABLE) {
            tracing::warn!(error = %e, "cannot register a connection");
            return;
        }
        let slot = Slot { stream, since: self.now_ms(), phase: Phase::Handshake { partial: None } };
        if i == self.slots.len() {
            self.slots.push(Some(slot));
        } else {
            self.slots[i] = Some(slot);
        }
        // the request may already be there: edge-triggered readiness has been reported before
        self.again.push_back(i);
    }

    fn remove(&mut self, i: usize) {
        if let Some(mut slot) = self.slots.get_mut(i).and_then(Option::take) {
            let _ = self.poll.registry().deregister(&mut slot.stream);
            if matches!(slot.phase, Phase::Open { .. }) {
                self.shared.open.fetch_sub(1, Ordering::Relaxed);
            }
            self.free.push(i);
        }
    }

    /// A connection is readable or writable (or was left with bytes to read).
    fn ready(&mut self, i: usize) {
        let Some(mut slot) = self.slots.get_mut(i).and_then(Option::take) else { return };
        let was_handshake = matches!(slot.phase, Phase::Handshake { .. });
        let mut keep = match slot.phase {
            Phase::Handshake { .. } => self.handshake(&mut slot),
            Phase::Open { .. } => self.open(&mut slot, i),
            Phase::Draining { .. } => drain(&mut slot, &mut self.read),
        };
        // a connection that just began to drain sends its FIN now (no readiness event may follow)
        if keep && matches!(slot.phase, Phase::Draining { shut: false, .. }) {
            keep = drain(&mut slot, &mut self.read);
        }
        // a connection just opened may have more bytes waiting than the handshake's read took:
        // readiness is edge-triggered, so it is read on the next turn without waiting for an event
        if keep && was_handshake && matches!(slot.phase, Phase::Open { .. }) {
            self.again.push_back(i);
        }
        self.slots[i] = Some(slot);
        if !keep {
            self.remove(i);
        }
    }
}

/// Writes `bytes`; returns what the socket did not take (`Err`: the connection is gone).
pub fn write_some(stream: &mut TcpStream, bytes: &[u8]) -> io::Result<Option<Box<Vec<u8>>>> {
    let mut pos = 0;
    while pos < bytes.len() {
        match stream.write(&bytes[pos..]) {
            Ok(0) => return Err(ErrorKind::WriteZero.into()),
            Ok(n) => pos += n,
            Err(e) if e.kind() == ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok((pos < bytes.len()).then(|| Box::new(bytes[pos..].to_vec())))
}

/// Flushes a connection's pending output; `Ok(true)` when all of it is written.
pub fn flush(stream: &mut TcpStream, pending: &mut Option<Box<Vec<u8>>>) -> io::Result<bool> {
    if let Some(p) = pending.take() {
        *pending = write_some(stream, &p)?;
    }
    Ok(pending.is_none())
}

/// Reads and discards until the client closes (`false`: remove it) or the socket is empty.
fn drain(slot: &mut Slot, scratch: &mut [u8]) -> bool {
    let Phase::Draining { pending, shut } = &mut slot.phase else { return true };
    match flush(&mut slot.stream, pending) {
        Ok(true) => {}
        Ok(false) => return true,
        Err(_) => return false,
    }
    if !*shut {
        // RFC 6455 §7.1.1: the server closes TCP first
        let _ = slot.stream.shutdown(Shutdown::Write);
        *shut = true;
    }
    loop {
        match slot.stream.read(scratch) {
            Ok(0) => return false,
            Ok(_) => {}
            Err(e) if e.kind() == ErrorKind::WouldBlock => return true,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => return false,
        }
    }
}

impl Worker {
    /// Reads the opening handshake; answers it once complete.
    fn handshake(&mut self, slot: &mut Slot) -> bool {
        let Phase::Handshake { partial } = &mut slot.phase else { return true };
        let mut head = partial.take().map(|b| *b).unwrap_or_default();
        loop {
            let n = match slot.stream.read(&mut self.read) {
                Ok(0) => return false,
                Ok(n) => n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(_) => return false,
            };
            // most requests come in one read: parsed from the thread's buffer, nothing kept
            let parsed = if head.is_empty() {
                parse_request(&self.read[..n], &self.policy)
            } else {
                head.extend_from_slice(&self.read[..n]);
                parse_request(&head, &self.policy)
            };
            match parsed {
                Ok(None) => {
                    if head.is_empty() {
                        head.extend_from_slice(&self.read[..n]);
                    }
                }
                Ok(Some((accepted, head_len))) => {
                    let bytes: &[u8] = if head.is_empty() { &self.read[..n] } else { &head };
                    let rest = bytes[head_len..].to_vec();
                    return self.accepted(slot, accepted, &rest);
                }
                Err(e) => return refuse(slot, &e),
            }
        }
        if !head.is_empty() {
            *partial = Some(Box::new(head));
        }
        true
    }

    fn accepted(&mut self, slot: &mut Slot, accepted: crate::handshake::Accepted, rest: &[u8]) -> bool {
        let cap = self.shared.config.max_connections.unwrap_or(usize::MAX);
        if self.shared.open.fetch_add(1, Ordering::Relaxed) >= cap {
            self.shared.open.fetch_sub(1, Ordering::Relaxed);
            return refuse(slot, &HandshakeError::TooManyConnections);
        }
        tracing::debug!(path = %accepted.path, deflate = ?accepted.deflate, "opening handshake complete");
        let mut conn = Connection::with_deflate(self.shared.config.limits(), accepted.deflate);
        self.out.clear();
        self.out.extend_from_slice(&response_101(&accepted));
        let used = conn.process(rest, &mut self.out);
        let mut carry = Carry::default();
        carry.set(&rest[used..]);
        let pending = match write_some(&mut slot.stream, &self.out) {
            Ok(p) => p,
            Err(_) => {
                self.shared.open.fetch_sub(1, Ordering::Relaxed);
                return false;
            }
        };
        slot.since = self.now_ms();
        if conn.state() == crate::conn::State::Closed {
            // the client's close came with its request: answered, and the server closes TCP first
            self.shared.open.fetch_sub(1, Ordering::Relaxed);
            slot.phase = Phase::Draining { pending, shut: false };
            return true;
        }
        slot.phase = Phase::Open { conn, carry, pending, closing: false };
        true
    }
}

/// Answers a refused request with its status and closes.
pub fn refuse(slot: &mut Slot, e: &HandshakeError) -> bool {
    tracing::debug!(error = %e, "handshake refused");
    match write_some(&mut slot.stream, &response_error(e)) {
        Ok(pending) => {
            slot.phase = Phase::Draining { pending, shut: false };
            true
        }
        Err(_) => false,
    }
}
