//! The commands, each `run(args) -> Result<ExitCode>`.

pub mod cases;
pub mod client_conformance;
pub mod compare;
pub mod completions;
pub mod conformance;
pub mod load;
pub mod merge;
pub mod output;
pub mod render;
pub mod serve;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use anyhow::{bail, Context};
use globset::{Glob, GlobSet, GlobSetBuilder};

use crate::case::{Case, CaseError};
use crate::cli::SuiteArgs;
use crate::conformance::RunOptions;
use crate::embedded::cases_with;
use crate::wire::Endpoint;

/// Exit code: everything passed.
pub const EXIT_OK: u8 = 0;
/// Exit code: cases failed.
pub const EXIT_FAILED: u8 = 1;
/// Exit code: usage error, bad case file, unreachable target.
pub const EXIT_USAGE: u8 = 2;
/// Exit code: interrupted (Ctrl-C).
pub const EXIT_INTERRUPTED: u8 = 130;

/// Case-id filters: include globs (any matches; none given: all) and `!` exclusions.
pub struct Filter {
    include: Option<GlobSet>,
    exclude: GlobSet,
}

impl Filter {
    /// Compiles `--filter` values.
    pub fn new(patterns: &[String]) -> anyhow::Result<Filter> {
        let mut include = GlobSetBuilder::new();
        let mut exclude = GlobSetBuilder::new();
        let mut any_include = false;
        for p in patterns {
            let (builder, pat) = match p.strip_prefix('!') {
                Some(rest) => (&mut exclude, rest),
                None => {
                    any_include = true;
                    (&mut include, p.as_str())
                }
            };
            builder.add(Glob::new(pat).with_context(|| format!("--filter '{p}' is not a valid glob"))?);
        }
        Ok(Filter { include: if any_include { Some(include.build()?) } else { None }, exclude: exclude.build()? })
    }

    /// Whether the case is selected.
    pub fn matches(&self, case: &Case) -> bool {
        self.include.as_ref().is_none_or(|g| g.is_match(&case.id)) && !self.exclude.is_match(&case.id)
    }
}

/// Prints case-file errors, one `file:line: message` per line, to stderr.
pub fn print_case_errors(errors: &[CaseError]) {
    for e in errors {
        eprintln!("{e}");
    }
    eprintln!("wsharness: {} mistake(s) in case files", errors.len());
}

/// The cases a run selects: `--jobs` and `--case-timeout` checked, the case files loaded, `--filter`
/// applied, those that test `role` kept. `Ok(Err(code))`: the problem is printed, exit with `code`.
pub fn select_cases(suite: &SuiteArgs, role: Endpoint) -> anyhow::Result<Result<Vec<Case>, ExitCode>> {
    if suite.jobs == Some(0) {
        bail!("--jobs must be at least 1");
    }
    if suite.case_timeout.is_zero() {
        bail!("--case-timeout must be more than 0");
    }
    let filter = Filter::new(&suite.filter)?;
    let all = match cases_with(suite.cases.as_deref()) {
        Ok(c) => c,
        Err(errors) => {
            print_case_errors(&errors);
            return Ok(Err(ExitCode::from(EXIT_USAGE)));
        }
    };
    let cases: Vec<Case> = all.into_iter().filter(|c| c.tests(role) && filter.matches(c)).collect();
    if cases.is_empty() {
        let what = match role {
            Endpoint::Server => "",
            Endpoint::Client => " among the cases that test clients",
        };
        eprintln!("wsharness: no case matches the filters {:?}{what} (see `wsharness cases list`)", suite.filter);
        return Ok(Err(ExitCode::from(EXIT_USAGE)));
    }
    Ok(Ok(cases))
}

/// The case budgets of `--case-timeout` (the close phase waits at most 2 s of it).
pub fn run_options(suite: &SuiteArgs) -> RunOptions {
    RunOptions {
        case_timeout: suite.case_timeout,
        close_timeout: suite.case_timeout.min(Duration::from_secs(2)),
        tls: None,
    }
}

/// `--jobs`, or four per core.
pub fn jobs(suite: &SuiteArgs) -> usize {
    suite.jobs.unwrap_or_else(|| 4 * std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1))
}

/// `--out`, or `reports/<timestamp>/`; checked writable before the run (a run must not be lost at its end).
/// `Err`: the problem is printed, exit 2.
pub fn out_dir(suite: &SuiteArgs) -> Result<PathBuf, ExitCode> {
    let dir = suite.out.clone().unwrap_or_else(|| {
        let stamp = humantime::format_rfc3339_seconds(SystemTime::now()).to_string().replace(':', "");
        PathBuf::from("reports").join(stamp)
    });
    match render::ensure_writable_dir(&dir) {
        Ok(()) => Ok(dir),
        Err(e) => {
            eprintln!("wsharness: {e:#} (choose another folder with --out)");
            Err(ExitCode::from(EXIT_USAGE))
        }
    }
}

/// The client suite a `serve` or `client-conformance` run selects, and where its reports go (checked writable).
/// `Ok(Err(code))`: the problem is printed, exit with `code`.
pub fn client_run(suite: &SuiteArgs) -> anyhow::Result<Result<(crate::serve::ClientSuite, PathBuf), ExitCode>> {
    let cases = match select_cases(suite, Endpoint::Client)? {
        Ok(cases) => cases,
        Err(code) => return Ok(Err(code)),
    };
    Ok(out_dir(suite).map(|out| (crate::serve::ClientSuite::new(cases, |_| true), out)))
}

/// A stop signal that turns `true` at Ctrl-C, and the task that watches for it (abort it when the run is over).
pub fn stop_on_ctrl_c() -> (tokio::sync::watch::Receiver<bool>, tokio::task::JoinHandle<()>) {
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            let _ = stop_tx.send(true);
        }
    });
    (stop_rx, task)
}
