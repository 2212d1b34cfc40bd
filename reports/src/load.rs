//! The load report (`kind: "load"`), written by `wsharness load` and `wsharness merge`.
//!
//! Every latency is in microseconds. Each histogram travels twice: as a few
//! percentiles CI scripts read (`latency_us.p99`), and losslessly in
//! `histograms` as an HdrHistogram V2 compressed blob in base64 (the format of
//! HdrHistogram's own logs, readable by its Java, C, Go and Python ports).
//! [`LoadReport::merge`] adds those histograms, so percentiles of several
//! shards are exact, never averages of percentiles.
//!
//! ```json
//! { "schema_version": 1, "kind": "load", "tool": "wsharness 0.1.0", "complete": true,
//!   "started_at": "2026-11-21T08:00:00Z", "duration_ms": 12034,
//!   "host": { "os": "linux", "arch": "x86_64", "cores": 2 }, "command_line": ["wsharness", "load"],
//!   "target": { "urls": ["ws://127.0.0.1:9001/"], "embedded": false },
//!   "settings": { "connections": 50, "loop_mode": "closed", "in_flight": 64, "rate_per_s": null,
//!                 "size": "64", "message_type": "text", ... },
//!   "summary": { "throughput_per_s": 1234567.0, "messages_sent": 12345678, "messages_received": 12345678,
//!                "errors": 0, "connections": 50, "measured_ms": 10000, ... },
//!   "latency_us": { "count": 12345678, "min": 12, "mean": 40.1, "p50": 38, "p90": 51, "p99": 77,
//!                   "p999": 130, "p9999": 410, "max": 1203 },
//!   "latency_uncorrected_us": { ... }, "handshake_latency_us": { ... }, "ping_latency_us": { ... },
//!   "errors": { "total": 0, "by_kind": {}, "by_detail": {} },
//!   "thresholds": [ { "expr": "p99<5ms", "observed": "77µs", "passed": true, "detail": null } ],
//!   "generator": { "io": "tokio", "cpu_ms": 9800, "cpu_per_message_ns": 790.0, ... },
//!   "series": [ { "t_ms": 1000, "interval_ms": 1000, "phase": "measured", "sent": 1200000, ... } ],
//!   "histograms": { "latency": "HISTEwAAA...", "latency_uncorrected": "...", "handshake": "...", "ping": "..." } }
//! ```
//!
//! Stable names CI reads: `kind`, `complete`, `summary.throughput_per_s` (echoes received per second over
//! the measured phase), `summary.messages_sent`, `summary.messages_received`, `summary.errors`,
//! `summary.connections`, `latency_us.{p50,p90,p99,p999,max}`, `handshake_latency_us.*`, and
//! `thresholds[].{expr,observed,passed}`.

use std::collections::BTreeMap;
use std::io::Cursor;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use hdrhistogram::serialization::{Deserializer, Serializer, V2DeflateSerializer};
use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use crate::conformance::HostInfo;

/// Lowest latency a histogram tells apart: 1 µs.
pub const HIST_LOW_US: u64 = 1;
/// Highest latency a histogram records: 60 s (larger values are recorded as 60 s).
pub const HIST_HIGH_US: u64 = 60_000_000;
/// Significant decimal digits kept.
pub const HIST_SIGFIG: u8 = 3;

/// A fresh empty latency histogram (1 µs to 60 s, 3 significant digits).
pub fn new_histogram() -> Histogram<u64> {
    // the bounds are constants that the crate accepts (low >= 1, high >= 2 * low, sigfig <= 5)
    let default = || Histogram::new(3).unwrap(); // ok: 3 significant digits, within the crate's 0..=5
    Histogram::new_with_bounds(HIST_LOW_US, HIST_HIGH_US, HIST_SIGFIG).unwrap_or_else(|_| default())
}

