//! The conformance page: summary, then the cases that are not OK worst first
//! (the ones that fail the run's gate first), the verdict matrix by section,
//! then every other case. Each case is one collapsed line (verdict, id, title,
//! RFC, and the reason when there is one) that opens on demand onto its
//! expected and observed, its close and its wire trace, so the first failing
//! case is on the first screen however many cases the run has.
//!
//! Every count on the page (banner, tiles, matrix, group headings, filter,
//! legend) comes from one [`Tally`] of the report under its recorded gate, and
//! a case is failing or not OK by [`CaseReport::fails`] and
//! [`CaseReport::is_not_ok`], the rule every output applies.

use askama::Template;

use super::{bytes, close_class, millis, rfc_link, verdict_class, CONTENT_SECURITY_POLICY};
use crate::budget::ReportTrim;
use crate::conformance::{not_ok_worst_first, CaseReport, ConformanceReport, Tally, WireEvent};
use crate::verdict::meaning::Meaning;
use crate::verdict::{self, CloseVerdict, FailOn, Verdict};
use crate::RenderError;

/// Bytes of one wire event shown as a hex dump; the rest stays in report.json.
const HEXDUMP_BYTES: usize = 512;

#[derive(Template)]
#[template(path = "conformance.html")]
struct Page<'a> {
    csp: &'static str,
    title: String,
    r: &'a ConformanceReport,
    duration: String,
    command_line: String,
    /// The counts of the whole page.
    tally: Tally,
    /// `--fail-on failed`.
    gate: String,
    /// The failing cases by verdict, for the banner.
    breakdown: String,
    /// What the size budget cut, for the notice under the banner.
    trimmed: Option<String>,
    counts: Vec<Count>,
    /// What each verdict means, under the legend.
    meanings: Vec<MeaningRow>,
    sections: Vec<SectionRow<'a>>,
    failing: Vec<CaseView<'a>>,
    not_ok_passing: Vec<CaseView<'a>>,
    ok: Vec<CaseView<'a>>,
}

/// One verdict: its tile, matrix column, filter box and legend entry.
struct Count {
    verdict: Verdict,
    class: String,
    /// The matrix column's heading.
    short: &'static str,
    n: u64,
    /// `fails` when the verdict fails under the gate on its own, else empty.
    fails: &'static str,
    /// What it means ([`Verdict::meaning`]), for the legend.
    meaning: Meaning,
}

/// One row of the table of what the verdicts mean, behaviour then close ([`crate::verdict::meaning`]).
struct MeaningRow {
    /// `behaviour` or `close`.
    axis: &'static str,
    class: String,
    meaning: Meaning,
    /// `fails` when the verdict fails under the report's gate on its own, else empty.
    fails: &'static str,
}

/// One row of the matrix.
struct SectionRow<'a> {
    name: &'a str,
    total: usize,
    /// Per verdict, in [`Verdict::ALL`] order.
    counts: Vec<u64>,
    cells: Vec<Cell>,
}

/// One case in the matrix.
struct Cell {
    anchor: String,
    class: String,
    stripe_class: String,
    tip: String,
}

/// One case's details.
struct CaseView<'a> {
    c: &'a CaseReport,
    anchor: String,
    class: String,
    close_class: String,
    /// `close UNCLEAN`, for a close judged and not OK.
    close_badge: Option<String>,
    rfc_link: Option<String>,
    duration: String,
    /// `Wire trace (14 events)`, with what the budget left out.
    wire_label: String,
    wire: Vec<WireRow>,
}

/// One line of a wire trace.
struct WireRow {
    at: String,
    arrow: &'static str,
    dir_class: &'static str,
    kind: String,
    body: String,
    hex: bool,
    more: Option<String>,
}

