//! The conformance report (`kind: "conformance"`).
//!
//! ```json
//! { "schema_version": 1, "kind": "conformance", "tool": "wsharness 0.1.0",
//!   "target": { "url": "ws://127.0.0.1:9001/", "embedded": false, "server_header": "..." },
//!   "started_at": "2026-11-21T06:40:00Z", "duration_ms": 812, "complete": true,
//!   "host": { "os": "linux", "arch": "x86_64", "cores": 2 }, "command_line": ["wsharness", "conformance"],
//!   "summary": { "total": 120, "OK": 118, "NON-STRICT": 0, "INFORMATIONAL": 2, "UNIMPLEMENTED": 0, "FAILED": 0, "ERRORED": 0 },
//!   "cases": [ { "id": "rfc6455/5.2/rsv1-on-text", "title": "...", "section": "...", "rfc": "6455 §5.2",
//!                "autobahn": "3.1", "why": "...", "verdict": "OK", "close_verdict": "OK", "reason": null,
//!                "expected": null, "observed": null, "close": { ... }, "duration_ms": 3,
//!                "wire": [ { "at_us": 12, "dir": "sent", "type": "bytes", "len": 6, "hex": "81 85 ..." } ] } ] }
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A whole conformance run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConformanceReport {
    /// [`crate::SCHEMA_VERSION`].
    pub schema_version: u32,
    /// Always `"conformance"`.
    pub kind: String,
    /// `wsharness VERSION`.
    pub tool: String,
    /// The server under test.
    pub target: TargetInfo,
    /// RFC 3339 UTC start time.
    pub started_at: String,
    /// Wall time of the run.
    pub duration_ms: u64,
    /// `false` when the run was interrupted: only the cases in `cases` ran.
    pub complete: bool,
    /// The machine the harness ran on.
    pub host: HostInfo,
    /// The command line, as given.
    pub command_line: Vec<String>,
    /// Counts per verdict (`total`, `OK`, `NON-STRICT`, `INFORMATIONAL`, `UNIMPLEMENTED`, `FAILED`, `ERRORED`).
    pub summary: BTreeMap<String, u64>,
    /// One entry per case run, in case order.
    pub cases: Vec<CaseReport>,
}

/// The server under test.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TargetInfo {
    /// The URL tested.
    pub url: String,
    /// Whether it was the embedded reference server.
    pub embedded: bool,
    /// The `Server` header of the first 101 response, if any.
    pub server_header: Option<String>,
}

/// The machine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HostInfo {
    /// `std::env::consts::OS`.
    pub os: String,
    /// `std::env::consts::ARCH`.
    pub arch: String,
    /// Available parallelism.
    pub cores: usize,
}

/// One case's result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseReport {
    /// Stable case id.
    pub id: String,
    /// One-line title.
    pub title: String,
    /// Report section.
    pub section: String,
    /// RFC reference, e.g. `6455 §5.2`.
    pub rfc: String,
    /// Equivalent Autobahn case id, or null.
    pub autobahn: Option<String>,
    /// Why the rule matters.
    pub why: String,
    /// `OK`, `NON-STRICT`, `INFORMATIONAL`, `UNIMPLEMENTED`, `FAILED` or `ERRORED`.
    pub verdict: String,
    /// `OK`, `WRONG CODE`, `UNCLEAN`, `FAILED`, `INFORMATIONAL`, or null where not judged.
    pub close_verdict: Option<String>,
    /// One line, for anything not OK.
    pub reason: Option<String>,
    /// The requirement of the step that missed.
    pub expected: Option<String>,
    /// What the server did instead.
    pub observed: Option<String>,
    /// Close details, where judged.
    pub close: Option<CloseReport>,
    /// Wall time of the case.
    pub duration_ms: u64,
    /// Where the case is defined: `file:line`.
    pub source: String,
    /// The wire trace.
    pub wire: Vec<WireEvent>,
}

