//! Where samples go: one [`Tally`] per worker thread, gathered by a [`Collector`].
//!
//! Connections record into the tally of the thread they run on (an uncontended
//! lock per batch of frames, not per message); the collector takes each
//! thread's interval numbers once a second for the time series and adds up the
//! measured totals at the end. Histograms are HdrHistograms in microseconds
//! (1 µs to 60 s, 3 significant digits); a latency is rounded up to the next
//! microsecond so that no measured message ever reads as zero.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use hdrhistogram::Histogram;
use reports::load::new_histogram;

use super::errors::LoadError;

/// Nanoseconds since the run started.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    base: Instant,
}

impl Clock {
    /// A clock starting now.
    pub fn start() -> Clock {
        Clock { base: Instant::now() }
    }

    /// The start.
    pub fn base(&self) -> Instant {
        self.base
    }

    /// Nanoseconds since the start.
    #[inline]
    pub fn now_ns(&self) -> u64 {
        self.base.elapsed().as_nanos() as u64
    }

    /// The instant `ns` after the start.
    pub fn instant(&self, ns: u64) -> Instant {
        self.base + std::time::Duration::from_nanos(ns)
    }
}

/// Nanoseconds to whole microseconds, rounded up.
#[inline]
pub fn ns_to_us_ceil(ns: u64) -> u64 {
    ns.div_ceil(1000)
}

/// The measured phase, in clock nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// Messages scheduled from here on are measured.
    pub start_ns: u64,
    /// No message is scheduled at or after this (`u64::MAX` for a count-bounded run).
    pub end_ns: u64,
}

/// One thread's numbers.
#[derive(Debug, Clone)]
pub struct Tally {
    /// Since the last collection: messages sent.
    pub iv_sent: u64,
    /// Since the last collection: echoes received.
    pub iv_received: u64,
    /// Since the last collection: errors.
    pub iv_errors: u64,
    /// Since the last collection: corrected latency of echoes of warmup messages.
    pub iv_warm: Histogram<u64>,
    /// Since the last collection: corrected latency of echoes of measured messages (folded into
    /// `latency` at each collection, so that each echo is recorded once).
    pub iv_measured: Histogram<u64>,
    /// Measured messages sent.
    pub sent: u64,
    /// Payload bytes of measured messages sent.
    pub payload_bytes: u64,
    /// Echoes of measured messages received.
    pub received: u64,
    /// Echoes received inside the measured window (whatever their send time).
    pub received_in_window: u64,
    /// Time of the last echo of a measured message.
    pub last_rx_ns: u64,
    /// Corrected latency of measured messages, up to the last collection (see [`Tally::measured_latency`]).
    pub latency: Histogram<u64>,
    /// Uncorrected latency of measured messages (open loop only; equal to the corrected one otherwise).
    pub latency_uncorrected: Histogram<u64>,
    /// Send lag of measured messages, actual send minus planned send (open loop only).
    pub send_lag: Histogram<u64>,
    /// Handshakes (all of them).
    pub handshake: Histogram<u64>,
    /// Ping round trips (all of them).
    pub ping: Histogram<u64>,
    /// Errors (all of them).
    pub errors: HashMap<LoadError, u64>,
    /// A moving average of the corrected latency of recent echoes, in nanoseconds (how long the
    /// io_uring driver may wait to gather arrivals).
    pub recent_latency_ns: u64,
    /// permessage-deflate byte counts (`--deflate` runs only).
    pub deflate: DeflateTally,
}

/// permessage-deflate byte counts of measured messages: their plain payload bytes sent are
/// [`Tally::payload_bytes`]; their echoes count here once verified (the messages of
/// [`Tally::received`]). Wire bytes are payload bytes as framed (compressed or not), headers not counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeflateTally {
    /// Payload bytes of measured messages on the wire (compressed).
    pub wire_sent: u64,
    /// Payload bytes of their verified echoes, inflated.
    pub plain_received: u64,
    /// Payload bytes of those echoes on the wire.
    pub wire_received: u64,
    /// Those echoes that came compressed (RSV1).
    pub compressed_received: u64,
}

