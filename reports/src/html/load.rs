//! The load page: thresholds first (k6), the headline numbers, the percentile
//! distribution (HdrHistogram), latency, throughput and connections over time,
//! errors, settings.

use askama::Template;

use super::plot::{self, Line};
use super::{bytes, millis, CONTENT_SECURITY_POLICY};
use crate::load::{decode_histogram, DeflateSummary, LoadReport, Percentiles, SeriesPoint};
use crate::RenderError;

#[derive(Template)]
#[template(path = "load.html")]
struct Page<'a> {
    csp: &'static str,
    title: String,
    r: &'a LoadReport,
    duration: String,
    command_line: String,
    breached: usize,
    tiles: Vec<Tile>,
    percentiles: Vec<PercentileRow>,
    distribution: String,
    latency_over_time: String,
    throughput_over_time: String,
    connections_over_time: String,
    errors_by_kind: Vec<(String, u64)>,
    errors_by_detail: Vec<(String, u64)>,
    settings: Vec<(&'static str, String)>,
    generator: Vec<(&'static str, String)>,
    deflate: Option<String>,
    /// The percentile table's column headings, after `percentile`.
    columns: Vec<&'static str>,
    /// The figure's caption: what the latency lines count from.
    distribution_caption: &'static str,
    /// How an open-loop run kept to its schedule ([`crate::schedule::Schedule::line`]).
    schedule: Option<String>,
    /// When sending fell behind the schedule ([`crate::schedule::Schedule::warning`]).
    schedule_warning: Option<String>,
}

/// One headline number.
struct Tile {
    label: &'static str,
    value: String,
    bad: bool,
}

/// One row of the percentile table.
struct PercentileRow {
    label: &'static str,
    cells: Vec<String>,
}

/// Renders the page.
pub fn render(r: &LoadReport) -> Result<String, RenderError> {
    let decode = |name: &str, blob: &str| {
        decode_histogram(blob).map_err(|source| RenderError::Histogram { name: name.to_string(), source })
    };
    let latency = decode("latency", &r.histograms.latency)?;
    let uncorrected = decode("latency_uncorrected", &r.histograms.latency_uncorrected)?;
    let open_loop = is_open_loop(r);
    let distribution = match (latency.is_empty(), open_loop) {
        (true, _) => String::new(),
        (false, true) => plot::percentile_distribution(&[
            ("corrected for coordinated omission", &latency),
            ("uncorrected (from the actual send)", &uncorrected),
        ])?,
        (false, false) => plot::percentile_distribution(&[("from each send (closed loop)", &latency)])?,
    };
    let s = &r.summary;
    let mut tiles = vec![Tile { label: "echoes/s", value: plot::short_number(s.throughput_per_s), bad: false }];
    if let Some(d) = &s.deflate {
        // beside the rate: what compression did to the bytes each way
        tiles.push(Tile { label: "ratio sent", value: ratio(d.ratio_sent), bad: false });
        tiles.push(Tile { label: "ratio received", value: ratio(d.ratio_received), bad: false });
    }
    tiles.extend([
        Tile { label: "p50", value: us(r.latency_us.p50), bad: false },
        Tile { label: "p99", value: us(r.latency_us.p99), bad: false },
        Tile { label: "p99.9", value: us(r.latency_us.p999), bad: false },
        Tile { label: "max", value: us(r.latency_us.max), bad: false },
        Tile { label: "errors", value: r.errors.total.to_string(), bad: r.errors.total > 0 },
        Tile {
            label: "connections",
            value: format!("{}/{}", s.connections, r.settings.connections),
            bad: s.connections_failed > 0 || s.connections_not_tried > 0,
        },
    ]);
    let page = Page {
        csp: CONTENT_SECURITY_POLICY,
        title: format!("wsharness load: {}", r.target.urls.join(", ")),
        r,
        duration: millis(r.duration_ms),
        command_line: r.command_line.join(" "),
        breached: r.thresholds.iter().filter(|t| !t.passed).count(),
        tiles,
        percentiles: percentile_rows(r),
        distribution,
        latency_over_time: time_plot(
            "latency (ms)",
            &r.series,
            &[("p50", &|p: &SeriesPoint| p.p50_us as f64 / 1000.0), ("p99", &|p| p.p99_us as f64 / 1000.0)],
        )?,
        throughput_over_time: time_plot("echoes per second", &r.series, &[("echoes/s", &|p| p.throughput_per_s)])?,
        connections_over_time: time_plot(
            "connections open",
            &r.series,
            &[("open connections", &|p| p.open_connections as f64)],
        )?,
        errors_by_kind: r.errors.by_kind.iter().map(|(k, v)| (k.clone(), *v)).collect(),
        errors_by_detail: r.errors.by_detail.iter().map(|(k, v)| (k.clone(), *v)).collect(),
        settings: settings(r),
        generator: generator(r),
        deflate: s.deflate.as_ref().map(deflate_line),
        columns: if open_loop {
            vec!["echo (corrected)", "echo (uncorrected)", "handshake", "ping"]
        } else {
            vec!["echo", "handshake", "ping"]
        },
        distribution_caption: if open_loop {
            "Corrected latency counts from the scheduled send (wrk2); uncorrected from the actual send."
        } else {
            "Closed loop: each message is sent when an earlier one's echo arrives, so there is no schedule to \
             correct against; latency counts from each send."
        },
        schedule: s.schedule.as_ref().map(|x| x.line()),
        schedule_warning: s.schedule.as_ref().and_then(|x| x.warning(r.settings.connections, r.settings.in_flight)),
    };
    page.render().map_err(RenderError::Template)
}

type Metric<'a> = &'a dyn Fn(&SeriesPoint) -> f64;

fn time_plot(y_desc: &str, series: &[SeriesPoint], lines: &[(&str, Metric<'_>)]) -> Result<String, RenderError> {
    if series.is_empty() {
        return Ok(String::new());
    }
    let lines: Vec<Line<'_>> = lines
        .iter()
        .map(|(name, f)| Line { name, points: series.iter().map(|p| (p.t_ms as f64 / 1000.0, f(p))).collect() })
        .collect();
    let shaded: Vec<(f64, f64)> = series
        .iter()
        .filter(|p| p.phase != "measured")
        .map(|p| (p.t_ms.saturating_sub(p.interval_ms) as f64 / 1000.0, p.t_ms as f64 / 1000.0))
        .collect();
    plot::over_time(y_desc, &lines, &shaded)
}

/// A compression ratio: `12.3:1`, `-` when nothing was counted.
fn ratio(v: f64) -> String {
    if v > 0.0 {
        format!("{v:.2}:1")
    } else {
        "-".into()
    }
}

/// What permessage-deflate did, in one line.
fn deflate_line(d: &DeflateSummary) -> String {
    format!(
        "sent {} of payload as {} on the wire ({}), echoes {} as {} ({}), {} of them compressed; compression: {}{}",
        bytes(d.plain_bytes_sent),
        bytes(d.wire_bytes_sent),
        ratio(d.ratio_sent),
        bytes(d.plain_bytes_received),
        bytes(d.wire_bytes_received),
        ratio(d.ratio_received),
        d.messages_compressed_received,
        d.compression,
        d.negotiated.as_ref().map(|n| format!("; negotiated {n}")).unwrap_or_default()
    )
}

/// `229 µs`, `1.042 ms`, `1.25 s`.
pub(crate) fn us(v: u64) -> String {
    if v < 1000 {
        format!("{v} µs")
    } else if v < 1_000_000 {
        format!("{:.3} ms", v as f64 / 1000.0)
    } else {
        format!("{:.2} s", v as f64 / 1e6)
    }
}

/// Whether the run was paced by a schedule (`--rate`): only then is latency corrected.
fn is_open_loop(r: &LoadReport) -> bool {
    r.settings.loop_mode == "open"
}

fn percentile_rows(r: &LoadReport) -> Vec<PercentileRow> {
    let all: Vec<&Percentiles> = if is_open_loop(r) {
        vec![&r.latency_us, &r.latency_uncorrected_us, &r.handshake_latency_us, &r.ping_latency_us]
    } else {
        vec![&r.latency_us, &r.handshake_latency_us, &r.ping_latency_us]
    };
    let row = |label: &'static str, f: fn(&Percentiles) -> u64| PercentileRow {
        label,
        cells: all.iter().map(|p| if p.count == 0 { "-".to_string() } else { us(f(p)) }).collect(),
    };
    vec![
        row("50%", |p| p.p50),
        row("75%", |p| p.p75),
        row("90%", |p| p.p90),
        row("99%", |p| p.p99),
        row("99.9%", |p| p.p999),
        row("99.99%", |p| p.p9999),
        row("max", |p| p.max),
        row("min", |p| p.min),
        PercentileRow { label: "samples", cells: all.iter().map(|p| p.count.to_string()).collect() },
    ]
}

fn settings(r: &LoadReport) -> Vec<(&'static str, String)> {
    let s = &r.settings;
    let opt_ms = |v: Option<u64>| v.map(millis).unwrap_or_else(|| "-".into());
    vec![
        ("connections", s.connections.to_string()),
        ("ramp-up", millis(s.ramp_up_ms)),
        ("warmup", millis(s.warmup_ms)),
        ("duration", opt_ms(s.duration_ms)),
        ("messages", s.messages.map(|m| m.to_string()).unwrap_or_else(|| "-".into())),
        ("loop", s.loop_mode.clone()),
        ("rate", s.rate_per_s.map(|v| format!("{v}/s")).unwrap_or_else(|| "-".into())),
        ("in flight per connection", s.in_flight.to_string()),
        ("payload size", s.size.clone()),
        ("message type", s.message_type.clone()),
        ("timeout", millis(s.timeout_ms)),
        ("ping interval", opt_ms(s.ping_interval_ms)),
        ("shard", s.shard.clone().unwrap_or_else(|| "-".into())),
        ("permessage-deflate offer", s.deflate.clone().unwrap_or_else(|| "-".into())),
    ]
}

fn generator(r: &LoadReport) -> Vec<(&'static str, String)> {
    let g = &r.generator;
    let s = &r.summary;
    vec![
        ("I/O", format!("{}, {} threads", g.io, g.threads)),
        (
            "messages",
            format!("{} sent, {} echoes received in {}", s.messages_sent, s.messages_received, millis(s.measured_ms)),
        ),
        (
            "connections",
            format!(
                "{} opened, {} at most at once, {} failed, {} never tried (the run ended first)",
                s.connections, s.connections_peak, s.connections_failed, s.connections_not_tried
            ),
        ),
        ("CPU per echo", format!("{:.0} ns", g.cpu_per_message_ns)),
        ("memory per connection", format!("{} bytes", g.memory_per_connection_bytes)),
        ("file-descriptor limit", format!("{} (hard {})", g.fd_limit[0], g.fd_limit[1])),
        (
            "source addresses",
            if g.source_addrs.is_empty() { "kernel's choice".into() } else { g.source_addrs.join(", ") },
        ),
    ]
}
