//! The size budget of a conformance report: its JSON and its HTML page each
//! stay under [`REPORT_BUDGET_BYTES`], so a browser opens the page at once and
//! a reviewer can take the JSON, whatever the server under test did.
//!
//! The bulk of a report is its wire traces (a case that moves megabytes keeps
//! up to 32 KiB of them). [`fit`] leaves a report that fits as it is; one that
//! does not is cut down the [`LADDER`], one rung at a time, until both files
//! fit (measured, not estimated): each rung keeps the first and the last events
//! of every trace, fewer bytes of hex per read or write and fewer characters per
//! text. Worst first: the cases that fail the run's gate keep the most, the
//! other cases that are not OK less, the ones that are fine (OK or
//! INFORMATIONAL, with a proper close) the least. Nothing else is cut: every
//! case keeps its id, verdict, RFC section, reason, expected and observed.
//!
//! Nothing is dropped silently. In the JSON:
//!
//! - the case has a `wire_trimmed` object ([`WireTrim`]): where in its trace
//!   events were left out (`after`: the events kept before the gap), how many,
//!   and how many bytes they carried on the wire;
//! - a `bytes` event whose hex was shortened keeps its full length in `len`; a
//!   text that was shortened ends with `… (N more characters)`;
//! - the report has a `trimmed` object ([`ReportTrim`]): the budget, the caps
//!   applied to each kind of case, and the totals.
//!
//! The HTML page says the same at its top. Running one case alone
//! (`--filter 'ID'`) gives its whole trace: a report of one case fits.

use serde::{Deserialize, Serialize};

use crate::conformance::{CaseReport, ConformanceReport, WireEvent};
use crate::verdict::FailOn;
use crate::RenderError;

/// The most bytes the JSON and, separately, the HTML page of a conformance
/// report may take (1.9 MB: under 2 MB with room to spare).
pub const REPORT_BUDGET_BYTES: u64 = 1_900_000;

/// The rungs [`fit`] tries in turn, gentlest first: the cases that fail the
/// run's gate keep the most, the ones that are fine the least; the last rung
/// keeps no trace at all.
pub const LADDER: [Rung; 10] = [
    Rung {
        failing: TraceCaps::new(96, 32, 1024, 4096),
        not_ok: TraceCaps::new(48, 16, 512, 2048),
        fine: TraceCaps::new(16, 8, 256, 2048),
    },
    Rung {
        failing: TraceCaps::new(64, 32, 512, 2048),
        not_ok: TraceCaps::new(24, 8, 128, 1024),
        fine: TraceCaps::new(8, 4, 64, 512),
    },
    Rung {
        failing: TraceCaps::new(48, 24, 256, 2048),
        not_ok: TraceCaps::new(12, 6, 64, 512),
        fine: TraceCaps::new(2, 2, 32, 256),
    },
    Rung { failing: TraceCaps::new(48, 24, 256, 2048), not_ok: TraceCaps::new(12, 6, 64, 512), fine: TraceCaps::NONE },
    Rung { failing: TraceCaps::new(48, 24, 256, 2048), not_ok: TraceCaps::new(6, 4, 32, 256), fine: TraceCaps::NONE },
    Rung { failing: TraceCaps::new(24, 16, 128, 1024), not_ok: TraceCaps::new(6, 4, 32, 256), fine: TraceCaps::NONE },
    Rung { failing: TraceCaps::new(24, 16, 128, 1024), not_ok: TraceCaps::NONE, fine: TraceCaps::NONE },
    Rung { failing: TraceCaps::new(12, 8, 64, 512), not_ok: TraceCaps::NONE, fine: TraceCaps::NONE },
    Rung { failing: TraceCaps::new(4, 4, 32, 256), not_ok: TraceCaps::NONE, fine: TraceCaps::NONE },
    Rung { failing: TraceCaps::NONE, not_ok: TraceCaps::NONE, fine: TraceCaps::NONE },
];

/// The caps of one rung of the [`LADDER`], by how much a case matters to the reader.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rung {
    /// For the cases that fail the run's gate ([`CaseReport::fails`]).
    pub failing: TraceCaps,
    /// For the other cases that are not OK ([`CaseReport::is_not_ok`]).
    pub not_ok: TraceCaps,
    /// For the cases that are fine: OK or INFORMATIONAL, with a proper close.
    pub fine: TraceCaps,
}

impl Rung {
    /// The caps for `case` in a report gated by `fail_on`.
    pub fn caps(&self, case: &CaseReport, fail_on: FailOn) -> TraceCaps {
        if case.fails(fail_on) {
            self.failing
        } else if case.is_not_ok() {
            self.not_ok
        } else {
            self.fine
        }
    }
}

