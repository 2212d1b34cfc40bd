//! One load run: open the connections, tick the time series, end the measured phase, drain, close.
//!
//! Timeline (clock time from the start): connections open over `ramp_up`; messages flow from each
//! connection's handshake on; messages scheduled before `ramp_up + warmup` are warmup (in the
//! series, not in the results); the measured phase lasts `duration` (or until `--messages` are
//! claimed); then no message is sent, outstanding echoes are awaited up to the timeout, and each
//! connection closes with 1000. Ctrl-C stops everything at once and the run is marked incomplete.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use hdrhistogram::Histogram;
use tokio::task::JoinSet;

use super::driver::{connection, Ctx};
use super::stats::{Interval, Tally};
use super::system::{cpu_time_ns, rss_bytes};

/// Collection period of the time series.
const TICK: Duration = Duration::from_secs(1);
/// How often the end conditions are checked.
const POLL: Duration = Duration::from_millis(50);

/// One point of the series, before it goes into the report.
#[derive(Debug, Clone)]
pub struct Point {
    /// End of the interval, ns since the start.
    pub t_ns: u64,
    /// Length of the interval.
    pub interval_ns: u64,
    /// `warmup`, `measured` or `drain`.
    pub phase: &'static str,
    /// The numbers.
    pub interval: Interval,
    /// Connections open at the end.
    pub open: u64,
}

/// Everything a run measured.
#[derive(Debug)]
pub struct Outcome {
    /// Wall-clock start.
    pub started_at: SystemTime,
    /// Whole run, ns.
    pub wall_ns: u64,
    /// Measured phase length, ns.
    pub measured_ns: u64,
    /// CPU time of the process over the measured phase, ns.
    pub cpu_ns: u64,
    /// Resident memory before connecting.
    pub rss_start: u64,
    /// Largest resident memory seen.
    pub rss_peak: u64,
    /// The series.
    pub series: Vec<Point>,
    /// The totals.
    pub totals: Tally,
    /// Connections opened, most open at once, failed.
    pub opened: u64,
    /// Most open at once.
    pub peak: u64,
    /// Connections that failed to open.
    pub failed: u64,
    /// Connections the run ended before they had tried to open (or while they were opening).
    pub not_tried: u64,
    /// Ctrl-C.
    pub interrupted: bool,
}

/// What the progress display is told once a second.
#[derive(Debug, Clone)]
pub struct Progress {
    /// Seconds since the start.
    pub elapsed_s: f64,
    /// Open connections.
    pub open: u64,
    /// Connections asked for.
    pub connections: u64,
    /// Echoes per second over the last interval.
    pub rate: f64,
    /// p99 of the last interval's echoes, warmup included (µs; 0 when none came back).
    pub p99_us: u64,
    /// Highest p99 of an interval so far (µs).
    pub worst_p99_us: u64,
    /// Errors so far.
    pub errors: u64,
    /// Phase name.
    pub phase: &'static str,
}

