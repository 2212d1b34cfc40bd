//! Connections beyond the file-descriptor limit: after its handshake (done by the tokio driver,
//! a bounded number at a time), a connection's socket moves into an io_uring fixed-file table and
//! its file descriptor is closed. A fixed-file table holds up to `RLIMIT_NOFILE` sockets and a
//! process may have several rings, so one process holds many more connections than its descriptor
//! limit (which an unprivileged process cannot raise past the hard limit). Each ring runs on its own
//! thread and drives its connections (their [`Work`]): one multishot receive per connection into a
//! shared ring of provided buffers (no per-connection read buffer, no resubmission per read), sends
//! from per-connection buffers, one `io_uring_enter` for all the work of a loop turn, timers from a
//! heap.
//!
//! The ring only moves bytes: what they mean is its [`Work`]'s, the echo load's sessions
//! ([`echo`]) or a scenario's links ([`crate::scenario::uring`]).
//!
//! Kernel features used: sparse fixed-file tables and `IORING_REGISTER_FILES_UPDATE` (5.19),
//! provided-buffer rings (5.19), multishot receive (6.0), close of a fixed file (5.15).

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::net::TcpStream as StdStream;
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::Duration;

use io_uring::{cqueue, opcode, squeue, types, IoUring};

use super::bufring::BufRing;
use super::payload::{Outbox, PayloadBook, IOV_MAX};
use super::session::Next;

pub mod echo;
mod work;

pub use work::{Fault, Work};

/// Submission queue entries per ring.
const ENTRIES: u32 = 4096;
/// Receive buffers a ring provides to the kernel, for `per_ring` connections. The kernel takes them
/// in turn around the ring, so all of them are the working set: a small pool stays in the CPU's
/// cache, which matters more than the number of completions (a pool of 256 KiB buffers cost the
/// generator a third more CPU per 64 KiB echo than this one). A buffer is in use only from a
/// receive's completion to the end of its processing, in the same loop turn; a receive that finds
/// none ends and is re-armed. A buffer ring's size is a power of two.
fn buffers_for(per_ring: u64) -> (u16, usize) {
    match per_ring {
        0..=64 => (64, 16 * 1024),
        65..=256 => (per_ring.next_power_of_two() as u16, 16 * 1024),
        257..=4096 => (1024, 16 * 1024),
        _ => (4096, 4 * 1024),
    }
}
/// `WSHARNESS_URING_BUFFERS=COUNT,SIZE` overrides [`buffers_for`] (tests use it to run out of
/// buffers on purpose); COUNT is rounded up to a power of two.
fn buffers_from_env() -> Option<(u16, usize)> {
    let v = std::env::var("WSHARNESS_URING_BUFFERS").ok()?;
    let (count, size) = v.split_once(',')?;
    let count: u16 = count.trim().parse().ok().filter(|c| (1..=1 << 15).contains(c))?;
    let size: usize = size.trim().parse().ok().filter(|s| (64..=1 << 24).contains(s))?;
    Some((count.next_power_of_two(), size))
}
/// How many rings, and how many slots each, for `connections` with a descriptor limit of `fd_soft`:
/// as few rings as the limit allows (a fixed-file table holds at most the limit), each sized for
/// its share of the connections (handed out in turn, never more than that share), not for the
/// limit: a ring's slots are memory in this process and in the kernel, and a soft limit of 2^20
/// (common in containers) would cost hundreds of megabytes for a run of two connections.
fn ring_sizes(connections: u64, fd_soft: u64) -> (usize, u32) {
    let most = fd_soft.saturating_sub(16).clamp(1, 1 << 20);
    let rings = connections.div_ceil(most).max(1);
    let share = connections.div_ceil(rings).clamp(1, most);
    (rings as usize, share as u32)
}
/// Completions handled per turn of a ring's loop, at most: its timers run between two chunks. A
/// broadcast reaching 10,000 receivers on one ring is 10,000 completions (tens of milliseconds of
/// work); a connection due to send in the meantime (the publisher) must not wait for all of them,
/// or its lateness counts in every latency measured from its intended send time.
const CQE_CHUNK: usize = 256;
/// Buffer group id.
const BGID: u16 = 7;
/// Longest sleep of a ring thread (it also watches for new connections and the run's tokens).
const MAX_WAIT_NS: u64 = 10_000_000;
/// Closed loop: a ring thread sleeps until half its connections (at most this many) have echoes
/// waiting, or a sixteenth of the recent echo latency has passed (at most [`BATCH_WAIT_NS`]). A
/// thread woken for each arrival spends more on waking than on the echoes it finds, and the
/// generator must cost less per echo than the server it loads. The wait bounds what it adds to a
/// measured latency to about 6%; when the server is saturated it adds nothing, since a closed
/// loop's latency is then its messages in flight over its throughput (Little's law) either way.
const BATCH_MAX: u32 = 256;
/// Longest a ring thread waits for a batch of arrivals.
const BATCH_WAIT_NS: u64 = 200_000;
/// Waits shorter than this are not worth a timer: the thread takes what has arrived.
const BATCH_WAIT_MIN_NS: u64 = 10_000;
/// A connection whose session is over waits this long at most for its last send (a close frame
/// owed, most often) before its socket is closed: a peer that does not read would hold it forever.
const END_GRACE_NS: u64 = 100_000_000;