/// Why a histogram blob could not be read or written, or reports not merged.
#[derive(Debug, thiserror::Error)]
pub enum HistogramError {
    /// Not base64.
    #[error("histogram is not valid base64")]
    Base64(#[source] base64::DecodeError),
    /// Not an HdrHistogram V2 (compressed) blob.
    #[error("histogram is not a valid HdrHistogram V2 blob")]
    Decode(#[source] hdrhistogram::serialization::DeserializeError),
    /// The serializer failed.
    #[error("histogram cannot be encoded")]
    Encode(#[source] hdrhistogram::serialization::V2DeflateSerializeError),
    /// Adding two histograms failed (incompatible ranges).
    #[error("histograms cannot be added")]
    Add(#[source] hdrhistogram::AdditionError),
    /// Nothing to merge.
    #[error("no report to merge")]
    Empty,
    /// A report that is not a load report.
    #[error("report {index} is of kind '{kind}', not 'load'")]
    NotLoad {
        /// Position among the inputs (0-based).
        index: usize,
        /// Its kind.
        kind: String,
    },
}

/// Encodes a histogram as base64 of its V2 compressed form.
pub fn encode_histogram(h: &Histogram<u64>) -> Result<String, HistogramError> {
    let mut bytes = Vec::new();
    V2DeflateSerializer::new().serialize(h, &mut bytes).map_err(HistogramError::Encode)?;
    Ok(STANDARD.encode(bytes))
}

/// Decodes [`encode_histogram`]'s output (an empty string is an empty histogram).
pub fn decode_histogram(s: &str) -> Result<Histogram<u64>, HistogramError> {
    if s.is_empty() {
        return Ok(new_histogram());
    }
    let bytes = STANDARD.decode(s).map_err(HistogramError::Base64)?;
    let decoded: Histogram<u64> =
        Deserializer::new().deserialize(&mut Cursor::new(bytes)).map_err(HistogramError::Decode)?;
    // re-home into the standard range so that any two decoded histograms add exactly
    let mut h = new_histogram();
    h.add(&decoded).map_err(HistogramError::Add)?;
    Ok(h)
}

/// A whole load run (or several merged).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoadReport {
    /// [`crate::SCHEMA_VERSION`].
    pub schema_version: u32,
    /// Always `"load"`.
    pub kind: String,
    /// `wsharness VERSION`.
    pub tool: String,
    /// RFC 3339 UTC start time.
    pub started_at: String,
    /// Wall time of the whole run, ramp-up, warmup and drain included.
    pub duration_ms: u64,
    /// `false` when the run was interrupted (Ctrl-C): the numbers cover what ran.
    pub complete: bool,
    /// The machine the generator ran on.
    pub host: HostInfo,
    /// The command line, as given.
    pub command_line: Vec<String>,
    /// The servers loaded.
    pub target: LoadTarget,
    /// What was asked for.
    pub settings: LoadSettings,
    /// The headline numbers.
    pub summary: LoadSummary,
    /// Latency of every measured message, send to echo; in open loop counted from its scheduled send
    /// time (coordinated omission corrected, as wrk2 does).
    pub latency_us: Percentiles,
    /// The same messages counted from their actual send time (what a naive tool reports).
    pub latency_uncorrected_us: Percentiles,
    /// Opening handshakes: TCP connect to the 101 response.
    pub handshake_latency_us: Percentiles,
    /// Pings (`--ping-interval`): ping sent to pong received.
    pub ping_latency_us: Percentiles,
    /// Errors by kind.
    pub errors: ErrorCounts,
    /// `--threshold` results, in the order given.
    pub thresholds: Vec<ThresholdResult>,
    /// Facts about the generator itself.
    pub generator: GeneratorInfo,
    /// One point per second (shorter at phase boundaries).
    pub series: Vec<SeriesPoint>,
    /// The lossless histograms.
    pub histograms: Histograms,
    /// For a merged report: the inputs, in order; empty otherwise.
    #[serde(default)]
    pub merged_from: Vec<String>,
    /// A scenario run's steps and roles (`wsharness load --scenario`); absent for echo runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scenario: Option<crate::scenario::ScenarioReport>,
}

/// The servers loaded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoadTarget {
    /// The URLs; connection `i` goes to `urls[i % len]`.
    pub urls: Vec<String>,
    /// Whether it was the embedded reference server (same process as the generator).
    pub embedded: bool,
}

/// What was asked for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoadSettings {
    /// Connections opened (by this shard).
    pub connections: u64,
    /// Time over which connections were opened at an even pace.
    pub ramp_up_ms: u64,
    /// Measured phase length (`--duration`), if time-bounded.
    pub duration_ms: Option<u64>,
    /// Measured messages (`--messages`), if count-bounded.
    pub messages: Option<u64>,
    /// Time measured but kept out of the results, after the ramp-up.
    pub warmup_ms: u64,
    /// `closed` (each connection keeps `in_flight` outstanding) or `open` (`rate_per_s` in total).
    pub loop_mode: String,
    /// Messages outstanding per connection at most.
    pub in_flight: u64,
    /// Open loop: messages per second in total (of this shard).
    pub rate_per_s: Option<f64>,
    /// Payload size or distribution, as given (e.g. `64`, `64..1024`, `64:90,1024:10`).
    pub size: String,
    /// `text` or `binary`.
    pub message_type: String,
    /// Time after which a missing echo, connect or handshake is an error.
    pub timeout_ms: u64,
    /// Ping interval per connection, if any.
    pub ping_interval_ms: Option<u64>,
    /// `i/N` when this run is one shard of N.
    pub shard: Option<String>,
    /// `--deflate`: the permessage-deflate offer sent (`Sec-WebSocket-Extensions` value); absent
    /// when messages were not compressed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deflate: Option<String>,
    /// `--churn`: connections closed and reopened per second (this shard's share); absent: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub churn_per_s: Option<f64>,
}

/// The headline numbers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoadSummary {
    /// Echoes received per second over the measured phase.
    pub throughput_per_s: f64,
    /// Messages sent in the measured phase.
    pub messages_sent: u64,
    /// Echoes received (and verified) of the messages sent in the measured phase.
    pub messages_received: u64,
    /// Errors of every kind, warmup included.
    pub errors: u64,
    /// Connections whose opening handshake succeeded.
    pub connections: u64,
    /// Most connections open at once.
    pub connections_peak: u64,
    /// Connections that could not be opened.
    pub connections_failed: u64,
    /// Planned connections that never opened because the run ended first: they were still waiting
    /// for their time in the ramp-up or for a handshake slot, or were still opening (0 in reports
    /// written before this field).
    #[serde(default)]
    pub connections_not_tried: u64,
    /// Length of the measured phase.
    pub measured_ms: u64,
    /// Bytes of payload sent in the measured phase.
    pub payload_bytes_sent: u64,
    /// permessage-deflate numbers (`--deflate` runs; absent otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deflate: Option<DeflateSummary>,
    /// How an open-loop run kept to its schedule (absent in closed loop).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<crate::schedule::Schedule>,
}