/// Renders the page.
pub fn render(r: &ConformanceReport) -> Result<String, RenderError> {
    let tally = r.tally();
    let counts = Verdict::ALL.iter().map(|v| count(*v, &tally)).collect();
    let sections = r
        .sections()
        .into_iter()
        .map(|(name, cases)| {
            let section = Tally::of(cases.iter().copied(), r.fail_on);
            SectionRow {
                name,
                total: cases.len(),
                counts: Verdict::ALL.iter().map(|v| section.count(*v)).collect(),
                cells: cases.iter().map(|c| cell(c)).collect(),
            }
        })
        .collect();
    let (failing, not_ok_passing): (Vec<&CaseReport>, Vec<&CaseReport>) =
        not_ok_worst_first(&r.cases).into_iter().partition(|c| c.fails(r.fail_on));
    let page = Page {
        csp: CONTENT_SECURITY_POLICY,
        title: format!("wsharness conformance: {}", r.target.url),
        r,
        duration: millis(r.duration_ms),
        command_line: r.command_line.join(" "),
        gate: format!("--fail-on {}", r.fail_on),
        breakdown: tally.failing_breakdown(),
        trimmed: r.trimmed.as_ref().map(trimmed_notice),
        tally,
        counts,
        meanings: meanings(r.fail_on),
        sections,
        failing: failing.into_iter().map(case_view).collect(),
        not_ok_passing: not_ok_passing.into_iter().map(case_view).collect(),
        ok: r.cases.iter().filter(|c| !c.is_not_ok()).map(case_view).collect(),
    };
    page.render().map_err(RenderError::Template)
}

fn count(verdict: Verdict, tally: &Tally) -> Count {
    let short = match verdict {
        Verdict::Informational => "INFO",
        Verdict::Unimplemented => "UNIMPL.",
        v => v.as_str(),
    };
    Count {
        verdict,
        class: verdict_class(verdict),
        short,
        n: tally.count(verdict),
        fails: fails_word(verdict::fails(verdict, None, tally.fail_on)),
        meaning: verdict.meaning(),
    }
}

fn fails_word(fails: bool) -> &'static str {
    if fails {
        "fails"
    } else {
        ""
    }
}

/// Every verdict's meaning, behaviour then close, with whether it fails under `fail_on`.
fn meanings(fail_on: FailOn) -> Vec<MeaningRow> {
    let behaviour = Verdict::ALL.map(|v| MeaningRow {
        axis: "behaviour",
        class: verdict_class(v),
        meaning: v.meaning(),
        fails: fails_word(verdict::fails(v, None, fail_on)),
    });
    let close = CloseVerdict::ALL.map(|c| MeaningRow {
        axis: "close",
        class: close_class(Some(c)),
        meaning: c.meaning(),
        fails: fails_word(verdict::fails(Verdict::Ok, Some(c), fail_on)),
    });
    behaviour.into_iter().chain(close).collect()
}

fn anchor(c: &CaseReport) -> String {
    format!("case-{}", c.id)
}

fn cell(c: &CaseReport) -> Cell {
    let close = c.close_verdict.map(|v| format!(", close {v}")).unwrap_or_default();
    Cell {
        anchor: anchor(c),
        class: verdict_class(c.verdict),
        stripe_class: close_class(c.close_verdict).replacen("c-", "s-", 1),
        tip: format!("{}: {}{close}", c.id, c.verdict),
    }
}

fn case_view(c: &CaseReport) -> CaseView<'_> {
    let (wire_label, wire) = wire_view(c);
    CaseView {
        c,
        anchor: anchor(c),
        class: verdict_class(c.verdict),
        close_class: close_class(c.close_verdict),
        close_badge: c.close_verdict.filter(|v| *v != CloseVerdict::Ok).map(|v| format!("close {v}")),
        rfc_link: rfc_link(&c.rfc),
        duration: millis(c.duration_ms),
        wire_label,
        wire,
    }
}