impl DeflateTally {
    /// Adds another thread's counts.
    pub fn add(&mut self, o: &DeflateTally) {
        self.wire_sent += o.wire_sent;
        self.plain_received += o.plain_received;
        self.wire_received += o.wire_received;
        self.compressed_received += o.compressed_received;
    }
}

impl Default for Tally {
    fn default() -> Self {
        Tally {
            iv_sent: 0,
            iv_received: 0,
            iv_errors: 0,
            iv_warm: new_histogram(),
            iv_measured: new_histogram(),
            sent: 0,
            payload_bytes: 0,
            received: 0,
            received_in_window: 0,
            last_rx_ns: 0,
            latency: new_histogram(),
            latency_uncorrected: new_histogram(),
            send_lag: new_histogram(),
            handshake: new_histogram(),
            ping: new_histogram(),
            errors: HashMap::new(),
            recent_latency_ns: 0,
            deflate: DeflateTally::default(),
        }
    }
}

impl Tally {
    /// A message handed to the socket: scheduled at `sched_ns`, `size` payload bytes.
    #[inline]
    pub fn sent(&mut self, window: &Window, sched_ns: u64, size: usize) {
        self.iv_sent += 1;
        if sched_ns >= window.start_ns {
            self.sent += 1;
            self.payload_bytes += size as u64;
        }
    }

    /// `n` messages of `bytes` payload bytes in all, all scheduled at `sched_ns`.
    #[inline]
    pub fn sent_batch(&mut self, window: &Window, sched_ns: u64, n: u64, bytes: u64) {
        self.iv_sent += n;
        if sched_ns >= window.start_ns {
            self.sent += n;
            self.payload_bytes += bytes;
        }
    }

    /// `bytes` payload bytes on the wire (compressed) of messages scheduled at `sched_ns`.
    #[inline]
    pub fn wire_sent(&mut self, window: &Window, sched_ns: u64, bytes: u64) {
        if sched_ns >= window.start_ns {
            self.deflate.wire_sent += bytes;
        }
    }

    /// The bytes of a verified echo of a message scheduled at `sched_ns`: `plain` inflated, `wire`
    /// on the wire, compressed or not.
    #[inline]
    pub fn echo_bytes(&mut self, window: &Window, sched_ns: u64, plain: usize, wire: usize, compressed: bool) {
        if sched_ns >= window.start_ns {
            let d = &mut self.deflate;
            d.plain_received += plain as u64;
            d.wire_received += wire as u64;
            d.compressed_received += u64::from(compressed);
        }
    }

    /// A verified echo received at `now_ns` of a message scheduled at `sched_ns` and sent at `sent_ns`.
    #[inline]
    pub fn echo(&mut self, window: &Window, open_loop: bool, now_ns: u64, sched_ns: u64, sent_ns: u64) {
        self.echoes(window, open_loop, now_ns, sched_ns, sent_ns, 1);
    }

    /// `n` verified echoes received at `now_ns`, of messages all scheduled at `sched_ns` and sent at
    /// `sent_ns` (one batch's echoes read at once: one histogram update for all of them).
    #[inline]
    pub fn echoes(&mut self, window: &Window, open_loop: bool, now_ns: u64, sched_ns: u64, sent_ns: u64, n: u64) {
        // corrected: from when the message should have left (a message sent early counts from its send)
        let corrected_ns = now_ns.saturating_sub(sched_ns.min(sent_ns));
        let corrected = ns_to_us_ceil(corrected_ns);
        self.recent_latency_ns = self.recent_latency_ns - self.recent_latency_ns / 8 + corrected_ns / 8;
        self.iv_received += n;
        if sched_ns >= window.start_ns {
            self.received += n;
            self.last_rx_ns = self.last_rx_ns.max(now_ns);
            self.iv_measured.saturating_record_n(corrected, n);
            if open_loop {
                self.latency_uncorrected.saturating_record_n(ns_to_us_ceil(now_ns.saturating_sub(sent_ns)), n);
                // a message sent early has no lag (ceil: 1 ns late is 1 µs)
                let lag_ns = sent_ns.saturating_sub(sched_ns);
                self.send_lag.saturating_record_n(if lag_ns == 0 { 0 } else { ns_to_us_ceil(lag_ns) }, n);
            }
        } else {
            self.iv_warm.saturating_record_n(corrected, n);
        }
        if now_ns >= window.start_ns && now_ns < window.end_ns {
            self.received_in_window += n;
        }
    }

