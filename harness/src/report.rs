//! Turns run outcomes into the report model of the `reports` crate.

use std::collections::BTreeMap;

use reports::conformance::{
    CaseReport, CloseReport, ConformanceReport, DeflateReport, DeflateTraffic, HostInfo, Tally, TargetInfo, WireEvent,
};

use crate::case::Case;
use crate::conformance::judge::{DeflateSummary, DirectionStats};
use crate::conformance::trace::{Direction, TraceEvent, TraceKind};
use crate::conformance::CaseOutcome;
use crate::verdict::FailOn;

/// One case's report entry.
pub fn case_report(case: &Case, outcome: &CaseOutcome) -> CaseReport {
    CaseReport {
        id: case.id.clone(),
        title: case.title.clone(),
        section: case.section.clone(),
        rfc: case.rfc.clone(),
        autobahn: case.autobahn.clone(),
        why: case.why.clone(),
        verdict: outcome.verdict,
        close_verdict: outcome.close.as_ref().map(|c| c.verdict),
        reason: outcome.reason.clone().or_else(|| outcome.close.as_ref().and_then(|c| c.reason.clone())),
        expected: outcome.expected.clone(),
        observed: outcome.observed.clone(),
        close: outcome.close.as_ref().map(|c| CloseReport {
            initiated_by: c.initiated_by.as_str().to_string(),
            server_code: c.server_code,
            server_closed_tcp: c.server_closed_tcp,
            reason: c.reason.clone(),
        }),
        duration_ms: outcome.duration.as_millis() as u64,
        source: format!("{}:{}", case.source.file, case.source.line),
        wire: outcome.trace.iter().map(wire_event).collect(),
        wire_trimmed: None,
        deflate: outcome.deflate.as_ref().map(deflate_report),
    }
}

fn deflate_report(d: &DeflateSummary) -> DeflateReport {
    let traffic = |s: &DirectionStats| DeflateTraffic {
        messages: s.messages,
        compressed: s.compressed,
        plain_bytes: s.plain_bytes,
        wire_bytes: s.wire_bytes,
    };
    DeflateReport { extension: d.response.clone(), sent: traffic(&d.sent), received: traffic(&d.received) }
}

fn wire_event(e: &TraceEvent) -> WireEvent {
    let dir = |d: &Direction| Some(if *d == Direction::Sent { "sent" } else { "received" }.to_string());
    let mut w =
        WireEvent { at_us: e.at.as_micros() as u64, dir: None, kind: String::new(), len: None, hex: None, text: None };
    match &e.kind {
        TraceKind::Bytes { dir: d, bytes, len } => {
            w.dir = dir(d);
            w.kind = "bytes".into();
            w.len = Some(*len as u64);
            w.hex = Some(bytes.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(" "));
        }
        TraceKind::Frame { dir: d, summary } => {
            w.dir = dir(d);
            w.kind = "frame".into();
            w.text = Some(summary.clone());
        }
        TraceKind::Http { dir: d, head } => {
            w.dir = dir(d);
            w.kind = "http".into();
            w.text = Some(head.clone());
        }
        TraceKind::Closed { how } => {
            w.kind = "closed".into();
            w.text = Some(how.clone());
        }
        TraceKind::Note(n) => {
            w.kind = "note".into();
            w.text = Some(n.clone());
        }
    }
    w
}

/// Counts per verdict, with `total` ([`Tally::summary`]: the counts every output shows).
pub fn summary(cases: &[CaseReport]) -> BTreeMap<String, u64> {
    // the summary counts verdicts only: the gate does not change them
    Tally::of(cases, FailOn::default()).summary()
}

/// The facts about this machine a report carries.
pub fn host_info() -> HostInfo {
    HostInfo {
        os: std::env::consts::OS.to_string(),
        arch: std::env::consts::ARCH.to_string(),
        cores: std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
    }
}

/// Assembles the whole report; `fail_on` is the run's gate, recorded so that
/// every output of the report applies it.
pub fn conformance_report(
    target: TargetInfo,
    started_at: String,
    duration_ms: u64,
    complete: bool,
    fail_on: FailOn,
    cases: Vec<CaseReport>,
) -> ConformanceReport {
    ConformanceReport {
        schema_version: reports::SCHEMA_VERSION,
        kind: "conformance".into(),
        tool: format!("wsharness {}", env!("CARGO_PKG_VERSION")),
        role: reports::conformance::Role::Server,
        target,
        started_at,
        duration_ms,
        complete,
        host: host_info(),
        command_line: std::env::args().collect(),
        fail_on,
        summary: summary(&cases),
        cases,
        trimmed: None,
    }
}
