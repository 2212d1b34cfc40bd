//! JUnit XML of a conformance run, so CI systems show the cases natively.
//!
//! One `<testsuite>` per section, one `<testcase>` per case (`classname` the
//! section, `name` the case id). Whether a case fails is
//! [`crate::verdict::fails`] under the gate recorded in the report
//! ([`ConformanceReport::fail_on`]), so the JUnit failures and errors are
//! exactly the cases that make `wsharness conformance` exit 1:
//!
//! | the case | JUnit |
//! | --- | --- |
//! | fails, `ERRORED` or `NOT RUN` (no result) | `<error>` with the reason |
//! | fails, any other verdict (`FAILED`, a close of `WRONG CODE`, `UNCLEAN` or `FAILED`, `NON-STRICT` under `--fail-on non-strict`) | `<failure>` with the reason |
//! | passes, `UNIMPLEMENTED` | `<skipped>` with the reason |
//! | passes, any other verdict | passed (a note in `<system-out>` for `NON-STRICT` and `INFORMATIONAL`) |
//!
//! An interrupted run gets one more test case, `wsharness/run-complete`, in
//! error, so an incomplete run never shows green.

use std::time::Duration;

use quick_junit::{NonSuccessKind, Property, TestCase, TestCaseStatus, TestSuite};

use crate::conformance::{CaseReport, ConformanceReport};
use crate::verdict::{self, FailOn, Verdict};
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
        suite.add_property(Property::new("fail_on", report.fail_on.as_str()));
        suite.add_test_cases(cases.iter().map(|c| test_case(section, c, report.fail_on)));
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

fn test_case(section: &str, c: &CaseReport, fail_on: FailOn) -> TestCase {
    let reason = c.reason.clone().unwrap_or_else(|| format!("verdict {}", c.verdict));
    let status = if c.fails(fail_on) {
        let kind = if c.verdict.is_no_result() { NonSuccessKind::Error } else { NonSuccessKind::Failure };
        match c.close_verdict {
            // the behaviour passes on its own: the close is why the case fails
            Some(close) if !verdict::fails(c.verdict, None, fail_on) => {
                let why = c.close.as_ref().and_then(|cl| cl.reason.clone()).unwrap_or(reason.clone());
                failing(kind, &format!("close {close}"), &why, c)
            }
            _ => failing(kind, c.verdict.as_str(), &reason, c),
        }
    } else if c.verdict == Verdict::Unimplemented {
        let mut s = TestCaseStatus::skipped();
        s.set_type(Verdict::Unimplemented.as_str()).set_message(reason.clone());
        s
    } else {
        TestCaseStatus::success()
    };
    let mut case = TestCase::new(c.id.as_str(), status);
    case.set_classname(section);
    case.set_time(Duration::from_millis(c.duration_ms));
    case.add_property(Property::new("rfc", c.rfc.as_str()));
    if let Some(a) = &c.autobahn {
        case.add_property(Property::new("autobahn", a.as_str()));
    }
    if matches!(c.verdict, Verdict::NonStrict | Verdict::Informational) {
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
