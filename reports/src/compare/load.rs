//! The difference between two load runs: latency percentiles, throughput and
//! errors, each judged against `--max-regression`.

use super::table;
use crate::load::LoadReport;

/// One measured value in both runs.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricDelta {
    /// `p99 latency`, `throughput`, `error rate`.
    pub name: &'static str,
    /// In the base run.
    pub base: f64,
    /// In the new run.
    pub new: f64,
    /// Whether a smaller value is better (latency, errors) or a larger one (throughput).
    pub lower_is_better: bool,
    /// `(new - base) / base` in percent; `None` when the base is 0.
    pub change_pct: Option<f64>,
    /// Whether the change is a regression beyond the threshold.
    pub regression: bool,
    /// How the values print: `µs`, `/s` or `%`.
    pub unit: &'static str,
}

impl MetricDelta {
    fn new(name: &'static str, unit: &'static str, base: f64, new: f64, lower_is_better: bool, max_pct: f64) -> Self {
        let change_pct = (base != 0.0).then(|| (new - base) / base * 100.0);
        let worse_pct = change_pct.map(|c| if lower_is_better { c } else { -c });
        let regression = match worse_pct {
            Some(w) => w > max_pct,
            // from nothing: more latency or errors than none is worse; throughput from 0 cannot drop
            None => lower_is_better && new > 0.0,
        };
        MetricDelta { name, base, new, lower_is_better, change_pct, regression, unit }
    }

    /// A value with its unit: `4.967 ms`, `2000/s`, `0.010%`.
    pub fn show(&self, v: f64) -> String {
        match self.unit {
            "µs" => crate::html::load_us(v.round() as u64),
            "/s" => format!("{v:.1}/s"),
            "%" => format!("{v:.4}%"),
            _ => format!("{v}"),
        }
    }

    /// The base value with its unit.
    pub fn show_base(&self) -> String {
        self.show(self.base)
    }

    /// The new value with its unit.
    pub fn show_new(&self) -> String {
        self.show(self.new)
    }

    /// `+20.0%`, `-3.1%`, or `from 0` when the base was 0.
    pub fn change(&self) -> String {
        match self.change_pct {
            Some(c) => format!("{c:+.1}%"),
            None if self.new == 0.0 => "±0".into(),
            None => "from 0".into(),
        }
    }
}

/// Facts about one of the two runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadRunInfo {
    /// The file name given.
    pub name: String,
    /// The tool that wrote it.
    pub tool: String,
    /// The target URLs.
    pub urls: String,
    /// The start time.
    pub started_at: String,
    /// Whether the run finished.
    pub complete: bool,
    /// `20 connections, open loop 2000/s, 64 B text, 4.00 s`.
    pub shape: String,
}

impl LoadRunInfo {
    fn of(r: &LoadReport, name: &str) -> LoadRunInfo {
        let s = &r.settings;
        let rate = s.rate_per_s.map(|v| format!(" {v}/s")).unwrap_or_default();
        LoadRunInfo {
            name: name.to_string(),
            tool: r.tool.clone(),
            urls: r.target.urls.join(" "),
            started_at: r.started_at.clone(),
            complete: r.complete,
            shape: format!(
                "{} connections, {} loop{rate}, in flight {}, size {} {}, {} ms measured",
                s.connections, s.loop_mode, s.in_flight, s.size, s.message_type, r.summary.measured_ms
            ),
        }
    }
}

/// What changed between a base and a new load run.
///
/// Latency percentiles (p50, p90, p99, p99.9, max) regress when they grow by
/// more than `max_regression_pct`, throughput when it shrinks by more, and the
/// error rate (errors per message sent) when it grows by more or appears
/// where there was none. An interrupted new run is a regression too.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadDiff {
    /// The base run.
    pub base: LoadRunInfo,
    /// The new run.
    pub new: LoadRunInfo,
    /// The threshold applied, in percent.
    pub max_regression_pct: f64,
    /// The metrics, in display order.
    pub metrics: Vec<MetricDelta>,
    /// Errors by kind: `(kind, base, new)`.
    pub errors_by_kind: Vec<(String, u64, u64)>,
    /// Settings that differ, which make the comparison less meaningful.
    pub settings_differ: Vec<String>,
    /// The latency histograms (HdrHistogram V2, base64) of base and new, for plots.
    pub histograms: [String; 2],
}

