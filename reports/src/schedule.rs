//! Whether an open-loop run kept to its schedule, said once for every output.
//!
//! An open-loop run (`--rate`) plans each message's send time; the corrected latency counts from that
//! planned time (wrk2), so a server that stalls its clients is charged for the wait. But when sending
//! falls behind, the server saw a lower rate than asked, and when the generator itself is the cause
//! (too few connections or in-flight slots for the rate, too little CPU) the corrected percentiles
//! measure its backlog rather than the server. [`Schedule`] says how far sending fell behind: how many of the planned
//! messages left at all, and the send lag (actual send minus planned send) of those whose echoes came
//! back. The terminal, the JSON (`summary.schedule`) and the HTML page print it with the same
//! [`Schedule::warning`] text.

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use crate::load::Percentiles;

/// Sending counts as behind when the p99 send lag exceeds this (µs) and makes up at least half of the
/// corrected p99 latency (then the corrected figure mostly measures the generator)...
pub const BEHIND_LAG_P99_US: u64 = 1_000;
/// ...or when fewer than this share of the planned messages were sent.
pub const BEHIND_SENT_SHARE: f64 = 0.99;

/// How an open-loop run kept to its schedule (`summary.schedule` in the JSON; absent in closed loop).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Schedule {
    /// Messages the schedule planned in the measured phase (rate × measured time).
    pub planned: u64,
    /// Measured messages actually sent.
    pub sent: u64,
    /// Send lag, actual send minus planned send, of measured messages whose echoes came back (µs).
    pub lag_us: Percentiles,
    /// Whether sending fell behind: p99 lag over [`BEHIND_LAG_P99_US`] and at least half the corrected
    /// p99 latency, or under [`BEHIND_SENT_SHARE`] of the planned messages sent.
    pub behind: bool,
}

impl Schedule {
    /// Judges a run that planned `rate_per_s` messages a second over `measured_ms` and sent `sent`, with
    /// the send lags `lag` and the corrected latencies `latency` (µs).
    pub fn judge(
        rate_per_s: f64,
        measured_ms: u64,
        sent: u64,
        lag: &Histogram<u64>,
        latency: &Histogram<u64>,
    ) -> Schedule {
        Schedule::from_counts((rate_per_s * measured_ms as f64 / 1e3).round() as u64, sent, lag, latency)
    }

    /// Judges `sent` of `planned` messages with the send lags `lag` and the corrected latencies
    /// `latency` (µs): a merge of shards adds their counts and histograms and judges again.
    pub fn from_counts(planned: u64, sent: u64, lag: &Histogram<u64>, latency: &Histogram<u64>) -> Schedule {
        let lag_us = Percentiles::of(lag);
        let corrected_p99 = Percentiles::of(latency).p99;
        let late = lag_us.p99 > BEHIND_LAG_P99_US && lag_us.p99.saturating_mul(2) >= corrected_p99;
        let behind = late || (sent as f64) < planned as f64 * BEHIND_SENT_SHARE;
        Schedule { planned, sent, lag_us, behind }
    }

    /// The share of planned messages sent, in percent.
    pub fn sent_percent(&self) -> f64 {
        if self.planned == 0 {
            100.0
        } else {
            self.sent as f64 * 100.0 / self.planned as f64
        }
    }

    /// One line on how the run kept to its schedule.
    pub fn line(&self) -> String {
        format!(
            "schedule: {} of {} planned messages sent ({:.1}%); send lag p50 {}, p99 {}, max {}",
            self.sent,
            self.planned,
            self.sent_percent(),
            micros(self.lag_us.p50),
            micros(self.lag_us.p99),
            micros(self.lag_us.max)
        )
    }

    /// When sending fell behind: what it means and what to do, for `connections` connections with at
    /// most `in_flight` messages each.
    pub fn warning(&self, connections: u64, in_flight: u64) -> Option<String> {
        if !self.behind {
            return None;
        }
        Some(format!(
            "sending fell behind the schedule: {:.1}% of the planned messages left, with a p99 send lag of {} \
             (max {}). The corrected latency counts that wait from the planned send, as it should when the server \
             is the cause, but the server saw a lower rate than asked. If this generator is the cause (too few \
             connections or messages in flight for the rate, or too little CPU), give the rate more room: more \
             connections (--connections, now {connections}) or more messages in flight per connection \
             (--in-flight, now {in_flight}), or a lower --rate.",
            self.sent_percent(),
            micros(self.lag_us.p99),
            micros(self.lag_us.max)
        ))
    }
}

/// `1500` µs as `1.50ms`.
fn micros(us: u64) -> String {
    if us >= 1_000_000 {
        format!("{:.2}s", us as f64 / 1e6)
    } else if us >= 1_000 {
        format!("{:.2}ms", us as f64 / 1e3)
    } else {
        format!("{us}µs")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::new_histogram;

    fn lags(values: &[u64]) -> Histogram<u64> {
        let mut h = new_histogram();
        values.iter().for_each(|v| h.saturating_record(*v));
        h
    }

    #[test]
    fn a_run_on_schedule_is_not_behind_and_has_no_warning() {
        let s = Schedule::judge(1000.0, 10_000, 10_000, &lags(&[20; 100]), &lags(&[300; 100]));
        assert_eq!((s.planned, s.sent, s.behind), (10_000, 10_000, false));
        assert!(s.warning(10, 1).is_none());
        assert!(s.line().contains("10000 of 10000 planned messages sent (100.0%)"), "{}", s.line());
    }

    #[test]
    fn a_late_send_or_a_shortfall_is_behind_and_the_warning_says_what_to_do() {
        let latency = lags(&[300, 300, 5_300].repeat(50));
        let late = Schedule::judge(1000.0, 10_000, 10_000, &lags(&[20, 20, 5_000].repeat(50)), &latency);
        assert!(late.behind);
        // the same lag under a latency 10 times larger: the corrected figure is mostly the server's
        let slow_server = lags(&[300, 300, 50_000].repeat(50));
        assert!(!Schedule::judge(1000.0, 10_000, 10_000, &lags(&[20, 20, 5_000].repeat(50)), &slow_server).behind);
        let w = late.warning(10, 1).unwrap_or_default();
        assert!(w.contains("p99 send lag of 5.00ms") && w.contains("--connections, now 10"), "{w}");
        let short = Schedule::judge(1000.0, 10_000, 9_000, &lags(&[20; 100]), &lags(&[300; 100]));
        assert!(short.behind && short.warning(10, 1).unwrap_or_default().contains("90.0% of the planned"));
    }
}
