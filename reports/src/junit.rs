//! JUnit XML of a conformance run, so CI systems show the cases natively.
//!
//! One `<testsuite>` per section, one `<testcase>` per case (`classname` the
//! section, `name` the case id). The mapping, from the verdicts:
//!
//! | verdict | JUnit |
//! | --- | --- |
//! | `OK`, `INFORMATIONAL`, `NON-STRICT` | passed (a note in `<system-out>` when not OK) |
//! | `UNIMPLEMENTED` | `<skipped>` with the reason |
//! | `FAILED`, or any verdict with a close behaviour that is not OK | `<failure>` with the reason |
//! | `ERRORED` (the harness could not run the case) | `<error>` with the reason |
//!
//! This matches `wsharness conformance`'s default gate (`--fail-on failed`):
//! the JUnit failures are exactly the cases that make the run exit 1. An
//! interrupted run gets one more test case, `wsharness/run-complete`, in error,
//! so an incomplete run never shows green.

use std::time::Duration;

use quick_junit::{NonSuccessKind, Property, TestCase, TestCaseStatus, TestSuite};

use crate::conformance::{close_severity, CaseReport, ConformanceReport};
use crate::RenderError;

/// The JUnit XML of a conformance report.
pub fn render(report: &ConformanceReport) -> Result<String, RenderError> {
    let mut junit = quick_junit::Report::new(format!("wsharness conformance {}", report.target.url));
    junit.set_time(Duration::from_millis(report.duration_ms));
    for (section, cases) in report.sections() {
        let mut suite = TestSuite::new(section);
        suite.add_property(Property::new("target", report.target.url.as_str()));
        suite.add_property(Property::new("tool", report.tool.as_str()));
        suite.add_property(Property::new("started_at", report.started_at.as_str()));
        suite.add_test_cases(cases.iter().map(|c| test_case(section, c)));
        junit.add_test_suite(suite);
    }
    if !report.complete {
        let mut suite = TestSuite::new("wsharness");
        let mut status = TestCaseStatus::non_success(NonSuccessKind::Error);
        status.set_type("INCOMPLETE").set_message(format!("the run was interrupted: {} cases ran", report.cases.len()));
        let mut case = TestCase::new("wsharness/run-complete", status);
        case.set_classname("wsharness");
        suite.add_test_case(case);
        junit.add_test_suite(suite);
    }
    junit.to_string().map_err(RenderError::Junit)
}

fn test_case(section: &str, c: &CaseReport) -> TestCase {
    let reason = c.reason.clone().unwrap_or_else(|| format!("verdict {}", c.verdict));
    let bad_close = close_severity(c.close_verdict.as_deref()) > 0;
    let status = match c.verdict.as_str() {
        "ERRORED" => failing(NonSuccessKind::Error, "ERRORED", &reason, c),
        "FAILED" => failing(NonSuccessKind::Failure, "FAILED", &reason, c),
        _ if bad_close => {
            let close = c.close_verdict.as_deref().unwrap_or("FAILED");
            let why = c.close.as_ref().and_then(|cl| cl.reason.clone()).unwrap_or(reason.clone());
            failing(NonSuccessKind::Failure, &format!("close {close}"), &why, c)
        }
        "UNIMPLEMENTED" => {
            let mut s = TestCaseStatus::skipped();
            s.set_type("UNIMPLEMENTED").set_message(reason.clone());
            s
        }
        _ => TestCaseStatus::success(),
    };
    let mut case = TestCase::new(c.id.as_str(), status);
    case.set_classname(section);
    case.set_time(Duration::from_millis(c.duration_ms));
    case.add_property(Property::new("rfc", c.rfc.as_str()));
    if let Some(a) = &c.autobahn {
        case.add_property(Property::new("autobahn", a.as_str()));
    }
    if matches!(c.verdict.as_str(), "NON-STRICT" | "INFORMATIONAL") {
        case.set_system_out(format!("{}: {reason}", c.verdict));
    }
    case
}

fn failing(kind: NonSuccessKind, ty: &str, reason: &str, c: &CaseReport) -> TestCaseStatus {
    let mut s = TestCaseStatus::non_success(kind);
    s.set_type(ty).set_message(reason);
    let mut text = format!("{}\nRFC {}\n", c.title, c.rfc);
    if let Some(e) = &c.expected {
        text.push_str(&format!("Expected: {e}\n"));
    }
    if let Some(o) = &c.observed {
        text.push_str(&format!("Actual: {o}\n"));
    }
    text.push_str(&format!("Case: {}", c.source));
    s.set_description(text);
    s
}

/// The JUnit XML of a load run: one `<testcase>` per `--threshold` (a breach is
/// a `<failure>` with the observed value), and `wsharness/run-complete` in error
/// when the run was interrupted. A run without thresholds gives an empty suite.
pub fn render_load(report: &crate::load::LoadReport) -> Result<String, RenderError> {
    let mut junit = quick_junit::Report::new(format!("wsharness load {}", report.target.urls.join(" ")));
    junit.set_time(Duration::from_millis(report.duration_ms));
    let mut suite = TestSuite::new("thresholds");
    suite.add_property(Property::new("tool", report.tool.as_str()));
    suite.add_property(Property::new("started_at", report.started_at.as_str()));
    for t in &report.thresholds {
        let status = if t.passed {
            TestCaseStatus::success()
        } else {
            let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
            s.set_type("BREACHED").set_message(format!(
                "observed {}{}",
                t.observed,
                t.detail.as_deref().map(|d| format!(", {d}")).unwrap_or_default()
            ));
            s
        };
        let mut case = TestCase::new(t.expr.as_str(), status);
        case.set_classname("thresholds");
        case.set_system_out(format!("observed {}", t.observed));
        suite.add_test_case(case);
    }
    if !report.complete {
        let mut status = TestCaseStatus::non_success(NonSuccessKind::Error);
        status.set_type("INCOMPLETE").set_message("the run was interrupted");
        let mut case = TestCase::new("wsharness/run-complete", status);
        case.set_classname("wsharness");
        suite.add_test_case(case);
    }
    junit.add_test_suite(suite);
    junit.to_string().map_err(RenderError::Junit)
}
