//! The tokio driver: one task per connection moves bytes between its socket and its [`Session`].
//!
//! Speed comes from batching, not from per-message work: each wake-up reads what the socket holds
//! (four reads at most) into a per-thread 64 KiB buffer (no per-connection read
//! buffer), hands it to the session in one call, and writes everything the session then owes in
//! one system call. Frames are built from pre-masked templates into a reused write buffer; nothing
//! is allocated per message.
//!
//! Bounded against any peer: a socket that always has bytes (a flood) still gives the task back to
//! the runtime after four reads (256 KiB), and each wake-up checks Ctrl-C, the end of the
//! measured phase and the session's clock; what the session writes while the socket will not take
//! more waits in a second buffer that the session caps ([`super::session::Plan::write_cap`]).

use std::cell::RefCell;
use std::io::ErrorKind;
use std::net::IpAddr;
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::Interest;
use tokio::net::TcpStream;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use super::connect::{open, Endpoint, Opened, Transport};
use super::errors::LoadError;
use super::payload::{Outbox, PayloadBook, IOV_MAX};
use super::session::{Next, Plan, Session};
use super::shard::Shard;
use super::stats::{ns_to_us_ceil, Clock, Collector};

/// Bytes read per system call.
const READ_BUF: usize = 64 * 1024;
/// Reads per wake-up at most (256 KiB): a socket that still has bytes after them is read again on
/// the next turn of the loop, after the task has yielded to the runtime (a read loop that always
/// finds bytes must still let the timers, Ctrl-C and the other connections run: tokio's own
/// cooperative budget does not count readiness that `ready()` finds at once).
const READS_PER_WAKE: usize = 4;

thread_local! {
    static READ: RefCell<Vec<u8>> = RefCell::new(vec![0; READ_BUF]);
}

/// Where an open connection goes after its handshake.
pub trait Park: Send + Sync {
    /// Takes over an open connection (its session already created); hands it back if it cannot.
    fn park(&self, conn: Parked) -> Result<(), Parked>;
}

/// An open connection and its session, on their way to another driver.
pub type Parked = Box<(Opened, Session)>;

/// What every connection task shares.
pub struct Ctx {
    /// Pacing, payloads, window.
    pub plan: Plan,
    /// The run's clock.
    pub clock: Clock,
    /// Samples.
    pub collector: Collector,
    /// The servers; connection `g` goes to `endpoints[g % len]`.
    pub endpoints: Vec<Endpoint>,
    /// Source addresses; connection `g` binds `sources[(g / endpoints) % len]` (empty: the kernel picks).
    pub sources: Vec<IpAddr>,
    /// Connections of this shard.
    pub connections: u64,
    /// Which shard.
    pub shard: Shard,
    /// Connections open at an even pace over this long.
    pub ramp_ns: u64,
    /// Bound on connect plus handshake.
    pub connect_timeout: Duration,
    /// Handshakes in progress at once, at most.
    pub handshake_slots: Semaphore,
    /// Cancelled at the end of the measured phase: stop sending, drain, close.
    pub stop_send: CancellationToken,
    /// Cancelled to stop at once (Ctrl-C, or the drain took too long).
    pub abort: CancellationToken,
    /// Set with `abort` on Ctrl-C: outstanding messages are then not errors.
    pub interrupted: AtomicBool,
    /// Where connections go after the handshake instead of a tokio task (io_uring), if anywhere.
    pub park: std::sync::OnceLock<Box<dyn Park>>,
    /// `--churn`: how long a connection lives before it closes cleanly and opens again (ns).
    pub lifetime_ns: Option<u64>,
}

/// Opens connection `local` of this shard at its ramp-up time and drives it to its end; with churn
/// (`lifetime_ns`), closes it at the end of each lifetime and opens it again until sending stops.
pub async fn connection(ctx: Arc<Ctx>, local: u64) {
    let at = ctx.ramp_ns.saturating_mul(local) / ctx.connections.max(1);
    let not_tried = || {
        ctx.collector.gauges.not_tried.fetch_add(1, Ordering::Relaxed);
    };
    tokio::select! {
        _ = tokio::time::sleep_until(ctx.clock.instant(at).into()) => {}
        _ = ctx.abort.cancelled() => return not_tried(),
        _ = ctx.stop_send.cancelled() => return not_tried(),
    }
    let mut lives = 0u64;
    loop {
        let (opened, session) = match open_session(&ctx, local).await {
            Ok(open) => open,
            Err(NotOpened::Failed) => return,
            // a churned connection's later lives are not planned connections
            Err(NotOpened::Ended) if lives == 0 => return not_tried(),
            Err(NotOpened::Ended) => return,
        };
        // the first lifetimes end spread evenly over one lifetime, so that closes come at an even pace
        let retire_at = ctx.lifetime_ns.map(|l| {
            let first = if lives == 0 { l.saturating_mul(local + 1) / ctx.connections.max(1) } else { l };
            ctx.clock.now_ns() + first
        });
        let (opened, session) = match (ctx.park.get(), retire_at) {
            (Some(park), None) => match park.park(Box::new((opened, session))) {
                Ok(()) => return,
                Err(back) => *back,
            },
            _ => (opened, session),
        };
        drive(&ctx, opened, session, retire_at).await;
        ctx.collector.gauges.close();
        lives += 1;
        if retire_at.is_none() || ctx.stop_send.is_cancelled() || ctx.abort.is_cancelled() {
            return;
        }
    }
}

