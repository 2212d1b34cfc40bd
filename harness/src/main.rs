//! `wsharness`: tells the author of a WebSocket server, with evidence, whether
//! it speaks RFC 6455 correctly.
//!
//! Exit codes: 0 success, 1 cases failed, 2 usage error, bad case file or
//! unreachable target, 130 interrupted. Errors are printed once, with their
//! causes, to stderr.

use std::process::ExitCode;

use clap::Parser;
use wsharness::cli::{Cli, Command};
use wsharness::commands;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("wsharness: {e:#}");
            ExitCode::from(commands::EXIT_USAGE)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Cases(cmd) => commands::cases::run(cmd),
        Command::Render(args) => commands::render::run(args),
        Command::Compare(args) => commands::compare::run(args),
        Command::Matrix(args) => commands::matrix::run(args),
        Command::Conformance(args) => runtime()?.block_on(commands::conformance::run(args)),
        Command::Serve(args) => runtime()?.block_on(commands::serve::run(args)),
        Command::ClientConformance(args) => runtime()?.block_on(commands::client_conformance::run(args)),
        Command::Load(args) => commands::load::main(*args),
        Command::Merge(args) => commands::merge::run(args),
        Command::Completions(args) => commands::completions::completions(args),
        Command::Man => commands::completions::man(),
    }
}

/// The runtime of the commands that run cases.
fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread().enable_all().build()
}
