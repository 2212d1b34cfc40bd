//! `conformance --server-cmd 'CMD {port}'`: the server under test started by wsharness
//! ([`crate::supervisor`]), restarted when it dies, and each death put on the case that caused it.
//!
//! Cases run several at once, so a death has suspects: every case in flight when it happened (from its
//! start to a moment after its end, [`DEATH_GRACE`]). After the run each suspect runs again, alone, on
//! the restarted server: a death during that run makes it FAILED, "crashed the server", with how the
//! process ended and the last lines it wrote; a suspect that survives takes the verdict of its run alone
//! (its first verdict may have come from another case's crash).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use tokio::sync::watch;

use crate::case::Case;
use crate::conformance::{run_all, CaseOutcome, RunOptions, RunSummary, Target};
use crate::supervisor::{Death, Supervisor};
use crate::verdict::Verdict;

/// How long after a case ends a death is still put on it: the process exit is seen a moment after the
/// connection broke.
pub const DEATH_GRACE: Duration = Duration::from_millis(500);
/// Suspects run again, at most (each alone): past that, deaths stay unattributed and are only counted.
pub const MAX_SUSPECTS: usize = 200;
/// Lines of the server's output quoted in a "crashed the server" verdict.
const TAIL_LINES: usize = 4;

/// The URL of the started server: `url` with `{port}` filled in, or `ws://127.0.0.1:PORT/`.
pub fn target_url(url: Option<&str>, port: u16) -> String {
    let template = url.unwrap_or("ws://127.0.0.1:{port}/");
    template.replace(crate::supervisor::PORT_PLACEHOLDER, &port.to_string())
}

/// The cases (indexes into `run.outcomes`) in flight at one of `deaths`; `ends` maps a case id to when
/// it finished.
pub fn suspects(run: &RunSummary, ends: &HashMap<String, Instant>, deaths: &[Death]) -> Vec<usize> {
    run.outcomes
        .iter()
        .enumerate()
        .filter(|(_, (_, o))| {
            let Some(&end) = ends.get(&o.id) else { return false };
            let start = end.checked_sub(o.duration).unwrap_or(end);
            deaths.iter().any(|d| d.at >= start && d.at <= end + DEATH_GRACE)
        })
        .map(|(at, _)| at)
        .take(MAX_SUSPECTS)
        .collect()
}

/// Runs each suspect again alone and settles its verdict; the ids of the cases that crashed the server.
pub async fn attribute(
    cases: &[Case],
    run: &mut RunSummary,
    suspects: &[usize],
    target: &Target,
    options: &RunOptions,
    server: &Supervisor,
    stop: &watch::Receiver<bool>,
) -> Vec<String> {
    let mut crashed = Vec::new();
    for &at in suspects {
        if *stop.borrow() {
            break;
        }
        let index = run.outcomes[at].0;
        let case = std::slice::from_ref(&cases[index]);
        server.await_listening().await;
        let before = server.deaths().len();
        let again = run_all(case, target, options.clone(), 1, stop.clone(), |_: &CaseOutcome| {}).await;
        let Some((_, mut outcome)) = again.outcomes.into_iter().next() else { continue };
        server.settle().await;
        if let Some(death) = server.deaths().get(before) {
            crashed_the_server(&mut outcome, death);
            crashed.push(outcome.id.clone());
        }
        run.outcomes[at].1 = outcome;
    }
    crashed
}

/// The verdict of a case whose run alone killed the server.
fn crashed_the_server(outcome: &mut CaseOutcome, death: &Death) {
    let lines: Vec<&str> = death.tail.lines().filter(|l| !l.trim().is_empty()).collect();
    let last: Vec<String> =
        lines[lines.len().saturating_sub(TAIL_LINES)..].iter().map(|l| l.chars().take(200).collect()).collect();
    let said = if last.is_empty() { "nothing".to_owned() } else { last.join(" | ") };
    outcome.verdict = Verdict::Failed;
    outcome.expected = Some("the server to keep running".to_owned());
    outcome.observed = Some(format!("the server process ended: {}", death.how()));
    outcome.reason = Some(format!(
        "crashed the server (run again alone, it ended the process: {}); its output ended with: {said}",
        death.how()
    ));
}
