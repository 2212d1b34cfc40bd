//! Comparing two conformance runs: worse, better, changed, appeared, disappeared, and what is a regression.

use crate::common::fixture;
use reports::compare::{compare, Comparison, Thresholds};
use reports::verdict::{CloseVerdict, FailOn, Verdict};
use reports::Report;

fn diff(base: &reports::conformance::ConformanceReport, new: &reports::conformance::ConformanceReport) -> Comparison {
    compare(
        &Report::Conformance(Box::new(base.clone())),
        &Report::Conformance(Box::new(new.clone())),
        "base.json",
        "new.json",
        &Thresholds::default(),
    )
    .expect("same kind")
}

#[test]
fn identical_runs_have_no_regression() {
    let c = diff(&fixture(), &fixture());
    assert_eq!(c.regressions(), Vec::<String>::new());
    let Comparison::Conformance(d) = &c else { panic!("a conformance comparison") };
    assert_eq!(d.unchanged, fixture().cases.len());
    assert!(
        c.text().contains(
            "0 worse, 0 better, 0 changed, 0 appeared, 0 disappeared, 9 unchanged; failing (--fail-on failed): 4 -> 4"
        ),
        "{}",
        c.text()
    );
}

#[test]
fn ok_to_failed_is_a_regression_that_names_the_case() {
    let base = fixture();
    let mut new = fixture();
    let case = new.cases.iter_mut().find(|c| c.id == "rfc6455/5.2/text-hello").expect("case");
    case.verdict = Verdict::Failed;
    case.reason = Some("the echo was binary".into());
    let c = diff(&base, &new);
    assert_eq!(c.regressions(), vec!["rfc6455/5.2/text-hello: OK -> FAILED".to_string()]);
    let text = c.text();
    assert!(text.contains("worse (1):"), "{text}");
    assert!(text.contains("rfc6455/5.2/text-hello  OK -> FAILED  RFC 6455 §5.2  the echo was binary"), "{text}");
}

#[test]
fn a_close_that_got_unclean_is_worse_and_a_fixed_case_is_better() {
    let base = fixture();
    let mut new = fixture();
    new.cases[1].close_verdict = Some(CloseVerdict::Unclean); // text-hello: OK, close OK -> close UNCLEAN
    new.cases[0].verdict = Verdict::Ok; // rsv1: FAILED (close UNCLEAN) -> OK (close UNCLEAN)
    new.cases[4].verdict = Verdict::Ok; // INFORMATIONAL -> OK: same severity
    let Comparison::Conformance(d) = diff(&base, &new) else { panic!("a conformance comparison") };
    assert_eq!(d.worse.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(), ["rfc6455/5.2/text-hello"]);
    assert_eq!(d.worse[0].transition(), "OK -> OK (close UNCLEAN)");
    assert_eq!(d.better.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(), ["rfc6455/5.2/rsv1-on-text"]);
    assert_eq!(d.changed.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(), ["rfc6455/7.4/close-3000"]);
}

#[test]
fn new_failing_cases_are_regressions_gone_cases_are_listed_and_an_incomplete_run_is_one() {
    let base = fixture();
    let mut new = fixture();
    let gone = new.cases.remove(2);
    let mut added = new.cases[0].clone();
    added.id = "rfc6455/5.2/rsv2-on-text".into();
    new.cases.push(added);
    new.complete = false;
    let c = diff(&base, &new);
    let regressions = c.regressions();
    assert_eq!(regressions.len(), 2, "{regressions:?}");
    assert!(regressions[0].starts_with("rfc6455/5.2/rsv2-on-text: new case, (absent) -> FAILED"), "{regressions:?}");
    assert!(regressions[1].contains("new.json is an incomplete run"), "{regressions:?}");
    let text = c.text();
    assert!(text.contains(&format!("disappeared (1):\n  {}", gone.id)), "{text}");
    assert!(text.contains("INCOMPLETE"), "{text}");
}

#[test]
fn severity_follows_the_gates_a_case_that_starts_to_fail_is_a_regression_and_counts_use_the_new_gate() {
    let base = fixture();
    let mut new = fixture();
    let id = |i: usize| fixture().cases[i].id.clone();
    new.cases[5].close_verdict = Some(CloseVerdict::Unclean); // late-utf8: NON-STRICT -> NON-STRICT (close UNCLEAN)
    new.cases[6].verdict = Verdict::NonStrict; // deflate: UNIMPLEMENTED -> NON-STRICT, a gate fails it now
    new.cases[7].verdict = Verdict::NotRun; // close-timeout: ERRORED -> NOT RUN, both fail every gate
    new.cases[0].close_verdict = Some(CloseVerdict::Failed); // rsv1: close UNCLEAN -> FAILED, both fail
    let Comparison::Conformance(d) = diff(&base, &new) else { panic!("a conformance comparison") };
    let ids = |cs: &[reports::compare::CaseChange]| cs.iter().map(|c| c.id.clone()).collect::<Vec<_>>();
    assert_eq!(ids(&d.worse), [id(5), id(6)]);
    assert_eq!(ids(&d.changed), [id(0), id(7)]);
    assert_eq!(d.worse[0].transition(), "NON-STRICT -> NON-STRICT (close UNCLEAN)");
    let c = diff(&base, &new);
    assert_eq!(c.regressions().len(), 2, "{:?}", c.regressions());
    assert_eq!((d.base.failing, d.new.failing), (4, 5), "late-utf8 fails --fail-on failed with its unclean close");

    // the new run's gate counts both runs, and the text says when the base ran with another
    let mut strict = new.clone();
    strict.fail_on = FailOn::NonStrict;
    let Comparison::Conformance(d) = diff(&base, &strict) else { panic!("a conformance comparison") };
    assert_eq!((d.fail_on, d.base.failing, d.new.failing), (FailOn::NonStrict, 5, 6));
    let text = diff(&base, &strict).text();
    assert!(
        text.contains("note: base.json ran with --fail-on failed; both runs are counted with --fail-on non-strict"),
        "{text}"
    );
    assert!(text.contains("failing (--fail-on non-strict): 5 -> 6"), "{text}");
}

#[test]
fn a_report_on_a_client_is_not_compared_with_one_on_a_server() {
    let base = fixture();
    let mut new = fixture();
    new.role = reports::conformance::Role::Client;
    let e = compare(
        &Report::Conformance(Box::new(base)),
        &Report::Conformance(Box::new(new.clone())),
        "base.json",
        "new.json",
        &Thresholds::default(),
    )
    .expect_err("different sides");
    assert_eq!(
        e.to_string(),
        "cannot compare a report on a server with a report on a client: their cases judge different sides"
    );
    // two client reports compare as two server reports do
    assert!(diff(&new, &new).regressions().is_empty());
}
