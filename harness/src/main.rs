//! `wsharness`: tells the author of a WebSocket server, with evidence, whether
//! it speaks RFC 6455 correctly and how it holds up under load.
//!
//! This crate is the command-line tool. Its commands land one issue at a time:
//! `conformance` (the case runner), `load` (the load generator) and `compare`
//! (report diffs for CI). Until then it only describes itself; the reference
//! server it will embed as its default target is the `reference-server` crate.
//!
//! Dependencies: `clap` (argument parsing), `anyhow` (error context in the binary).

use std::process::ExitCode;

use clap::Parser;

/// Conformance and load testing for RFC 6455 WebSocket servers.
///
/// The conformance, load and compare commands are not built yet. To check a
/// server against Autobahn|Testsuite today, see `ci/autobahn.sh`.
#[derive(Debug, Parser)]
#[command(name = "wsharness", version)]
struct Args {}

fn main() -> ExitCode {
    let _args = Args::parse();
    eprintln!("wsharness: no commands yet (conformance, load and compare are being built); see --help");
    ExitCode::from(2)
}
