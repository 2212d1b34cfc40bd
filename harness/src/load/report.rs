//! Turns a run's [`Outcome`] into the `reports::load` model, and prints it wrk2-style.

use std::collections::BTreeMap;

use hdrhistogram::Histogram;
use reports::load::{
    encode_histogram, DecodedHistograms, DeflateSummary, ErrorCounts, GeneratorInfo, HistogramError, Histograms,
    LoadReport, LoadSettings, LoadSummary, LoadTarget, Percentiles, SeriesPoint, ThresholdResult,
};

use reports::schedule::Schedule;

use super::run::{p50_p99, Outcome};
use super::stats::Tally;
use super::threshold::{format_ns, Threshold};
use crate::report::host_info;

/// Errors by kind and detail.
pub fn error_counts(t: &Tally) -> ErrorCounts {
    let mut c = ErrorCounts::default();
    for (e, n) in &t.errors {
        c.total += n;
        *c.by_kind.entry(e.kind().to_string()).or_default() += n;
        *c.by_detail.entry(e.detail()).or_default() += n;
    }
    c
}

/// The permessage-deflate numbers of a run: `described` (what was negotiated, how messages were
/// compressed) with the byte counts of `t`.
pub fn deflate_summary(t: &Tally, described: DeflateSummary) -> DeflateSummary {
    let d = &t.deflate;
    let mut out = DeflateSummary {
        plain_bytes_sent: t.payload_bytes,
        wire_bytes_sent: d.wire_sent,
        plain_bytes_received: d.plain_received,
        wire_bytes_received: d.wire_received,
        messages_compressed_received: d.compressed_received,
        ..described
    };
    out.set_ratios();
    out
}

/// The report of one run; thresholds judged on it. `deflate`: for a `--deflate` run, what was
/// negotiated and how messages were compressed (the byte counts come from the run).
pub fn build(
    outcome: &Outcome,
    target: LoadTarget,
    settings: LoadSettings,
    mut generator: GeneratorInfo,
    thresholds: &[Threshold],
    deflate: Option<DeflateSummary>,
) -> Result<(LoadReport, DecodedHistograms), HistogramError> {
    let t = &outcome.totals;
    let open_loop = settings.loop_mode == "open";
    let hists = DecodedHistograms {
        latency: t.latency.clone(),
        latency_uncorrected: if open_loop { t.latency_uncorrected.clone() } else { t.latency.clone() },
        handshake: t.handshake.clone(),
        ping: t.ping.clone(),
        send_lag: if open_loop { t.send_lag.clone() } else { reports::load::new_histogram() },
    };
    let measured_s = outcome.measured_ns as f64 / 1e9;
    let errors = error_counts(t);
    generator.cpu_ms = outcome.cpu_ns / 1_000_000;
    generator.cpu_per_message_ns =
        if t.received > 0 { (outcome.cpu_ns as f64 / t.received as f64 * 10.0).round() / 10.0 } else { 0.0 };
    generator.rss_start_bytes = outcome.rss_start;
    generator.rss_peak_bytes = outcome.rss_peak;
    generator.memory_per_connection_bytes = outcome.rss_peak.saturating_sub(outcome.rss_start) / outcome.peak.max(1);
    let series = outcome
        .series
        .iter()
        .map(|p| {
            let (p50, p99) = p50_p99(&p.interval.latency);
            Ok(SeriesPoint {
                t_ms: p.t_ns / 1_000_000,
                interval_ms: p.interval_ns / 1_000_000,
                phase: p.phase.to_string(),
                sent: p.interval.sent,
                received: p.interval.received,
                throughput_per_s: (p.interval.received as f64 * 1e9 / p.interval_ns.max(1) as f64).round(),
                p50_us: p50,
                p99_us: p99,
                errors: p.interval.errors,
                open_connections: p.open,
                histogram: if p.interval.latency.is_empty() {
                    String::new()
                } else {
                    encode_histogram(&p.interval.latency)?
                },
            })
        })
        .collect::<Result<Vec<_>, HistogramError>>()?;
    let schedule = settings
        .rate_per_s
        .filter(|_| open_loop)
        .map(|rate| Schedule::judge(rate, outcome.measured_ns / 1_000_000, t.sent, &hists.send_lag, &hists.latency));
    let mut report = LoadReport {
        schema_version: reports::SCHEMA_VERSION,
        kind: "load".into(),
        tool: format!("wsharness {}", env!("CARGO_PKG_VERSION")),
        started_at: humantime::format_rfc3339_seconds(outcome.started_at).to_string(),
        duration_ms: outcome.wall_ns / 1_000_000,
        complete: !outcome.interrupted,
        host: host_info(),
        command_line: redacted(std::env::args()),
        target,
        settings,
        summary: LoadSummary {
            throughput_per_s: if measured_s > 0.0 {
                (t.received_in_window as f64 / measured_s * 10.0).round() / 10.0
            } else {
                0.0
            },
            messages_sent: t.sent,
            messages_received: t.received,
            errors: errors.total,
            connections: outcome.opened,
            connections_peak: outcome.peak,
            connections_failed: outcome.failed,
            connections_not_tried: outcome.not_tried,
            measured_ms: outcome.measured_ns / 1_000_000,
            payload_bytes_sent: t.payload_bytes,
            deflate: deflate.map(|d| deflate_summary(t, d)),
            schedule,
        },
        latency_us: Percentiles::default(),
        latency_uncorrected_us: Percentiles::default(),
        handshake_latency_us: Percentiles::default(),
        ping_latency_us: Percentiles::default(),
        errors,
        thresholds: Vec::new(),
        generator,
        series,
        histograms: Histograms::encode(&hists)?,
        merged_from: Vec::new(),
        scenario: None,
    };
    report.set_percentiles(&hists);
    report.thresholds = judge(&report, &hists, thresholds);
    Ok((report, hists))
}

