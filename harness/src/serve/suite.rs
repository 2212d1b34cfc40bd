//! The client suite: the selected cases that test clients, numbered as Autobahn numbers them, and
//! the reports of one agent's run (the same report as a server's, with `role: "client"`).

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use reports::conformance::{CaseReport, ConformanceReport, Role, TargetInfo};
use reports::verdict::FailOn;

use super::index::{clean_agent, report_file_name, AutobahnIndex, CaseResult};
use super::numbering::{CaseNumber, CaseNumbering};
use crate::case::Case;
use crate::conformance::CaseOutcome;
use crate::report::{case_report, conformance_report};
use crate::wire::Endpoint;

/// The cases that test clients, in Autobahn's numbering.
#[derive(Debug)]
pub struct ClientSuite {
    /// The cases, in numbering order (case N is `cases[N - 1]`).
    pub cases: Vec<Case>,
    /// Their numbers and keys.
    pub numbering: CaseNumbering,
}

impl ClientSuite {
    /// The suite of the cases in `all` that test clients and `select` keeps.
    pub fn new(all: Vec<Case>, select: impl Fn(&Case) -> bool) -> ClientSuite {
        let mut by_id: HashMap<String, Case> =
            all.into_iter().filter(|c| c.tests(Endpoint::Client) && select(c)).map(|c| (c.id.clone(), c)).collect();
        let numbering = CaseNumbering::new(by_id.values().map(|c| (c.id.as_str(), c.autobahn.as_deref())));
        let cases = numbering.iter().filter_map(|(_, n)| by_id.remove(&n.id)).collect();
        ClientSuite { cases, numbering }
    }

    /// The case numbered `number`.
    pub fn case(&self, number: CaseNumber) -> Option<&Case> {
        self.cases.get(number.index())
    }

    /// The key (`1.1.1`, or our id) of the case numbered `number`.
    pub fn key(&self, number: CaseNumber) -> &str {
        self.numbering.get(number).map_or("", |n| n.key.as_str())
    }
}

/// One agent's run: what its reports say.
#[derive(Debug)]
pub struct AgentRun<'a> {
    /// The agent's name.
    pub agent: &'a str,
    /// The URL we listened on.
    pub url: String,
    /// RFC 3339 start time.
    pub started_at: String,
    /// Wall time so far.
    pub elapsed: Duration,
    /// The gate.
    pub fail_on: FailOn,
}

/// The report of an agent's run: every case it ran, in case order; complete when it ran them all.
pub fn agent_report(suite: &ClientSuite, run: &AgentRun<'_>, outcomes: &[(usize, &CaseOutcome)]) -> ConformanceReport {
    let cases: Vec<CaseReport> = outcomes.iter().map(|(i, o)| case_report(&suite.cases[*i], o)).collect();
    let user_agent = outcomes.iter().find_map(|(_, o)| o.server_header.clone());
    let target =
        TargetInfo { url: run.url.clone(), embedded: false, server_header: user_agent, agent: Some(run.agent.into()) };
    let complete = outcomes.len() == suite.cases.len();
    let mut report = conformance_report(
        target,
        run.started_at.clone(),
        run.elapsed.as_millis() as u64,
        complete,
        run.fail_on,
        cases,
    );
    report.role = Role::Client;
    report
}

/// Records a case's outcome in Autobahn's index.
pub fn record(index: &mut AutobahnIndex, agent: &str, key: &str, outcome: &CaseOutcome) -> anyhow::Result<()> {
    let result = CaseResult {
        verdict: outcome.verdict,
        close: outcome.close.as_ref().map(|c| c.verdict),
        remote_close_code: outcome.close.as_ref().and_then(|c| c.server_code),
        duration: outcome.duration,
    };
    index.record(agent, key, result)?;
    Ok(())
}

/// Writes an agent's reports into `out/<agent>/` and each case's entry as Autobahn names it
/// (`out/<agent>_case_<key>.json`); `index.json` is the caller's. Returns the agent's folder.
pub fn write_agent(out: &Path, suite: &ClientSuite, report: &ConformanceReport) -> anyhow::Result<std::path::PathBuf> {
    let agent = report.target.agent.as_deref().unwrap_or("agent");
    let dir = out.join(clean_agent(agent));
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    // the report files and the per-case files side by side: the runner's /updateReports waits for both
    std::thread::scope(|scope| {
        let whole = scope.spawn(|| {
            crate::commands::render::write_run_outputs(&dir, &reports::Report::Conformance(Box::new(report.clone())))
        });
        let per_case = write_case_files(out, suite, agent, report);
        let whole = whole.join().unwrap_or_else(|_| Err(anyhow::anyhow!("writing the reports of {agent} failed")));
        whole.and(per_case)
    })?;
    Ok(dir)
}

/// Each case's entry as Autobahn names it (`out/<agent>_case_<key>.json`).
fn write_case_files(out: &Path, suite: &ClientSuite, agent: &str, report: &ConformanceReport) -> anyhow::Result<()> {
    for case in &report.cases {
        let key = suite
            .cases
            .iter()
            .position(|c| c.id == case.id)
            .and_then(|at| suite.numbering.iter().nth(at))
            .map_or(case.id.as_str(), |(_, n)| n.key.as_str());
        let path = out.join(report_file_name(agent, key));
        reports::write_json(&path, case).with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}

/// Writes `index.json` into `out`, atomically.
pub fn write_index(out: &Path, index: &AutobahnIndex) -> anyhow::Result<()> {
    let path = out.join("index.json");
    reports::write_atomic(&path, index.to_json().as_bytes()).with_context(|| format!("cannot write {}", path.display()))
}
