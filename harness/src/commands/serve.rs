//! `wsharness serve`: plays the server side of the cases that test clients, through Autobahn's
//! fuzzingserver URL API, until Ctrl-C or `/stopServer`; then writes every agent's reports.

use std::net::SocketAddr;
use std::process::ExitCode;

use anyhow::Context;
use tokio::net::TcpListener;

use super::conformance::{exit_code, summary_text};
use super::{client_run, jobs, run_options, EXIT_OK, EXIT_USAGE};
use crate::cli::ServeArgs;
use crate::serve::{ServeConfig, Serving};

/// Runs `wsharness serve`.
pub async fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let (suite, out) = match client_run(&args.suite)? {
        Ok(run) => run,
        Err(code) => return Ok(code),
    };
    let addr = SocketAddr::new(args.host, args.port);
    let listener = match TcpListener::bind(addr).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("wsharness: cannot listen on {addr}: {e} (choose another --port, or 0 for a free one)");
            return Ok(ExitCode::from(EXIT_USAGE));
        }
    };
    let count = suite.cases.len();
    let config = ServeConfig {
        suite,
        options: run_options(&args.suite),
        jobs: jobs(&args.suite),
        out: out.clone(),
        fail_on: args.suite.fail_on,
    };
    let serving = Serving::start(listener, config).context("cannot start serving")?;
    let url = format!("ws://{}", serving.addr);
    crate::outln!("serving {count} client cases on {url} (Autobahn's fuzzingserver API: {url}/getCaseCount,");
    crate::outln!(
        "{url}/runCase?case=N&agent=NAME, {url}/updateReports?agent=NAME); Ctrl-C stops and writes the reports"
    );
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = serving.stopped() => {}
    }
    let served = serving.stop().await;
    let mut code = EXIT_OK;
    for (report, written) in &served.agents {
        crate::outln!(
            "\n{}",
            summary_text(report, std::time::Duration::from_millis(report.duration_ms), &url, false).trim_end()
        );
        match written {
            Ok(dir) => crate::outln!("reports: {}", dir.display()),
            Err(e) => {
                eprintln!("wsharness: {e:#}");
                code = code.max(EXIT_USAGE);
            }
        }
        // an agent that did not run every case is incomplete, not interrupted: its cases decide
        code = code.max(exit_code(&reports::conformance::ConformanceReport { complete: true, ..report.clone() }));
    }
    if served.agents.is_empty() {
        crate::outln!("no client ran a case");
    }
    match served.index_error {
        Some(e) => {
            eprintln!("wsharness: {e:#}");
            code = code.max(EXIT_USAGE);
        }
        None => crate::outln!("index: {}", out.join("index.json").display()),
    }
    Ok(ExitCode::from(code))
}
