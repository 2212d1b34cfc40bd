//! `wsharness client-conformance --exec 'CMD {url}'`: each case on a loopback port of its own, the
//! client launched with the case's URL ([`crate::launcher`]), one connection served, the client's
//! process group killed once the case is judged or its budget is spent. A client that never
//! connects, exits first, or hangs costs its case a verdict, never the run.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinSet;
use tokio::time::{timeout_at, Instant};

use super::keys::KeyLedger;
use super::numbering::CaseNumber;
use super::suite::ClientSuite;
use crate::case::Case;
use crate::conformance::observe::Io;
use crate::conformance::trace::{TraceEvent, TraceKind};
use crate::conformance::{case_budget, read_request, run_client_case, Accepted, CaseOutcome, RunOptions};
use crate::launcher::{Captured, ExecTemplate, Exit, LaunchError, Launched};
use crate::verdict::Verdict;

/// How long a client that was judged may take to exit on its own before its group is killed.
const EXIT_GRACE: Duration = Duration::from_millis(200);

/// Bytes of a client's output quoted in a case's trace.
const OUTPUT_QUOTED: usize = 2048;

/// How the client is launched.
#[derive(Debug, Clone)]
pub struct ExecConfig {
    /// The command line.
    pub template: ExecTemplate,
    /// The agent name in the URL.
    pub agent: String,
    /// How long a launched client has to connect.
    pub connect_timeout: Duration,
    /// Case budgets.
    pub options: RunOptions,
}

/// The cases run, in case order, and whether all of them ran.
#[derive(Debug)]
pub struct ExecRun {
    /// Each finished case's index and outcome.
    pub outcomes: Vec<(usize, CaseOutcome)>,
    /// `false` when stopped early (Ctrl-C).
    pub complete: bool,
}

/// Runs every case of `suite`, `jobs` at once, until done or `stop`; `on_done` sees each outcome.
/// A command that cannot be started at all is an error (the first case tells).
pub async fn run_exec(
    suite: &ClientSuite,
    config: &ExecConfig,
    jobs: usize,
    mut stop: watch::Receiver<bool>,
    mut on_done: impl FnMut(&CaseOutcome),
) -> Result<ExecRun, LaunchError> {
    let permits = Arc::new(Semaphore::new(jobs.max(1)));
    let keys = Arc::new(Mutex::new(KeyLedger::default()));
    let mut tasks = JoinSet::new();
    for (at, (number, _)) in suite.numbering.iter().enumerate() {
        let Some(case) = suite.cases.get(at).cloned() else { continue };
        let (config, permits, keys) = (config.clone(), Arc::clone(&permits), Arc::clone(&keys));
        tasks.spawn(async move {
            let _permit = permits.acquire_owned().await;
            (at, exec_case(&case, number, &config, &keys).await)
        });
    }
    let mut outcomes = Vec::new();
    let mut complete = true;
    loop {
        tokio::select! {
            _ = stop.wait_for(|s| *s) => { complete = false; break; }
            next = tasks.join_next() => match next {
                None => break,
                Some(Ok((at, Ok(outcome)))) => { on_done(&outcome); outcomes.push((at, outcome)); }
                Some(Ok((_, Err(e)))) => { tasks.shutdown().await; return Err(e); }
                // a case task cannot panic on input; if one did, its case is left out and the run is incomplete
                Some(Err(_)) => complete = false,
            }
        }
    }
    tasks.shutdown().await;
    outcomes.sort_by_key(|(at, _)| *at);
    Ok(ExecRun { outcomes, complete })
}

/// One case: a port, the client launched, its connection served and judged, the client ended.
async fn exec_case(
    case: &Case,
    number: CaseNumber,
    config: &ExecConfig,
    keys: &Mutex<KeyLedger>,
) -> Result<CaseOutcome, LaunchError> {
    let begin = Instant::now();
    let listener = match TcpListener::bind("127.0.0.1:0").await {
        Ok(l) => l,
        Err(e) => return Ok(not_judged(case, Verdict::Errored, format!("cannot listen on loopback: {e}"), begin)),
    };
    let port = listener.local_addr().map(|a| a.port()).unwrap_or_default();
    let agent = super::query::encode_component(&config.agent);
    let url = format!("ws://127.0.0.1:{port}/runCase?case={}&agent={agent}", number.get());
    let mut launched = Launched::start(&config.template, &url)?;
    let budget = case_budget(case, &config.options);
    let connect_by = begin + config.connect_timeout.min(budget);
    let accepted = tokio::select! {
        a = timeout_at(connect_by, listener.accept()) => a.ok().and_then(Result::ok),
        _ = launched.exited() => None,
    };
    drop(listener);
    let Some((tcp, _)) = accepted else {
        let outcome = launched.finish(Duration::ZERO).await;
        let reason = match outcome.exit {
            Exit::KilledAtBudget => format!(
                "the client did not connect within {:.1} s of being started",
                config.connect_timeout.min(budget).as_secs_f64()
            ),
            exit => format!("the client exited ({}) without connecting", describe_exit(exit)),
        };
        let mut o = not_judged(case, Verdict::Failed, reason, begin);
        quote_output(&mut o, &outcome.stdout, &outcome.stderr);
        return Ok(o);
    };
    let _ = tcp.set_nodelay(true);
    let mut stream: Box<dyn Io> = Box::new(tcp);
    let start = Instant::now();
    let mut outcome = match read_request(&mut stream, start + budget).await {
        Ok((request, rest)) => {
            let key = request.websocket_key().unwrap_or_default();
            let key_reused =
                !key.is_empty() && keys.lock().unwrap_or_else(|p| p.into_inner()).seen_before(&config.agent, key);
            let accepted = Accepted { stream, request, rest, key_reused };
            run_client_case(case, accepted, start, &config.options).await
        }
        Err(e) => {
            not_judged(case, Verdict::Failed, format!("the client's opening request could not be read: {e}"), begin)
        }
    };
    let ran = launched.finish(EXIT_GRACE).await;
    if outcome.verdict != Verdict::Ok {
        quote_output(&mut outcome, &ran.stdout, &ran.stderr);
    }
    Ok(outcome)
}

/// An outcome judged without a WebSocket exchange.
fn not_judged(case: &Case, verdict: Verdict, reason: String, begin: Instant) -> CaseOutcome {
    CaseOutcome::not_judged(case, verdict, reason, begin.elapsed())
}

/// `exit code 1`, `signal 11`.
fn describe_exit(exit: Exit) -> String {
    match exit {
        Exit::Code(c) => format!("exit code {c}"),
        Exit::Signal(s) => format!("killed by signal {s}"),
        Exit::KilledAtBudget => "killed at the end of its budget".into(),
    }
}

/// The client's output, at most [`OUTPUT_QUOTED`] bytes of each stream, as notes at the end of the trace.
fn quote_output(outcome: &mut CaseOutcome, stdout: &Captured, stderr: &Captured) {
    let at = outcome.duration;
    for (name, captured) in [("stdout", stdout), ("stderr", stderr)] {
        if captured.total == 0 {
            continue;
        }
        let shown = &captured.bytes[..captured.bytes.len().min(OUTPUT_QUOTED)];
        let more = captured.total.saturating_sub(shown.len() as u64);
        let tail = if more > 0 { format!("\n... ({more} more bytes)") } else { String::new() };
        let text = format!("the client's {name}:\n{}{tail}", String::from_utf8_lossy(shown));
        outcome.trace.push(TraceEvent { at, kind: TraceKind::Note(text) });
    }
}
