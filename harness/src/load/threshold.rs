//! `--threshold EXPR`: pass/fail conditions on a run, as k6 has them.
//!
//! `METRIC OP VALUE`, e.g. `p99<5ms`, `p99.9<=20ms`, `errors==0`, `throughput>50000`.
//!
//! - Latency metrics take a duration (`ns`, `us`/`µs`, `ms`, `s`): `pN` (any percentile: `p50`, `p99.9`,
//!   and `p999` meaning 99.9 as in the report), `min`, `mean`, `max`; prefixed `handshake_`, `ping_` or
//!   `uncorrected_` for the other histograms (`handshake_p99<10ms`).
//! - Counts take a number (`k` and `M` suffixes allowed): `errors`, `messages_sent`, `messages_received`,
//!   `connections`, `throughput` (echoes per second, a trailing `/s` allowed).
//! - A scenario's steps (`--scenario`): `step.NAME.` before a latency statistic (`step.call.p99<10ms`), or
//!   `step.NAME.timeouts` (a count).
//! - Operators: `<`, `<=`, `>`, `>=`, `==`, `!=`.
//!
//! Thresholds are judged on the report, so a merged report is judged on its exact merged histograms.

use std::fmt;

use hdrhistogram::Histogram;
use reports::load::{decode_histogram, DecodedHistograms, LoadReport, ThresholdResult};

/// A comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `==`
    Eq,
    /// `!=`
    Ne,
}

impl Op {
    fn holds(self, observed: f64, limit: f64) -> bool {
        match self {
            Op::Lt => observed < limit,
            Op::Le => observed <= limit,
            Op::Gt => observed > limit,
            Op::Ge => observed >= limit,
            Op::Eq => observed == limit,
            Op::Ne => observed != limit,
        }
    }
}

/// Which histogram a latency metric reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Which {
    /// Message latency, corrected.
    Latency,
    /// Message latency, uncorrected.
    Uncorrected,
    /// Handshakes.
    Handshake,
    /// Pings.
    Ping,
}

/// A statistic of a histogram.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Stat {
    /// A percentile, 0 to 100.
    Percentile(f64),
    /// Smallest.
    Min,
    /// Mean.
    Mean,
    /// Largest.
    Max,
}

/// What a threshold looks at.
#[derive(Debug, Clone, PartialEq)]
pub enum Metric {
    /// A latency statistic (nanoseconds).
    Latency(Which, Stat),
    /// A latency statistic of a scenario's named expect step (nanoseconds).
    StepLatency(String, Stat),
    /// Timeouts of a scenario's named expect step.
    StepTimeouts(String),
    /// Errors of every kind.
    Errors,
    /// Measured messages sent.
    MessagesSent,
    /// Measured echoes received.
    MessagesReceived,
    /// Connections opened.
    Connections,
    /// Echoes per second.
    Throughput,
}

/// One parsed `--threshold`.
#[derive(Debug, Clone, PartialEq)]
pub struct Threshold {
    /// As given.
    pub expr: String,
    /// What it looks at.
    pub metric: Metric,
    /// How it compares.
    pub op: Op,
    /// The limit: nanoseconds for latencies, a count otherwise.
    pub limit: f64,
}

/// A threshold that cannot be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("--threshold '{expr}': {why} (examples: p99<5ms, p99.9<20ms, errors==0, throughput>50000)")]
pub struct ThresholdError {
    expr: String,
    why: String,
}

fn parse_duration_ns(s: &str) -> Option<f64> {
    let s = s.trim();
    let split = s.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: f64 = num.parse().ok()?;
    let mult = match unit.trim() {
        "ns" => 1.0,
        "us" | "µs" => 1e3,
        "ms" => 1e6,
        "s" => 1e9,
        "m" | "min" => 60e9,
        _ => return None,
    };
    Some(n * mult)
}

fn parse_count(s: &str) -> Option<f64> {
    let s = s.trim().trim_end_matches("/s").replace('_', "");
    let (num, mult) = match s.chars().last()? {
        'k' | 'K' => (&s[..s.len() - 1], 1e3),
        'M' => (&s[..s.len() - 1], 1e6),
        _ => (s.as_str(), 1.0),
    };
    num.parse::<f64>().ok().map(|n| n * mult)
}

