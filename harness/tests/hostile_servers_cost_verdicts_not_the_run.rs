//! A server that stalls, answers garbage or floods costs each case its OK (nearly all of them a FAILED) with a
//! reason, and the whole run still ends within (cases / jobs) x case timeout.
//!
//! The limits section and the cases with a time budget of their own (slow readers, 5-15 s each) are left out:
//! building their megabytes costs seconds of CPU in a debug build before any byte meets the server, which says
//! nothing about hostile servers; `every_case_can_fail.rs` runs them against flawed servers.

use std::time::{Duration, Instant};

use crate::support::flawed_server::{Flaw, FlawedServer};
use wsharness::case::{Case, Expectation, Step};
use wsharness::conformance::{run_all, RunOptions, Target};
use wsharness::embedded::embedded_cases;
use wsharness::verdict::Verdict;

const JOBS: usize = 32;
const CASE_TIMEOUT: Duration = Duration::from_millis(400);

fn can_be_failed(case: &wsharness::case::Case) -> bool {
    case.steps.iter().any(|s| matches!(s, Step::Expect { mismatch: Verdict::Failed, .. }))
}

/// Whether a case judges nothing but the handshake response (a permessage-deflate answer, say): a server that
/// misbehaves only after its 101 is rightly OK there.
fn only_checks_the_response(case: &Case) -> bool {
    case.steps.iter().all(|s| matches!(s, Step::Expect { what: Expectation::Status { .. }, .. }))
}

/// The four tests take turns: each measures time, and a flooding server next door would starve the others' timers.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

async fn run_against(flaw: Flaw) {
    let _turn = ONE_AT_A_TIME.lock().await;
    let cases: Vec<_> = embedded_cases()
        .expect("the shipped case files are valid")
        .into_iter()
        .filter(|c| c.timeout.is_none() && !c.id.starts_with("limits/"))
        .collect();
    // these flaws only show after a 101: a case that checks a refusal is rightly OK against them
    let after_101 = matches!(flaw, Flaw::StallsAfterHandshake | Flaw::Floods);
    let server = FlawedServer::start(&[flaw]).await;
    let target = Target::parse(&server.url()).expect("fixture url");
    let options = RunOptions { case_timeout: CASE_TIMEOUT, close_timeout: Duration::from_millis(200), tls: None };
    let (_stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let started = Instant::now();
    let run = run_all(&cases, &target, options, JOBS, stop_rx, |_| {}).await;
    let (outcomes, complete) = (run.outcomes, run.complete);
    let elapsed = started.elapsed();
    server.stop().await;

    assert!(complete);
    assert_eq!(outcomes.len(), cases.len());
    // the bound of the issue, plus 10% and one case timeout of slack for scheduling on a loaded 2-core machine
    let rounds = cases.len().div_ceil(JOBS) as u32;
    let bound = CASE_TIMEOUT * rounds * 11 / 10 + CASE_TIMEOUT;
    let mut slowest: Vec<(Duration, &str)> = outcomes.iter().map(|(_, o)| (o.duration, o.id.as_str())).collect();
    slowest.sort_unstable_by(|a, b| b.cmp(a));
    slowest.truncate(5);
    assert!(elapsed <= bound, "{flaw:?}: {} cases took {elapsed:?}, over {bound:?}; slowest {slowest:?}", cases.len());
    let mut milder = 0;
    for (i, o) in &outcomes {
        if after_101 && (!cases[*i].handshake.expect_101 || only_checks_the_response(&cases[*i])) {
            continue;
        }
        // a hostile server never earns an OK; most cases are FAILED, a few whose own rule it happens to keep
        // (closing TCP after our FIN, say) end milder on the miss that came first
        assert_ne!(o.verdict, Verdict::Ok, "{flaw:?}: {} ({:?})", o.id, o.reason);
        if can_be_failed(&cases[*i]) && o.verdict != Verdict::Failed {
            milder += 1;
        }
        let reason = o.reason.as_deref().unwrap_or_default();
        assert!(!reason.is_empty(), "{flaw:?}: {} has no reason", o.id);
    }
    assert!(milder * 50 <= outcomes.len(), "{flaw:?}: {milder} cases that can be FAILED were not");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_stalls_before_the_handshake_fails_every_case_in_bounded_time() {
    let _turn = crate::support::turn(module_path!());
    run_against(Flaw::StallsBeforeHandshake).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_stalls_after_the_handshake_fails_every_case_in_bounded_time() {
    let _turn = crate::support::turn(module_path!());
    run_against(Flaw::StallsAfterHandshake).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_answers_garbage_fails_every_case_in_bounded_time() {
    let _turn = crate::support::turn(module_path!());
    run_against(Flaw::SendsGarbage).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_floods_fails_every_case_in_bounded_time() {
    let _turn = crate::support::turn(module_path!());
    run_against(Flaw::Floods).await;
}