/// How the connection closed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CloseReport {
    /// `server`, `client` or `none`: who sent the first close frame.
    pub initiated_by: String,
    /// The code in the server's close frame, if any.
    pub server_code: Option<u16>,
    /// Whether the server closed TCP.
    pub server_closed_tcp: bool,
    /// Why the close verdict is not OK.
    pub reason: Option<String>,
}

/// One event of the wire trace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WireEvent {
    /// Microseconds since the case started.
    pub at_us: u64,
    /// `sent`, `received`, or null for notes and closes.
    pub dir: Option<String>,
    /// `bytes`, `frame`, `http`, `closed` or `note`.
    #[serde(rename = "type")]
    pub kind: String,
    /// For `bytes`: the full length (the hex may be cut).
    pub len: Option<u64>,
    /// For `bytes`: hex of the first bytes.
    pub hex: Option<String>,
    /// For the other types: the text.
    pub text: Option<String>,
}

/// The behaviour verdicts, best to worst, as spelled in [`CaseReport::verdict`] (Autobahn's names).
pub const VERDICTS: [&str; 6] = ["OK", "NON-STRICT", "INFORMATIONAL", "UNIMPLEMENTED", "FAILED", "ERRORED"];

/// The close verdicts, as spelled in [`CaseReport::close_verdict`].
pub const CLOSE_VERDICTS: [&str; 5] = ["OK", "WRONG CODE", "UNCLEAN", "INFORMATIONAL", "FAILED"];

/// How bad a behaviour verdict is, for comparisons: 0 for `OK` and
/// `INFORMATIONAL` (nothing wrong), 1 `NON-STRICT`, 2 `UNIMPLEMENTED`,
/// 3 `FAILED`, `ERRORED` or anything unknown.
pub fn verdict_severity(verdict: &str) -> u8 {
    match verdict {
        "OK" | "INFORMATIONAL" => 0,
        "NON-STRICT" => 1,
        "UNIMPLEMENTED" => 2,
        _ => 3,
    }
}

/// How bad a close verdict is: 0 for none, `OK` and `INFORMATIONAL`,
/// 1 `WRONG CODE` and `UNCLEAN`, 2 `FAILED` or anything unknown.
pub fn close_severity(close_verdict: Option<&str>) -> u8 {
    match close_verdict {
        None | Some("OK" | "INFORMATIONAL") => 0,
        Some("WRONG CODE" | "UNCLEAN") => 1,
        Some(_) => 2,
    }
}

impl CaseReport {
    /// Whether anything about the case is worth a look: a behaviour verdict
    /// other than `OK`/`INFORMATIONAL`, or a close behaviour that is not OK.
    pub fn is_not_ok(&self) -> bool {
        verdict_severity(&self.verdict) > 0 || close_severity(self.close_verdict.as_deref()) > 0
    }

    /// Whether the case fails the default gate: `FAILED`, `ERRORED`, or a
    /// close behaviour that is not OK (as `wsharness conformance --fail-on failed`).
    pub fn is_failure(&self) -> bool {
        verdict_severity(&self.verdict) >= 3 || close_severity(self.close_verdict.as_deref()) > 0
    }
}

impl ConformanceReport {
    /// The cases grouped by section, sections in order of first appearance.
    pub fn sections(&self) -> Vec<(&str, Vec<&CaseReport>)> {
        let mut out: Vec<(&str, Vec<&CaseReport>)> = Vec::new();
        for c in &self.cases {
            match out.iter_mut().find(|(s, _)| *s == c.section) {
                Some((_, cases)) => cases.push(c),
                None => out.push((&c.section, vec![c])),
            }
        }
        out
    }

    /// The count of one verdict in [`ConformanceReport::summary`] (0 if absent).
    pub fn count(&self, verdict: &str) -> u64 {
        self.summary.get(verdict).copied().unwrap_or(0)
    }
}