fn parse_stat(s: &str) -> Option<Stat> {
    match s {
        "min" => return Some(Stat::Min),
        "mean" | "avg" => return Some(Stat::Mean),
        "max" => return Some(Stat::Max),
        _ => {}
    }
    let digits = s.strip_prefix('p')?;
    let p: f64 = match digits {
        // the report's names: p999 is 99.9, p9999 is 99.99
        "999" => 99.9,
        "9999" => 99.99,
        d => d.parse().ok()?,
    };
    (0.0..=100.0).contains(&p).then_some(Stat::Percentile(p))
}

impl Threshold {
    /// Parses `METRIC OP VALUE`.
    pub fn parse(expr: &str) -> Result<Threshold, ThresholdError> {
        let err = |why: &str| ThresholdError { expr: expr.to_string(), why: why.to_string() };
        let at = expr.find(['<', '>', '=', '!']).ok_or_else(|| err("no comparison (<, <=, >, >=, ==, !=)"))?;
        let (name, rest) = expr.split_at(at);
        let (op, value) =
            [("<=", Op::Le), (">=", Op::Ge), ("==", Op::Eq), ("!=", Op::Ne), ("<", Op::Lt), (">", Op::Gt)]
                .iter()
                .find_map(|(s, op)| rest.strip_prefix(s).map(|v| (*op, v)))
                .ok_or_else(|| err("unknown comparison"))?;
        let name = name.trim().to_ascii_lowercase();
        let metric = match name.as_str() {
            "errors" => Metric::Errors,
            "messages_sent" => Metric::MessagesSent,
            "messages_received" => Metric::MessagesReceived,
            "connections" => Metric::Connections,
            "throughput" => Metric::Throughput,
            other if other.starts_with("step.") => {
                let (step, stat) = other["step.".len()..]
                    .rsplit_once('.')
                    .filter(|(step, _)| !step.is_empty())
                    .ok_or_else(|| err("a step metric is step.NAME.STAT, e.g. step.call.p99 or step.call.timeouts"))?;
                match stat {
                    "timeouts" => Metric::StepTimeouts(step.to_owned()),
                    s => Metric::StepLatency(
                        step.to_owned(),
                        parse_stat(s).ok_or_else(|| err(&format!("unknown step statistic '{s}'")))?,
                    ),
                }
            }
            other => {
                let (which, stat) = if let Some(s) = other.strip_prefix("handshake_") {
                    (Which::Handshake, s)
                } else if let Some(s) = other.strip_prefix("ping_") {
                    (Which::Ping, s)
                } else if let Some(s) = other.strip_prefix("uncorrected_") {
                    (Which::Uncorrected, s)
                } else {
                    (Which::Latency, other)
                };
                Metric::Latency(which, parse_stat(stat).ok_or_else(|| err(&format!("unknown metric '{name}'")))?)
            }
        };
        let limit = match metric {
            Metric::Latency(..) | Metric::StepLatency(..) => parse_duration_ns(value)
                .ok_or_else(|| err(&format!("'{}' is not a duration such as 5ms or 250us", value.trim())))?,
            _ => parse_count(value).ok_or_else(|| err(&format!("'{}' is not a number", value.trim())))?,
        };
        Ok(Threshold { expr: expr.to_string(), metric, op, limit })
    }

    /// The observed value (nanoseconds for latencies).
    pub fn observe(&self, report: &LoadReport, hists: &DecodedHistograms) -> f64 {
        let s = &report.summary;
        match &self.metric {
            Metric::StepTimeouts(step) => {
                report.scenario.as_ref().and_then(|sc| sc.step(step)).map_or(0.0, |st| st.timeouts as f64)
            }
            Metric::StepLatency(step, stat) => {
                let h = report
                    .scenario
                    .as_ref()
                    .and_then(|sc| sc.step(step))
                    .and_then(|st| decode_histogram(&st.histogram).ok());
                h.map_or(0.0, |h| stat_us(&h, *stat) * 1e3)
            }
            Metric::Errors => s.errors as f64,
            Metric::MessagesSent => s.messages_sent as f64,
            Metric::MessagesReceived => s.messages_received as f64,
            Metric::Connections => s.connections as f64,
            Metric::Throughput => s.throughput_per_s,
            Metric::Latency(which, stat) => {
                let h: &Histogram<u64> = match which {
                    Which::Latency => &hists.latency,
                    Which::Uncorrected => &hists.latency_uncorrected,
                    Which::Handshake => &hists.handshake,
                    Which::Ping => &hists.ping,
                };
                stat_us(h, *stat) * 1e3
            }
        }
    }

