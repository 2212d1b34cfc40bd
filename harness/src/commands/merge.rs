//! `wsharness merge A.json B.json ... --out total.json`: one report from the reports of shards that
//! ran at the same time. Histograms are added bucket by bucket, so merged percentiles are exact.

use std::process::ExitCode;

use anyhow::Context;
use reports::load::LoadReport;

use super::EXIT_USAGE;
use crate::cli::MergeArgs;
use crate::load::report::judge;
use crate::load::threshold::Threshold;

/// Runs `wsharness merge`.
pub fn run(args: MergeArgs) -> anyhow::Result<ExitCode> {
    let mut inputs = Vec::new();
    for path in &args.reports {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("wsharness: cannot read {}: {e}", path.display());
                return Ok(ExitCode::from(EXIT_USAGE));
            }
        };
        match serde_json::from_str::<LoadReport>(&text) {
            Ok(r) => inputs.push(r),
            Err(e) => {
                eprintln!("wsharness: {} is not a load report: {e}", path.display());
                return Ok(ExitCode::from(EXIT_USAGE));
            }
        }
    }
    let names: Vec<String> = args.reports.iter().map(|p| p.display().to_string()).collect();
    let mut merged = match LoadReport::merge(&inputs, &names) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("wsharness: cannot merge: {e:#}");
            return Ok(ExitCode::from(EXIT_USAGE));
        }
    };
    let exprs: Vec<String> = if args.threshold.is_empty() {
        inputs.first().map(|r| r.thresholds.iter().map(|t| t.expr.clone()).collect()).unwrap_or_default()
    } else {
        args.threshold.clone()
    };
    let thresholds = exprs.iter().map(|e| Threshold::parse(e)).collect::<Result<Vec<_>, _>>()?;
    let hists = merged.histograms.decode().context("cannot decode the merged histograms")?;
    merged.thresholds = judge(&merged, &hists, &thresholds);
    reports::write_json(&args.out, &merged).with_context(|| format!("cannot write {}", args.out.display()))?;
    crate::load::report::print(&merged, &hists, &args.out.display().to_string());
    Ok(super::load::threshold_exit(&merged.thresholds))
}
