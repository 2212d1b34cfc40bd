//! Running a scenario: every role's connections, a task each, through warmup, the measured phase
//! and the drain, all counting into one [`Tally`]. With an io_uring pool, a connection's task opens
//! it and hands it to a ring ([`super::uring`]); TLS connections stay on their task.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::conn::{drive, Signals};
use super::engine::Engine;
use super::fanout::Completion;
use super::file::{Role, Scenario};
use super::link::{io_detail, End, Link, ABORTED_DETAIL};
use super::stats::Tally;
use super::uring::RingConn;
use crate::load::connect::{open, Endpoint, Opened, Transport};
use crate::load::payload::PayloadBook;
use crate::load::stats::{ns_to_us_ceil, Clock};
use crate::load::uring::Pool;

/// How often the end of the run looks for connections still open in the rings.
const PARKED_POLL: Duration = Duration::from_millis(10);
/// After an abort, how long the end of the run waits for the rings to end their connections.
const PARKED_GIVE_UP: Duration = Duration::from_secs(2);

/// How a scenario runs.
pub struct RunSpec {
    /// Which shard this process runs (its roles already cut to it): connection numbers are global.
    pub shard: crate::load::shard::Shard,
    /// The scenario.
    pub scenario: Scenario,
    /// Per role (in the scenario's order), where its connections go.
    pub endpoints: Vec<Endpoint>,
    /// Kept out of the results.
    pub warmup: Duration,
    /// The measured phase.
    pub duration: Duration,
    /// Longest wait for a connect, a handshake, a write or the close.
    pub timeout: Duration,
    /// Handshakes in progress at once, at most.
    pub max_handshakes: usize,
    /// io_uring rings to drive the plain (`ws://`) connections; `None`: tokio drives every one.
    pub uring: Option<Pool<Shared>>,
}

/// What a run did.
pub struct Outcome {
    /// When it started.
    pub started_at: SystemTime,
    /// Every connection's numbers, added up.
    pub tally: Tally,
    /// From start to the last connection's end.
    pub wall: Duration,
    /// The measured phase as it ran.
    pub measured: Duration,
    /// Connections whose handshake succeeded.
    pub opened: u64,
    /// Connections that could not be opened.
    pub failed: u64,
    /// Ctrl-C.
    pub interrupted: bool,
    /// Fan-out: when each message of this process's publishers reached its last receiver.
    pub completion: Arc<Completion>,
    /// Whether io_uring rings drove the plain connections (else tokio drove every one).
    pub uring: bool,
}

/// What every connection shares (its task, or its ring).
pub struct Shared {
    /// The run's clock.
    pub(crate) clock: Clock,
    measure_from_ns: u64,
    timeout: Duration,
    slots: Semaphore,
    /// Cancelled at the end of the measured phase.
    pub(crate) stop: CancellationToken,
    /// Cancelled to stop at once.
    pub(crate) abort: CancellationToken,
    completion: Arc<Completion>,
    /// Every connection's numbers.
    pub(crate) tally: std::sync::Mutex<Tally>,
    /// Connections of roles that send (a loop of steps), still running.
    pub(crate) senders: AtomicU64,
    /// Connections handed to a ring, still open.
    pub(crate) parked: AtomicU64,
    /// No message body is borrowed: the rings' sends are the connections' own bytes.
    pub(crate) book: PayloadBook,
}

/// Runs the scenario to its end (Ctrl-C ends it early, marked interrupted).
pub async fn run(spec: RunSpec) -> Outcome {
    let started_at = SystemTime::now();
    let clock = Clock::start();
    let shared = Arc::new(Shared {
        clock,
        measure_from_ns: spec.warmup.as_nanos() as u64,
        timeout: spec.timeout,
        slots: Semaphore::new(spec.max_handshakes.max(1)),
        stop: CancellationToken::new(),
        abort: CancellationToken::new(),
        completion: Arc::new(Completion::default()),
        tally: std::sync::Mutex::new(Tally::default()),
        senders: AtomicU64::new(
            spec.scenario.roles.iter().filter(|r| !r.steps.is_empty()).map(|r| r.connections).sum(),
        ),
        parked: AtomicU64::new(0),
        book: PayloadBook::new(0, false),
    });
    let pool = spec.uring.map(Arc::new);
    if let Some(pool) = &pool {
        pool.attach(Arc::clone(&shared));
    }
    let mut set = JoinSet::new();
    for (role, ep) in spec.scenario.roles.iter().zip(&spec.endpoints) {
        for local in 0..role.connections {
            let conn = spec.shard.global_index(local);
            set.spawn(connection(Arc::clone(&shared), pool.clone(), Arc::clone(role), ep.clone(), conn));
        }
    }
    let end_of_measure = spec.warmup + spec.duration;
    let mut interrupted = false;
    tokio::select! {
        _ = tokio::time::sleep(end_of_measure) => {}
        _ = tokio::signal::ctrl_c() => interrupted = true,
    }
    let measured = Duration::from_nanos(clock.now_ns()).saturating_sub(spec.warmup).min(spec.duration);
    shared.stop.cancel();
    if interrupted {
        shared.abort.cancel();
    }
    let (opened, failed) = drain(&mut set, &shared, &mut interrupted).await;
    let uring = pool.is_some();
    if let Some(pool) = pool {
        pool.stop();
    }
    let wall = Duration::from_nanos(clock.now_ns());
    let tally = std::mem::take(&mut *shared.tally.lock().unwrap_or_else(|p| p.into_inner()));
    let completion = Arc::clone(&shared.completion);
    Outcome { started_at, tally, wall, measured, opened, failed, interrupted, completion, uring }
}

