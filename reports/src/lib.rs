//! The report model of wsharness: versioned JSON that CI scripts read, a
//! self-contained HTML page per run, JUnit XML for CI systems, and the
//! comparison of two runs.
//!
//! # The JSON
//!
//! Every report is one JSON object with two fields that say how to read the rest:
//! `schema_version` ([`SCHEMA_VERSION`]) and `kind` (`"conformance"` or `"load"`).
//! [`read_report`] checks both before it reads anything else, so a report of
//! another version is refused with a message naming both versions rather than
//! misread. Field names documented on the model types are stable within a
//! schema version; a JSON Schema of each kind is committed under
//! `reports/schema/` and the tests validate the reports the harness writes
//! against it. The models are [`conformance::ConformanceReport`] and
//! [`load::LoadReport`].
//!
//! # Writing
//!
//! [`write_atomic`] writes a temporary file in the same folder, then renames
//! it: a report is either complete on disk or absent, never half-written.
//!
//! # Verdicts
//!
//! [`verdict`] holds the verdicts, the gate (`--fail-on`, [`verdict::FailOn`])
//! and the one rule that says whether a case fails ([`verdict::fails`]); every
//! output below applies it, under the gate recorded in the report.
//!
//! # Size
//!
//! A conformance report's JSON and HTML page each stay under 2 MB: [`budget::fit`]
//! cuts the wire traces of a report that would not, and the report says what it cut.
//!
//! # Outputs
//!
//! - [`html::render`]: one HTML file, no network fetch (a Content-Security-Policy
//!   forbids any), inline CSS and SVG, a little inline script for the filter;
//! - [`junit::render`]: JUnit XML, one `<testcase>` per case ([`junit::render_load`]:
//!   one per `--threshold` of a load run);
//! - [`compare`]: what got worse, better, appeared or disappeared between two runs.
//!
//! Dependencies and why: `serde`, `serde_json` (the JSON format); `thiserror`
//! (errors); `askama` (HTML templates in `reports/templates/`, checked at compile
//! time and escaped by default, so no markup is pasted together by hand);
//! `plotters` with its SVG backend only (the plots of load reports, drawn as
//! inline SVG); `quick-junit` (JUnit XML, the serializer cargo-nextest uses);
//! `hdrhistogram` and `base64` (lossless latency histograms in the load report,
//! mergeable across shards, and re-analysed for the plots).

pub mod budget;
pub mod compare;
pub mod conformance;
pub mod html;
mod json;
pub mod junit;
pub mod load;
pub mod matrix;
pub mod scenario;
pub mod schedule;
pub mod verdict;

pub use json::{parse_report, read_report, write_atomic, write_json, ReadError, WriteError};

/// The version of the JSON report format; bumped on any incompatible change.
pub const SCHEMA_VERSION: u32 = 1;

/// The report kinds this version reads and writes, as spelled in `kind`.
pub const KINDS: [&str; 2] = ["conformance", "load"];

/// A report of any kind, as read back from JSON ([`read_report`]).
#[derive(Debug, Clone, PartialEq)]
pub enum Report {
    /// `kind: "conformance"`.
    Conformance(Box<conformance::ConformanceReport>),
    /// `kind: "load"`.
    Load(Box<load::LoadReport>),
}

impl Report {
    /// The `kind` field: `"conformance"` or `"load"`.
    pub fn kind(&self) -> &'static str {
        match self {
            Report::Conformance(_) => "conformance",
            Report::Load(_) => "load",
        }
    }

    /// Whether the run finished (`false`: interrupted, the report covers what ran).
    pub fn complete(&self) -> bool {
        match self {
            Report::Conformance(r) => r.complete,
            Report::Load(r) => r.complete,
        }
    }
}

/// Why a report could not be turned into HTML or JUnit XML.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// The template engine failed (a bug: every field is plain data).
    #[error("cannot render the HTML template")]
    Template(#[source] askama::Error),
    /// The report could not be serialized to measure it (a bug: the model always serializes).
    #[error("cannot serialize the report")]
    Json(#[source] serde_json::Error),
    /// A plot could not be drawn.
    #[error("cannot draw the plot '{0}'")]
    Plot(String),
    /// The JUnit serializer failed.
    #[error("cannot write the JUnit XML")]
    Junit(#[source] quick_junit::SerializeError),
    /// A histogram of a load report could not be decoded.
    #[error("cannot decode the histogram '{name}'")]
    Histogram {
        /// Which one.
        name: String,
        /// Why.
        #[source]
        source: load::HistogramError,
    },
}