/// Runs the load described by `ctx`. `duration_ns`: the measured phase; `messages`: the measured
/// messages when bounded by count instead. `on_tick` is called once a second.
pub async fn run(
    ctx: Arc<Ctx>,
    duration_ns: Option<u64>,
    messages: Option<u64>,
    mut on_tick: impl FnMut(&Progress),
) -> Outcome {
    let started_at = SystemTime::now();
    let clock = ctx.clock;
    let rss_start = rss_bytes();
    let mut rss_peak = rss_start;
    let mut set = JoinSet::new();
    for local in 0..ctx.connections {
        set.spawn(connection(Arc::clone(&ctx), local));
    }
    let ctrl_c = {
        let ctx = Arc::clone(&ctx);
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                ctx.interrupted.store(true, Ordering::Relaxed);
                ctx.abort.cancel();
            }
        })
    };
    let window = ctx.plan.window;
    let mut series = Vec::new();
    let mut last_collect = 0u64;
    let mut next_tick = TICK.as_nanos() as u64;
    let mut cpu_at_start: Option<u64> = None;
    let mut cpu_at_end: Option<u64> = None;
    let mut drain_deadline: Option<u64> = None;
    let mut tickets_gone_at: Option<u64> = None;
    let mut max_p99 = 0u64;
    let mut errors = 0u64;
    let phase_of = |t: u64, stopped: bool| {
        if t <= window.start_ns {
            "warmup"
        } else if stopped {
            "drain"
        } else {
            "measured"
        }
    };
    loop {
        let now = clock.now_ns();
        // boundaries of the measured phase get their own collection
        let boundary = [window.start_ns, window.end_ns].into_iter().filter(|b| *b > last_collect).min();
        let collect_at = boundary.map_or(next_tick, |b| b.min(next_tick));
        // parked connections (io_uring) outlive their tasks: the run ends when none is open
        let finished = set.is_empty() && ctx.collector.gauges.open.load(Ordering::Relaxed) == 0;
        if now >= collect_at || finished || ctx.abort.is_cancelled() {
            let t = now.max(last_collect + 1);
            let stopped = ctx.stop_send.is_cancelled();
            let interval = ctx.collector.take_interval();
            // a boundary collection belongs to the phase that ends there
            let phase_t = if boundary == Some(collect_at) && now >= collect_at { collect_at } else { t };
            let phase = phase_of(phase_t, stopped);
            let p99 = if interval.latency.is_empty() { 0 } else { interval.latency.value_at_quantile(0.99) };
            max_p99 = max_p99.max(p99);
            errors += interval.errors;
            let open = ctx.collector.gauges.open.load(Ordering::Relaxed);
            let rate = interval.received as f64 * 1e9 / (t - last_collect) as f64;
            on_tick(&Progress {
                elapsed_s: t as f64 / 1e9,
                open,
                connections: ctx.connections,
                rate,
                p99_us: p99,
                worst_p99_us: max_p99,
                errors,
                phase,
            });
            series.push(Point { t_ns: t, interval_ns: t - last_collect, phase, interval, open });
            last_collect = t;
            if t >= next_tick {
                next_tick = (t / TICK.as_nanos() as u64 + 1) * TICK.as_nanos() as u64;
            }
            rss_peak = rss_peak.max(rss_bytes());
        }
        if cpu_at_start.is_none() && now >= window.start_ns {
            cpu_at_start = Some(cpu_time_ns());
        }
        if finished {
            break;
        }
        // the end of the measured phase
        // count-bounded: every ticket claimed, and then every claimed ticket used (a connection that
        // died holding some is waited for only up to the timeout)
        let tickets_out = ctx.plan.tickets.as_ref().is_some_and(|t| t.load(Ordering::Relaxed) <= 0);
        if tickets_out && tickets_gone_at.is_none() {
            tickets_gone_at = Some(now);
        }
        let tickets_out = tickets_out
            && (messages.is_some_and(|m| ctx.collector.sent() >= m)
                || tickets_gone_at.is_some_and(|t| now >= t + ctx.plan.timeout_ns));
        let time_up = duration_ns.is_some() && now >= window.end_ns;
        if !ctx.stop_send.is_cancelled() && (time_up || tickets_out) {
            if time_up {
                cpu_at_end = Some(cpu_time_ns());
            }
            ctx.stop_send.cancel();
            drain_deadline = Some(now + ctx.plan.timeout_ns);
        }
        if let Some(d) = drain_deadline {
            if now >= d && !ctx.abort.is_cancelled() {
                ctx.abort.cancel();
            }
        }
        let wake = collect_at.min(now + POLL.as_nanos() as u64);
        tokio::select! {
            _ = tokio::time::sleep_until(clock.instant(wake).into()) => {}
            _ = set.join_next(), if !set.is_empty() => {}
        }
    }
    ctrl_c.abort();
    let totals = ctx.collector.totals();
    let end_ns = clock.now_ns();
    let measured_end = match duration_ns {
        Some(_) => window.end_ns.min(end_ns),
        None => totals.last_rx_ns.max(window.start_ns),
    };
    let cpu_end = cpu_at_end.unwrap_or_else(cpu_time_ns);
    let g = &ctx.collector.gauges;
    Outcome {
        started_at,
        wall_ns: end_ns,
        measured_ns: measured_end.saturating_sub(window.start_ns),
        cpu_ns: cpu_at_start.map_or(0, |s| cpu_end.saturating_sub(s)),
        rss_start,
        rss_peak,
        series,
        totals,
        opened: g.opened.load(Ordering::Relaxed),
        peak: g.peak.load(Ordering::Relaxed),
        failed: g.failed.load(Ordering::Relaxed),
        not_tried: g.not_tried.load(Ordering::Relaxed),
        interrupted: ctx.interrupted.load(Ordering::Relaxed),
    }
}

/// The p50 and p99 of a histogram, 0 when empty.
pub fn p50_p99(h: &Histogram<u64>) -> (u64, u64) {
    if h.is_empty() {
        (0, 0)
    } else {
        (h.value_at_quantile(0.5), h.value_at_quantile(0.99))
    }
}
