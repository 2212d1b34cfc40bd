//! The conformance report (`kind: "conformance"`).
//!
//! ```json
//! { "schema_version": 1, "kind": "conformance", "tool": "wsharness 0.1.0",
//!   "target": { "url": "ws://127.0.0.1:9001/", "embedded": false, "server_header": "..." },
//!   "started_at": "2026-11-21T06:40:00Z", "duration_ms": 812, "complete": true,
//!   "host": { "os": "linux", "arch": "x86_64", "cores": 2 }, "command_line": ["wsharness", "conformance"],
//!   "fail_on": "failed",
//!   "summary": { "total": 120, "OK": 118, "NON-STRICT": 0, "INFORMATIONAL": 2, "UNIMPLEMENTED": 0, "FAILED": 0,
//!                "ERRORED": 0, "NOT RUN": 0 },
//!   "cases": [ { "id": "rfc6455/5.2/rsv1-on-text", "title": "...", "section": "...", "rfc": "6455 §5.2",
//!                "autobahn": "3.1", "why": "...", "verdict": "OK", "close_verdict": "OK", "reason": null,
//!                "expected": null, "observed": null, "close": { ... }, "duration_ms": 3,
//!                "wire": [ { "at_us": 12, "dir": "sent", "type": "bytes", "len": 6, "hex": "81 85 ..." } ] } ] }
//! ```
//!
//! A report whose JSON or HTML page would exceed [`crate::budget::REPORT_BUDGET_BYTES`] has its wire
//! traces cut, and says so: `trimmed` on the report, `wire_trimmed` on each case cut, a `note` event
//! where events were left out ([`crate::budget`]).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::budget::{ReportTrim, WireTrim};
use crate::verdict::{self, CloseVerdict, FailOn, Severity, Verdict};

/// A whole conformance run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConformanceReport {
    /// [`crate::SCHEMA_VERSION`].
    pub schema_version: u32,
    /// Always `"conformance"`.
    pub kind: String,
    /// `wsharness VERSION`.
    pub tool: String,
    /// What was tested: a server (we were its client; absent from the JSON, as in every report written before
    /// clients could be tested) or a client (we played the server: `wsharness serve`, `client-conformance`).
    #[serde(default, skip_serializing_if = "Role::is_server")]
    pub role: Role,
    /// The implementation under test.
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
    /// The gate of the run (`--fail-on`): `"failed"` or `"non-strict"`; which
    /// cases fail ([`CaseReport::fails`]). `render` and `compare` apply it too.
    /// Absent in reports written before it was recorded: `"failed"`.
    #[serde(default)]
    pub fail_on: FailOn,
    /// Counts per verdict (`total`, `OK`, `NON-STRICT`, `INFORMATIONAL`, `UNIMPLEMENTED`, `FAILED`, `ERRORED`,
    /// `NOT RUN`; the last is absent in reports written before it existed), as [`Tally::summary`] writes them.
    pub summary: BTreeMap<String, u64>,
    /// One entry per case run, in case order.
    pub cases: Vec<CaseReport>,
    /// What the size budget cut from the wire traces ([`crate::budget`]); absent when nothing was
    /// (and in reports written before the budget existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trimmed: Option<ReportTrim>,
}

/// Which side of the connection the implementation under test is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// A server (the harness was its client).
    #[default]
    Server,
    /// A client (the harness played the server).
    Client,
}

impl Role {
    /// Whether this is [`Role::Server`], the default left out of the JSON.
    pub fn is_server(&self) -> bool {
        *self == Role::Server
    }

    /// `server` or `client`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Server => "server",
            Role::Client => "client",
        }
    }
}

/// The implementation under test.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TargetInfo {
    /// The URL tested (testing a client: the URL the harness listened on).
    pub url: String,
    /// Whether it was the embedded reference server.
    pub embedded: bool,
    /// The `Server` header of the first 101 response, if any (testing a client: its `User-Agent`).
    pub server_header: Option<String>,
    /// Testing a client: the agent name its runner gave (Autobahn's `agent=`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
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
    /// `OK`, `NON-STRICT`, `INFORMATIONAL`, `UNIMPLEMENTED`, `FAILED`, `ERRORED` or `NOT RUN`.
    pub verdict: Verdict,
    /// `OK`, `WRONG CODE`, `UNCLEAN`, `FAILED`, `INFORMATIONAL`, or null where not judged.
    pub close_verdict: Option<CloseVerdict>,
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
    /// What the size budget cut from [`CaseReport::wire`] ([`crate::budget`]); absent when nothing was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wire_trimmed: Option<WireTrim>,
    /// permessage-deflate, when the server accepted it: what was negotiated and what compression
    /// did each way (absent in reports written before it existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deflate: Option<DeflateReport>,
}