    /// Judges the threshold on a report.
    pub fn judge(&self, report: &LoadReport, hists: &DecodedHistograms) -> ThresholdResult {
        let observed = self.observe(report, hists);
        let passed = self.op.holds(observed, self.limit);
        let show = |v: f64| match self.metric {
            Metric::Latency(..) | Metric::StepLatency(..) => format_ns(v),
            Metric::Throughput => format!("{v:.0}/s"),
            _ => format!("{v:.0}"),
        };
        let detail = (!passed).then(|| {
            let diff = (observed - self.limit).abs();
            match self.op {
                Op::Lt | Op::Le => {
                    let ratio = if self.limit > 0.0 {
                        format!(" ({:.3}x the limit)", observed / self.limit)
                    } else {
                        String::new()
                    };
                    format!("over the limit by {}{ratio}", show(diff))
                }
                Op::Gt | Op::Ge => format!("under the limit by {}", show(diff)),
                Op::Eq => format!("expected {}, off by {}", show(self.limit), show(diff)),
                Op::Ne => format!("must differ from {}", show(self.limit)),
            }
        });
        ThresholdResult { expr: self.expr.clone(), observed: show(observed), passed, detail }
    }
}

/// A statistic of a histogram in µs (0 when it is empty).
fn stat_us(h: &Histogram<u64>, stat: Stat) -> f64 {
    if h.is_empty() {
        return 0.0;
    }
    match stat {
        Stat::Percentile(p) => h.value_at_quantile(p / 100.0) as f64,
        Stat::Min => h.min() as f64,
        Stat::Mean => h.mean(),
        Stat::Max => h.max() as f64,
    }
}

/// Nanoseconds as a short duration: `850ns`, `77µs`, `12.3ms`, `1.002s`.
pub fn format_ns(ns: f64) -> String {
    if ns < 1e3 {
        format!("{ns:.0}ns")
    } else if ns < 1e6 {
        trim(format!("{:.3}", ns / 1e3)) + "µs"
    } else if ns < 1e9 {
        trim(format!("{:.3}", ns / 1e6)) + "ms"
    } else {
        trim(format!("{:.3}", ns / 1e9)) + "s"
    }
}

fn trim(s: String) -> String {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

impl fmt::Display for Threshold {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.expr)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_forms() {
        let t = Threshold::parse("p99<5ms").unwrap();
        assert_eq!((t.metric, t.op, t.limit), (Metric::Latency(Which::Latency, Stat::Percentile(99.0)), Op::Lt, 5e6));
        let t = Threshold::parse("step.call.p99<10ms").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((t.metric, t.limit), (Metric::StepLatency("call".into(), Stat::Percentile(99.0)), 10e6));
        let t = Threshold::parse("step.graphql.next.timeouts==0").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(t.metric, Metric::StepTimeouts("graphql.next".into()));
        assert!(Threshold::parse("step.p99<1ms").is_err());
        let t = Threshold::parse("p99.9<20ms").unwrap();
        assert_eq!(t.metric, Metric::Latency(Which::Latency, Stat::Percentile(99.9)));
        assert_eq!(Threshold::parse("p999<=1s").unwrap().metric, t.metric);
        let t = Threshold::parse("errors==0").unwrap();
        assert_eq!((t.metric, t.op, t.limit), (Metric::Errors, Op::Eq, 0.0));
        let t = Threshold::parse("throughput>50k/s").unwrap();
        assert_eq!((t.metric, t.op, t.limit), (Metric::Throughput, Op::Gt, 50_000.0));
        let t = Threshold::parse("handshake_p99 < 250us").unwrap();
        assert_eq!((t.metric, t.limit), (Metric::Latency(Which::Handshake, Stat::Percentile(99.0)), 250e3));
        assert_eq!(Threshold::parse("p99<1ns").unwrap().limit, 1.0);
    }

    #[test]
    fn mistakes_are_explained() {
        for (bad, why) in [
            ("p99", "no comparison"),
            ("p99<5", "not a duration"),
            ("latency<5ms", "unknown metric"),
            ("p101<5ms", "unknown metric"),
            ("errors<few", "not a number"),
            ("p99=<5ms", "unknown comparison"),
        ] {
            let e = Threshold::parse(bad).unwrap_err().to_string();
            assert!(e.contains(why), "{bad}: {e}");
        }
    }

    #[test]
    fn durations_print_short() {
        assert_eq!(format_ns(850.0), "850ns");
        assert_eq!(format_ns(77_000.0), "77µs");
        assert_eq!(format_ns(12_345_000.0), "12.345ms");
        assert_eq!(format_ns(1_002_000_000.0), "1.002s");
    }
}
