//! Runs many cases concurrently, each within its own timeout, stoppable; notices
//! a target that stopped accepting connections and runs no more cases against it.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use tokio::sync::{watch, Semaphore};
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::runner::{case_budget, run_case, CaseOutcome, RunOptions};
use super::target::Target;
use crate::case::Case;
use crate::verdict::Verdict;

/// How long a refused connection is retried before the target counts as gone: a supervisor that
/// restarts a crashed server has this long to bring it back.
pub const LOST_GRACE: Duration = Duration::from_millis(1500);

/// How many of the cases that finished last before the target went away are named.
const LAST_CASES_NAMED: usize = 3;

/// The target stopped accepting connections during the run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetLost {
    /// When the first connection was refused, from the start of the run.
    pub at: Duration,
    /// The cases that finished last before that, the most recent last.
    pub after: Vec<String>,
    /// How many cases could not run.
    pub not_run: usize,
}

impl TargetLost {
    /// The reason every case that could not run carries.
    pub fn not_run_reason(at: Duration) -> String {
        format!("not run: the target stopped accepting connections {:.1} s into the run", at.as_secs_f64())
    }
}

/// What a run of many cases gives.
#[derive(Debug)]
pub struct RunSummary {
    /// The outcome of every case that finished, with its index in the case list, in case order.
    pub outcomes: Vec<(usize, CaseOutcome)>,
    /// `false` when the run was interrupted (Ctrl-C): only the finished cases are in `outcomes`.
    pub complete: bool,
    /// Set when the target went away during the run.
    pub target_lost: Option<TargetLost>,
}

/// Runs `cases` with at most `jobs` at once. `stop` turning `true` (Ctrl-C) ends the run early:
/// finished cases are returned and `complete` is false. `on_done` is called as each case finishes
/// (for a progress display).
pub async fn run_all(
    cases: &[Case],
    target: &Target,
    options: RunOptions,
    jobs: usize,
    mut stop: watch::Receiver<bool>,
    on_done: impl Fn(&CaseOutcome),
) -> RunSummary {
    let began = Instant::now();
    let slots = Arc::new(Semaphore::new(jobs.max(1)));
    let lost: Arc<OnceLock<Duration>> = Arc::new(OnceLock::new());
    let mut set = JoinSet::new();
    // task id -> case index, so that a panicking case is still reported
    let mut index_of = HashMap::new();
    // the longest first (by budget: the cases that declare a longer one are the slow ones), so that a slow case
    // never starts last and stretches the run; results keep case order
    let mut order: Vec<usize> = (0..cases.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(super::case_budget(&cases[i], &options)));
    for i in order {
        let case = &cases[i];
        let job = Job {
            case: case.clone(),
            target: target.clone(),
            options: options.clone(),
            began,
            lost: Arc::clone(&lost),
        };
        let slots = Arc::clone(&slots);
        let handle = set.spawn(async move {
            let _permit = slots.acquire_owned().await;
            (i, job.run().await)
        });
        index_of.insert(handle.id(), i);
    }
    let mut finished = Finished::default();
    let mut complete = true;
    loop {
        tokio::select! {
            next = set.join_next() => match next {
                None => break,
                Some(Ok((i, outcome))) => finished.add(i, outcome, &on_done),
                Some(Err(e)) => {
                    // a panic in the runner is a bug of ours: the case is ERRORED, the run goes on
                    if let Some(&i) = index_of.get(&e.id()) {
                        let reason = format!("the harness failed running this case: {e}");
                        finished.add(i, CaseOutcome::not_judged(&cases[i], Verdict::Errored, reason, Duration::ZERO), &on_done);
                    }
                }
            },
            changed = stop.changed() => {
                if changed.is_err() || *stop.borrow() {
                    set.abort_all();
                    complete = false;
                    while let Some(r) = set.join_next().await {
                        if let Ok((i, outcome)) = r {
                            finished.add(i, outcome, &|_: &CaseOutcome| {});
                        }
                    }
                    break;
                }
            }
        }
    }
    finished.done.sort_by_key(|(i, _)| *i);
    let target_lost = finished.lost.map(|mut l| {
        l.not_run = finished.done.iter().filter(|(_, o)| o.verdict == Verdict::NotRun).count();
        l
    });
    RunSummary { outcomes: finished.done, complete, target_lost }
}

/// The outcomes as they come, and what they tell of the target.
#[derive(Default)]
struct Finished {
    done: Vec<(usize, CaseOutcome)>,
    /// The cases that finished last (judged, not NOT RUN).
    recent: VecDeque<String>,
    lost: Option<TargetLost>,
}

impl Finished {
    fn add(&mut self, i: usize, outcome: CaseOutcome, on_done: &impl Fn(&CaseOutcome)) {
        on_done(&outcome);
        if outcome.verdict == Verdict::NotRun {
            if self.lost.is_none() {
                let at = outcome.lost_at.unwrap_or_default();
                self.lost = Some(TargetLost { at, after: self.recent.iter().cloned().collect(), not_run: 0 });
            }
        } else {
            if self.recent.len() == LAST_CASES_NAMED {
                self.recent.pop_front();
            }
            self.recent.push_back(outcome.id.clone());
        }
        self.done.push((i, outcome));
    }
}

/// One case to run, and what the run shares.
struct Job {
    case: Case,
    target: Target,
    options: RunOptions,
    began: Instant,
    /// When the target went away, from `began`; set once.
    lost: Arc<OnceLock<Duration>>,
}

impl Job {
    async fn run(self) -> CaseOutcome {
        let mut pause = Duration::from_millis(50);
        let mut first_refused: Option<Duration> = None;
        loop {
            if let Some(&at) = self.lost.get() {
                return self.not_run(at);
            }
            let outcome = self.run_bounded().await;
            if !refused(&outcome) {
                return outcome;
            }
            // nobody listens: the case itself is tried again (a refused connect costs the server nothing, where a
            // probe connection could crash a fragile one), until a restarting server had LOST_GRACE to come back
            let refused_at = *first_refused.get_or_insert_with(|| self.began.elapsed());
            if self.began.elapsed().saturating_sub(refused_at) >= LOST_GRACE {
                let at = *self.lost.get_or_init(|| refused_at);
                return self.not_run(at);
            }
            tokio::time::sleep(pause).await;
            pause *= 2;
        }
    }

    /// Runs the case with a backstop beyond the runner's own deadlines: a case can never hold the run.
    async fn run_bounded(&self) -> CaseOutcome {
        let backstop = case_budget(&self.case, &self.options) + Duration::from_secs(1);
        match tokio::time::timeout(backstop, run_case(&self.case, &self.target, &self.options)).await {
            Ok(outcome) => outcome,
            Err(_) => {
                let reason = format!("the case did not finish within {:.1} s", backstop.as_secs_f64());
                CaseOutcome::not_judged(&self.case, Verdict::Failed, reason, backstop)
            }
        }
    }

    fn not_run(&self, at: Duration) -> CaseOutcome {
        let mut outcome =
            CaseOutcome::not_judged(&self.case, Verdict::NotRun, TargetLost::not_run_reason(at), Duration::ZERO);
        outcome.lost_at = Some(at);
        outcome
    }
}

/// Whether the case found nobody listening.
fn refused(outcome: &CaseOutcome) -> bool {
    outcome.connect_error.as_ref().is_some_and(|e| e.is_refused())
}
