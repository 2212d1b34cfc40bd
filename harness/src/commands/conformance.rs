//! `wsharness conformance [URL]`: runs the cases, prints a summary, writes report.json, report.html and junit.xml.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use anyhow::Context;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use reports::conformance::{not_ok_worst_first, CaseReport, ConformanceReport, Role, Tally, TargetInfo};

use super::render::write_run_outputs;
use super::server_cmd;
use super::{
    jobs, out_dir, run_options, select_cases, stop_on_ctrl_c, EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE,
};
use crate::case::Case;
use crate::cli::ConformanceArgs;
use crate::conformance::{preflight, run_all, CaseOutcome, RunOptions, RunSummary, Target, TargetLost};
use crate::report::{case_report, conformance_report};
use crate::supervisor::{ServerCmd, Supervisor};
use crate::verdict::meaning::Meaning;
use crate::verdict::{CloseVerdict, Verdict};
use crate::wire::Endpoint;

/// Runs `wsharness conformance`.
pub async fn run(args: ConformanceArgs) -> anyhow::Result<ExitCode> {
    let cases = match select_cases(&args.suite, Endpoint::Server)? {
        Ok(cases) => cases,
        Err(code) => return Ok(code),
    };

    let started = match start_target(&args).await? {
        Ok(started) => started,
        Err(code) => return Ok(code),
    };
    let (embedded, url) = (started.embedded.as_ref(), started.url.clone());
    let target = match Target::parse(&url) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("wsharness: {e}");
            return Ok(ExitCode::from(EXIT_USAGE));
        }
    };
    let tls = if target.secure { Some(crate::conformance::tls::connector(args.tls.insecure)?) } else { None };
    let out_dir = match out_dir(&args.suite) {
        Ok(dir) => dir,
        Err(code) => return Ok(code),
    };
    // one valid handshake first: a target that does not speak WebSocket is one line, not 553 failed cases
    if let Err(e) = preflight(&target, tls.as_ref()).await {
        eprintln!("wsharness: {e}");
        return Ok(ExitCode::from(EXIT_USAGE));
    }

    let jobs = jobs(&args.suite);
    let options = RunOptions { tls, ..run_options(&args.suite) };
    let bar = progress_bar(cases.len() as u64, args.suite.quiet);
    let (stop_rx, ctrl_c) = stop_on_ctrl_c();
    let started_at = SystemTime::now();
    let t0 = std::time::Instant::now();
    let ends = std::sync::Mutex::new(HashMap::new());
    let mut run = run_all(&cases, &target, options.clone(), jobs, stop_rx.clone(), |o: &CaseOutcome| {
        bar.set_message(o.id.clone());
        bar.inc(1);
        ends.lock().unwrap_or_else(|p| p.into_inner()).insert(o.id.clone(), std::time::Instant::now());
    })
    .await;
    let crashes = match &started.supervised {
        Some(server) => {
            let ends = ends.into_inner().unwrap_or_else(|p| p.into_inner());
            Some(settle_crashes(&cases, &mut run, &ends, &target, &options, server, &stop_rx).await)
        }
        None => None,
    };
    ctrl_c.abort();
    bar.finish_and_clear();
    let elapsed = t0.elapsed();
    let complete = run.complete;

    let server_header = run.outcomes.iter().find_map(|(_, o)| o.server_header.clone());
    let reports: Vec<CaseReport> = run.outcomes.iter().map(|(i, o)| case_report(&cases[*i], o)).collect();
    let report = conformance_report(
        TargetInfo { url: target.url.clone(), embedded: embedded.is_some(), server_header, agent: None },
        humantime::format_rfc3339_seconds(started_at).to_string(),
        elapsed.as_millis() as u64,
        complete,
        args.suite.fail_on,
        reports,
    );
    let written = write_run_outputs(&out_dir, &reports::Report::Conformance(Box::new(report.clone())));

    crate::outln!("{}", summary_text(&report, elapsed, &target.url, embedded.is_some()).trim_end());
    if let Some(lost) = &run.target_lost {
        print_target_lost(lost);
    }
    if let Some(crashes) = crashes {
        crate::outln!("{crashes}");
    }
    started.stop().await;
    match written {
        Ok(written) => {
            crate::outln!("report: {}", written.json.display());
            crate::outln!("html: {}", written.html.display());
            crate::outln!("junit: {}", written.junit.display());
        }
        Err(e) => {
            eprintln!("wsharness: {e:#}; the summary above is all that is left of this run");
            return Ok(ExitCode::from(EXIT_USAGE));
        }
    }
    if !complete {
        eprintln!(
            "wsharness: interrupted: {} of {} cases ran; the report is marked incomplete",
            report.cases.len(),
            cases.len()
        );
    }
    Ok(ExitCode::from(exit_code(&report)))
}

/// The server under test: at a URL, the embedded reference server, or started by `--server-cmd`.
struct Started {
    url: String,
    embedded: Option<reference_server::RunningServer>,
    supervised: Option<Supervisor>,
}

