//! A run with hundreds of failing cases and long traces still writes a JSON and a page under the size budget, worst
//! cases keeping the most, and both say exactly what was cut.

use reports::budget::{fit, Rung, TraceCaps, LADDER, REPORT_BUDGET_BYTES};
use reports::conformance::{CaseReport, ConformanceReport, WireEvent};
use reports::verdict::Verdict;
use reports::Report;

use crate::common::{fixture, schema_errors};

/// Under 2 MB, the acceptance line of the issue: the budget is below it.
const TWO_MB: u64 = 2_000_000;
const _: () = assert!(REPORT_BUDGET_BYTES < TWO_MB);

/// Bytes of each read or write in the big traces: the most the harness keeps per event.
const EVENT_BYTES: usize = 2048;

/// A read of [`EVENT_BYTES`] bytes, 4 times as many on the wire (the harness keeps the first ones).
fn read(at_us: u64, hex: &str) -> WireEvent {
    let len = Some(EVENT_BYTES as u64 * 4);
    WireEvent { at_us, dir: Some("received".into()), kind: "bytes".into(), len, hex: Some(hex.into()), text: None }
}

/// A text event.
fn text(at_us: u64, kind: &str, text: String) -> WireEvent {
    WireEvent { at_us, dir: Some("received".into()), kind: kind.into(), len: None, hex: None, text: Some(text) }
}

/// A trace of `n` events: a long HTTP head, then reads of [`EVENT_BYTES`] between frame lines.
fn big_trace(n: u64) -> Vec<WireEvent> {
    let hex: String = (0..EVENT_BYTES).map(|i| format!("{:02x}", i % 256)).collect::<Vec<_>>().join(" ");
    let mut wire = vec![text(0, "http", format!("HTTP/1.1 101 Switching Protocols\r\nX-Long: {}", "a".repeat(5000)))];
    for i in 1..n {
        wire.push(match i % 8 {
            0 => read(i, &hex),
            _ => text(i, "frame", format!("binary {i} bytes {}", "fe ".repeat(40))),
        });
    }
    wire
}

/// 600 cases: 400 failing, 100 UNIMPLEMENTED, 100 OK, each with a trace of 160 events (about 40 MB of JSON).
fn big_report() -> ConformanceReport {
    let mut report = fixture();
    let template = report.cases[0].clone();
    report.cases = (0..600)
        .map(|i| {
            let verdict = match i % 6 {
                0 => Verdict::Ok,
                1 => Verdict::Unimplemented,
                _ => Verdict::Failed,
            };
            CaseReport {
                id: format!("big/case-{i}"),
                verdict,
                close_verdict: None,
                reason: Some(format!("reason {i}")),
                expected: Some(format!("expected {i}")),
                observed: Some(format!("observed {i}")),
                wire: big_trace(160),
                ..template.clone()
            }
        })
        .collect();
    report.summary = report.tally().summary();
    report
}

/// The caps `rung` gives a case of the report.
fn caps_of(rung: Rung, report: &ConformanceReport, c: &CaseReport) -> TraceCaps {
    rung.caps(c, report.fail_on)
}

/// The rung the report was cut at, from the caps it records.
fn rung_of(report: &ConformanceReport) -> Rung {
    let t = report.trimmed.as_ref().expect("trimmed");
    *LADDER
        .iter()
        .find(|r| r.failing == t.failing && r.not_ok == t.not_ok && r.fine == t.fine)
        .expect("the caps recorded are a rung of the ladder")
}

fn hex_len(e: &WireEvent) -> u64 {
    e.hex.as_deref().map_or(0, |h| h.split_ascii_whitespace().count() as u64)
}

