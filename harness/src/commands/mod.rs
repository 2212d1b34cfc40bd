//! The commands, each `run(args) -> Result<ExitCode>`.

pub mod cases;
pub mod compare;
pub mod conformance;
pub mod load;
pub mod merge;
pub mod output;
pub mod render;

use anyhow::Context;
use globset::{Glob, GlobSet, GlobSetBuilder};

use crate::case::{Case, CaseError};

/// Exit code: everything passed.
pub const EXIT_OK: u8 = 0;
/// Exit code: cases failed.
pub const EXIT_FAILED: u8 = 1;
/// Exit code: usage error, bad case file, unreachable target.
pub const EXIT_USAGE: u8 = 2;
/// Exit code: interrupted (Ctrl-C).
pub const EXIT_INTERRUPTED: u8 = 130;

/// Case-id filters: include globs (any matches; none given: all) and `!` exclusions.
pub struct Filter {
    include: Option<GlobSet>,
    exclude: GlobSet,
}

impl Filter {
    /// Compiles `--filter` values.
    pub fn new(patterns: &[String]) -> anyhow::Result<Filter> {
        let mut include = GlobSetBuilder::new();
        let mut exclude = GlobSetBuilder::new();
        let mut any_include = false;
        for p in patterns {
            let (builder, pat) = match p.strip_prefix('!') {
                Some(rest) => (&mut exclude, rest),
                None => {
                    any_include = true;
                    (&mut include, p.as_str())
                }
            };
            builder.add(Glob::new(pat).with_context(|| format!("--filter '{p}' is not a valid glob"))?);
        }
        Ok(Filter { include: if any_include { Some(include.build()?) } else { None }, exclude: exclude.build()? })
    }

    /// Whether the case is selected.
    pub fn matches(&self, case: &Case) -> bool {
        self.include.as_ref().is_none_or(|g| g.is_match(&case.id)) && !self.exclude.is_match(&case.id)
    }
}

/// Prints case-file errors, one `file:line: message` per line, to stderr.
pub fn print_case_errors(errors: &[CaseError]) {
    for e in errors {
        eprintln!("{e}");
    }
    eprintln!("wsharness: {} mistake(s) in case files", errors.len());
}
