//! `wsharness conformance [URL]`: runs the cases, prints a summary, writes report.json, report.html and junit.xml.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use anyhow::{bail, Context};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use reports::conformance::{CaseReport, TargetInfo};

use super::render::{ensure_writable_dir, write_run_outputs};
use super::{print_case_errors, Filter, EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE};
use crate::cli::{ConformanceArgs, FailOn};
use crate::conformance::{preflight, run_all, CaseOutcome, RunOptions, Target, TargetLost};
use crate::embedded::cases_with;
use crate::report::{case_report, conformance_report};

/// Runs `wsharness conformance`.
pub async fn run(args: ConformanceArgs) -> anyhow::Result<ExitCode> {
    if args.jobs == Some(0) {
        bail!("--jobs must be at least 1");
    }
    if args.case_timeout.is_zero() {
        bail!("--case-timeout must be more than 0");
    }
    let filter = Filter::new(&args.filter)?;
    let all = match cases_with(args.cases.as_deref()) {
        Ok(c) => c,
        Err(errors) => {
            print_case_errors(&errors);
            return Ok(ExitCode::from(EXIT_USAGE));
        }
    };
    let cases: Vec<_> = all.into_iter().filter(|c| filter.matches(c)).collect();
    if cases.is_empty() {
        eprintln!("wsharness: no case matches the filters {:?} (see `wsharness cases list`)", args.filter);
        return Ok(ExitCode::from(EXIT_USAGE));
    }

    // the target: a URL, or the embedded reference server on a free port
    let (embedded, url) = match &args.url {
        Some(u) => (None, u.clone()),
        None => {
            let config = reference_server::Config::default();
            let server = reference_server::Server::bind("127.0.0.1:0".parse()?, config)
                .await
                .context("cannot start the embedded reference server")?
                .spawn();
            let url = server.url();
            (Some(server), url)
        }
    };
    let target = match Target::parse(&url) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("wsharness: {e}");
            return Ok(ExitCode::from(EXIT_USAGE));
        }
    };
    let tls = if target.secure { Some(crate::conformance::tls::connector(args.insecure)?) } else { None };
    let out_dir = args.out.clone().unwrap_or_else(|| default_out_dir(SystemTime::now()));
    // a run must not be lost at its end to an unwritable --out
    if let Err(e) = ensure_writable_dir(&out_dir) {
        eprintln!("wsharness: {e:#} (choose another folder with --out)");
        return Ok(ExitCode::from(EXIT_USAGE));
    }
    // one valid handshake first: a target that does not speak WebSocket is one line, not 553 failed cases
    if let Err(e) = preflight(&target, tls.as_ref()).await {
        eprintln!("wsharness: {e}");
        return Ok(ExitCode::from(EXIT_USAGE));
    }

    let jobs = args.jobs.unwrap_or_else(|| 4 * std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1));
    let options = RunOptions {
        case_timeout: args.case_timeout,
        close_timeout: args.case_timeout.min(Duration::from_secs(2)),
        tls,
    };
    let bar = progress_bar(cases.len() as u64, args.quiet);
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let ctrl_c = tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            let _ = stop_tx.send(true);
        }
    });
    let started = SystemTime::now();
    let t0 = std::time::Instant::now();
    let run = run_all(&cases, &target, options, jobs, stop_rx, |o: &CaseOutcome| {
        bar.set_message(o.id.clone());
        bar.inc(1);
    })
    .await;
    ctrl_c.abort();
    bar.finish_and_clear();
    let elapsed = t0.elapsed();
    let complete = run.complete;

    let server_header = run.outcomes.iter().find_map(|(_, o)| o.server_header.clone());
    let reports: Vec<CaseReport> = run.outcomes.iter().map(|(i, o)| case_report(&cases[*i], o)).collect();
    let report = conformance_report(
        TargetInfo { url: target.url.clone(), embedded: embedded.is_some(), server_header },
        humantime::format_rfc3339_seconds(started).to_string(),
        elapsed.as_millis() as u64,
        complete,
        reports,
    );
    let written = write_run_outputs(&out_dir, &reports::Report::Conformance(Box::new(report.clone())));

    print_summary(&report.cases, elapsed, &target.url, embedded.is_some());
    if let Some(lost) = &run.target_lost {
        print_target_lost(lost);
    }
    if let Some(server) = embedded {
        let _ = server.shutdown().await;
    }
    match written {
        Ok(written) => {
            println!("report: {}", written.json.display());
            println!("html: {}", written.html.display());
            println!("junit: {}", written.junit.display());
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
        return Ok(ExitCode::from(EXIT_INTERRUPTED));
    }
    let failed = report.cases.iter().any(|c| is_failure(c, args.fail_on));
    Ok(ExitCode::from(if failed { EXIT_FAILED } else { EXIT_OK }))
}

