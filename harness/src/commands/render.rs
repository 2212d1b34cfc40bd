//! `wsharness render REPORT.json [--html FILE] [--junit FILE]`, and the
//! writing of a run's outputs (report.json, report.html, junit.xml).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use reports::Report;

use super::{EXIT_OK, EXIT_USAGE};
use crate::cli::RenderArgs;

/// Runs `wsharness render`: no flag writes `report.html` (and `junit.xml` for
/// a conformance report) beside the JSON.
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
        (None, None) => (Some(beside("report.html")), has_junit(&report).then(|| beside("junit.xml"))),
        (h, j) => (h, j),
    };
    if let Some(path) = html {
        write_html(&path, &report)?;
        println!("html: {}", path.display());
    }
    if let Some(path) = junit {
        match &report {
            Report::Conformance(r) => {
                let xml = reports::junit::render(r).context("cannot render the JUnit XML")?;
                write(&path, xml.as_bytes())?;
                println!("junit: {}", path.display());
            }
            #[allow(unreachable_patterns)]
            other => {
                eprintln!(
                    "wsharness: --junit is for conformance reports; {} is a {} report",
                    args.report.display(),
                    other.kind()
                );
                return Ok(ExitCode::from(EXIT_USAGE));
            }
        }
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

/// Whether the report kind has a JUnit form.
fn has_junit(report: &Report) -> bool {
    matches!(report, Report::Conformance(_))
}

/// The files a run wrote.
#[derive(Debug)]
pub struct Written {
    /// report.json.
    pub json: PathBuf,
    /// report.html.
    pub html: PathBuf,
    /// junit.xml, for kinds that have one.
    pub junit: Option<PathBuf>,
}

/// Writes a run's outputs into `dir`, each atomically, report.json first so
/// that a failure to render still leaves the data.
pub fn write_run_outputs(dir: &Path, report: &Report) -> anyhow::Result<Written> {
    let json = dir.join("report.json");
    match report {
        Report::Conformance(r) => reports::write_json(&json, r),
    }
    .with_context(|| format!("cannot write the report to {}", json.display()))?;
    let html = dir.join("report.html");
    write_html(&html, report)?;
    let junit = match report {
        Report::Conformance(r) => {
            let path = dir.join("junit.xml");
            let xml = reports::junit::render(r).context("cannot render the JUnit XML")?;
            write(&path, xml.as_bytes())?;
            Some(path)
        }
    };
    Ok(Written { json, html, junit })
}

fn write_html(path: &Path, report: &Report) -> anyhow::Result<()> {
    let page = reports::html::render(report).context("cannot render the HTML report")?;
    write(path, page.as_bytes())
}

fn write(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    reports::write_atomic(path, bytes).with_context(|| format!("cannot write {}", path.display()))
}
