//! Reading and writing reports: JSON with a version check first, atomic writes.

use std::path::Path;

use crate::{Report, KINDS, SCHEMA_VERSION};

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

/// Why a file could not be read as a report.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The file could not be read.
    #[error("cannot read {path}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// Not JSON at all.
    #[error("{path} is not JSON")]
    NotJson {
        /// The file.
        path: String,
        /// Where the JSON breaks.
        #[source]
        source: serde_json::Error,
    },
    /// JSON, but not a wsharness report (no `schema_version` or `kind`).
    #[error("{path} is not a wsharness report: {what}")]
    NotAReport {
        /// The file.
        path: String,
        /// What is missing.
        what: String,
    },
    /// A report of another schema version.
    #[error(
        "{path} is a report of schema_version {found}; this wsharness ({tool}) reads schema_version {supported} \
         (re-run the report with this version, or compare it with the wsharness that wrote it)"
    )]
    SchemaVersion {
        /// The file.
        path: String,
        /// The version in the file.
        found: u64,
        /// [`SCHEMA_VERSION`].
        supported: u32,
        /// This tool's name and version.
        tool: String,
    },
    /// A `kind` this version does not know.
    #[error("{path} is a report of kind '{kind}'; this wsharness reads {known}")]
    UnknownKind {
        /// The file.
        path: String,
        /// The kind in the file.
        kind: String,
        /// The kinds known, for the message.
        known: String,
    },
    /// Right version and kind, but a field is missing or of the wrong type.
    #[error("{path} does not match the {kind} report model of schema_version {version}")]
    Invalid {
        /// The file.
        path: String,
        /// The kind.
        kind: String,
        /// The version.
        version: u32,
        /// The field at fault.
        #[source]
        source: serde_json::Error,
    },
}

/// Reads a report file of any kind ([`parse_report`] on its bytes).
pub fn read_report(path: &Path) -> Result<Report, ReadError> {
    let name = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|source| ReadError::Io { path: name.clone(), source })?;
    parse_report(&bytes, &name)
}

/// Parses a report: first `schema_version` (refused unless [`SCHEMA_VERSION`]),
/// then `kind`, then the model of that kind. `name` is used in errors.
pub fn parse_report(bytes: &[u8], name: &str) -> Result<Report, ReadError> {
    let path = name.to_string();
    let value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|source| ReadError::NotJson { path: path.clone(), source })?;
    let Some(object) = value.as_object() else {
        return Err(ReadError::NotAReport { path, what: "the top level is not an object".into() });
    };
    let Some(version) = object.get("schema_version").and_then(|v| v.as_u64()) else {
        return Err(ReadError::NotAReport { path, what: "no numeric schema_version field".into() });
    };
    if version != u64::from(SCHEMA_VERSION) {
        return Err(ReadError::SchemaVersion {
            path,
            found: version,
            supported: SCHEMA_VERSION,
            tool: format!("wsharness {}", env!("CARGO_PKG_VERSION")),
        });
    }
    let Some(kind) = object.get("kind").and_then(|v| v.as_str()) else {
        return Err(ReadError::NotAReport { path, what: "no kind field".into() });
    };
    let invalid = |source, kind: &str| ReadError::Invalid {
        path: path.clone(),
        kind: kind.to_string(),
        version: SCHEMA_VERSION,
        source,
    };
    match kind {
        "conformance" => serde_json::from_value(value.clone())
            .map(|r| Report::Conformance(Box::new(r)))
            .map_err(|e| invalid(e, "conformance")),
        "load" => {
            serde_json::from_value(value.clone()).map(|r| Report::Load(Box::new(r))).map_err(|e| invalid(e, "load"))
        }
        other => Err(ReadError::UnknownKind {
            path: path.clone(),
            kind: other.to_string(),
            known: KINDS.iter().map(|k| format!("'{k}'")).collect::<Vec<_>>().join(" and "),
        }),
    }
}

/// Writes `value` as pretty JSON to `path` atomically ([`write_atomic`]).
pub fn write_json<T: serde::Serialize>(path: &Path, value: &T) -> Result<(), WriteError> {
    let bytes = to_json_bytes(value).map_err(WriteError::Serialize)?;
    write_atomic(path, &bytes)
}

/// The bytes [`write_json`] writes: pretty JSON (the size budget measures these).
pub(crate) fn to_json_bytes<T: serde::Serialize>(value: &T) -> Result<Vec<u8>, serde_json::Error> {
    serde_json::to_vec_pretty(value)
}

/// Writes `bytes` to `path` atomically: `NAME.tmp` in the same folder (created
/// if missing), then a rename over `NAME`.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), WriteError> {
    let io = |source| WriteError::Io { path: path.display().to_string(), source };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let mut tmp_name = path.file_name().map(|n| n.to_os_string()).unwrap_or_else(|| "report".into());
    tmp_name.push(".tmp");
    let tmp = path.with_file_name(tmp_name);
    std::fs::write(&tmp, bytes).map_err(io)?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        io(e)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_another_schema_version_naming_both_versions() {
        let e = parse_report(br#"{"schema_version": 2, "kind": "conformance"}"#, "old.json").unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("old.json") && msg.contains("schema_version 2"), "{msg}");
        assert!(msg.contains(&format!("reads schema_version {SCHEMA_VERSION}")), "{msg}");
    }

    #[test]
    fn refuses_json_that_is_not_a_report_and_unknown_kinds() {
        assert!(matches!(parse_report(b"[1]", "x").unwrap_err(), ReadError::NotAReport { .. }));
        assert!(matches!(parse_report(b"{}", "x").unwrap_err(), ReadError::NotAReport { .. }));
        assert!(matches!(parse_report(b"{nope", "x").unwrap_err(), ReadError::NotJson { .. }));
        let e = parse_report(br#"{"schema_version": 1, "kind": "fuzz"}"#, "x").unwrap_err();
        assert!(e.to_string().contains("kind 'fuzz'"), "{e}");
        let e = parse_report(br#"{"schema_version": 1, "kind": "conformance"}"#, "x").unwrap_err();
        assert!(matches!(e, ReadError::Invalid { .. }), "{e}");
    }

    #[test]
    fn atomic_write_leaves_no_temporary_file_and_replaces_the_old_one() {
        let dir = std::env::temp_dir().join(format!("wsharness-reports-atomic-{}", std::process::id()));
        let path = dir.join("sub/report.html");
        write_atomic(&path, b"one").unwrap();
        write_atomic(&path, b"two").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        assert!(!dir.join("sub/report.html.tmp").exists());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
