//! JUnit XML: one testcase per case, failures and errors told apart (h2spec labels every failure an error).

use crate::common::{crate_dir, fixture, golden};
use reports::verdict::{CloseVerdict, FailOn, Verdict};

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
    let failing = report.cases.iter().filter(|c| c.fails(report.fail_on) && !c.verdict.is_no_result()).count();
    let errored = report.cases.iter().filter(|c| c.fails(report.fail_on) && c.verdict.is_no_result()).count();
    let skipped =
        report.cases.iter().filter(|c| !c.fails(report.fail_on) && c.verdict == Verdict::Unimplemented).count();
    assert_eq!((failing, errored, skipped), (2, 2, 1), "the fixture has each kind");
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
    report.cases.retain(|c| c.verdict == Verdict::Ok && c.close_verdict == Some(CloseVerdict::Ok));
    report.complete = false;
    let xml = reports::junit::render(&report).expect("render");
    assert!(xml.contains("wsharness/run-complete"), "{xml}");
    assert!(xml.contains("errors=\"1\""), "{xml}");
}

#[test]
fn the_gate_recorded_in_the_report_decides_whether_non_strict_is_a_failure() {
    let mut report = fixture();
    let late = |xml: &str| {
        let at = xml.find("name=\"rfc6455/8.1/late-utf8\"").expect("late-utf8 testcase");
        xml[at..at + xml[at..].find("</testcase>").expect("end of testcase")].to_string()
    };
    let xml = reports::junit::render(&report).expect("render");
    assert!(!late(&xml).contains("<failure"), "NON-STRICT passes --fail-on failed: {}", late(&xml));
    assert!(late(&xml).contains("<system-out>NON-STRICT: "), "{}", late(&xml));
    report.fail_on = FailOn::NonStrict;
    let xml = reports::junit::render(&report).expect("render");
    assert!(
        late(&xml)
            .contains("<failure message=\"the server failed only at the end of the message\" type=\"NON-STRICT\""),
        "{}",
        late(&xml)
    );
    assert!(xml.contains("<property name=\"fail_on\" value=\"non-strict\"/>"), "{xml}");
}