const RECV: u64 = 1;
const SEND: u64 = 2;
const CLOSE: u64 = 3;
/// Completions nobody waits for (cancellations).
const OTHER: u64 = 0;

fn user_data(kind: u64, gen: u32, slot: u32) -> u64 {
    kind << 62 | u64::from(gen & 0x3FFF_FFFF) << 32 | u64::from(slot)
}

fn split(ud: u64) -> (u64, u32, u32) {
    (ud >> 62, ((ud >> 32) & 0x3FFF_FFFF) as u32, ud as u32)
}

/// A ring whose completions are processed only when its thread enters the kernel to wait for them
/// (no inter-processor interrupt per completion: `DEFER_TASKRUN`, 6.1), with a sparse fixed-file
/// table of `capacity` slots; a plain ring where the kernel is older.
fn new_ring(capacity: u32) -> std::io::Result<IoUring> {
    let ring = match IoUring::builder().setup_single_issuer().setup_defer_taskrun().setup_coop_taskrun().build(ENTRIES)
    {
        Ok(r) => r,
        Err(_) => IoUring::new(ENTRIES)?,
    };
    ring.submitter().register_files_sparse(capacity)?;
    Ok(ring)
}

/// A connection on its way to a ring: its socket (out of tokio), unread bytes, its state.
struct Handoff<C> {
    stream: StdStream,
    leftover: Vec<u8>,
    conn: C,
}

/// The rings and their threads.
pub struct Pool<W: Work> {
    senders: Vec<Mutex<Sender<Handoff<W::Conn>>>>,
    next: AtomicUsize,
    threads: Mutex<Vec<JoinHandle<()>>>,
    ctx: Arc<OnceLock<Arc<W>>>,
    stop: Arc<AtomicBool>,
    /// Sockets each ring can hold.
    pub capacity: u32,
}

impl<W: Work> Pool<W> {
    /// Rings enough for `connections` with a descriptor limit of `fd_soft`; fails when io_uring or a
    /// feature it needs is missing.
    pub fn start(connections: u64, fd_soft: u64) -> std::io::Result<Pool<W>> {
        let (rings, capacity) = ring_sizes(connections, fd_soft);
        let bufs = buffers_from_env().unwrap_or_else(|| buffers_for(connections.div_ceil(rings as u64)));
        let ctx: Arc<OnceLock<Arc<W>>> = Arc::new(OnceLock::new());
        let stop = Arc::new(AtomicBool::new(false));
        let mut senders = Vec::new();
        let mut threads = Vec::new();
        let (ready_tx, ready_rx) = channel::<std::io::Result<()>>();
        for i in 0..rings {
            let (tx, rx) = channel();
            let (ctx, stop, ready) = (Arc::clone(&ctx), Arc::clone(&stop), ready_tx.clone());
            let handle = std::thread::Builder::new().name(format!("wsharness-uring-{i}")).spawn(move || {
                // the ring is made on its own thread: a single-issuer ring belongs to the thread that made it
                match new_ring(capacity)
                    .and_then(|ring| BufRing::register(&ring, BGID, bufs.0, bufs.1).map(|b| (ring, b)))
                {
                    Ok((ring, bufs)) => {
                        let _ = ready.send(Ok(()));
                        Ring::new(ring, bufs, capacity, rx).run(&ctx, &stop);
                    }
                    Err(e) => {
                        let _ = ready.send(Err(e));
                    }
                }
            })?;
            senders.push(Mutex::new(tx));
            threads.push(handle);
        }
        for _ in 0..rings {
            let failed = match ready_rx.recv() {
                Ok(Ok(())) => None,
                Ok(Err(e)) => Some(e),
                Err(_) => Some(std::io::Error::other("an io_uring thread ended before its ring was ready")),
            };
            if let Some(e) = failed {
                stop.store(true, Ordering::Relaxed);
                for t in threads {
                    let _ = t.join();
                }
                return Err(e);
            }
        }
        Ok(Pool { senders, next: AtomicUsize::new(0), threads: Mutex::new(threads), ctx, stop, capacity })
    }