/// The drain: outstanding replies are awaited up to the timeout, then the rest is aborted; the
/// tasks end, then the connections parked in rings. Ctrl-C aborts at once. Returns the connections
/// opened and failed.
async fn drain(set: &mut JoinSet<bool>, shared: &Shared, interrupted: &mut bool) -> (u64, u64) {
    let (mut opened, mut failed) = (0u64, 0u64);
    let drain = tokio::time::sleep(shared.timeout + Duration::from_secs(1));
    tokio::pin!(drain);
    let mut give_up: Option<u64> = None;
    while !set.is_empty() || shared.parked.load(Ordering::Relaxed) > 0 {
        tokio::select! {
            joined = set.join_next(), if !set.is_empty() => match joined {
                Some(Ok(was_opened)) => if was_opened { opened += 1 } else { failed += 1 },
                Some(Err(_)) => failed += 1,
                None => {}
            },
            _ = tokio::time::sleep(PARKED_POLL), if set.is_empty() => {
                // aborted rings end their connections at once: one that does not (its thread is
                // gone) must not hold the run
                if shared.abort.is_cancelled() {
                    let now = shared.clock.now_ns();
                    if now >= *give_up.get_or_insert(now + PARKED_GIVE_UP.as_nanos() as u64) {
                        let left = shared.parked.load(Ordering::Relaxed);
                        shared.tally.lock().unwrap_or_else(|p| p.into_inner()).error(format!("io_uring_stuck {left}"));
                        break;
                    }
                }
            }
            _ = &mut drain, if !shared.abort.is_cancelled() => shared.abort.cancel(),
            _ = tokio::signal::ctrl_c(), if !*interrupted => {
                *interrupted = true;
                shared.abort.cancel();
            }
        }
    }
    (opened, failed)
}

/// One connection of `role`: opens, runs the engine to the end (or hands it to a ring); whether
/// it opened.
async fn connection(
    shared: Arc<Shared>,
    pool: Option<Arc<Pool<Shared>>>,
    role: Arc<Role>,
    ep: Endpoint,
    conn: u64,
) -> bool {
    let sends = !role.steps.is_empty();
    let (opened, parked) = connect_and_drive(&shared, pool.as_deref(), role, ep, conn).await;
    // a parked connection's ring counts it out when it ends
    if sends && !parked {
        shared.senders.fetch_sub(1, Ordering::Relaxed);
    }
    opened
}

/// Whether the connection opened, and whether it went to a ring.
async fn connect_and_drive(
    shared: &Arc<Shared>,
    pool: Option<&Pool<Shared>>,
    role: Arc<Role>,
    ep: Endpoint,
    conn: u64,
) -> (bool, bool) {
    let lock = || shared.tally.lock().unwrap_or_else(|p| p.into_inner());
    let permit = tokio::select! {
        p = shared.slots.acquire() => p.ok(),
        _ = shared.stop.cancelled() => return (false, false),
    };
    let opened = tokio::select! {
        r = open(&ep, None, &shared.clock, shared.timeout, None) => r,
        _ = shared.abort.cancelled() => return (false, false),
    };
    drop(permit);
    let Opened { stream, leftover, handshake_ns, .. } = match opened {
        Ok(o) => o,
        Err(e) => {
            lock().error(e.detail());
            return (false, false);
        }
    };
    lock().handshake.saturating_record(ns_to_us_ceil(handshake_ns));
    let engine = Engine::new(Arc::clone(&role), conn, shared.clock.now_ns(), shared.measure_from_ns)
        .with_completion(Arc::clone(&shared.completion));
    let mut link = Link::new(engine, shared.timeout);
    let sends = !role.steps.is_empty();
    let stream = match (pool, stream) {
        (Some(pool), Transport::Plain(stream)) => match stream.into_std() {
            Ok(stream) => {
                shared.parked.fetch_add(1, Ordering::Relaxed);
                pool.hand(stream, leftover, RingConn { link, sends });
                return (true, true);
            }
            Err(e) => {
                lock().error(io_detail(e.kind()));
                link.finish(&mut lock());
                return (true, false);
            }
        },
        (_, stream) => stream,
    };
    let senders = (!sends).then_some(&shared.senders);
    let signals = Signals { stop: &shared.stop, abort: &shared.abort, senders };
    let end = drive(stream, &leftover, &mut link, shared.clock, shared.timeout, signals, &shared.tally).await;
    link.finish(&mut lock());
    if end == End::Aborted && !shared.stop.is_cancelled() {
        lock().error(ABORTED_DETAIL.into());
    }
    (true, false)
}