/// How much of one case's wire trace a report keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TraceCaps {
    /// Events kept from the start of the trace (the handshake, the first frames).
    pub head: u32,
    /// Events kept from its end (the last frames, the close).
    pub tail: u32,
    /// Bytes of hex kept per read or write (`bytes` event).
    pub hex_bytes: u32,
    /// Characters kept per text (an HTTP head, a frame line, a note).
    pub text_chars: u32,
}

impl TraceCaps {
    /// No event kept.
    pub const NONE: TraceCaps = TraceCaps::new(0, 0, 0, 0);

    /// The caps, in field order.
    pub const fn new(head: u32, tail: u32, hex_bytes: u32, text_chars: u32) -> TraceCaps {
        TraceCaps { head, tail, hex_bytes, text_chars }
    }

    /// One phrase: `the first 16 and the last 8 events, 256 bytes of each read or write`, or `no events`.
    pub fn describe(&self) -> String {
        if self.head == 0 && self.tail == 0 {
            return "no events".into();
        }
        format!(
            "the first {} and the last {} events, {} bytes of each read or write",
            self.head, self.tail, self.hex_bytes
        )
    }
}

/// What the budget cut from a whole report (`trimmed` in the JSON; absent:
/// nothing was cut).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportTrim {
    /// [`REPORT_BUDGET_BYTES`] when the report was cut.
    pub budget_bytes: u64,
    /// The caps on the traces of the cases that fail the run's gate.
    pub failing: TraceCaps,
    /// The caps on the traces of the other cases that are not OK.
    pub not_ok: TraceCaps,
    /// The caps on the traces of the cases that are fine.
    pub fine: TraceCaps,
    /// Cases whose trace was cut (they have `wire_trimmed`).
    pub cases: u64,
    /// Events left out, over every case.
    pub events: u64,
    /// Bytes on the wire that those events carried.
    pub bytes: u64,
}

/// What the budget cut from one case's trace (`wire_trimmed` in the JSON;
/// absent: nothing).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireTrim {
    /// Where the events were left out: after this many events of the trace kept
    /// (the rest of the trace kept follows the gap).
    pub after: u64,
    /// Events left out, all in one gap.
    pub events: u64,
    /// Bytes on the wire that those events carried (the `len` of their `bytes` events).
    pub bytes: u64,
    /// Bytes left out of the hex of the `bytes` events kept (their `len` stays the full length).
    pub hex_bytes: u64,
    /// Characters left out of the texts kept (each such text ends saying how many).
    pub text_chars: u64,
}

impl WireTrim {
    /// Whether nothing was cut.
    fn is_empty(&self) -> bool {
        self.events == 0 && self.hex_bytes == 0 && self.text_chars == 0
    }

    /// `other` added to these counts. A trace cut twice (a report cut before,
    /// then again) keeps the counts of both; the gap is the last one's.
    fn add(&mut self, other: &WireTrim) {
        if other.events > 0 {
            self.after = other.after;
        }
        self.events += other.events;
        self.bytes += other.bytes;
        self.hex_bytes += other.hex_bytes;
        self.text_chars += other.text_chars;
    }
}

/// The report, cut down the [`LADDER`] until its JSON and its HTML page each
/// take at most [`REPORT_BUDGET_BYTES`]; a report that fits comes back as it
/// is, and one that fits on no rung comes back cut by the last.
pub fn fit(report: &ConformanceReport) -> Result<ConformanceReport, RenderError> {
    if fits(report)? {
        return Ok(report.clone());
    }
    let mut cut = report.clone();
    for rung in LADDER {
        cut = trim(report, rung);
        if fits(&cut)? {
            break;
        }
    }
    Ok(cut)
}

/// Whether the JSON and the HTML page of `report` each fit the budget: a
/// report whose traces alone exceed it does not; else the JSON is measured,
/// then the page, rendered only if the JSON fits.
fn fits(report: &ConformanceReport) -> Result<bool, RenderError> {
    if trace_chars(report) > REPORT_BUDGET_BYTES {
        return Ok(false);
    }
    let json = crate::json::to_json_bytes(report).map_err(RenderError::Json)?;
    if json.len() as u64 > REPORT_BUDGET_BYTES {
        return Ok(false);
    }
    let html = crate::html::render_conformance(report)?;
    Ok(html.len() as u64 <= REPORT_BUDGET_BYTES)
}

/// The characters of hex and text in the traces: the JSON writes at least that
/// many bytes, so a report with more cannot fit (found without writing it).
fn trace_chars(report: &ConformanceReport) -> u64 {
    let event = |e: &WireEvent| e.hex.as_ref().map_or(0, String::len) + e.text.as_ref().map_or(0, String::len);
    report.cases.iter().flat_map(|c| &c.wire).map(|e| event(e) as u64).sum()
}