    /// Gives the rings the run's context; they start driving connections.
    pub fn attach(&self, ctx: Arc<W>) {
        let _ = self.ctx.set(ctx);
    }

    /// The run's context, once attached.
    pub fn work(&self) -> Option<&Arc<W>> {
        self.ctx.get()
    }

    /// Takes over an open connection: its socket, the bytes read after its handshake, its state.
    pub fn hand(&self, stream: StdStream, leftover: Vec<u8>, conn: W::Conn) {
        let i = self.next.fetch_add(1, Ordering::Relaxed) % self.senders.len();
        let tx = self.senders[i].lock().unwrap_or_else(|p| p.into_inner());
        if let Err(back) = tx.send(Handoff { stream, leftover, conn }) {
            // the ring is gone (the run is ending): the connection just closes
            let mut conn = back.0.conn;
            if let Some(ctx) = self.ctx.get() {
                ctx.closed(&mut conn);
            }
        }
    }

    /// Ends every ring thread (their remaining connections are dropped) and waits for them.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
        let threads = std::mem::take(&mut *self.threads.lock().unwrap_or_else(|p| p.into_inner()));
        for t in threads {
            let _ = t.join();
        }
    }
}

/// One connection in a ring.
struct Conn<C> {
    state: C,
    gen: u32,
    wbuf: Outbox,
    woff: usize,
    sending: bool,
    next_out: Outbox,
    /// The slices of a vectored send in progress (into `wbuf` and the run's payload book).
    iov: Vec<libc::iovec>,
    recv_armed: bool,
    ended: bool,
    end_after_send: bool,
    ops: u32,
    wake_at: u64,
    /// Once the session is over with a send in flight: when the connection ends anyway.
    end_by: u64,
}

/// One ring and its connections.
struct Ring<W: Work> {
    // dropped first: the kernel is done with the buffers before they are freed
    ring: IoUring,
    bufs: BufRing,
    rx: Receiver<Handoff<W::Conn>>,
    conns: Vec<Option<Conn<W::Conn>>>,
    free: Vec<u32>,
    gens: Vec<u32>,
    cqes: Vec<cqueue::Entry>,
    heap: BinaryHeap<Reverse<(u64, u32, u32)>>,
    retry_recv: Vec<u32>,
    draining: bool,
    live: usize,
    /// Sends submitted since the last wait (most complete at once, each with a completion).
    sends: u32,
}

impl<W: Work> Ring<W> {
    fn new(ring: IoUring, bufs: BufRing, capacity: u32, rx: Receiver<Handoff<W::Conn>>) -> Ring<W> {
        Ring {
            ring,
            bufs,
            rx,
            conns: (0..capacity).map(|_| None).collect(),
            free: (0..capacity).rev().collect(),
            gens: vec![0; capacity as usize],
            cqes: Vec::with_capacity(ENTRIES as usize),
            heap: BinaryHeap::new(),
            retry_recv: Vec::new(),
            draining: false,
            live: 0,
            sends: 0,
        }
    }

    fn push(&mut self, e: squeue::Entry) {
        loop {
            // SAFETY: every buffer an entry points into (the provided-buffer pool, a connection's
            // write buffer and slice list, the run's payload book) lives until its completion: the
            // pool for the ring's life, a write buffer and slice list untouched while `sending`,
            // the book for the run (its context outlives the ring's loop)
            if unsafe { self.ring.submission().push(&e) }.is_ok() {
                return;
            }
            if self.ring.submit().is_err() {
                return;
            }
        }
    }

