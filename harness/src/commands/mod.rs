//! The commands, each `run(args) -> Result<ExitCode>`.

pub mod cases;
pub mod client_conformance;
pub mod compare;
pub mod completions;
pub mod conformance;
pub mod load;
pub mod matrix;
pub mod merge;
pub mod output;
pub mod render;
pub mod scenario;
pub mod serve;
pub mod server_cmd;

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

/// Case filters (`--filter`, repeatable): a case is selected when it matches any include (none given: all) and
/// no `!` exclusion. Three forms, told apart by their text ([`FilterField::of`]):
/// - a glob on the case id: `rfc6455/5.2/*`, `limits/**`;
/// - a section number, h2spec's way: `5.2` (the cases of section 5.2 and its subsections), `7.*`, `12`;
/// - an Autobahn id: `autobahn:6.4.*` (the cases mapped to Autobahn's 6.4.x).
pub struct Filter {
    include: Option<FieldSets>,
    exclude: FieldSets,
}

/// What a `--filter` value is matched against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilterField {
    /// The case id (a glob).
    Id,
    /// The section in the case id (`rfc6455/5.2/...`: `5.2`), and its subsections.
    Section,
    /// The Autobahn id the case maps to (`autobahn:` removed).
    Autobahn,
}

impl FilterField {
    /// The field a value filters on, and the glob(s) to match it with.
    pub fn of(value: &str) -> (FilterField, Vec<String>) {
        if let Some(id) = value.strip_prefix("autobahn:") {
            return (FilterField::Autobahn, vec![id.to_string()]);
        }
        let numeric = !value.is_empty()
            && value.starts_with(|c: char| c.is_ascii_digit())
            && value.chars().all(|c| c.is_ascii_digit() || c == '.' || c == '*');
        if numeric {
            let under = format!("{}.*", value.trim_end_matches(".*"));
            return (FilterField::Section, vec![value.to_string(), under]);
        }
        (FilterField::Id, vec![value.to_string()])
    }
}

/// One glob set per field.
struct FieldSets {
    id: GlobSet,
    section: GlobSet,
    autobahn: GlobSet,
}

impl FieldSets {
    fn build(values: &[&str]) -> anyhow::Result<FieldSets> {
        let mut builders = [GlobSetBuilder::new(), GlobSetBuilder::new(), GlobSetBuilder::new()];
        for value in values {
            let (field, globs) = FilterField::of(value);
            for g in globs {
                let glob = Glob::new(&g).with_context(|| format!("--filter '{value}' is not a valid glob"))?;
                let at = match field {
                    FilterField::Id => 0,
                    FilterField::Section => 1,
                    FilterField::Autobahn => 2,
                };
                builders[at].add(glob);
            }
        }
        let [id, section, autobahn] = builders;
        Ok(FieldSets { id: id.build()?, section: section.build()?, autobahn: autobahn.build()? })
    }

    fn matches(&self, case: &Case) -> bool {
        let section = case.id.split('/').nth(1).unwrap_or_default();
        self.id.is_match(&case.id)
            || self.section.is_match(section)
            || case.autobahn.as_deref().is_some_and(|a| self.autobahn.is_match(a))
    }
}

impl Filter {
    /// Compiles `--filter` values.
    pub fn new(patterns: &[String]) -> anyhow::Result<Filter> {
        let (excluded, included): (Vec<&str>, Vec<&str>) =
            patterns.iter().map(String::as_str).partition(|p| p.starts_with('!'));
        let excluded: Vec<&str> = excluded.iter().map(|p| &p[1..]).collect();
        let include = if included.is_empty() { None } else { Some(FieldSets::build(&included)?) };
        Ok(Filter { include, exclude: FieldSets::build(&excluded)? })
    }

    /// Whether the case is selected.
    pub fn matches(&self, case: &Case) -> bool {
        self.include.as_ref().is_none_or(|s| s.matches(case)) && !self.exclude.matches(case)
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

/// `--jobs`, or four per core. More would finish sooner against a robust server (against Node `ws` here: 2.3 s at
/// four per core, 2.05 s at eight), but sixteen connections at once break the seed PHP server of
/// `ci/peers/php-seed-000` in 4 runs of 6 (eight: 0 of 6), and such hand-written servers are who we test.
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::embedded::embedded_cases;

    fn selected(patterns: &[&str]) -> Vec<String> {
        let filter = Filter::new(&patterns.iter().map(|p| p.to_string()).collect::<Vec<_>>()).expect("valid");
        let cases = embedded_cases().expect("the embedded cases load");
        cases.into_iter().filter(|c| filter.matches(c)).map(|c| c.id).collect()
    }

    #[test]
    fn a_section_number_selects_the_section_and_its_subsections() {
        let ids = selected(&["5.5"]);
        assert!(ids.iter().any(|id| id.starts_with("rfc6455/5.5/")), "{ids:?}");
        assert!(ids.iter().any(|id| id.starts_with("rfc6455/5.5.1/")), "subsections too");
        assert!(ids.iter().all(|id| id.split('/').nth(1).is_some_and(|s| s == "5.5" || s.starts_with("5.5."))));
        let sevens = selected(&["7.*"]);
        assert!(
            !sevens.is_empty() && sevens.iter().all(|id| id.split('/').nth(1).is_some_and(|s| s.starts_with("7.")))
        );
        assert!(selected(&["5.50"]).is_empty(), "5.50 is not under 5.5");
    }

    #[test]
    fn an_autobahn_id_selects_the_mapped_cases_and_globs_and_exclusions_still_work() {
        let ids = selected(&["autobahn:6.4.*"]);
        assert_eq!(ids.len(), 4, "{ids:?}");
        assert!(ids.iter().all(|id| id.starts_with("rfc6455/8.1/fail-fast")));
        assert_eq!(selected(&["autobahn:1.1.1"]), ["rfc6455/5.2/text-payload-0"]);
        let framing = selected(&["rfc6455/5.2/*"]);
        let fewer = selected(&["rfc6455/5.2/*", "!autobahn:1.1.*"]);
        assert!(!framing.is_empty() && fewer.len() < framing.len());
        assert!(fewer.iter().all(|id| id != "rfc6455/5.2/text-payload-0"));
        assert!(Filter::new(&["[".to_string()]).is_err(), "a broken glob is an error");
    }
}
