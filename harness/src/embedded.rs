//! The case files shipped inside the binary (see `build.rs`).

use crate::case::{collect, load_dir, parse_cases, Case, CaseError};

include!(concat!(env!("OUT_DIR"), "/embedded_cases.rs"));

/// Parses the embedded case files.
pub fn embedded_cases() -> Result<Vec<Case>, Vec<CaseError>> {
    collect(EMBEDDED.iter().map(|(name, text)| parse_cases(name, text)))
}

/// The embedded cases, with those of `extra` added; a case of `extra` with
/// the id of an embedded one replaces it.
pub fn cases_with(extra: Option<&std::path::Path>) -> Result<Vec<Case>, Vec<CaseError>> {
    let mut cases = embedded_cases()?;
    if let Some(dir) = extra {
        for c in load_dir(dir)? {
            match cases.iter_mut().find(|e| e.id == c.id) {
                Some(existing) => *existing = c,
                None => cases.push(c),
            }
        }
    }
    Ok(cases)
}