impl Started {
    async fn stop(self) {
        if let Some(server) = self.embedded {
            let _ = server.shutdown().await;
        }
        if let Some(server) = self.supervised {
            server.stop().await;
        }
    }
}

/// Starts what the arguments name; `Ok(Err(code))`: the problem is printed, exit with `code`.
async fn start_target(args: &ConformanceArgs) -> anyhow::Result<Result<Started, ExitCode>> {
    if let Some(cmd) = &args.server_cmd {
        let server = match ServerCmd::parse(cmd) {
            Ok(cmd) => Supervisor::start(cmd).await,
            Err(e) => Err(e),
        };
        return Ok(match server {
            Ok(server) => {
                let url = server_cmd::target_url(args.url.as_deref(), server.port);
                Ok(Started { url, embedded: None, supervised: Some(server) })
            }
            Err(e) => {
                eprintln!("wsharness: {e}");
                Err(ExitCode::from(EXIT_USAGE))
            }
        });
    }
    if let Some(url) = &args.url {
        return Ok(Ok(Started { url: url.clone(), embedded: None, supervised: None }));
    }
    let config = reference_server::Config::default();
    let server = reference_server::Server::bind("127.0.0.1:0".parse()?, config)
        .await
        .context("cannot start the embedded reference server")?
        .spawn();
    Ok(Ok(Started { url: server.url(), embedded: Some(server), supervised: None }))
}

/// After a run with `--server-cmd`: the cases in flight at each death run again alone; the line that
/// says what happened.
async fn settle_crashes(
    cases: &[Case],
    run: &mut RunSummary,
    ends: &HashMap<String, std::time::Instant>,
    target: &Target,
    options: &RunOptions,
    server: &Supervisor,
    stop: &tokio::sync::watch::Receiver<bool>,
) -> String {
    // a case that broke the server at the end of the run: its death is not recorded yet
    server.settle().await;
    let deaths = server.deaths();
    if deaths.is_empty() {
        return "\nthe server started by --server-cmd never died".to_owned();
    }
    let suspects = server_cmd::suspects(run, ends, &deaths);
    let crashed = server_cmd::attribute(cases, run, &suspects, target, options, server, stop).await;
    let restarts = deaths.len().min(crate::supervisor::MAX_RESTARTS);
    let named = if crashed.is_empty() {
        "none of the cases in flight crashed it when run again alone".to_owned()
    } else {
        format!("cases that crashed it (each run again alone): {}", crashed.join(", "))
    };
    format!(
        "\nthe server started by --server-cmd died {} times during the run and was restarted {restarts} times; {} cases were in flight and ran again alone; {named}",
        deaths.len(),
        suspects.len()
    )
}

/// The exit code of a finished run, from its report alone: [`EXIT_INTERRUPTED`]
/// when the run was interrupted (the report is incomplete), [`EXIT_FAILED`]
/// when a case fails the gate recorded in the report
/// ([`ConformanceReport::fail_on`], set from `--fail-on`; the rule is
/// [`reports::verdict::fails`], the one the JUnit XML and the HTML page apply),
/// else [`EXIT_OK`]. Taking the gate from the report means the exit code cannot
/// apply another gate than the outputs written beside it.
pub fn exit_code(report: &ConformanceReport) -> u8 {
    if !report.complete {
        EXIT_INTERRUPTED
    } else if report.failing().next().is_some() {
        EXIT_FAILED
    } else {
        EXIT_OK
    }
}

pub fn progress_bar(len: u64, quiet: bool) -> ProgressBar {
    if quiet || !std::io::stdout().is_terminal() {
        return ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::hidden());
    }
    let bar = ProgressBar::new(len);
    if let Ok(style) = ProgressStyle::with_template("{bar:30} {pos}/{len} cases {elapsed} {wide_msg}") {
        bar.set_style(style);
    }
    bar
}

/// Says once that the target went away, when, and after which cases.
fn print_target_lost(lost: &TargetLost) {
    let after = if lost.after.is_empty() {
        "before any case finished".to_string()
    } else {
        format!("after {}", lost.after.join(", "))
    };
    crate::outln!(
        "\nthe target went away {:.1} s into the run ({after}): it refused new connections, so {} cases were not run",
        lost.at.as_secs_f64(),
        lost.not_run
    );
}