    fn run(mut self, ctx: &OnceLock<Arc<W>>, stop: &AtomicBool) {
        let ctx = loop {
            if let Some(c) = ctx.get() {
                break Arc::clone(c);
            }
            if stop.load(Ordering::Relaxed) {
                return;
            }
            std::thread::sleep(Duration::from_millis(1));
        };
        let mut aborted = false;
        loop {
            if stop.load(Ordering::Relaxed) {
                break;
            }
            let now = ctx.now_ns();
            while let Ok(h) = self.rx.try_recv() {
                self.adopt(&ctx, h, now);
            }
            if !self.draining && ctx.stopping() {
                self.draining = true;
                for slot in 0..self.conns.len() as u32 {
                    if let Some(c) = self.conns[slot as usize].as_mut() {
                        ctx.stop_sending(&mut c.state);
                        self.service(&ctx, slot, now);
                    }
                }
            }
            if !aborted && ctx.aborted() {
                aborted = true;
                for slot in 0..self.conns.len() as u32 {
                    if let Some(c) = self.conns[slot as usize].as_mut() {
                        if !c.ended {
                            ctx.abandon(&mut c.state);
                            self.end(&ctx, slot);
                        }
                    }
                }
            }
            if aborted && self.live == 0 {
                break;
            }
            self.completions(&ctx);
            // timers
            let now = ctx.now_ns();
            while let Some(Reverse((t, slot, gen))) = self.heap.peek().copied() {
                if t > now {
                    break;
                }
                self.heap.pop();
                let due = self.conns[slot as usize].as_mut().filter(|c| c.gen == gen && c.wake_at == t && !c.ended);
                if let Some(c) = due {
                    c.wake_at = u64::MAX;
                    self.service(&ctx, slot, now);
                }
            }
            for slot in std::mem::take(&mut self.retry_recv) {
                self.arm_recv(slot);
            }
            let next = self.heap.peek().map_or(u64::MAX, |Reverse((t, _, _))| *t);
            let mut wait = next.saturating_sub(ctx.now_ns()).min(MAX_WAIT_NS);
            let mut want = 1;
            if let Some(patience) = ctx.patience_ns().filter(|_| !self.draining) {
                let batch = (self.live as u32 / 2).clamp(1, BATCH_MAX);
                if batch > 1 && patience >= BATCH_WAIT_MIN_NS {
                    // the sends just submitted complete at once: wait for arrivals beyond them
                    want = batch + std::mem::take(&mut self.sends);
                    wait = wait.min(patience).min(BATCH_WAIT_NS);
                }
            }
            self.sends = 0;
            let ts = types::Timespec::new().nsec(wait as u32);
            let args = types::SubmitArgs::new().timespec(&ts);
            match self.ring.submitter().submit_with_args(want as usize, &args) {
                Ok(_) => {}
                Err(e) if e.raw_os_error() == Some(libc::ETIME) || e.raw_os_error() == Some(libc::EINTR) => {}
                Err(e) if e.raw_os_error() == Some(libc::EBUSY) => {}
                Err(_) => break,
            }
        }
        // what is left is dropped with the ring: the kernel closes the sockets
        for c in self.conns.iter_mut().flatten() {
            if !c.ended {
                ctx.closed(&mut c.state);
            }
        }
    }

    fn adopt(&mut self, ctx: &W, h: Handoff<W::Conn>, now: u64) {
        let Handoff { stream, leftover, conn: mut state } = h;
        let Some(slot) = self.free.pop() else {
            // more connections than this ring can hold: cannot happen with the pool's sizing
            ctx.fault(Fault::NoSlot);
            ctx.closed(&mut state);
            return;
        };
        if self.ring.submitter().register_files_update(slot, &[stream.as_raw_fd()]).is_err() {
            self.free.push(slot);
            ctx.fault(Fault::Register);
            ctx.closed(&mut state);
            return;
        }
        // the ring holds the socket now; its descriptor goes back to the process
        drop(stream);
        let gen = self.gens[slot as usize].wrapping_add(1);
        self.gens[slot as usize] = gen;
        let alive = leftover.is_empty() || ctx.on_bytes(&mut state, &leftover, now);
        if self.draining {
            ctx.stop_sending(&mut state);
        }
        self.conns[slot as usize] = Some(Conn {
            state,
            gen,
            wbuf: Outbox::default(),
            woff: 0,
            sending: false,
            next_out: Outbox::default(),
            iov: Vec::new(),
            recv_armed: false,
            ended: false,
            end_after_send: !alive,
            ops: 0,
            wake_at: u64::MAX,
            end_by: u64::MAX,
        });
        self.live += 1;
        if alive {
            self.arm_recv(slot);
        }
        self.service(ctx, slot, now);
    }

