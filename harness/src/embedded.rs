//! The case files shipped inside the binary (see `build.rs`).

use crate::case::{check_unique_ids, load_dir, parse_cases, Case, CaseError};

include!(concat!(env!("OUT_DIR"), "/embedded_cases.rs"));

/// Parses the embedded case files.
pub fn embedded_cases() -> Result<Vec<Case>, Vec<CaseError>> {
    let mut cases = Vec::new();
    let mut errors = Vec::new();
    for (name, text) in EMBEDDED {
        match parse_cases(name, text) {
            Ok(mut c) => cases.append(&mut c),
            Err(mut e) => errors.append(&mut e),
        }
    }
    if let Err(mut e) = check_unique_ids(&cases) {
        errors.append(&mut e);
    }
    if errors.is_empty() {
        Ok(cases)
    } else {
        Err(errors)
    }
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