/// The command line with the values of `--header` left out (`Authorization: <redacted>`): a report is
/// shared, a token must not travel with it.
pub fn redacted(args: impl IntoIterator<Item = String>) -> Vec<String> {
    let hide = |h: &str| match h.split_once(':') {
        Some((name, _)) => format!("{name}: <redacted>"),
        None => "<redacted>".into(),
    };
    let mut out = Vec::new();
    let mut next_is_header = false;
    for a in args {
        let a = if next_is_header {
            hide(&a)
        } else if let Some(h) = a.strip_prefix("--header=") {
            format!("--header={}", hide(h))
        } else if let Some(h) = a.strip_prefix("-H").filter(|h| !h.is_empty()) {
            format!("-H{}", hide(h))
        } else {
            a
        };
        next_is_header = a == "-H" || a == "--header";
        out.push(a);
    }
    out
}

/// Judges thresholds on a report.
pub fn judge(report: &LoadReport, hists: &DecodedHistograms, thresholds: &[Threshold]) -> Vec<ThresholdResult> {
    thresholds.iter().map(|t| t.judge(report, hists)).collect()
}

fn us(v: u64) -> String {
    format_ns(v as f64 * 1e3)
}

/// Prints the thresholds (first, as k6 does), the wrk2-style percentile table and the summary.
pub fn print(report: &LoadReport, hists: &DecodedHistograms, path: &str) {
    let s = &report.settings;
    let sum = &report.summary;
    let what = if report.target.embedded {
        format!("{} (embedded reference server, same process)", report.target.urls.join(", "))
    } else {
        report.target.urls.join(", ")
    };
    let pace = match s.rate_per_s {
        Some(r) => format!("open loop at {r:.0} msg/s, at most {} in flight per connection", s.in_flight),
        None => format!("closed loop, {} in flight per connection", s.in_flight),
    };
    let churn = s.churn_per_s.map(|c| format!(", churn {c}/s")).unwrap_or_default();
    crate::outln!("load @ {what}");
    crate::outln!("  {} connections{churn}, {pace}, {}-byte {} messages", s.connections, s.size, s.message_type);
    if !report.thresholds.is_empty() {
        crate::outln!("\nthresholds");
        for t in &report.thresholds {
            let mark = if t.passed { "✓" } else { "✗" };
            match &t.detail {
                Some(d) => crate::outln!("  {mark} {:<24} observed {}: {d}", t.expr, t.observed),
                None => crate::outln!("  {mark} {:<24} observed {}", t.expr, t.observed),
            }
        }
    }
    if s.loop_mode == "open" {
        print_table("Latency Distribution (HdrHistogram - corrected for coordinated omission)", &hists.latency);
        print_table("Uncorrected Latency (measured from the actual send)", &hists.latency_uncorrected);
    } else {
        print_table(
            "Latency Distribution (HdrHistogram - closed loop: from each send, nothing to correct)",
            &hists.latency,
        );
    }
    let h = &report.handshake_latency_us;
    if h.count > 0 {
        crate::outln!(
            "\n  Handshakes ({}): p50 {}  p90 {}  p99 {}  p99.9 {}  max {}",
            h.count,
            us(h.p50),
            us(h.p90),
            us(h.p99),
            us(h.p999),
            us(h.max)
        );
    }
    let p = &report.ping_latency_us;
    if p.count > 0 {
        crate::outln!("  Pings ({}): p50 {}  p99 {}  max {}", p.count, us(p.p50), us(p.p99), us(p.max));
    }
    crate::outln!(
        "\n  {} messages sent, {} echoes received in {:.2}s (measured phase), {} errors",
        sum.messages_sent,
        sum.messages_received,
        sum.measured_ms as f64 / 1e3,
        sum.errors
    );
    crate::outln!(
        "  Connections: {} opened, {} at most at once, {} failed",
        sum.connections,
        sum.connections_peak,
        sum.connections_failed
    );
    if sum.connections_not_tried > 0 {
        crate::outln!(
            "  NOT OPENED: {} of {} connections never opened: the run ended while they waited for their turn \
             (ramp-up, or one of --max-handshakes slots) or were still opening",
            sum.connections_not_tried,
            s.connections
        );
    }
    if report.errors.total > 0 {
        let by: BTreeMap<_, _> = report.errors.by_detail.iter().collect();
        let list: Vec<String> = by.iter().map(|(k, v)| format!("{k}: {v}")).collect();
        crate::outln!("  Errors: {}", list.join(", "));
    }
    crate::outln!("Messages/sec: {:.2}", sum.throughput_per_s);
    if let Some(schedule) = &sum.schedule {
        crate::outln!("  {}", schedule.line());
        if let Some(warning) = schedule.warning(s.connections, s.in_flight) {
            crate::outln!("  WARNING: {warning}");
        }
    }
    if let Some(d) = &sum.deflate {
        print_deflate(d);
    }
    let g = &report.generator;
    crate::outln!(
        "  generator ({}, {} threads): {:.0} ns CPU per echo over the measured phase; {} bytes of memory per connection",
        g.io, g.threads, g.cpu_per_message_ns, g.memory_per_connection_bytes
    );
    if !report.complete {
        crate::outln!("  INTERRUPTED: the report covers what ran and is marked \"complete\": false");
    }
    crate::outln!("report: {path}");
}

