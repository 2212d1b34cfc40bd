//! The report model of wsharness: versioned JSON that CI scripts read, and
//! (with later work) HTML, JUnit XML and comparison of two runs.
//!
//! The JSON is a public interface: field names documented here are stable
//! within a [`SCHEMA_VERSION`]. Writing is atomic ([`write_json`]): a report is
//! either complete on disk or absent, never half-written.
//!
//! Dependencies: `serde` and `serde_json` (the JSON format), `thiserror` (errors), `hdrhistogram` and
//! `base64` (lossless latency histograms in the load report, mergeable across shards).

pub mod conformance;
pub mod load;

use std::path::Path;

/// The version of the JSON report format; bumped on any incompatible change.
pub const SCHEMA_VERSION: u32 = 1;

/// Why a report could not be written.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// Serialization failed (a bug: the model always serializes).
    #[error("cannot serialize the report")]
    Serialize(#[source] serde_json::Error),
    /// The file system refused.
    #[error("cannot write {path}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

/// Writes `value` as pretty JSON to `path` atomically: a temporary file in the
/// same folder, then a rename.
pub fn write_json<T: serde::Serialize>(path: &Path, value: &T) -> Result<(), WriteError> {
    let bytes = serde_json::to_vec_pretty(value).map_err(WriteError::Serialize)?;
    let io = |source| WriteError::Io { path: path.display().to_string(), source };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, bytes).map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)
}