/// What permessage-deflate (RFC 7692) did to the measured messages and their verified echoes.
///
/// Plain bytes are payload bytes before compression (after inflating, for echoes); wire bytes are
/// payload bytes as framed, compressed or not (frame headers not counted). A ratio is plain over
/// wire (2.0: half the bytes on the wire; 0 when nothing was counted); merged reports add the
/// bytes and recompute the ratios from the sums.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DeflateSummary {
    /// The parameters the server's 101 negotiated (a probe's, before the run), e.g.
    /// `server_max_window_bits=15; client_max_window_bits=15`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub negotiated: Option<String>,
    /// How messages were compressed: `context_takeover` (one zlib stream per connection),
    /// `replay` (each size's body compressed once and replayed after the sequence number:
    /// `client_no_context_takeover`), `independent` (each message alone) or `stored`
    /// (`client_max_window_bits=8`, which zlib cannot compress with).
    pub compression: String,
    /// Payload bytes of measured messages before compression.
    pub plain_bytes_sent: u64,
    /// Their payload bytes on the wire.
    pub wire_bytes_sent: u64,
    /// Payload bytes of their verified echoes, inflated.
    pub plain_bytes_received: u64,
    /// Those echoes' payload bytes on the wire.
    pub wire_bytes_received: u64,
    /// Verified echoes that came compressed (RSV1; a server may compress each message or not).
    pub messages_compressed_received: u64,
    /// `plain_bytes_sent / wire_bytes_sent`.
    pub ratio_sent: f64,
    /// `plain_bytes_received / wire_bytes_received`.
    pub ratio_received: f64,
}

/// `plain / wire`, three decimals (0 when `wire` is 0).
pub fn compression_ratio(plain: u64, wire: u64) -> f64 {
    if wire == 0 {
        return 0.0;
    }
    (plain as f64 / wire as f64 * 1000.0).round() / 1000.0
}

impl DeflateSummary {
    /// Sets both ratios from the byte counts.
    pub fn set_ratios(&mut self) {
        self.ratio_sent = compression_ratio(self.plain_bytes_sent, self.wire_bytes_sent);
        self.ratio_received = compression_ratio(self.plain_bytes_received, self.wire_bytes_received);
    }