/// The permessage-deflate line, beside messages/s: bytes and ratio each way.
fn print_deflate(d: &DeflateSummary) {
    let ratio = |r: f64| if r > 0.0 { format!("{r:.2}:1") } else { "-".into() };
    crate::outln!(
        "  permessage-deflate ({}): sent {} payload bytes as {} on the wire (ratio {}), received {} as {} (ratio {}); {} echoes compressed",
        d.compression,
        d.plain_bytes_sent,
        d.wire_bytes_sent,
        ratio(d.ratio_sent),
        d.plain_bytes_received,
        d.wire_bytes_received,
        ratio(d.ratio_received),
        d.messages_compressed_received
    );
    if let Some(n) = &d.negotiated {
        crate::outln!("  negotiated: {n}");
    }
}

fn print_table(title: &str, h: &Histogram<u64>) {
    crate::outln!("\n  {title}");
    if h.is_empty() {
        crate::outln!("    (no samples)");
        return;
    }
    for q in [50.0, 75.0, 90.0, 99.0, 99.9, 99.99, 99.999, 100.0] {
        let v = if q >= 100.0 { h.max() } else { h.value_at_quantile(q / 100.0) };
        crate::outln!(" {q:>7.3}% {:>10}", us(v));
    }
}

#[cfg(test)]
mod tests {
    use super::redacted;

    #[test]
    fn header_values_never_reach_the_report() {
        let args = ["wsharness", "load", "-H", "Authorization: Bearer s3cret", "--header=X-Key: k", "-HCookie: c=1"];
        let line = redacted(args.map(String::from)).join(" ");
        assert!(!line.contains("s3cret") && !line.contains("k\"") && !line.contains("c=1"), "{line}");
        assert!(line.contains("-H Authorization: <redacted>") && line.contains("--header=X-Key: <redacted>"), "{line}");
        assert!(line.contains("-HCookie: <redacted>"), "{line}");
    }
}
