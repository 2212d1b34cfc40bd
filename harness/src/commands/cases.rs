//! `wsharness cases list` and `wsharness cases validate`.

use std::process::ExitCode;

use serde::Serialize;

use super::{print_case_errors, Filter, EXIT_OK, EXIT_USAGE};
use crate::case::load_dir;
use crate::cli::CasesCommand;
use crate::embedded::{cases_with, embedded_cases};

#[derive(Serialize)]
struct Listed<'a> {
    id: &'a str,
    title: &'a str,
    section: &'a str,
    rfc: &'a str,
    autobahn: Option<&'a str>,
    /// `server`, `client`: the implementations the case tests.
    roles: Vec<&'static str>,
}

/// Runs a `cases` subcommand.
pub fn run(cmd: CasesCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        CasesCommand::List { filter, json, cases } => {
            let filter = Filter::new(&filter)?;
            let all = match cases_with(cases.as_deref()) {
                Ok(c) => c,
                Err(errors) => {
                    print_case_errors(&errors);
                    return Ok(ExitCode::from(EXIT_USAGE));
                }
            };
            let selected: Vec<_> = all.iter().filter(|c| filter.matches(c)).collect();
            if json {
                let listed: Vec<Listed> = selected
                    .iter()
                    .map(|c| Listed {
                        id: &c.id,
                        title: &c.title,
                        section: &c.section,
                        rfc: &c.rfc,
                        autobahn: c.autobahn.as_deref(),
                        roles: c.roles.iter().map(|r| r.as_str()).collect(),
                    })
                    .collect();
                crate::outln!("{}", serde_json::to_string_pretty(&listed)?);
            } else {
                for c in &selected {
                    let roles = c.roles.iter().map(|r| r.as_str()).collect::<Vec<_>>().join("+");
                    let autobahn = c.autobahn.as_deref().unwrap_or("-");
                    crate::outln!("{:<48} {:<12} {:<8} {:<13} {}", c.id, c.rfc, autobahn, roles, c.title);
                }
                eprintln!("{} case(s)", selected.len());
            }
            Ok(ExitCode::from(EXIT_OK))
        }
        CasesCommand::Validate { dir } => {
            let loaded = match &dir {
                Some(d) => load_dir(d),
                None => embedded_cases(),
            };
            match loaded {
                Ok(c) => {
                    crate::outln!("{} case(s), no mistakes", c.len());
                    Ok(ExitCode::from(EXIT_OK))
                }
                Err(errors) => {
                    print_case_errors(&errors);
                    Ok(ExitCode::from(EXIT_USAGE))
                }
            }
        }
    }
}