    /// Corrected latency of every measured message so far.
    pub fn measured_latency(&self) -> Histogram<u64> {
        let mut h = self.latency.clone();
        // same bounds on both sides: the addition cannot fail
        let _ = h.add(&self.iv_measured);
        h
    }

    /// An error.
    pub fn error(&mut self, e: LoadError) {
        self.error_n(e, 1);
    }

    /// `n` errors of one kind.
    pub fn error_n(&mut self, e: LoadError, n: u64) {
        if n == 0 {
            return;
        }
        self.iv_errors += n;
        *self.errors.entry(e).or_default() += n;
    }
}

/// The numbers of one collection interval, all threads together.
#[derive(Debug, Clone)]
pub struct Interval {
    /// Messages sent.
    pub sent: u64,
    /// Echoes received.
    pub received: u64,
    /// Errors.
    pub errors: u64,
    /// Corrected latency.
    pub latency: Histogram<u64>,
}

/// Counters every thread shares.
#[derive(Debug, Default)]
pub struct Gauges {
    /// Connections open now.
    pub open: AtomicU64,
    /// Most open at once.
    pub peak: AtomicU64,
    /// Handshakes completed.
    pub opened: AtomicU64,
    /// Connections that could not be opened.
    pub failed: AtomicU64,
    /// Connections the run ended before they had tried to open (waiting for their time in the
    /// ramp-up or for a handshake slot), or while they were opening.
    pub not_tried: AtomicU64,
}

impl Gauges {
    /// A connection opened.
    pub fn open(&self) {
        self.opened.fetch_add(1, Ordering::Relaxed);
        let now = self.open.fetch_add(1, Ordering::Relaxed) + 1;
        self.peak.fetch_max(now, Ordering::Relaxed);
    }

    /// A connection ended.
    pub fn close(&self) {
        self.open.fetch_sub(1, Ordering::Relaxed);
    }
}

static NEXT_RUN: AtomicU64 = AtomicU64::new(1);

thread_local! {
    static LOCAL: RefCell<Vec<(u64, Arc<Mutex<Tally>>)>> = const { RefCell::new(Vec::new()) };
}

fn lock(m: &Mutex<Tally>) -> MutexGuard<'_, Tally> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Every thread's tally for one run.
#[derive(Debug)]
pub struct Collector {
    id: u64,
    tallies: Mutex<Vec<Arc<Mutex<Tally>>>>,
    /// Shared counters.
    pub gauges: Gauges,
}

impl Default for Collector {
    fn default() -> Self {
        Collector::new()
    }
}

impl Collector {
    /// A collector for a new run.
    pub fn new() -> Collector {
        Collector {
            id: NEXT_RUN.fetch_add(1, Ordering::Relaxed),
            tallies: Mutex::new(Vec::new()),
            gauges: Gauges::default(),
        }
    }

    /// Runs `f` on this thread's tally.
    #[inline]
    pub fn with<R>(&self, f: impl FnOnce(&mut Tally) -> R) -> R {
        let tally = LOCAL.with(|local| {
            let mut local = local.borrow_mut();
            if let Some((_, t)) = local.iter().find(|(id, _)| *id == self.id) {
                return Arc::clone(t);
            }
            // runs that ended leave tallies only this thread holds: drop them
            local.retain(|(_, t)| Arc::strong_count(t) > 1);
            let t = Arc::new(Mutex::new(Tally::default()));
            self.tallies.lock().unwrap_or_else(|p| p.into_inner()).push(Arc::clone(&t));
            local.push((self.id, Arc::clone(&t)));
            t
        });
        let mut guard = lock(&tally);
        f(&mut guard)
    }