    /// Adds another shard's counts (exactly) and recomputes the ratios; differing descriptions are joined.
    pub fn add(&mut self, o: &DeflateSummary) {
        self.plain_bytes_sent += o.plain_bytes_sent;
        self.wire_bytes_sent += o.wire_bytes_sent;
        self.plain_bytes_received += o.plain_bytes_received;
        self.wire_bytes_received += o.wire_bytes_received;
        self.messages_compressed_received += o.messages_compressed_received;
        if !self.compression.split(", ").any(|c| c == o.compression) {
            self.compression = format!("{}, {}", self.compression, o.compression);
        }
        self.negotiated = match (self.negotiated.take(), &o.negotiated) {
            (Some(a), Some(b)) if a != *b && !a.split(" | ").any(|x| x == b) => Some(format!("{a} | {b}")),
            (a, b) => a.or_else(|| b.clone()),
        };
        self.set_ratios();
    }
}

/// A latency distribution in microseconds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Percentiles {
    /// Samples.
    pub count: u64,
    /// Smallest.
    pub min: u64,
    /// Mean.
    pub mean: f64,
    /// Median.
    pub p50: u64,
    /// 75th percentile.
    pub p75: u64,
    /// 90th percentile.
    pub p90: u64,
    /// 99th percentile.
    pub p99: u64,
    /// 99.9th percentile.
    pub p999: u64,
    /// 99.99th percentile.
    pub p9999: u64,
    /// Largest.
    pub max: u64,
}

impl Percentiles {
    /// The percentiles of a histogram (all zero when empty).
    pub fn of(h: &Histogram<u64>) -> Percentiles {
        if h.is_empty() {
            return Percentiles::default();
        }
        let q = |p: f64| h.value_at_quantile(p);
        Percentiles {
            count: h.len(),
            min: h.min(),
            mean: (h.mean() * 10.0).round() / 10.0,
            p50: q(0.50),
            p75: q(0.75),
            p90: q(0.90),
            p99: q(0.99),
            p999: q(0.999),
            p9999: q(0.9999),
            max: h.max(),
        }
    }
}

/// Errors by kind.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ErrorCounts {
    /// All errors.
    pub total: u64,
    /// By kind: `refused`, `connect`, `handshake_status`, `handshake_invalid`, `timeout`,
    /// `unexpected_close`, `payload_mismatch`, `protocol_error`, `unsolicited_message`, `echo_too_long`,
    /// `peer_not_reading`, `io`.
    pub by_kind: BTreeMap<String, u64>,
    /// By kind and detail, e.g. `handshake_status 503`, `unexpected_close 1001`, `timeout echo`.
    pub by_detail: BTreeMap<String, u64>,
}

impl ErrorCounts {
    /// Adds another set of counts.
    pub fn add(&mut self, other: &ErrorCounts) {
        self.total += other.total;
        for (k, v) in &other.by_kind {
            *self.by_kind.entry(k.clone()).or_default() += v;
        }
        for (k, v) in &other.by_detail {
            *self.by_detail.entry(k.clone()).or_default() += v;
        }
    }
}

/// One `--threshold`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThresholdResult {
    /// As given, e.g. `p99<5ms`.
    pub expr: String,
    /// The observed value, with its unit (`77µs`, `0`, `1234567/s`).
    pub observed: String,
    /// Whether the run met it.
    pub passed: bool,
    /// For a breach: by how much, e.g. `over the limit by 76.999µs`.
    pub detail: Option<String>,
}

/// Facts about the generator.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GeneratorInfo {
    /// How connections were driven: `tokio` (epoll) or `io_uring` (connections parked in io_uring's
    /// fixed-file tables, beyond the file-descriptor limit).
    pub io: String,
    /// Worker threads.
    pub threads: u64,
    /// The file-descriptor limit after raising it (soft, hard).
    pub fd_limit: [u64; 2],
    /// Local source addresses connections were spread over (empty: the kernel's choice).
    pub source_addrs: Vec<String>,
    /// CPU time (user + system) of the generator process over the measured phase.
    pub cpu_ms: u64,
    /// CPU nanoseconds per echoed message over the measured phase (the embedded server included, if any).
    pub cpu_per_message_ns: f64,
    /// Resident memory before connecting.
    pub rss_start_bytes: u64,
    /// Resident memory with every connection open (the peak).
    pub rss_peak_bytes: u64,
    /// (peak - start) / connections.
    pub memory_per_connection_bytes: u64,
}