    fn arm_recv(&mut self, slot: u32) {
        let Some(c) = self.conns[slot as usize].as_mut() else { return };
        if c.recv_armed || c.ended {
            return;
        }
        c.recv_armed = true;
        c.ops += 1;
        // one request for every read until the connection ends (or the buffers run out)
        let e = opcode::RecvMulti::new(types::Fixed(slot), BGID).build().user_data(user_data(RECV, c.gen, slot));
        self.push(e);
    }

    fn submit_send(&mut self, slot: u32, book: &PayloadBook) {
        let Some(c) = self.conns[slot as usize].as_mut() else { return };
        if c.sending || c.woff >= c.wbuf.len() {
            return;
        }
        c.sending = true;
        c.ops += 1;
        self.sends += 1;
        let e = if c.wbuf.contiguous() {
            let rest = &c.wbuf.own_bytes()[c.woff..];
            opcode::Send::new(types::Fixed(slot), rest.as_ptr(), rest.len() as u32).flags(libc::MSG_NOSIGNAL).build()
        } else {
            // large messages' bodies go from the payload book, not copied (a write to a closed
            // socket is EPIPE: Rust programs ignore SIGPIPE)
            let Conn { wbuf, iov, woff, .. } = c;
            iov.clear();
            wbuf.each_slice(book, *woff, IOV_MAX, |s| {
                iov.push(libc::iovec { iov_base: s.as_ptr() as *mut libc::c_void, iov_len: s.len() })
            });
            opcode::Writev::new(types::Fixed(slot), iov.as_ptr(), iov.len() as u32).build()
        };
        let e = e.user_data(user_data(SEND, c.gen, slot));
        self.push(e);
    }

    /// Lets the session write what is due, sends it, and schedules its next wake-up.
    fn service(&mut self, ctx: &W, slot: u32, now: u64) {
        let draining = self.draining;
        let Some(c) = self.conns[slot as usize].as_mut() else { return };
        if c.ended {
            return;
        }
        let out = if c.sending { &mut c.next_out } else { &mut c.wbuf };
        let next = ctx.fill(&mut c.state, now, draining, out);
        match next {
            Next::End => c.end_after_send = true,
            Next::WakeAt(t) if t < c.wake_at => {
                c.wake_at = t;
                self.heap.push(Reverse((t, slot, c.gen)));
            }
            _ => {}
        }
        let (sending, end) = (c.sending, c.end_after_send);
        if end && sending {
            // the last send may never complete (a peer that does not read): wait for it a while
            if c.end_by == u64::MAX {
                c.end_by = now + END_GRACE_NS;
                c.wake_at = c.end_by;
                self.heap.push(Reverse((c.end_by, slot, c.gen)));
            } else if now >= c.end_by {
                self.end(ctx, slot);
            }
            return;
        }
        self.submit_send(slot, ctx.book());
        let still_sending = self.conns[slot as usize].as_ref().is_some_and(|c| c.sending);
        if end && !sending && !still_sending {
            self.end(ctx, slot);
        }
    }

    /// Ends a connection: cancels its receive and its send, closes its fixed file; the slot is
    /// reused once every operation on it has completed.
    fn end(&mut self, ctx: &W, slot: u32) {
        let Some(c) = self.conns[slot as usize].as_mut() else { return };
        if c.ended {
            return;
        }
        c.ended = true;
        c.ops += 1;
        let (gen, recv_armed, sending) = (c.gen, c.recv_armed, c.sending);
        ctx.closed(&mut c.state);
        self.live -= 1;
        for (armed, kind) in [(recv_armed, RECV), (sending, SEND)] {
            if armed {
                let cancel =
                    opcode::AsyncCancel::new(user_data(kind, gen, slot)).build().user_data(user_data(OTHER, 0, 0));
                self.push(cancel);
            }
        }
        let close = opcode::Close::new(types::Fixed(slot)).build().user_data(user_data(CLOSE, gen, slot));
        self.push(close);
    }

    fn op_done(&mut self, slot: u32) {
        let free = match self.conns[slot as usize].as_mut() {
            Some(c) => {
                c.ops = c.ops.saturating_sub(1);
                c.ended && c.ops == 0
            }
            None => false,
        };
        if free {
            self.conns[slot as usize] = None;
            self.free.push(slot);
        }
    }