/// The terminal summary: cases per section and verdict, the cases that fail
/// the gate, the other cases that are not OK (each list worst first, as the
/// HTML page orders them), and one line about the run.
pub fn summary_text(report: &ConformanceReport, elapsed: Duration, url: &str, embedded: bool) -> String {
    let mut rows: Vec<Vec<String>> = Vec::new();
    let header = ["section", "cases"].into_iter().chain(Verdict::ALL.iter().map(|v| v.as_str()));
    rows.push(header.map(str::to_string).collect());
    let row = |name: &str, t: &Tally| {
        let counts = Verdict::ALL.iter().map(|v| t.count(*v).to_string());
        [name.to_string(), t.total.to_string()].into_iter().chain(counts).collect::<Vec<_>>()
    };
    for (section, cases) in report.sections() {
        rows.push(row(section, &Tally::of(cases.iter().copied(), report.fail_on)));
    }
    let tally = report.tally();
    rows.push(row("total", &tally));
    let widths = rows.iter().fold(vec![0; 2 + Verdict::ALL.len()], |mut w, r| {
        for (w, cell) in w.iter_mut().zip(r) {
            *w = (*w).max(cell.chars().count());
        }
        w
    });
    let mut out = String::new();
    for r in &rows {
        let cells: Vec<String> = r
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(i, (cell, w))| if i == 0 { format!("{cell:<w$}") } else { format!("{cell:>w$}") })
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    let (failing, passing): (Vec<&CaseReport>, Vec<&CaseReport>) =
        not_ok_worst_first(&report.cases).into_iter().partition(|c| c.fails(report.fail_on));
    let gate = format!("--fail-on {}", report.fail_on);
    if !failing.is_empty() {
        out.push_str(&format!("\nfailing ({gate}): {}, {}\n", tally.failing, tally.failing_breakdown()));
        // cases that could not run share one reason: one line, not a wall of identical ones
        let not_run = failing.iter().filter(|c| c.verdict == Verdict::NotRun).count();
        let mut named = false;
        for (section, cases) in by_section(failing) {
            out.push_str(&format!("  {section}\n"));
            for c in cases {
                match c.verdict {
                    Verdict::NotRun if not_run > 1 && named => {}
                    Verdict::NotRun if not_run > 1 => {
                        named = true;
                        let why = c.reason.as_deref().unwrap_or("-");
                        let (verdict, more) = (c.verdict.as_str(), not_run - 1);
                        out.push_str(&format!("    {verdict:<13} {} and {more} more cases: {why}\n", c.id));
                    }
                    _ => out.push_str(&case_line(c)),
                }
            }
        }
    }
    if !passing.is_empty() {
        out.push_str(&format!("\nnot OK, passing {gate}: {}\n", tally.not_ok_passing()));
        for (section, cases) in by_section(passing) {
            out.push_str(&format!("  {section}\n"));
            out.extend(cases.iter().map(|c| case_line(c)));
        }
    }
    out.push_str(&verdicts_footer(report));
    let what = match (report.role, &report.target.agent) {
        (Role::Client, Some(agent)) => format!("the client {agent:?} (served on {url})"),
        (Role::Client, None) => format!("a client (served on {url})"),
        (Role::Server, _) if embedded => format!("{url} (embedded reference server)"),
        (Role::Server, _) => url.to_string(),
    };
    out.push_str(&format!(
        "\n{} cases against {what} in {:.2} s: {} fail {gate}\n",
        tally.total,
        elapsed.as_secs_f64(),
        tally.failing
    ));
    out
}

/// What the verdicts other than OK in this run mean (`reports::verdict::meaning`, the texts every output
/// shows), and how to look closer: the HTML page, one case again.
fn verdicts_footer(report: &ConformanceReport) -> String {
    let mut seen: Vec<(&str, Meaning)> = Vec::new();
    for c in &report.cases {
        let close = c.close_verdict.filter(|v| *v != CloseVerdict::Ok).map(|v| ("close ", v.meaning()));
        let behaviour = (c.verdict != Verdict::Ok).then(|| ("", c.verdict.meaning()));
        for m in [behaviour, close].into_iter().flatten() {
            if !seen.contains(&m) {
                seen.push(m);
            }
        }
    }
    let Some(first) = not_ok_worst_first(&report.cases).first().map(|c| c.id.clone()) else {
        return String::new();
    };
    let mut out = String::from("\nwhat these verdicts mean (`wsharness conformance --help` lists them all):\n");
    for (axis, m) in seen {
        let name = format!("{axis}{}", m.name);
        out.push_str(&format!("  {name:<19} {:<6} {}\n", m.keyword.as_str(), m.text));
    }
    let command = match report.role {
        Role::Server => "conformance",
        Role::Client => "serve or client-conformance",
    };
    out.push_str(&format!("each case's wire trace is in report.html; one case again: {command} --filter '{first}'\n"));
    out
}

/// Cases (worst first) grouped by section: the section of the worst case first, each section's cases in
/// the order given.
fn by_section(cases: Vec<&CaseReport>) -> Vec<(&str, Vec<&CaseReport>)> {
    let mut groups: Vec<(&str, Vec<&CaseReport>)> = Vec::new();
    for c in cases {
        match groups.iter_mut().find(|(s, _)| *s == c.section) {
            Some((_, group)) => group.push(c),
            None => groups.push((&c.section, vec![c])),
        }
    }
    groups
}

/// `    FAILED         id [6455 §5.2] (close: UNCLEAN): expected X; got Y`.
fn case_line(c: &CaseReport) -> String {
    let close =
        c.close_verdict.filter(|v| *v != CloseVerdict::Ok).map(|v| format!(" (close: {v})")).unwrap_or_default();
    format!("    {:<13} {} [{}]{close}: {}\n", c.verdict.as_str(), c.id, c.rfc, c.reason.as_deref().unwrap_or("-"))
}