#[test]
fn hundreds_of_big_failing_cases_fit_in_the_budget_and_the_cut_is_stated_case_by_case() {
    let big = big_report();
    let hex: u64 = big.cases.iter().flat_map(|c| &c.wire).map(|e| e.hex.as_ref().map_or(0, |h| h.len() as u64)).sum();
    assert!(hex > 10 * TWO_MB, "the report is big before it is fitted: {hex} bytes of hex");
    let dir = std::env::temp_dir().join(format!("wsharness-budget-{}", std::process::id()));
    let json_path = dir.join("report.json");

    let fitted = fit(&big).expect("fit");
    reports::write_json(&json_path, &fitted).expect("write");
    let json = std::fs::metadata(&json_path).expect("json").len();
    let html = reports::html::render(&Report::Conformance(Box::new(fitted.clone()))).expect("render");
    let _ = std::fs::remove_dir_all(&dir);
    assert!(json <= REPORT_BUDGET_BYTES, "report.json is {json} bytes");
    assert!(html.len() as u64 <= REPORT_BUDGET_BYTES, "the page is {} bytes", html.len());

    // the report says what was cut, and its totals add up to the cases'
    let trimmed = fitted.trimmed.clone().expect("the report says it was cut");
    assert_eq!(trimmed.budget_bytes, REPORT_BUDGET_BYTES);
    let cut: Vec<_> = fitted.cases.iter().filter_map(|c| c.wire_trimmed).collect();
    assert_eq!(trimmed.cases, cut.len() as u64);
    assert_eq!(trimmed.events, cut.iter().map(|t| t.events).sum::<u64>());
    assert_eq!(trimmed.bytes, cut.iter().map(|t| t.bytes).sum::<u64>());
    let events_before: usize = big.cases.iter().map(|c| c.wire.len()).sum();
    let events_after: usize = fitted.cases.iter().map(|c| c.wire.len()).sum();
    assert_eq!(trimmed.events, (events_before - events_after) as u64, "every event left out is counted");
    assert!(trimmed.events > 0);

    let rung = rung_of(&fitted);
    for (old, new) in big.cases.iter().zip(&fitted.cases) {
        assert_case_cut_to(old, new, caps_of(rung, &fitted, new));
    }
    // worst first: a failing case keeps at least as much as a case that is fine, and here strictly more
    let kept = |v: Verdict| fitted.cases.iter().find(|c| c.verdict == v).map(|c| c.wire.len()).expect("a case");
    assert!(kept(Verdict::Failed) > kept(Verdict::Ok), "{} vs {}", kept(Verdict::Failed), kept(Verdict::Ok));

    // the page states the cut at the top, and in each trace where events were left out
    let notice = &html[html.find("id=\"trimmed\"").expect("the notice")..];
    assert!(notice.contains(&format!("{} events", trimmed.events)), "{}", &notice[..400]);
    assert!(html.find("id=\"trimmed\"") < html.find("id=\"failing\""), "the notice is above the cases");
    let first = fitted.cases.iter().find(|c| c.verdict == Verdict::Failed).expect("a failing case");
    let shown = format!("Wire trace ({} of 160 events shown)", first.wire.len());
    assert!(html.contains(&shown), "no '{shown}'");
    assert!(html.contains("<td>not shown</td>"), "the gap has its row");

    let value = serde_json::to_value(&fitted).expect("serialize");
    assert_eq!(schema_errors("conformance.schema.json", &value), Vec::<String>::new());
}