/// Why a connection is not open.
enum NotOpened {
    /// It could not be opened (counted as failed, its error recorded).
    Failed,
    /// The run ended before or while it tried.
    Ended,
}

/// Opens connection `local` (a handshake slot, connect, handshake) and creates its session.
async fn open_session(ctx: &Ctx, local: u64) -> Result<(Opened, Session), NotOpened> {
    let permit = tokio::select! {
        p = ctx.handshake_slots.acquire() => p.ok(),
        _ = ctx.abort.cancelled() => return Err(NotOpened::Ended),
        _ = ctx.stop_send.cancelled() => return Err(NotOpened::Ended),
    };
    let g = ctx.shard.global_index(local);
    let n_ep = ctx.endpoints.len().max(1) as u64;
    let Some(ep) = ctx.endpoints.get((g % n_ep) as usize) else { return Err(NotOpened::Ended) };
    let source = (!ctx.sources.is_empty()).then(|| ctx.sources[((g / n_ep) % ctx.sources.len() as u64) as usize]);
    let offer = ctx.plan.deflate.as_ref().map(|d| &d.offer);
    let opened = tokio::select! {
        r = open(ep, source, &ctx.clock, ctx.connect_timeout, offer) => r,
        _ = ctx.abort.cancelled() => return Err(NotOpened::Ended),
    };
    drop(permit);
    let opened = match opened {
        Ok(o) => o,
        Err(e) => {
            ctx.collector.gauges.failed.fetch_add(1, Ordering::Relaxed);
            ctx.collector.with(|t| t.error(e));
            return Err(NotOpened::Failed);
        }
    };
    ctx.collector.with(|t| t.handshake.saturating_record(ns_to_us_ceil(opened.handshake_ns)));
    ctx.collector.gauges.open();
    let mut session = Session::new(&ctx.plan, g, ctx.connections * ctx.shard.count, ctx.clock.now_ns());
    if let Some(n) = opened.deflate {
        session.set_deflate(&ctx.plan, n);
    }
    Ok((opened, session))
}

/// Drives an open connection until its session ends, the socket fails, or the run aborts; from
/// `retire_at` on (churn), it stops sending and closes once its echoes are in.
pub async fn drive(ctx: &Ctx, opened: Opened, s: Session, retire_at: Option<u64>) {
    let Opened { stream, leftover, .. } = opened;
    match stream {
        Transport::Plain(stream) => drive_plain(ctx, stream, leftover, s, retire_at).await,
        Transport::Tls(stream) => super::tls_driver::drive_tls(ctx, stream, leftover, s, retire_at).await,
    }
}

/// Whether a connection stops sending now: the measured phase is over, or its lifetime (churn).
pub fn retiring(ctx: &Ctx, now: u64, retire_at: Option<u64>) -> bool {
    ctx.stop_send.is_cancelled() || retire_at.is_some_and(|r| now >= r)
}

/// When the driver must wake for the session (`next`) or, while still sending, for the connection's
/// retirement.
pub fn wake_at(next: Next, far: u64, draining: bool, retire_at: Option<u64>) -> u64 {
    let wake = if let Next::WakeAt(t) = next { t } else { far };
    match retire_at {
        Some(r) if !draining => wake.min(r),
        _ => wake,
    }
}

