//! The report model of wsharness: versioned JSON, HTML, JUnit XML and
//! comparison of two runs.
//!
//! Only the schema version exists yet; the model arrives with the conformance
//! runner and grows with the load generator.
//!
//! Dependencies: `serde` and `serde_json` (the JSON report is a public interface).

/// The version of the JSON report format; bumped on any incompatible change.
pub const SCHEMA_VERSION: u32 = 1;