/// `report` with every trace cut to the caps of `rung`, and `trimmed` saying so.
pub fn trim(report: &ConformanceReport, rung: Rung) -> ConformanceReport {
    let cases: Vec<CaseReport> = report.cases.iter().map(|c| trim_case(c, rung.caps(c, report.fail_on))).collect();
    let mut total = WireTrim::default();
    let mut trimmed_cases = 0;
    for t in cases.iter().filter_map(|c| c.wire_trimmed.as_ref()) {
        total.add(t);
        trimmed_cases += 1;
    }
    let trimmed = (trimmed_cases > 0).then_some(ReportTrim {
        budget_bytes: REPORT_BUDGET_BYTES,
        failing: rung.failing,
        not_ok: rung.not_ok,
        fine: rung.fine,
        cases: trimmed_cases,
        events: total.events,
        bytes: total.bytes,
    });
    report.with_cases(cases, trimmed)
}

/// One case with its trace cut to `caps`; what was cut is added to its `wire_trimmed`.
pub fn trim_case(case: &CaseReport, caps: TraceCaps) -> CaseReport {
    let mut cut = WireTrim::default();
    let n = case.wire.len();
    let head = (caps.head as usize).min(n);
    let tail = (caps.tail as usize).min(n - head);
    let mut wire: Vec<WireEvent> = case.wire[..head].iter().map(|e| trim_event(e, caps, &mut cut)).collect();
    let gap = &case.wire[head..n - tail];
    cut.after = head as u64;
    cut.events = gap.len() as u64;
    cut.bytes = gap.iter().filter(|e| e.kind == "bytes").filter_map(|e| e.len).sum();
    wire.extend(case.wire[n - tail..].iter().map(|e| trim_event(e, caps, &mut cut)));
    let mut wire_trimmed = case.wire_trimmed;
    if !cut.is_empty() {
        wire_trimmed.get_or_insert_with(WireTrim::default).add(&cut);
    }
    case.with_wire(wire, wire_trimmed)
}

/// One event with its hex and text cut to `caps`.
fn trim_event(event: &WireEvent, caps: TraceCaps, cut: &mut WireTrim) -> WireEvent {
    let mut e = event.clone();
    if let Some(hex) = &mut e.hex {
        cut.hex_bytes += cut_hex(hex, caps.hex_bytes as usize);
    }
    if let Some(text) = &mut e.text {
        cut.text_chars += cut_text(text, caps.text_chars as usize);
    }
    e
}

/// Keeps the first `keep` bytes of `"81 85 0a ..."` (each byte two digits and
/// a space, the last one without: the schema's form); returns how many were
/// left out.
fn cut_hex(hex: &mut String, keep: usize) -> u64 {
    let total = hex.len().div_ceil(3);
    if total <= keep {
        return 0;
    }
    let at = (keep * 3).saturating_sub(1);
    if !hex.is_char_boundary(at) {
        // not our form (a report edited by hand): keep it whole rather than cut a character
        return 0;
    }
    hex.truncate(at);
    (total - keep) as u64
}

/// Keeps the first `keep` characters of `text`, then says how many were left out; returns that number.
fn cut_text(text: &mut String, keep: usize) -> u64 {
    let Some((at, _)) = text.char_indices().nth(keep) else {
        return 0;
    };
    let left_out = text[at..].chars().count() as u64;
    text.truncate(at);
    text.push_str(&format!("… ({left_out} more characters)"));
    left_out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_and_text_are_cut_at_a_boundary_and_say_how_much() {
        let mut hex = "81 85 37 fa 21".to_string();
        assert_eq!(cut_hex(&mut hex, 2), 3);
        assert_eq!(hex, "81 85");
        let mut none = "81 85".to_string();
        assert_eq!(cut_hex(&mut none, 0), 2);
        assert_eq!(none, "");
        let mut short = "81".to_string();
        assert_eq!(cut_hex(&mut short, 4), 0);
        assert_eq!(short, "81");
        let mut text = "héllo wörld".to_string();
        assert_eq!(cut_text(&mut text, 4), 7);
        assert_eq!(text, "héll… (7 more characters)");
        let mut fits = "abc".to_string();
        assert_eq!(cut_text(&mut fits, 3), 0);
        assert_eq!(fits, "abc");
    }

    #[test]
    fn the_ladder_cuts_harder_at_each_rung_and_failing_cases_least() {
        let weight = |c: TraceCaps| (c.head + c.tail, c.hex_bytes, c.text_chars);
        let all = |r: Rung| [weight(r.failing), weight(r.not_ok), weight(r.fine)];
        for pair in LADDER.windows(2) {
            let (before, after) = (all(pair[0]), all(pair[1]));
            assert!(after.iter().zip(before).all(|(a, b)| *a <= b) && after != before, "{pair:?}");
        }
        for rung in LADDER {
            let [failing, not_ok, fine] = all(rung);
            assert!(failing >= not_ok && not_ok >= fine, "{rung:?}");
        }
        assert_eq!(all(LADDER[LADDER.len() - 1]), [(0, 0, 0); 3], "the last rung keeps no trace");
    }
}