/// [`drive`] over a plain socket: raw reads into a per-thread buffer, vectored writes.
async fn drive_plain(ctx: &Ctx, stream: TcpStream, leftover: Vec<u8>, mut s: Session, retire_at: Option<u64>) {
    let (plan, clock, collector) = (&ctx.plan, ctx.clock, &ctx.collector);
    let mut alive = leftover.is_empty() || collector.with(|t| s.on_bytes(plan, &leftover, clock.now_ns(), t));
    drop(leftover);
    let mut w = Writes::default();
    let far = clock.now_ns() + 3_600_000_000_000;
    let timer = tokio::time::sleep_until(clock.instant(far).into());
    tokio::pin!(timer);
    let mut timer_at = far;
    let stop = ctx.stop_send.cancelled();
    tokio::pin!(stop);
    let abort = ctx.abort.cancelled();
    tokio::pin!(abort);
    let mut draining = false;
    let mut more = false;
    loop {
        if more {
            // the socket still had bytes after a wake-up's reads: let the runtime run the rest first
            tokio::task::yield_now().await;
        }
        let now = clock.now_ns();
        if !draining && retiring(ctx, now, retire_at) {
            s.stop_sending();
            draining = true;
        }
        let out = w.target();
        if draining && s.drained() && !s.closing() {
            s.begin_close(plan, now, out);
        }
        let next = collector.with(|t| s.fill(plan, now, out, t));
        if let Err(e) = w.flush(&stream, &plan.book) {
            if !s.done() {
                collector.with(|t| t.error(LoadError::from_io(&e)));
            }
            return;
        }
        if !alive || next == Next::End || s.done() {
            return;
        }
        let wake = wake_at(next, far, draining, retire_at);
        if wake != timer_at {
            timer.as_mut().reset(clock.instant(wake).into());
            timer_at = wake;
        }
        let interest = if w.pending() { Interest::READABLE | Interest::WRITABLE } else { Interest::READABLE };
        more = false;
        tokio::select! {
            biased;
            _ = &mut abort => {
                if !ctx.interrupted.load(Ordering::Relaxed) {
                    collector.with(|t| s.abandon(t));
                }
                return;
            }
            ready = stream.ready(interest) => match ready {
                Ok(r) if r.is_readable() => (alive, more) = read_some(&stream, &mut s, plan, clock, collector),
                Ok(_) => {}
                Err(e) => {
                    collector.with(|t| t.error(LoadError::from_io(&e)));
                    return;
                }
            },
            _ = &mut timer => {}
            _ = &mut stop, if !draining => {}
        }
    }
}

/// A connection's bytes on their way to the socket: `wbuf` is being written (from `wpos`); what
/// the session writes meanwhile goes to `next`, which the session caps, and takes its place once
/// `wbuf` is all written. Memory stays bounded while the peer reads slowly, and bytes already
/// written are dropped as a whole buffer, never shifted.
#[derive(Default)]
struct Writes {
    wbuf: Outbox,
    wpos: usize,
    next: Outbox,
}

impl Writes {
    /// Where the session writes now.
    fn target(&mut self) -> &mut Outbox {
        if self.wbuf.is_empty() {
            &mut self.wbuf
        } else {
            &mut self.next
        }
    }

    /// Whether bytes wait for the socket.
    fn pending(&self) -> bool {
        self.wpos < self.wbuf.len()
    }

    /// Writes what the socket takes without waiting.
    fn flush(&mut self, stream: &TcpStream, book: &PayloadBook) -> std::io::Result<()> {
        while self.wpos < self.wbuf.len() {
            let written = if self.wbuf.contiguous() {
                stream.try_write(&self.wbuf.own_bytes()[self.wpos..])
            } else {
                let mut slices = Vec::with_capacity(16);
                self.wbuf.slices(book, self.wpos, IOV_MAX, &mut slices);
                stream.try_write_vectored(&slices)
            };
            match written {
                Ok(n) => self.wpos += n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(()),
                Err(e) => return Err(e),
            }
            if self.wpos == self.wbuf.len() {
                self.wbuf.clear(1 << 20);
                self.wpos = 0;
                std::mem::swap(&mut self.wbuf, &mut self.next);
            }
        }
        Ok(())
    }
}

/// Reads until the socket is empty, [`READS_PER_WAKE`] reads at most; returns whether the
/// connection lives on, and whether the socket may hold more.
///
/// A read shorter than the buffer emptied the socket's receive queue, so it also clears tokio's
/// read readiness (by answering `WouldBlock` inside the same `try_io`, which clears only if no new
/// readiness arrived since the read began): that saves the `EAGAIN` read per batch.
fn read_some(stream: &TcpStream, s: &mut Session, plan: &Plan, clock: Clock, collector: &Collector) -> (bool, bool) {
    let alive = |a: bool| (a, false);
    let fd = stream.as_raw_fd();
    READ.with(|buf| {
        let mut buf = buf.borrow_mut();
        for _ in 0..READS_PER_WAKE {
            let mut got = 0usize;
            let r = stream.try_io(Interest::READABLE, || {
                // SAFETY: reading into our own buffer, within its length, from the stream's open descriptor
                let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
                if n < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                got = n as usize;
                if got > 0 && got < buf.len() {
                    return Err(ErrorKind::WouldBlock.into());
                }
                Ok(got)
            });
            match r {
                Ok(0) => {
                    if !s.closing() {
                        // TCP closed without a close frame: RFC 6455 §7.1.5 calls this 1006
                        collector.with(|t| t.error(LoadError::UnexpectedClose(Some(1006))));
                    }
                    return alive(false);
                }
                Ok(_) | Err(_) if got > 0 => {
                    let now = clock.now_ns();
                    if !collector.with(|t| s.on_bytes(plan, &buf[..got], now, t)) {
                        return alive(false);
                    }
                    if got < buf.len() {
                        return alive(true);
                    }
                }
                Ok(_) => return alive(true),
                Err(e) if e.kind() == ErrorKind::WouldBlock || e.kind() == ErrorKind::Interrupted => {
                    return alive(true)
                }
                Err(e) => {
                    collector.with(|t| t.error(LoadError::from_io(&e)));
                    return alive(false);
                }
            }
        }
        (true, true)
    })
}