/// `new` is `old` with its trace cut to `caps`, and says so exactly.
fn assert_case_cut_to(old: &CaseReport, new: &CaseReport, caps: TraceCaps) {
    let same = |c: &CaseReport| (c.id.clone(), c.verdict, c.reason.clone(), c.expected.clone(), c.observed.clone());
    assert_eq!(same(old), same(new), "what a reader needs to act is kept whole");
    let t = new.wire_trimmed.expect("every big trace is cut");
    let (head, n) = (caps.head as usize, old.wire.len());
    assert!(new.wire.len() <= head + caps.tail as usize, "{}: {} events kept", new.id, new.wire.len());
    assert_eq!(t.events as usize, n - new.wire.len(), "{}", new.id);
    assert_eq!(t.after as usize, head.min(n), "{}", new.id);
    // the events kept are the first and the last, in order
    let times = |w: &[WireEvent]| w.iter().map(|e| e.at_us).collect::<Vec<_>>();
    let expected = [times(&old.wire[..head.min(n)]), times(&old.wire[n - (new.wire.len() - head.min(n))..])].concat();
    assert_eq!(times(&new.wire), expected, "{}", new.id);
    let gap = &old.wire[head.min(n)..head.min(n) + t.events as usize];
    assert_eq!(t.bytes, gap.iter().filter_map(|e| e.len).sum::<u64>(), "{}", new.id);
    // hex and texts kept are cut to the caps, with their full length kept and the cut counted
    let kept_events: Vec<(&WireEvent, &WireEvent)> = new
        .wire
        .iter()
        .map(|k| (old.wire.iter().find(|o| o.at_us == k.at_us).expect("kept from the old trace"), k))
        .collect();
    let hex_cut_kept: u64 = kept_events.iter().map(|(o, k)| hex_len(o) - hex_len(k)).sum();
    assert_eq!(t.hex_bytes, hex_cut_kept, "{}", new.id);
    for (o, k) in &kept_events {
        assert_eq!(o.len, k.len, "the full length stays");
        assert!(hex_len(k) <= u64::from(caps.hex_bytes));
        if let (Some(ot), Some(kt)) = (&o.text, &k.text) {
            if ot.chars().count() > caps.text_chars as usize {
                let left_out = ot.chars().count() - caps.text_chars as usize;
                assert!(kt.ends_with(&format!("… ({left_out} more characters)")), "{kt}");
            } else {
                assert_eq!(ot, kt);
            }
        }
    }
}

#[test]
fn a_report_that_fits_is_left_as_it_is_and_fitting_twice_changes_nothing() {
    let small = fixture();
    let fitted = fit(&small).expect("fit");
    assert_eq!(fitted, small);
    assert!(fitted.trimmed.is_none() && fitted.cases.iter().all(|c| c.wire_trimmed.is_none()));
    let html = reports::html::render(&Report::Conformance(Box::new(fitted))).expect("render");
    assert!(!html.contains("id=\"trimmed\""), "no notice when nothing was cut");

    let mut big = fixture();
    let template = big.cases[0].clone();
    big.cases =
        (0..60).map(|i| CaseReport { id: format!("big/{i}"), wire: big_trace(400), ..template.clone() }).collect();
    let once = fit(&big).expect("fit");
    assert!(once.trimmed.is_some());
    assert_eq!(fit(&once).expect("fit"), once, "a fitted report fits");
    // and it reads back as written
    let bytes = serde_json::to_vec_pretty(&once).expect("json");
    let Report::Conformance(back) = reports::parse_report(&bytes, "fitted.json").expect("parse") else {
        panic!("a conformance report")
    };
    assert_eq!(*back, once);
}

#[test]
fn the_schema_refuses_a_cut_that_does_not_say_how_much() {
    let mut big = fixture();
    let template = big.cases[0].clone();
    big.cases =
        (0..60).map(|i| CaseReport { id: format!("big/{i}"), wire: big_trace(400), ..template.clone() }).collect();
    let good = serde_json::to_value(fit(&big).expect("fit")).expect("serialize");
    assert_eq!(schema_errors("conformance.schema.json", &good), Vec::<String>::new());
    type Breaks = fn(&mut serde_json::Value);
    let broken: [(&str, Breaks); 3] = [
        ("a case cut without its count", |v| {
            v["cases"][0]["wire_trimmed"].as_object_mut().expect("cut").remove("events");
        }),
        ("a report cut without its budget", |v| {
            v["trimmed"].as_object_mut().expect("trimmed").remove("budget_bytes");
        }),
        ("caps with a negative head", |v| v["trimmed"]["failing"]["head"] = (-1).into()),
    ];
    for (what, breaks) in broken {
        let mut v = good.clone();
        breaks(&mut v);
        assert!(!schema_errors("conformance.schema.json", &v).is_empty(), "the schema accepted {what}");
    }
}