/// One point of the time series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeriesPoint {
    /// End of the interval, since the start of the run.
    pub t_ms: u64,
    /// Length of the interval.
    pub interval_ms: u64,
    /// `warmup` (ramp-up included), `measured` or `drain`.
    pub phase: String,
    /// Messages sent.
    pub sent: u64,
    /// Echoes received.
    pub received: u64,
    /// Echoes received per second.
    pub throughput_per_s: f64,
    /// Median latency of the echoes received.
    pub p50_us: u64,
    /// 99th percentile latency of the echoes received.
    pub p99_us: u64,
    /// Errors.
    pub errors: u64,
    /// Connections open at the end of the interval.
    pub open_connections: u64,
    /// The interval's latency histogram, so that merged series stay exact.
    pub histogram: String,
}

/// The lossless histograms, base64 of HdrHistogram V2 compressed (empty string: no samples).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Histograms {
    /// `latency_us`.
    pub latency: String,
    /// `latency_uncorrected_us`.
    pub latency_uncorrected: String,
    /// `handshake_latency_us`.
    pub handshake: String,
    /// `ping_latency_us`.
    pub ping: String,
    /// Send lag of open-loop messages (`summary.schedule`; empty in closed loop and in older reports).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub send_lag: String,
}

/// The decoded histograms of a report.
#[derive(Debug, Clone)]
pub struct DecodedHistograms {
    /// Corrected message latency.
    pub latency: Histogram<u64>,
    /// Uncorrected message latency.
    pub latency_uncorrected: Histogram<u64>,
    /// Handshake latency.
    pub handshake: Histogram<u64>,
    /// Ping latency.
    pub ping: Histogram<u64>,
    /// Send lag of open-loop messages: actual send minus planned send.
    pub send_lag: Histogram<u64>,
}

impl Histograms {
    /// Encodes four histograms.
    pub fn encode(d: &DecodedHistograms) -> Result<Histograms, HistogramError> {
        let enc = |h: &Histogram<u64>| if h.is_empty() { Ok(String::new()) } else { encode_histogram(h) };
        Ok(Histograms {
            latency: enc(&d.latency)?,
            latency_uncorrected: enc(&d.latency_uncorrected)?,
            handshake: enc(&d.handshake)?,
            ping: enc(&d.ping)?,
            send_lag: enc(&d.send_lag)?,
        })
    }

    /// Decodes them.
    pub fn decode(&self) -> Result<DecodedHistograms, HistogramError> {
        Ok(DecodedHistograms {
            latency: decode_histogram(&self.latency)?,
            latency_uncorrected: decode_histogram(&self.latency_uncorrected)?,
            handshake: decode_histogram(&self.handshake)?,
            ping: decode_histogram(&self.ping)?,
            send_lag: decode_histogram(&self.send_lag)?,
        })
    }
}

impl DecodedHistograms {
    /// Four empty histograms.
    pub fn empty() -> DecodedHistograms {
        DecodedHistograms {
            latency: new_histogram(),
            latency_uncorrected: new_histogram(),
            handshake: new_histogram(),
            ping: new_histogram(),
            send_lag: new_histogram(),
        }
    }

    /// Adds another set, exactly.
    pub fn add(&mut self, other: &DecodedHistograms) -> Result<(), HistogramError> {
        self.latency.add(&other.latency).map_err(HistogramError::Add)?;
        self.latency_uncorrected.add(&other.latency_uncorrected).map_err(HistogramError::Add)?;
        self.handshake.add(&other.handshake).map_err(HistogramError::Add)?;
        self.ping.add(&other.ping).map_err(HistogramError::Add)?;
        self.send_lag.add(&other.send_lag).map_err(HistogramError::Add)
    }
}

impl LoadReport {
    /// Sets the four percentile blocks from the histograms.
    pub fn set_percentiles(&mut self, d: &DecodedHistograms) {
        self.latency_us = Percentiles::of(&d.latency);
        self.latency_uncorrected_us = Percentiles::of(&d.latency_uncorrected);
        self.handshake_latency_us = Percentiles::of(&d.handshake);
        self.ping_latency_us = Percentiles::of(&d.ping);
    }