/// Whether a case breaks the `--fail-on` gate; a failed close behaviour counts.
fn is_failure(c: &CaseReport, fail_on: FailOn) -> bool {
    let bad_close = matches!(c.close_verdict.as_deref(), Some("FAILED" | "UNCLEAN" | "WRONG CODE"));
    match c.verdict.as_str() {
        "FAILED" | "ERRORED" => true,
        "NON-STRICT" => fail_on == FailOn::NonStrict,
        _ => bad_close,
    }
}

fn progress_bar(len: u64, quiet: bool) -> ProgressBar {
    if quiet || !std::io::stdout().is_terminal() {
        return ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::hidden());
    }
    let bar = ProgressBar::new(len);
    if let Ok(style) = ProgressStyle::with_template("{bar:30} {pos}/{len} cases {elapsed} {wide_msg}") {
        bar.set_style(style);
    }
    bar
}

fn default_out_dir(started: SystemTime) -> PathBuf {
    let stamp = humantime::format_rfc3339_seconds(started).to_string().replace(':', "");
    PathBuf::from("reports").join(stamp)
}

/// Says once that the target went away, when, and after which cases.
fn print_target_lost(lost: &TargetLost) {
    let after = if lost.after.is_empty() {
        "before any case finished".to_string()
    } else {
        format!("after {}", lost.after.join(", "))
    };
    println!(
        "\nthe target stopped accepting connections {:.1} s into the run ({after}); {} cases were not run",
        lost.at.as_secs_f64(),
        lost.not_run
    );
}

const COLUMNS: [&str; 6] = ["OK", "NON-STRICT", "INFORMATIONAL", "UNIMPLEMENTED", "FAILED", "ERRORED"];

fn print_summary(cases: &[CaseReport], elapsed: Duration, url: &str, embedded: bool) {
    let mut by_section: BTreeMap<&str, BTreeMap<&str, usize>> = BTreeMap::new();
    for c in cases {
        *by_section.entry(&c.section).or_default().entry(&c.verdict).or_default() += 1;
    }
    let width = by_section.keys().map(|s| s.len()).max().unwrap_or(7).max(7);
    println!(
        "{:<width$} {:>5} {:>5} {:>10} {:>13} {:>13} {:>6} {:>7}",
        "section", "cases", COLUMNS[0], COLUMNS[1], COLUMNS[2], COLUMNS[3], COLUMNS[4], COLUMNS[5]
    );
    let mut totals = [0usize; 6];
    for (section, counts) in &by_section {
        let n: Vec<usize> = COLUMNS.iter().map(|k| counts.get(k).copied().unwrap_or(0)).collect();
        for (t, v) in totals.iter_mut().zip(&n) {
            *t += v;
        }
        println!(
            "{:<width$} {:>5} {:>5} {:>10} {:>13} {:>13} {:>6} {:>7}",
            section,
            n.iter().sum::<usize>(),
            n[0],
            n[1],
            n[2],
            n[3],
            n[4],
            n[5]
        );
    }
    println!(
        "{:<width$} {:>5} {:>5} {:>10} {:>13} {:>13} {:>6} {:>7}",
        "total",
        cases.len(),
        totals[0],
        totals[1],
        totals[2],
        totals[3],
        totals[4],
        totals[5]
    );
    let bad: Vec<&CaseReport> = cases
        .iter()
        .filter(|c| {
            c.verdict != "OK" && c.verdict != "INFORMATIONAL"
                || matches!(c.close_verdict.as_deref(), Some("FAILED" | "UNCLEAN" | "WRONG CODE"))
        })
        .collect();
    if !bad.is_empty() {
        println!("\nnot OK:");
        for c in bad {
            let close =
                c.close_verdict.as_deref().filter(|v| *v != "OK").map(|v| format!(" (close: {v})")).unwrap_or_default();
            println!("  {:<11} {} [{}]{close}: {}", c.verdict, c.id, c.rfc, c.reason.as_deref().unwrap_or("-"));
        }
    }
    let what = if embedded { format!("{url} (embedded reference server)") } else { url.to_string() };
    println!("\n{} cases against {what} in {:.2} s", cases.len(), elapsed.as_secs_f64());
}
