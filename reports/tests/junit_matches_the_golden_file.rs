//! JUnit XML: one testcase per case, failures and errors told apart (h2spec labels every failure an error).

mod common;

use common::{crate_dir, fixture, golden};

#[test]
fn junit_of_the_fixture_matches_the_golden_file() {
    let xml = reports::junit::render(&fixture()).expect("render");
    golden(&crate_dir().join("tests/golden/conformance-small.junit.xml"), &xml);
}

#[test]
fn failures_are_the_cases_that_fail_the_gate_and_errors_the_ones_that_could_not_run() {
    let report = fixture();
    let xml = reports::junit::render(&report).expect("render");
    let root = xml.lines().find(|l| l.starts_with("<testsuites")).expect("root element");
    let failing = report.cases.iter().filter(|c| c.is_failure() && c.verdict != "ERRORED").count();
    let errored = report.cases.iter().filter(|c| c.verdict == "ERRORED").count();
    let skipped = report.cases.iter().filter(|c| c.verdict == "UNIMPLEMENTED").count();
    assert!(root.contains(&format!("tests=\"{}\"", report.cases.len())), "{root}");
    assert!(root.contains(&format!("failures=\"{failing}\"")), "{root}");
    assert!(root.contains(&format!("errors=\"{errored}\"")), "{root}");
    assert!(root.contains(&format!("skipped=\"{skipped}\"")), "{root}");
    assert_eq!(xml.matches("<testcase ").count(), report.cases.len());
    assert!(xml.contains("message=\"the server echoed the frame instead of failing the connection\""), "{xml}");
}

#[test]
fn an_interrupted_run_never_shows_green() {
    let mut report = fixture();
    report.cases.retain(|c| c.verdict == "OK" && c.close_verdict.as_deref() == Some("OK"));
    report.complete = false;
    let xml = reports::junit::render(&report).expect("render");
    assert!(xml.contains("wsharness/run-complete"), "{xml}");
    assert!(xml.contains("errors=\"1\""), "{xml}");
}
