//! `wsharness render REPORT.json [--html FILE] [--junit FILE]`, and the
//! writing of a run's outputs (report.json, report.html, junit.xml) for every
//! report kind: `wsharness conformance` and `wsharness load` both call
//! [`write_run_outputs`]. A conformance report is cut to its size budget
//! before it is written or rendered ([`fit_to_budget`]).

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use reports::Report;

use super::{EXIT_OK, EXIT_USAGE};
use crate::cli::RenderArgs;

/// Runs `wsharness render`: no flag writes `report.html` and `junit.xml`
/// beside the JSON. A conformance report's pages apply the gate recorded in it
/// (`fail_on`, `failed` for reports written before it was recorded), so they
/// fail the same cases the run did.
pub fn run(args: RenderArgs) -> anyhow::Result<ExitCode> {
    let report = match reports::read_report(&args.report) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("wsharness: {}", error_chain(&e));
            return Ok(ExitCode::from(EXIT_USAGE));
        }
    };
    let beside = |name: &str| args.report.parent().unwrap_or(Path::new(".")).join(name);
    let (html, junit) = match (args.html, args.junit) {
        (None, None) => (Some(beside("report.html")), Some(beside("junit.xml"))),
        (h, j) => (h, j),
    };
    if let Some(path) = html {
        write_html(&path, fit_to_budget(&report)?.as_ref())?;
        crate::outln!("html: {}", path.display());
    }
    if let Some(path) = junit {
        write(&path, junit_xml(&report)?.as_bytes())?;
        crate::outln!("junit: {}", path.display());
    }
    Ok(ExitCode::from(EXIT_OK))
}

/// An error and its causes on one line, `a: b: c`.
pub fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![e.to_string()];
    let mut source = e.source();
    while let Some(s) = source {
        parts.push(s.to_string());
        source = s.source();
    }
    parts.join(": ")
}

/// The JUnit XML of a report: one testcase per case, or per threshold of a load run.
fn junit_xml(report: &Report) -> anyhow::Result<String> {
    match report {
        Report::Conformance(r) => reports::junit::render(r),
        Report::Load(r) => reports::junit::render_load(r),
    }
    .context("cannot render the JUnit XML")
}

/// The files a run wrote.
#[derive(Debug)]
pub struct Written {
    /// report.json.
    pub json: PathBuf,
    /// report.html.
    pub html: PathBuf,
    /// junit.xml.
    pub junit: PathBuf,
}

/// Checks, before a run, that its outputs can be written into `dir`: creates it, writes and
/// removes a probe file. A run must not be lost at its end to an unwritable `--out`.
pub fn ensure_writable_dir(dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create the output folder {}", dir.display()))?;
    let probe = dir.join(format!(".wsharness-write-check-{}", std::process::id()));
    std::fs::write(&probe, b"").with_context(|| format!("cannot write into the output folder {}", dir.display()))?;
    let _ = std::fs::remove_file(&probe);
    Ok(())
}

/// A conformance report cut to the size budget ([`reports::budget::fit`]: its
/// JSON and its page each under 2 MB, what was cut stated in it); other kinds
/// as they are.
pub fn fit_to_budget(report: &Report) -> anyhow::Result<Cow<'_, Report>> {
    match report {
        Report::Conformance(r) => {
            let fitted = reports::budget::fit(r).context("cannot fit the report to its size budget")?;
            Ok(Cow::Owned(Report::Conformance(Box::new(fitted))))
        }
        Report::Load(_) => Ok(Cow::Borrowed(report)),
    }
}

/// Writes a run's outputs into `dir`, each atomically, report.json first so
/// that a failure to render still leaves the data; a conformance report is cut
/// to its size budget first ([`fit_to_budget`]).
pub fn write_run_outputs(dir: &Path, report: &Report) -> anyhow::Result<Written> {
    let report = fit_to_budget(report)?;
    let report = report.as_ref();
    let json = dir.join("report.json");
    match report {
        Report::Conformance(r) => reports::write_json(&json, r),
        Report::Load(r) => reports::write_json(&json, r),
    }
    .with_context(|| format!("cannot write the report to {}", json.display()))?;
    let html = dir.join("report.html");
    write_html(&html, report)?;
    let junit = dir.join("junit.xml");
    write(&junit, junit_xml(report)?.as_bytes())?;
    Ok(Written { json, html, junit })
}

fn write_html(path: &Path, report: &Report) -> anyhow::Result<()> {
    let page = reports::html::render(report).context("cannot render the HTML report")?;
    write(path, page.as_bytes())
}

fn write(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    reports::write_atomic(path, bytes).with_context(|| format!("cannot write {}", path.display()))
}
