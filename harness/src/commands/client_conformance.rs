//! `wsharness client-conformance --exec 'CMD {url}'`: launches the client under test once per case
//! and judges it; prints a summary and writes the reports, as `conformance` does for servers.

use std::process::ExitCode;
use std::time::SystemTime;

use super::conformance::{exit_code, progress_bar, summary_text};
use super::{client_run, jobs, run_options, stop_on_ctrl_c, EXIT_USAGE};
use crate::cli::ClientConformanceArgs;
use crate::conformance::CaseOutcome;
use crate::launcher::ExecTemplate;
use crate::serve::exec::{run_exec, ExecConfig};
use crate::serve::index::AutobahnIndex;
use crate::serve::suite::{agent_report, record, write_agent, write_index, AgentRun};

/// Runs `wsharness client-conformance`.
pub async fn run(args: ClientConformanceArgs) -> anyhow::Result<ExitCode> {
    let template = match ExecTemplate::parse(&args.exec) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("wsharness: {e}");
            return Ok(ExitCode::from(EXIT_USAGE));
        }
    };
    let (suite, out) = match client_run(&args.suite)? {
        Ok(run) => run,
        Err(code) => return Ok(code),
    };
    let config = ExecConfig {
        template,
        agent: args.agent.clone(),
        connect_timeout: args.connect_timeout,
        options: run_options(&args.suite),
    };
    let bar = progress_bar(suite.cases.len() as u64, args.suite.quiet);
    let (stop_rx, ctrl_c) = stop_on_ctrl_c();
    let started = SystemTime::now();
    let t0 = std::time::Instant::now();
    let run = run_exec(&suite, &config, jobs(&args.suite), stop_rx, |o: &CaseOutcome| {
        bar.set_message(o.id.clone());
        bar.inc(1);
    })
    .await;
    ctrl_c.abort();
    bar.finish_and_clear();
    let run = match run {
        Ok(run) => run,
        Err(e) => {
            eprintln!("wsharness: {e}");
            return Ok(ExitCode::from(EXIT_USAGE));
        }
    };
    let elapsed = t0.elapsed();
    let agent_run = AgentRun {
        agent: &args.agent,
        url: "ws://127.0.0.1/".into(),
        started_at: humantime::format_rfc3339_seconds(started).to_string(),
        elapsed,
        fail_on: args.suite.fail_on,
    };
    let outcomes: Vec<(usize, &CaseOutcome)> = run.outcomes.iter().map(|(i, o)| (*i, o)).collect();
    let mut report = agent_report(&suite, &agent_run, &outcomes);
    report.complete = run.complete;
    let mut index = AutobahnIndex::default();
    for (i, o) in &run.outcomes {
        let key = suite.numbering.iter().nth(*i).map_or(o.id.as_str(), |(_, n)| n.key.as_str());
        record(&mut index, &args.agent, key, o)?;
    }
    let written = write_agent(&out, &suite, &report).and_then(|dir| write_index(&out, &index).map(|()| dir));
    crate::outln!("{}", summary_text(&report, elapsed, &agent_run.url, false).trim_end());
    match written {
        Ok(dir) => crate::outln!("reports: {}\nindex: {}", dir.display(), out.join("index.json").display()),
        Err(e) => {
            eprintln!("wsharness: {e:#}; the summary above is all that is left of this run");
            return Ok(ExitCode::from(EXIT_USAGE));
        }
    }
    if !run.complete {
        eprintln!(
            "wsharness: interrupted: {} of {} cases ran; the report is marked incomplete",
            run.outcomes.len(),
            suite.cases.len()
        );
    }
    Ok(ExitCode::from(exit_code(&report)))
}
