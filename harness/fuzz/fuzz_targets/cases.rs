//! The case-file loader on any UTF-8 text.
//!
//! Input: the bytes of a case file; like the loader, text that is not UTF-8 is
//! refused before parsing (`load_dir` reads files with `read_to_string`), so
//! only UTF-8 inputs go on. They go through what `load_dir` does with one file:
//! `parse_cases`, then `collect` (which checks that ids are unique). Checked:
//! never a panic or a hang; each mistake is `file:line: message` with a line
//! inside the text; each case accepted has an id, a place in the file, and
//! frames the runner can encode.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wsharness::case::{collect, parse_cases, Step};

const FILE: &str = "rfc6455/fuzz.toml";

/// Largest generated payload built here (a case may ask for 64 MiB; building it proves nothing more).
const MAX_BUILT: usize = 64 * 1024;

/// Most cases a file may expand to here: twice the largest file of the library (`8.1-utf8-invalid.toml`, 133).
/// The loader has no such cap: a 465-byte file whose matrix asks for 16^8 combinations exhausts memory (triaged:
/// `artifacts-triaged/cases/README.md`). Until the loader refuses such files, the target skips them, so that a
/// run goes on to find other failures (and does not spend its time expanding thousands of cases).
const MAX_EXPANDED: u64 = 256;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if expansion(text) > MAX_EXPANDED {
        return;
    }
    let lines = text.split('\n').count();
    match collect(std::iter::once(parse_cases(FILE, text))) {
        Err(errors) => {
            assert!(!errors.is_empty());
            for e in errors {
                assert_eq!(e.file, FILE);
                assert!((1..=lines).contains(&e.line), "line {} of {lines}: {e}", e.line);
                assert!(!e.message.trim().is_empty(), "an empty message at line {}", e.line);
                assert!(e.to_string().starts_with(&format!("{FILE}:{}: ", e.line)));
            }
        }
        Ok(cases) => {
            for c in cases {
                assert!(!c.id.is_empty());
                assert_eq!(c.source.file, FILE);
                assert!((1..=lines).contains(&c.source.line), "case at line {} of {lines}", c.source.line);
                for step in &c.steps {
                    let Step::Frame { frame, fill, .. } = step else { continue };
                    let mut frame = frame.clone();
                    match fill {
                        Some(f) if f.len <= MAX_BUILT => frame.payload = f.bytes(),
                        Some(_) => continue,
                        None => {}
                    }
                    if let Err(e) = frame.encode() {
                        panic!(
                            "case {} at line {}: the loader accepted a frame it cannot encode: {e}",
                            c.id, c.source.line
                        );
                    }
                }
            }
        }
    }
});

/// How many cases the file's `[[case]]` tables expand to: the product of each matrix's value counts, times its rows.
fn expansion(text: &str) -> u64 {
    let Ok(table) = text.parse::<toml::Table>() else { return 0 };
    let Some(cases) = table.get("case").and_then(toml::Value::as_array) else { return 0 };
    let count = |v: Option<&toml::Value>| v.and_then(toml::Value::as_array).map_or(1, |a| a.len().max(1) as u64);
    cases
        .iter()
        .map(|c| {
            let matrix = c.get("matrix").and_then(toml::Value::as_table);
            let combos = matrix.map_or(1, |m| m.values().map(|v| count(Some(v))).fold(1, u64::saturating_mul));
            combos.saturating_mul(count(c.get("rows")))
        })
        .fold(0, u64::saturating_add)
}
