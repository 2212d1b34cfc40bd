//! `wsharness matrix REPORT.json REPORT.json... [--html FILE]`: conformance reports side by side.
//!
//! Exit codes: 0 the matrix was shown (and written), 2 unreadable input (not a report, a load report, reports
//! of servers and of clients mixed, fewer than two).

use std::process::ExitCode;

use anyhow::Context;
use reports::matrix::Matrix;

use super::{EXIT_OK, EXIT_USAGE};
use crate::cli::MatrixArgs;

/// Rows that differ listed in the terminal, at most (the HTML page has every case).
const TERMINAL_ROWS: usize = 50;

/// Runs `wsharness matrix`.
pub fn run(args: MatrixArgs) -> anyhow::Result<ExitCode> {
    let mut read = Vec::new();
    for path in &args.reports {
        match reports::read_report(path) {
            Ok(r) => read.push((path.display().to_string(), r)),
            Err(e) => {
                eprintln!("wsharness: {}", super::render::error_chain(&e));
                return Ok(ExitCode::from(EXIT_USAGE));
            }
        }
    }
    let named: Vec<(String, &reports::Report)> = read.iter().map(|(n, r)| (n.clone(), r)).collect();
    let matrix = match Matrix::of(&named) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("wsharness: {e}");
            return Ok(ExitCode::from(EXIT_USAGE));
        }
    };
    crate::out!("{}", matrix.text(TERMINAL_ROWS));
    if let Some(path) = &args.html {
        let page = reports::html::render_matrix(&matrix).context("cannot render the matrix page")?;
        reports::write_atomic(path, page.as_bytes()).with_context(|| format!("cannot write {}", path.display()))?;
        crate::outln!("html: {}", path.display());
    }
    Ok(ExitCode::from(EXIT_OK))
}
