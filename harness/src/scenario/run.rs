//! Running a scenario: every role's connections, a task each, through warmup, the measured phase
//! and the drain, all counting into one [`Tally`].

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::conn::{drive, End, Signals};
use super::engine::Engine;
use super::fanout::Completion;
use super::file::{Role, Scenario};
use super::stats::Tally;
use crate::load::connect::{open, Endpoint, Opened};
use crate::load::stats::{ns_to_us_ceil, Clock};

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
}

/// What every connection task shares.
struct Shared {
    clock: Clock,
    measure_from_ns: u64,
    timeout: Duration,
    slots: Semaphore,
    stop: CancellationToken,
    abort: CancellationToken,
    completion: Arc<Completion>,
    /// Every connection's numbers.
    tally: std::sync::Mutex<Tally>,
    /// Connections of roles that send (a loop of steps), still running.
    senders: std::sync::atomic::AtomicU64,
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
        senders: std::sync::atomic::AtomicU64::new(
            spec.scenario.roles.iter().filter(|r| !r.steps.is_empty()).map(|r| r.connections).sum(),
        ),
    });
    let mut set = JoinSet::new();
    for (role, ep) in spec.scenario.roles.iter().zip(&spec.endpoints) {
        for local in 0..role.connections {
            let conn = spec.shard.global_index(local);
            set.spawn(connection(Arc::clone(&shared), Arc::clone(role), ep.clone(), conn));
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
    let (mut opened, mut failed) = (0u64, 0u64);
    // the drain: outstanding replies are awaited up to the timeout, then the rest is aborted
    let drain = tokio::time::sleep(spec.timeout + Duration::from_secs(1));
    tokio::pin!(drain);
    loop {
        tokio::select! {
            joined = set.join_next() => match joined {
                Some(Ok(was_opened)) => if was_opened { opened += 1 } else { failed += 1 },
                Some(Err(_)) => failed += 1,
                None => break,
            },
            _ = &mut drain, if !shared.abort.is_cancelled() => shared.abort.cancel(),
            _ = tokio::signal::ctrl_c(), if !interrupted => {
                interrupted = true;
                shared.abort.cancel();
            }
        }
    }
    let wall = Duration::from_nanos(clock.now_ns());
    let tally = std::mem::take(&mut *shared.tally.lock().unwrap_or_else(|p| p.into_inner()));
    let completion = Arc::clone(&shared.completion);
    Outcome { started_at, tally, wall, measured, opened, failed, interrupted, completion }
}

/// One connection of `role`: opens, runs the engine to the end; whether it opened.
async fn connection(shared: Arc<Shared>, role: Arc<Role>, ep: Endpoint, conn: u64) -> bool {
    let sends = !role.steps.is_empty();
    let result = connect_and_drive(&shared, role, ep, conn).await;
    if sends {
        shared.senders.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }
    result
}

async fn connect_and_drive(shared: &Arc<Shared>, role: Arc<Role>, ep: Endpoint, conn: u64) -> bool {
    let lock = || shared.tally.lock().unwrap_or_else(|p| p.into_inner());
    let permit = tokio::select! {
        p = shared.slots.acquire() => p.ok(),
        _ = shared.stop.cancelled() => return false,
    };
    let opened = tokio::select! {
        r = open(&ep, None, &shared.clock, shared.timeout, None) => r,
        _ = shared.abort.cancelled() => return false,
    };
    drop(permit);
    let Opened { stream, leftover, handshake_ns, .. } = match opened {
        Ok(o) => o,
        Err(e) => {
            lock().error(e.detail());
            return false;
        }
    };
    lock().handshake.saturating_record(ns_to_us_ceil(handshake_ns));
    let mut engine = Engine::new(Arc::clone(&role), conn, shared.clock.now_ns(), shared.measure_from_ns)
        .with_completion(Arc::clone(&shared.completion));
    let senders = role.steps.is_empty().then_some(&shared.senders);
    let signals = Signals { stop: &shared.stop, abort: &shared.abort, senders };
    let end = drive(stream, &leftover, &mut engine, shared.clock, shared.timeout, signals, &shared.tally).await;
    engine.finish(&mut lock());
    if end == End::Aborted && !shared.stop.is_cancelled() {
        lock().error("aborted".into());
    }
    true
}
