//! A server that stalls, answers garbage or floods costs each case a FAILED with a reason, and the whole run
//! still ends within (cases / jobs) x case timeout.

mod support;

use std::time::{Duration, Instant};

use support::flawed_server::{Flaw, FlawedServer};
use wsharness::case::Step;
use wsharness::conformance::{run_all, RunOptions, Target};
use wsharness::embedded::embedded_cases;
use wsharness::verdict::Verdict;

const JOBS: usize = 16;
const CASE_TIMEOUT: Duration = Duration::from_millis(400);

async fn run_against(flaw: Flaw) {
    let cases = embedded_cases().expect("the shipped case files are valid");
    let server = FlawedServer::start(&[flaw]).await;
    let target = Target::parse(&server.url()).expect("fixture url");
    let options = RunOptions { case_timeout: CASE_TIMEOUT, close_timeout: Duration::from_millis(200), tls: None };
    let (_stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let started = Instant::now();
    let (outcomes, complete) = run_all(&cases, &target, options, JOBS, stop_rx, |_| {}).await;
    let elapsed = started.elapsed();
    server.stop().await;

    assert!(complete);
    assert_eq!(outcomes.len(), cases.len());
    // the bound of the issue, plus one case timeout of slack for scheduling on a loaded 2-core machine
    let rounds = cases.len().div_ceil(JOBS) as u32;
    let bound = CASE_TIMEOUT * (rounds + 1);
    assert!(elapsed <= bound, "{flaw:?}: {} cases took {elapsed:?}, over {bound:?}", cases.len());
    for (i, o) in &outcomes {
        // a case whose every miss is rated INFORMATIONAL cannot be FAILED; it must still not be OK
        let can_fail = cases[*i].steps.iter().any(|s| matches!(s, Step::Expect { mismatch: Verdict::Failed, .. }));
        if can_fail {
            assert_eq!(o.verdict, Verdict::Failed, "{flaw:?}: {} got {} ({:?})", o.id, o.verdict, o.reason);
        } else {
            assert_ne!(o.verdict, Verdict::Ok, "{flaw:?}: {}", o.id);
        }
        let reason = o.reason.as_deref().unwrap_or_default();
        assert!(!reason.is_empty(), "{flaw:?}: {} has no reason", o.id);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_stalls_before_the_handshake_fails_every_case_in_bounded_time() {
    run_against(Flaw::StallsBeforeHandshake).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_stalls_after_the_handshake_fails_every_case_in_bounded_time() {
    run_against(Flaw::StallsAfterHandshake).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_answers_garbage_fails_every_case_in_bounded_time() {
    run_against(Flaw::SendsGarbage).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_floods_fails_every_case_in_bounded_time() {
    run_against(Flaw::Floods).await;
}