/// permessage-deflate on one case's connection (RFC 7692).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeflateReport {
    /// The server's `Sec-WebSocket-Extensions` value, as sent.
    pub extension: String,
    /// The messages the harness sent.
    pub sent: DeflateTraffic,
    /// The messages the server sent.
    pub received: DeflateTraffic,
}

/// Data messages one way on a permessage-deflate connection.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeflateTraffic {
    /// Data messages.
    pub messages: u64,
    /// Of which compressed (RSV1).
    pub compressed: u64,
    /// Payload bytes before compression.
    pub plain_bytes: u64,
    /// Payload bytes on the wire.
    pub wire_bytes: u64,
}

impl DeflateTraffic {
    /// Plain bytes per wire byte (`None` with no bytes on the wire).
    pub fn ratio(&self) -> Option<f64> {
        (self.wire_bytes > 0).then(|| self.plain_bytes as f64 / self.wire_bytes as f64)
    }

    /// One line: `1000 messages (1000 compressed), 4.0 MiB -> 812.3 KiB, ratio 5.04`.
    pub fn describe(&self) -> String {
        let ratio = self.ratio().map_or_else(|| "-".to_string(), |r| format!("{r:.2}"));
        format!(
            "{} messages ({} compressed), {} -> {} bytes, ratio {ratio}",
            self.messages, self.compressed, self.plain_bytes, self.wire_bytes
        )
    }
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

impl CaseReport {
    /// This case with another wire trace and `wire_trimmed` (the size budget
    /// builds its cut copy with it, without copying the old trace first).
    pub fn with_wire(&self, wire: Vec<WireEvent>, wire_trimmed: Option<WireTrim>) -> CaseReport {
        CaseReport {
            id: self.id.clone(),
            title: self.title.clone(),
            section: self.section.clone(),
            rfc: self.rfc.clone(),
            autobahn: self.autobahn.clone(),
            why: self.why.clone(),
            verdict: self.verdict,
            close_verdict: self.close_verdict,
            reason: self.reason.clone(),
            expected: self.expected.clone(),
            observed: self.observed.clone(),
            close: self.close.clone(),
            duration_ms: self.duration_ms,
            source: self.source.clone(),
            wire,
            wire_trimmed,
            deflate: self.deflate.clone(),
        }
    }

    /// Whether the case fails the run under `fail_on`: [`crate::verdict::fails`],
    /// the one rule every output applies.
    pub fn fails(&self, fail_on: FailOn) -> bool {
        verdict::fails(self.verdict, self.close_verdict, fail_on)
    }

    /// Whether anything about the case is worth a look ([`crate::verdict::is_not_ok`]).
    pub fn is_not_ok(&self) -> bool {
        verdict::is_not_ok(self.verdict, self.close_verdict)
    }

    /// The severity of the case: the worse of its behaviour and its close.
    pub fn severity(&self) -> Severity {
        Severity::of(self.verdict, self.close_verdict)
    }

    /// The order of worst-first lists: the case's severity, then its
    /// behaviour's (a FAILED case before an OK case whose close failed).
    /// Larger is worse.
    pub fn rank(&self) -> (Severity, Severity) {
        (self.severity(), self.verdict.severity())
    }
}

/// The cases worth a look ([`CaseReport::is_not_ok`]), worst first
/// ([`CaseReport::rank`]), in case order within a rank.
pub fn not_ok_worst_first(cases: &[CaseReport]) -> Vec<&CaseReport> {
    let mut out: Vec<&CaseReport> = cases.iter().filter(|c| c.is_not_ok()).collect();
    // the sort is stable: case order within a rank
    out.sort_by_key(|c| std::cmp::Reverse(c.rank()));
    out
}

/// The counts every output shows, from one pass over the cases: per verdict
/// (they add up to the total), failing under the gate, not OK.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tally {
    /// The gate the failing counts apply.
    pub fail_on: FailOn,
    /// Cases.
    pub total: u64,
    /// Cases that fail under [`Tally::fail_on`] ([`CaseReport::fails`]).
    pub failing: u64,
    /// Cases worth a look ([`CaseReport::is_not_ok`]), the failing ones included.
    pub not_ok: u64,
    /// Per verdict, in [`Verdict::ALL`] order.
    by_verdict: [u64; Verdict::ALL.len()],
    /// Failing cases per verdict, in [`Verdict::ALL`] order.
    failing_by_verdict: [u64; Verdict::ALL.len()],
}