    /// Handles at most [`CQE_CHUNK`] completions; the rest wait for the next turn of the loop.
    fn completions(&mut self, ctx: &W) {
        let mut cqes = std::mem::take(&mut self.cqes);
        cqes.extend(self.ring.completion().take(CQE_CHUNK));
        for cqe in cqes.drain(..) {
            let (kind, gen, slot) = split(cqe.user_data());
            let (res, flags) = (cqe.result(), cqe.flags());
            match kind {
                RECV => {
                    if let Some(bid) = cqueue::buffer_select(flags) {
                        if res > 0 {
                            self.on_recv(ctx, slot, gen, bid, res as usize);
                        }
                        self.bufs.give_back(bid);
                    }
                    if !cqueue::more(flags) {
                        // the multishot receive is over: re-armed, or the connection ends
                        self.on_recv_end(ctx, slot, gen, res);
                    }
                }
                SEND => self.on_send(ctx, slot, gen, res),
                CLOSE => self.op_done(slot),
                _ => {}
            }
        }
        self.cqes = cqes;
        self.bufs.publish();
    }

    fn on_recv(&mut self, ctx: &W, slot: u32, gen: u32, bid: u16, n: usize) {
        let now = ctx.now_ns();
        let Some(c) = self.conns[slot as usize].as_mut().filter(|c| c.gen == gen) else { return };
        if c.ended || c.end_after_send {
            return;
        }
        let data = self.bufs.data(bid, n);
        if !ctx.on_bytes(&mut c.state, data, now) {
            c.end_after_send = true;
        }
        self.service(ctx, slot, now);
    }

    fn on_recv_end(&mut self, ctx: &W, slot: u32, gen: u32, res: i32) {
        let Some(c) = self.conns[slot as usize].as_mut().filter(|c| c.gen == gen) else { return };
        c.recv_armed = false;
        let (ended, stopping) = (c.ended, c.end_after_send);
        let closing = ctx.closing(&c.state);
        self.op_done(slot);
        if ended || stopping {
            return;
        }
        if res > 0 || res == -libc::ENOBUFS {
            // ended with data or for want of a buffer: buffers are back at the end of this turn
            self.retry_recv.push(slot);
            return;
        }
        if res == 0 {
            if !closing {
                // TCP closed without a close frame: RFC 6455 §7.1.5 calls this 1006
                ctx.fault(Fault::Eof);
            }
        } else if res < 0 {
            ctx.fault(Fault::Io(std::io::Error::from_raw_os_error(-res)));
        }
        self.end(ctx, slot);
    }

    fn on_send(&mut self, ctx: &W, slot: u32, gen: u32, res: i32) {
        let Some(c) = self.conns[slot as usize].as_mut().filter(|c| c.gen == gen) else { return };
        c.sending = false;
        if c.ended {
            self.op_done(slot);
            return;
        }
        if res < 0 {
            ctx.fault(Fault::Io(std::io::Error::from_raw_os_error(-res)));
            self.op_done(slot);
            self.end(ctx, slot);
            return;
        }
        c.woff += res as usize;
        if c.woff >= c.wbuf.len() {
            c.wbuf.clear(1 << 20);
            c.woff = 0;
            std::mem::swap(&mut c.wbuf, &mut c.next_out);
        }
        let end = c.end_after_send && c.wbuf.is_empty();
        self.op_done(slot);
        if end {
            self.end(ctx, slot);
        } else {
            self.submit_send(slot, ctx.book());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_data_round_trips() {
        for (k, g, s) in [(RECV, 1, 0), (SEND, 0x3FFF_FFFF, u32::MAX), (CLOSE, 77, 12345)] {
            assert_eq!(split(user_data(k, g, s)), (k, g, s));
        }
    }

    #[test]
    fn rings_are_sized_for_the_connections_not_the_descriptor_limit() {
        // two connections under a container's soft limit of 2^20: one ring of two slots
        assert_eq!(ring_sizes(2, 1 << 20), (1, 2));
        assert_eq!(ring_sizes(2, u64::MAX), (1, 2));
        // 50,000 connections under a limit of 20,000: three rings, none over the limit
        assert_eq!(ring_sizes(50_000, 20_000), (3, 16_667));
        assert_eq!(ring_sizes(19_984, 20_000), (1, 19_984));
        assert_eq!(ring_sizes(0, 20_000), (1, 1));
        assert_eq!(ring_sizes(10, 0), (10, 1));
    }
}