    fn all(&self) -> Vec<Arc<Mutex<Tally>>> {
        self.tallies.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Takes (and resets) every thread's interval numbers.
    pub fn take_interval(&self) -> Interval {
        let mut iv = Interval { sent: 0, received: 0, errors: 0, latency: new_histogram() };
        for t in self.all() {
            let mut t = lock(&t);
            iv.sent += std::mem::take(&mut t.iv_sent);
            iv.received += std::mem::take(&mut t.iv_received);
            iv.errors += std::mem::take(&mut t.iv_errors);
            // same bounds on all sides: the additions cannot fail
            let _ = iv.latency.add(&t.iv_warm);
            let _ = iv.latency.add(&t.iv_measured);
            let t = &mut *t;
            let _ = t.latency.add(&t.iv_measured);
            t.iv_warm.reset();
            t.iv_measured.reset();
        }
        iv
    }

    /// Measured messages sent so far, all threads.
    pub fn sent(&self) -> u64 {
        self.all().iter().map(|t| lock(t).sent).sum()
    }

    /// Every thread's totals added up (interval numbers left alone).
    pub fn totals(&self) -> Tally {
        let mut sum = Tally::default();
        for t in self.all() {
            let t = lock(&t);
            sum.sent += t.sent;
            sum.payload_bytes += t.payload_bytes;
            sum.received += t.received;
            sum.received_in_window += t.received_in_window;
            sum.last_rx_ns = sum.last_rx_ns.max(t.last_rx_ns);
            sum.deflate.add(&t.deflate);
            let _ = sum.latency.add(t.measured_latency());
            let _ = sum.latency_uncorrected.add(&t.latency_uncorrected);
            let _ = sum.send_lag.add(&t.send_lag);
            let _ = sum.handshake.add(&t.handshake);
            let _ = sum.ping.add(&t.ping);
            for (e, n) in &t.errors {
                *sum.errors.entry(e.clone()).or_default() += n;
            }
        }
        sum
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latency_rounds_up_to_whole_microseconds() {
        assert_eq!(ns_to_us_ceil(1), 1);
        assert_eq!(ns_to_us_ceil(1000), 1);
        assert_eq!(ns_to_us_ceil(1001), 2);
    }

    #[test]
    fn only_messages_scheduled_in_the_window_are_measured() {
        let w = Window { start_ns: 1_000, end_ns: 10_000 };
        let mut t = Tally::default();
        t.sent(&w, 500, 64);
        t.sent(&w, 1_500, 64);
        t.echo(&w, true, 2_000, 500, 500);
        t.echo(&w, true, 12_000, 1_500, 5_500);
        assert_eq!((t.iv_sent, t.sent, t.payload_bytes), (2, 1, 64));
        assert_eq!((t.iv_received, t.received, t.received_in_window), (2, 1, 1));
        // corrected from the schedule (10.5 µs), uncorrected from the late send (6.5 µs)
        assert_eq!(t.measured_latency().max(), 11);
        assert_eq!(t.latency_uncorrected.max(), 7);
    }

    #[test]
    fn threads_add_up_in_the_collector() {
        let c = Arc::new(Collector::new());
        let w = Window { start_ns: 0, end_ns: u64::MAX };
        std::thread::scope(|s| {
            for _ in 0..3 {
                let c = Arc::clone(&c);
                s.spawn(move || {
                    for i in 0..100 {
                        c.with(|t| {
                            t.sent(&w, i, 1);
                            t.echo(&w, false, i + 5_000, i, i);
                        });
                    }
                });
            }
        });
        let iv = c.take_interval();
        assert_eq!((iv.sent, iv.received, iv.latency.len()), (300, 300, 300));
        assert_eq!(c.take_interval().sent, 0);
        let t = c.totals();
        assert_eq!((t.sent, t.received, t.latency.len()), (300, 300, 300));
    }
}