impl Tally {
    /// Counts `cases` under `fail_on`.
    pub fn of<'a>(cases: impl IntoIterator<Item = &'a CaseReport>, fail_on: FailOn) -> Tally {
        let mut t = Tally {
            fail_on,
            total: 0,
            failing: 0,
            not_ok: 0,
            by_verdict: [0; Verdict::ALL.len()],
            failing_by_verdict: [0; Verdict::ALL.len()],
        };
        for c in cases {
            t.total += 1;
            let i = verdict_index(c.verdict);
            t.by_verdict[i] += 1;
            if c.fails(fail_on) {
                t.failing += 1;
                t.failing_by_verdict[i] += 1;
            }
            t.not_ok += u64::from(c.is_not_ok());
        }
        t
    }

    /// Cases of this behaviour verdict.
    pub fn count(&self, verdict: Verdict) -> u64 {
        self.by_verdict[verdict_index(verdict)]
    }

    /// Failing cases of this behaviour verdict (for a verdict that passes on
    /// its own, the ones whose close failed).
    pub fn failing_with(&self, verdict: Verdict) -> u64 {
        self.failing_by_verdict[verdict_index(verdict)]
    }

    /// Cases with nothing wrong: OK or INFORMATIONAL, with a proper close (`total - not_ok`).
    pub fn fine(&self) -> u64 {
        self.total - self.not_ok
    }

    /// Cases not OK that pass the gate (`not_ok - failing`).
    pub fn not_ok_passing(&self) -> u64 {
        self.not_ok - self.failing
    }

    /// The failing cases by verdict, one phrase each, worst verdict first:
    /// `11 FAILED, 1 INFORMATIONAL with a close that is not OK`.
    pub fn failing_breakdown(&self) -> String {
        Verdict::ALL
            .iter()
            .rev()
            .filter(|v| self.failing_with(**v) > 0)
            .map(|v| {
                let n = self.failing_with(*v);
                // a verdict that fails on its own, or one that fails only with a bad close
                if verdict::fails(*v, None, self.fail_on) {
                    format!("{n} {v}")
                } else {
                    format!("{n} {v} with a close that is not OK")
                }
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The `summary` object of report.json: `total` and one count per verdict.
    pub fn summary(&self) -> BTreeMap<String, u64> {
        let mut s: BTreeMap<String, u64> =
            Verdict::ALL.iter().map(|v| (v.as_str().to_string(), self.count(*v))).collect();
        s.insert("total".into(), self.total);
        s
    }
}

/// The position of a verdict in [`Verdict::ALL`] (declaration order, tested in `verdict.rs`).
fn verdict_index(verdict: Verdict) -> usize {
    verdict as usize
}

impl ConformanceReport {
    /// This report with other cases and `trimmed` (the size budget builds its cut
    /// copy with it, without copying the old cases first).
    pub fn with_cases(&self, cases: Vec<CaseReport>, trimmed: Option<ReportTrim>) -> ConformanceReport {
        ConformanceReport {
            schema_version: self.schema_version,
            kind: self.kind.clone(),
            tool: self.tool.clone(),
            role: self.role,
            target: self.target.clone(),
            started_at: self.started_at.clone(),
            duration_ms: self.duration_ms,
            complete: self.complete,
            host: self.host.clone(),
            command_line: self.command_line.clone(),
            fail_on: self.fail_on,
            summary: self.summary.clone(),
            cases,
            trimmed,
        }
    }

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

    /// The counts of the cases under the report's gate ([`ConformanceReport::fail_on`]).
    pub fn tally(&self) -> Tally {
        Tally::of(&self.cases, self.fail_on)
    }

    /// The cases that fail the report's gate, in case order.
    pub fn failing(&self) -> impl Iterator<Item = &CaseReport> {
        self.cases.iter().filter(|c| c.fails(self.fail_on))
    }
}