/// The heading of a case's wire trace and its rows, with one row where the
/// size budget left events out; no rows when the trace is empty or the budget
/// kept none of it (the heading says which).
fn wire_view(c: &CaseReport) -> (String, Vec<WireRow>) {
    let kept = c.wire.len();
    let Some(cut) = c.wire_trimmed.filter(|t| t.events > 0) else {
        let label = if kept == 0 { "No wire trace".into() } else { format!("Wire trace ({kept} events)") };
        return (label, c.wire.iter().map(wire_row).collect());
    };
    if kept == 0 {
        return (format!("Wire trace: {} events, not shown (size budget)", cut.events), Vec::new());
    }
    let mut rows: Vec<WireRow> = c.wire.iter().map(wire_row).collect();
    let gap = WireRow {
        at: String::new(),
        arrow: "",
        dir_class: "note",
        kind: "not shown".into(),
        body: format!("{} events ({} on the wire): size budget", cut.events, bytes(cut.bytes)),
        hex: false,
        more: None,
    };
    rows.insert((cut.after as usize).min(kept), gap);
    (format!("Wire trace ({kept} of {} events shown)", kept as u64 + cut.events), rows)
}

/// The notice of what the size budget cut: how much, and what each kind of case keeps.
fn trimmed_notice(t: &ReportTrim) -> String {
    let keep = if t.not_ok == t.fine {
        format!("Cases that fail the gate keep {}; the others keep {}.", t.failing.describe(), t.fine.describe())
    } else {
        format!(
            "Cases that fail the gate keep {}; other cases not OK keep {}; the others keep {}.",
            t.failing.describe(),
            t.not_ok.describe(),
            t.fine.describe()
        )
    };
    format!(
        "Wire traces are shortened to keep this page and report.json under {:.1} MB: {} events ({} on the wire) of \
         {} cases are not shown. {keep} Run one case alone (--filter 'CASE-ID') for its whole trace.",
        t.budget_bytes as f64 / 1e6,
        t.events,
        bytes(t.bytes),
        t.cases,
    )
}

fn wire_row(e: &WireEvent) -> WireRow {
    let (arrow, dir_class) = match e.dir.as_deref() {
        Some("sent") => ("client → server", "sent"),
        Some("received") => ("server → client", "received"),
        _ => ("", "note"),
    };
    let mut more = None;
    let body = match (e.kind.as_str(), &e.hex) {
        ("bytes", Some(hex)) => {
            let bytes = parse_hex(hex);
            let total = e.len.unwrap_or(bytes.len() as u64);
            let shown = bytes.len().min(HEXDUMP_BYTES);
            if (shown as u64) < total {
                more = Some(format!("{} of {total} bytes shown (report.json keeps up to {})", shown, bytes.len()));
            }
            hexdump(&bytes[..shown])
        }
        _ => e.text.clone().unwrap_or_default(),
    };
    let kind = match (e.kind.as_str(), e.len) {
        ("bytes", Some(n)) => format!("{n} bytes"),
        (k, _) => k.to_string(),
    };
    let hex = e.kind == "bytes";
    WireRow { at: format!("{:.3} ms", e.at_us as f64 / 1000.0), arrow, dir_class, kind, body, hex, more }
}

/// `"81 85 0a"` back to bytes; anything that is not a hex pair is skipped.
fn parse_hex(hex: &str) -> Vec<u8> {
    hex.split_ascii_whitespace().filter_map(|p| u8::from_str_radix(p, 16).ok()).collect()
}

/// A classic hex dump: offset, 16 bytes in hex, then the printable ASCII.
fn hexdump(bytes: &[u8]) -> String {
    let mut out = String::new();
    for (i, line) in bytes.chunks(16).enumerate() {
        let hex: Vec<String> = line.iter().map(|b| format!("{b:02x}")).collect();
        let ascii: String =
            line.iter().map(|&b| if b.is_ascii_graphic() || b == b' ' { b as char } else { '.' }).collect();
        out.push_str(&format!("{:04x}  {:<47}  |{ascii}|\n", i * 16, hex.join(" ")));
    }
    out.pop();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hexdump_shows_offsets_hex_and_printable_ascii() {
        let dump = hexdump(&parse_hex("81 85 37 fa 21 3d 48 65 6c 6c 6f 0a 00 ff 41 42 43"));
        let lines: Vec<&str> = dump.lines().collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0], "0000  81 85 37 fa 21 3d 48 65 6c 6c 6f 0a 00 ff 41 42  |..7.!=Hello...AB|");
        assert!(lines[1].starts_with("0010  43 "), "{}", lines[1]);
        assert!(lines[1].ends_with("|C|"), "{}", lines[1]);
    }
}
