//! The case-file loader on any UTF-8 text.
//!
//! Input: the bytes of a case file; like the loader, text that is not UTF-8 is
//! refused before parsing (`load_dir` reads files with `read_to_string`), so
//! only UTF-8 inputs go on. They go through what `load_dir` does with one file:
//! `parse_cases`, then `collect` (which checks that ids are unique). Checked:
//! never a panic or a hang; each mistake is `file:line: message` with a line
//! inside the text; each case accepted has an id, a place in the file, and
//! frames the runner can encode. What a case costs is bounded by the loader
//! itself (`harness/src/case/limits.rs`): a matrix that would expand to
//! billions of cases is refused before it is expanded (a seed holds one).
#![no_main]

use libfuzzer_sys::fuzz_target;
use wsharness::case::{collect, parse_cases, Step};

const FILE: &str = "rfc6455/fuzz.toml";

/// Largest generated payload built here (a case may ask for 64 MiB; building it proves nothing more).
const MAX_BUILT: usize = 64 * 1024;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
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