impl LoadDiff {
    /// Compares `new` against `base`.
    pub fn new(base: &LoadReport, new: &LoadReport, base_name: &str, new_name: &str, max_pct: f64) -> LoadDiff {
        let latency = |name, f: fn(&LoadReport) -> u64| {
            MetricDelta::new(name, "µs", f(base) as f64, f(new) as f64, true, max_pct)
        };
        let error_rate = |r: &LoadReport| r.errors.total as f64 / r.summary.messages_sent.max(1) as f64 * 100.0;
        let metrics = vec![
            latency("p50 latency", |r| r.latency_us.p50),
            latency("p90 latency", |r| r.latency_us.p90),
            latency("p99 latency", |r| r.latency_us.p99),
            latency("p99.9 latency", |r| r.latency_us.p999),
            latency("max latency", |r| r.latency_us.max),
            MetricDelta::new(
                "throughput",
                "/s",
                base.summary.throughput_per_s,
                new.summary.throughput_per_s,
                false,
                max_pct,
            ),
            MetricDelta::new("error rate", "%", error_rate(base), error_rate(new), true, max_pct),
        ];
        let mut kinds: Vec<&String> = base.errors.by_kind.keys().chain(new.errors.by_kind.keys()).collect();
        kinds.sort();
        kinds.dedup();
        let count = |r: &LoadReport, k: &String| r.errors.by_kind.get(k).copied().unwrap_or(0);
        let errors_by_kind = kinds.into_iter().map(|k| (k.clone(), count(base, k), count(new, k))).collect();
        let (b, n) = (&base.settings, &new.settings);
        let mut settings_differ = Vec::new();
        let mut differ = |what: &str, x: String, y: String| {
            if x != y {
                settings_differ.push(format!("{what}: {x} vs {y}"));
            }
        };
        differ("connections", b.connections.to_string(), n.connections.to_string());
        differ("loop", b.loop_mode.clone(), n.loop_mode.clone());
        differ("rate", format!("{:?}", b.rate_per_s), format!("{:?}", n.rate_per_s));
        differ("in flight", b.in_flight.to_string(), n.in_flight.to_string());
        differ("size", b.size.clone(), n.size.clone());
        differ("message type", b.message_type.clone(), n.message_type.clone());
        LoadDiff {
            base: LoadRunInfo::of(base, base_name),
            new: LoadRunInfo::of(new, new_name),
            max_regression_pct: max_pct,
            metrics,
            errors_by_kind,
            settings_differ,
            histograms: [base.histograms.latency.clone(), new.histograms.latency.clone()],
        }
    }

    /// One line per regression: `p99 latency: 4.967 ms -> 5.960 ms (+20.0%, limit +10%)`.
    pub fn regressions(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .metrics
            .iter()
            .filter(|m| m.regression)
            .map(|m| {
                let sign = if m.lower_is_better { "+" } else { "-" };
                format!(
                    "{}: {} -> {} ({}, limit {sign}{}%)",
                    m.name,
                    m.show(m.base),
                    m.show(m.new),
                    m.change(),
                    self.max_regression_pct
                )
            })
            .collect();
        if !self.new.complete {
            out.push(format!("{} is an incomplete run (interrupted)", self.new.name));
        }
        out
    }

    /// The terminal output.
    pub fn text(&self) -> String {
        let run = |label: &str, r: &LoadRunInfo| {
            let incomplete = if r.complete { "" } else { "  INCOMPLETE" };
            vec![
                label.to_string(),
                r.name.clone(),
                r.tool.clone(),
                r.urls.clone(),
                r.started_at.clone(),
                format!("{}{incomplete}", r.shape),
            ]
        };
        let mut out = table(&[run("base", &self.base), run("new", &self.new)]);
        for s in &self.settings_differ {
            out.push_str(&format!("note: settings differ, {s}\n"));
        }
        out.push('\n');
        let mut rows = vec![vec!["metric".into(), "base".into(), "new".into(), "change".into(), String::new()]];
        for m in &self.metrics {
            let mark =
                if m.regression { format!("REGRESSION (limit {}%)", self.max_regression_pct) } else { "ok".into() };
            rows.push(vec![m.name.to_string(), m.show(m.base), m.show(m.new), m.change(), mark]);
        }
        out.push_str(&table(&rows));
        if !self.errors_by_kind.is_empty() {
            out.push_str("\nerrors by kind:\n");
            let rows: Vec<Vec<String>> = self
                .errors_by_kind
                .iter()
                .map(|(k, b, n)| vec![format!("  {k}"), b.to_string(), n.to_string()])
                .collect();
            out.push_str(&table(&rows));
        }
        out
    }
}
