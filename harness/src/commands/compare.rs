//! `wsharness compare BASE.json NEW.json [--max-regression 10%] [--html FILE]`.
//!
//! Exit codes: 0 no regression, 1 a regression beyond the thresholds, 2
//! unreadable input (not a report, another schema version, two kinds).
//!
//! Conformance runs: a case that got worse is a regression (see
//! [`reports::compare::ConformanceDiff`]; a case that starts to fail is always
//! worse), and the failing counts of both runs apply the new run's recorded gate.

use std::process::ExitCode;

use anyhow::Context;
use reports::compare::{compare, Thresholds};

use super::{EXIT_FAILED, EXIT_OK, EXIT_USAGE};
use crate::cli::CompareArgs;

/// Runs `wsharness compare`.
pub fn run(args: CompareArgs) -> anyhow::Result<ExitCode> {
    let mut read = Vec::new();
    for path in [&args.base, &args.new] {
        match reports::read_report(path) {
            Ok(r) => read.push(r),
            Err(e) => {
                eprintln!("wsharness: {}", super::render::error_chain(&e));
                return Ok(ExitCode::from(EXIT_USAGE));
            }
        }
    }
    let (base, new) = (&read[0], &read[1]);
    let thresholds = Thresholds { max_regression_pct: args.max_regression };
    let base_name = args.base.display().to_string();
    let new_name = args.new.display().to_string();
    let comparison = match compare(base, new, &base_name, &new_name, &thresholds) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("wsharness: {e} ({base_name}, {new_name})");
            return Ok(ExitCode::from(EXIT_USAGE));
        }
    };
    crate::out!("{}", comparison.text());
    if let Some(path) = &args.html {
        let page = reports::html::render_comparison(&comparison).context("cannot render the comparison page")?;
        reports::write_atomic(path, page.as_bytes()).with_context(|| format!("cannot write {}", path.display()))?;
        crate::outln!("html: {}", path.display());
    }
    let regressions = comparison.regressions();
    if regressions.is_empty() {
        crate::outln!("no regression");
        return Ok(ExitCode::from(EXIT_OK));
    }
    crate::outln!("\n{} regression(s):", regressions.len());
    for r in &regressions {
        crate::outln!("  REGRESSION {r}");
    }
    Ok(ExitCode::from(EXIT_FAILED))
}
