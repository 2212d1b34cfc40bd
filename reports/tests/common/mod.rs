//! Helpers shared by the reports tests: the fixture, schema validation, golden files.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use reports::conformance::ConformanceReport;

/// The crate folder.
pub fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The small hand-written conformance report: one case of every verdict, a wrong close code, an unclean close,
/// under `--fail-on failed`.
pub fn fixture() -> ConformanceReport {
    let bytes = std::fs::read(crate_dir().join("tests/fixtures/conformance-small.json")).expect("fixture");
    serde_json::from_slice(&bytes).expect("fixture matches the model")
}

/// A real load report (20 connections, open loop at 2000/s, 4 s measured, two thresholds).
pub fn load_fixture() -> reports::load::LoadReport {
    let bytes = std::fs::read(crate_dir().join("tests/fixtures/load-small.json")).expect("fixture");
    serde_json::from_slice(&bytes).expect("fixture matches the model")
}

/// The errors of `instance` against `reports/schema/NAME`, one line each (`path: message`).
pub fn schema_errors(schema_name: &str, instance: &serde_json::Value) -> Vec<String> {
    let schema: serde_json::Value =
        serde_json::from_slice(&std::fs::read(crate_dir().join("schema").join(schema_name)).expect("schema file"))
            .expect("schema is JSON");
    let validator = jsonschema::validator_for(&schema).expect("schema compiles");
    validator.iter_errors(instance).map(|e| format!("{}: {e}", e.instance_path())).collect()
}

/// Compares `actual` with the golden file; `WSHARNESS_BLESS=1` rewrites it instead.
pub fn golden(path: &Path, actual: &str) {
    if std::env::var_os("WSHARNESS_BLESS").is_some() {
        std::fs::write(path, actual).expect("write golden file");
        return;
    }
    let expected = std::fs::read_to_string(path)
        .unwrap_or_else(|_| panic!("{} is missing: run with WSHARNESS_BLESS=1 to create it", path.display()));
    if expected != actual {
        let diff: Vec<String> = expected
            .lines()
            .zip(actual.lines())
            .enumerate()
            .filter(|(_, (e, a))| e != a)
            .take(5)
            .map(|(i, (e, a))| format!("line {}:\n  expected: {e}\n  actual:   {a}", i + 1))
            .collect();
        panic!(
            "{} differs ({} vs {} lines; WSHARNESS_BLESS=1 rewrites it after review):\n{}",
            path.display(),
            expected.lines().count(),
            actual.lines().count(),
            diff.join("\n")
        );
    }
}
