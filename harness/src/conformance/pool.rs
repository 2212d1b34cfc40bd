//! Runs many cases concurrently, each within its own timeout, stoppable.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{watch, Semaphore};
use tokio::task::JoinSet;

use super::runner::{case_budget, run_case, CaseOutcome, RunOptions};
use super::target::Target;
use crate::case::Case;
use crate::verdict::Verdict;

/// Runs `cases` with at most `jobs` at once. `stop` turning `true` (Ctrl-C)
/// ends the run early: finished cases are returned and `complete` is false.
/// `on_done` is called as each case finishes (for a progress display).
pub async fn run_all(
    cases: &[Case],
    target: &Target,
    options: RunOptions,
    jobs: usize,
    mut stop: watch::Receiver<bool>,
    on_done: impl Fn(&CaseOutcome),
) -> (Vec<(usize, CaseOutcome)>, bool) {
    let slots = Arc::new(Semaphore::new(jobs.max(1)));
    let mut set = JoinSet::new();
    // task id -> case index, so that a panicking case is still reported
    let mut index_of = HashMap::new();
    for (i, case) in cases.iter().enumerate() {
        let case = case.clone();
        let target = target.clone();
        let slots = Arc::clone(&slots);
        let options = options.clone();
        let handle = set.spawn(async move {
            let _permit = slots.acquire_owned().await;
            // a backstop beyond the runner's own deadlines: a case can never hold the run
            let backstop = case_budget(&case, &options) + Duration::from_secs(1);
            match tokio::time::timeout(backstop, run_case(&case, &target, &options)).await {
                Ok(outcome) => (i, outcome),
                Err(_) => (i, timed_out(&case, backstop)),
            }
        });
        index_of.insert(handle.id(), i);
    }
    let mut done = Vec::with_capacity(cases.len());
    let mut complete = true;
    loop {
        tokio::select! {
            next = set.join_next() => match next {
                None => break,
                Some(Ok((i, outcome))) => {
                    on_done(&outcome);
                    done.push((i, outcome));
                }
                Some(Err(e)) => {
                    // a panic in the runner is a bug of ours: the case is ERRORED, the run goes on
                    if let Some(&i) = index_of.get(&e.id()) {
                        let outcome = errored(&cases[i], format!("the harness failed running this case: {e}"));
                        on_done(&outcome);
                        done.push((i, outcome));
                    }
                }
            },
            changed = stop.changed() => {
                if changed.is_err() || *stop.borrow() {
                    set.abort_all();
                    complete = false;
                    while let Some(r) = set.join_next().await {
                        if let Ok((i, outcome)) = r {
                            done.push((i, outcome));
                        }
                    }
                    break;
                }
            }
        }
    }
    done.sort_by_key(|(i, _)| *i);
    (done, complete)
}

fn timed_out(case: &Case, after: Duration) -> CaseOutcome {
    outcome(case, Verdict::Failed, format!("the case did not finish within {:.1} s", after.as_secs_f64()), after)
}

fn errored(case: &Case, reason: String) -> CaseOutcome {
    outcome(case, Verdict::Errored, reason, Duration::ZERO)
}

fn outcome(case: &Case, verdict: Verdict, reason: String, duration: Duration) -> CaseOutcome {
    CaseOutcome {
        id: case.id.clone(),
        verdict,
        close: None,
        reason: Some(reason),
        expected: None,
        observed: None,
        duration,
        trace: Vec::new(),
    }
}