    /// Combines the reports of shards that ran at the same time into one.
    ///
    /// Counters, connections, errors and throughput add up; histograms are added bucket by bucket and the
    /// percentiles recomputed from the sums; series points are added position by position (their
    /// histograms too). Settings come from the first report with the counts (connections, messages, rate)
    /// added; `complete` holds only if every input is complete. Thresholds are left empty for the caller
    /// to evaluate on the merged numbers.
    pub fn merge(reports: &[LoadReport], names: &[String]) -> Result<LoadReport, HistogramError> {
        let first = reports.first().ok_or(HistogramError::Empty)?;
        for (index, r) in reports.iter().enumerate() {
            if r.kind != "load" {
                return Err(HistogramError::NotLoad { index, kind: r.kind.clone() });
            }
        }
        let mut out = first.clone();
        let mut hists = first.histograms.decode()?;
        let mut series_hists =
            first.series.iter().map(|p| decode_histogram(&p.histogram)).collect::<Result<Vec<_>, _>>()?;
        for r in &reports[1..] {
            hists.add(&r.histograms.decode()?)?;
            out.duration_ms = out.duration_ms.max(r.duration_ms);
            out.complete &= r.complete;
            for u in &r.target.urls {
                if !out.target.urls.contains(u) {
                    out.target.urls.push(u.clone());
                }
            }
            let (s, o) = (&mut out.settings, &r.settings);
            s.connections += o.connections;
            s.messages = match (s.messages, o.messages) {
                (Some(a), Some(b)) => Some(a + b),
                (a, b) => a.or(b),
            };
            s.churn_per_s = match (s.churn_per_s, o.churn_per_s) {
                (Some(a), Some(b)) => Some(a + b),
                (a, b) => a.or(b),
            };
            s.rate_per_s = match (s.rate_per_s, o.rate_per_s) {
                (Some(a), Some(b)) => Some(a + b),
                (a, b) => a.or(b),
            };
            let (s, o) = (&mut out.summary, &r.summary);
            s.throughput_per_s += o.throughput_per_s;
            s.messages_sent += o.messages_sent;
            s.messages_received += o.messages_received;
            s.errors += o.errors;
            s.connections += o.connections;
            s.connections_peak += o.connections_peak;
            s.connections_failed += o.connections_failed;
            s.connections_not_tried += o.connections_not_tried;
            s.measured_ms = s.measured_ms.max(o.measured_ms);
            s.payload_bytes_sent += o.payload_bytes_sent;
            s.schedule = match (s.schedule.take(), &o.schedule) {
                (Some(mut a), Some(b)) => {
                    a.planned += b.planned;
                    a.sent += b.sent;
                    Some(a)
                }
                (a, b) => a.or_else(|| b.clone()),
            };
            s.deflate = match (s.deflate.take(), &o.deflate) {
                (Some(mut a), Some(b)) => {
                    a.add(b);
                    Some(a)
                }
                (a, b) => a.or_else(|| b.clone()),
            };
            out.settings.deflate = out.settings.deflate.take().or_else(|| r.settings.deflate.clone());
            out.errors.add(&r.errors);
            out.scenario = match (out.scenario.take(), &r.scenario) {
                (Some(mut a), Some(b)) => {
                    a.add(b)?;
                    Some(a)
                }
                (a, b) => a.or_else(|| b.clone()),
            };
            let (g, o) = (&mut out.generator, &r.generator);
            g.cpu_ms += o.cpu_ms;
            g.rss_start_bytes += o.rss_start_bytes;
            g.rss_peak_bytes += o.rss_peak_bytes;
            for (i, p) in r.series.iter().enumerate() {
                let h = decode_histogram(&p.histogram)?;
                match out.series.get_mut(i) {
                    Some(q) => {
                        q.sent += p.sent;
                        q.received += p.received;
                        q.throughput_per_s += p.throughput_per_s;
                        q.errors += p.errors;
                        q.open_connections += p.open_connections;
                        series_hists[i].add(&h).map_err(HistogramError::Add)?;
                    }
                    None => {
                        out.series.push(p.clone());
                        series_hists.push(h);
                    }
                }
            }
        }
        let g = &mut out.generator;
        g.cpu_per_message_ns = if out.summary.messages_received > 0 {
            g.cpu_ms as f64 * 1e6 / out.summary.messages_received as f64
        } else {
            0.0
        };
        let opened = out.summary.connections.max(1);
        g.memory_per_connection_bytes = g.rss_peak_bytes.saturating_sub(g.rss_start_bytes) / opened;
        for (p, h) in out.series.iter_mut().zip(&series_hists) {
            p.p50_us = if h.is_empty() { 0 } else { h.value_at_quantile(0.5) };
            p.p99_us = if h.is_empty() { 0 } else { h.value_at_quantile(0.99) };
            p.histogram = if h.is_empty() { String::new() } else { encode_histogram(h)? };
        }
        out.settings.shard = None;
        if let Some(s) = &mut out.summary.schedule {
            // the merged lags: from the sum of the shards' histograms, exactly
            let (planned, sent) = (s.planned, s.sent);
            *s = crate::schedule::Schedule::from_counts(planned, sent, &hists.send_lag, &hists.latency);
        }
        out.set_percentiles(&hists);
        out.histograms = Histograms::encode(&hists)?;
        out.thresholds.clear();
        out.merged_from = names.to_vec();
        out.command_line = std::env::args().collect();
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hist_of(values: &[u64]) -> Histogram<u64> {
        let mut h = new_histogram();
        for v in values {
            h.saturating_record(*v);
        }
        h
    }

    #[test]
    fn histograms_survive_encoding_exactly() {
        let h = hist_of(&[1, 2, 3, 50, 999, 1000, 1001, 123_456, 59_999_999]);
        let back = decode_histogram(&encode_histogram(&h).unwrap()).unwrap();
        assert_eq!(back, h);
        assert_eq!(back.len(), 9);
    }

    #[test]
    fn empty_string_is_an_empty_histogram() {
        assert!(decode_histogram("").unwrap().is_empty());
    }

    #[test]
    fn garbage_is_a_decode_error_not_a_panic() {
        assert!(matches!(decode_histogram("not base64!"), Err(HistogramError::Base64(_))));
        assert!(matches!(decode_histogram("AAAAAAAA"), Err(HistogramError::Decode(_))));
    }

    #[test]
    fn values_above_60_s_saturate() {
        let h = hist_of(&[120_000_000]);
        assert_eq!(h.len(), 1);
        assert!(h.max() >= HIST_HIGH_US - HIST_HIGH_US / 1000);
    }

    #[test]
    fn percentiles_of_known_values() {
        let h = hist_of(&(1..=1000).collect::<Vec<_>>());
        let p = Percentiles::of(&h);
        assert_eq!((p.count, p.min, p.max), (1000, 1, 1000));
        assert_eq!(p.p50, 500);
        assert_eq!(p.p99, 990);
        assert_eq!(p.p999, 999);
    }

    fn shard_report(samples: &[u64]) -> LoadReport {
        let mut d = DecodedHistograms::empty();
        for v in samples {
            d.latency.saturating_record(*v);
            d.latency_uncorrected.saturating_record(*v);
        }
        let mut r = LoadReport {
            schema_version: crate::SCHEMA_VERSION,
            kind: "load".into(),
            tool: "test".into(),
            started_at: String::new(),
            duration_ms: 1000,
            complete: true,
            host: HostInfo { os: "linux".into(), arch: "x86_64".into(), cores: 2 },
            command_line: vec![],
            target: LoadTarget { urls: vec!["ws://127.0.0.1:1/".into()], embedded: false },
            settings: LoadSettings {
                connections: 1,
                ramp_up_ms: 0,
                duration_ms: Some(1000),
                messages: None,
                warmup_ms: 0,
                loop_mode: "closed".into(),
                in_flight: 1,
                rate_per_s: None,
                size: "64".into(),
                message_type: "text".into(),
                timeout_ms: 1000,
                ping_interval_ms: None,
                shard: Some("0/3".into()),
                deflate: None,
                churn_per_s: None,
            },
            summary: LoadSummary {
                throughput_per_s: samples.len() as f64,
                messages_sent: samples.len() as u64,
                messages_received: samples.len() as u64,
                errors: 0,
                connections: 1,
                connections_peak: 1,
                connections_failed: 0,
                connections_not_tried: 0,
                measured_ms: 1000,
                payload_bytes_sent: 0,
                deflate: None,
                schedule: None,
            },
            latency_us: Percentiles::default(),
            latency_uncorrected_us: Percentiles::default(),
            handshake_latency_us: Percentiles::default(),
            ping_latency_us: Percentiles::default(),
            errors: ErrorCounts::default(),
            thresholds: vec![],
            generator: GeneratorInfo::default(),
            series: vec![],
            histograms: Histograms::encode(&d).unwrap(),
            merged_from: vec![],
            scenario: None,
        };
        r.set_percentiles(&d);
        r
    }

    #[test]
    fn merging_shards_equals_one_histogram_of_every_raw_sample() {
        // three shards with different distributions: averaging their percentiles would be wrong
        let mut x: u64 = 12345;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let shards: Vec<Vec<u64>> = vec![
            (0..5000).map(|_| 10 + next() % 100).collect(),
            (0..3000).map(|_| 1000 + next() % 50_000).collect(),
            (0..17).map(|_| 2_000_000 + next() % 1_000_000).collect(),
        ];
        let reports: Vec<LoadReport> = shards.iter().map(|s| shard_report(s)).collect();
        let names: Vec<String> = (0..3).map(|i| format!("s{i}")).collect();
        let merged = LoadReport::merge(&reports, &names).unwrap();
        let all = hist_of(&shards.concat());
        assert_eq!(merged.histograms.decode().unwrap().latency, all);
        assert_eq!(merged.latency_us, Percentiles::of(&all));
        assert_eq!(merged.summary.messages_sent, 8017);
        assert_eq!(merged.settings.connections, 3);
        assert_eq!(merged.merged_from, names);
        let averaged_p99 = reports.iter().map(|r| r.latency_us.p99).sum::<u64>() / 3;
        assert_ne!(merged.latency_us.p99, averaged_p99);
    }

    #[test]
    fn merging_adds_deflate_bytes_exactly_and_recomputes_the_ratios_from_the_sums() {
        let deflate = |plain: u64, wire: u64, compression: &str| {
            let mut d = DeflateSummary {
                negotiated: Some("server_max_window_bits=15; client_max_window_bits=15".into()),
                compression: compression.into(),
                plain_bytes_sent: plain,
                wire_bytes_sent: wire,
                plain_bytes_received: plain,
                wire_bytes_received: wire * 2,
                messages_compressed_received: plain / 64,
                ..DeflateSummary::default()
            };
            d.set_ratios();
            d
        };
        let mut a = shard_report(&[10]);
        a.summary.deflate = Some(deflate(64_000, 1_000, "replay"));
        a.settings.deflate = Some("permessage-deflate; client_no_context_takeover".into());
        let mut b = shard_report(&[20]);
        b.summary.deflate = Some(deflate(6_400, 3_000, "context_takeover"));
        let plain = shard_report(&[30]);
        let merged = LoadReport::merge(&[a, b, plain], &[]).unwrap();
        let d = merged.summary.deflate.expect("deflate numbers");
        assert_eq!((d.plain_bytes_sent, d.wire_bytes_sent), (70_400, 4_000));
        assert_eq!(
            (d.plain_bytes_received, d.wire_bytes_received, d.messages_compressed_received),
            (70_400, 8_000, 1_100)
        );
        // from the sums, not an average of the ratios (64 and 2.133)
        assert_eq!((d.ratio_sent, d.ratio_received), (17.6, 8.8));
        assert_eq!(d.compression, "replay, context_takeover");
        assert_eq!(d.negotiated.as_deref(), Some("server_max_window_bits=15; client_max_window_bits=15"));
        assert_eq!(merged.settings.deflate.as_deref(), Some("permessage-deflate; client_no_context_takeover"));
        assert_eq!(compression_ratio(5, 0), 0.0);
    }

    #[test]
    fn a_report_without_deflate_reads_and_writes_without_it() {
        let r = shard_report(&[1]);
        let json = serde_json::to_value(&r).unwrap();
        assert!(json["summary"].get("deflate").is_none() && json["settings"].get("deflate").is_none());
        let back: LoadReport = serde_json::from_value(json).unwrap();
        assert_eq!(back, r);
    }

    #[test]
    fn merging_a_conformance_report_is_refused() {
        let mut r = shard_report(&[1]);
        r.kind = "conformance".into();
        assert!(matches!(
            LoadReport::merge(&[shard_report(&[1]), r], &[]),
            Err(HistogramError::NotLoad { index: 1, .. })
        ));
        assert!(matches!(LoadReport::merge(&[], &[]), Err(HistogramError::Empty)));
    }
}
