//! The case-file format as written: serde types mirroring the TOML, before
//! matrix expansion and validation. `cases/README.md` documents it field by field.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

/// One case file: cases of one section.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFile {
    /// The report's section name, e.g. `"5.2 reserved bits"`.
    pub section: String,
    /// The default RFC reference of the file's cases, e.g. `"6455 §5.2"`.
    pub rfc: Option<String>,
    /// The cases (`[[case]]` tables).
    #[serde(rename = "case", default)]
    pub cases: Vec<Spanned<RawCase>>,
}

/// A `[[case]]` table: one case, or a family of them with a matrix.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCase {
    pub id: String,
    pub title: String,
    pub rfc: Option<String>,
    pub autobahn: Option<String>,
    /// The implementations the case tests: `["server"]` (absent: servers only), `["client"]`, or both.
    pub roles: Option<Vec<String>>,
    /// Why the rule matters; shown in reports.
    pub why: String,
    /// Cartesian product of parameter lists: `{name}` in strings takes each value.
    #[serde(default)]
    pub matrix: BTreeMap<String, Vec<Value>>,
    /// Explicit parameter rows (`[[case.rows]]`), combined with `matrix`.
    #[serde(default)]
    pub rows: Vec<BTreeMap<String, Value>>,
    #[serde(default)]
    pub handshake: RawHandshake,
    /// `[case.reply]`: our answer to a client under test.
    pub reply: Option<RawReply>,
    /// The case's own time budget in ms, when it needs more than the run's case timeout.
    pub timeout_ms: Option<Param>,
    /// `read = { chunk = 1024, pause_ms = 1 }`: play a slow client.
    pub read: Option<RawRead>,
    #[serde(rename = "step", default)]
    pub steps: Vec<Spanned<RawStep>>,
}

/// A matrix value.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum Value {
    Int(i64),
    Bool(bool),
    Str(String),
}

impl std::fmt::Display for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Value::Int(i) => write!(f, "{i}"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Str(s) => f.write_str(s),
        }
    }
}

/// A number, or a `"{name}"` placeholder filled from the matrix.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum Param {
    Int(i64),
    Placeholder(String),
}

/// `read = { chunk = N, pause_ms = M }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRead {
    pub chunk: Param,
    pub pause_ms: Option<Param>,
}

/// `[case.handshake]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHandshake {
    /// A raw request instead of the default one; `{key}`, `{host}` and `{path}` are filled in.
    pub request: Option<String>,
    /// Header fields added to (or replacing) the default request's.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Header fields removed from the default request.
    #[serde(default)]
    pub remove: Vec<String>,
    /// Delivery of the request.
    pub chunk: Option<Param>,
    pub chunks: Option<Vec<u64>>,
    pub pause_ms: Option<Param>,
    /// `false`: the case's steps judge the response themselves (a status expectation).
    pub expect_101: Option<bool>,
}

/// `[case.reply]`: the changes to our valid 101 when we test a client.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawReply {
    /// Another status code.
    pub status: Option<Param>,
    /// Its reason phrase.
    pub reason: Option<String>,
    /// `"valid"` (the default), `"other-key"`, `"without-guid"`, `"the-key"`, or a literal value.
    pub accept: Option<String>,
    /// Header fields set (replacing a field of the same name).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Header fields removed.
    #[serde(default)]
    pub remove: Vec<String>,
    /// Header fields appended even when one of the name is there.
    #[serde(default)]
    pub append: BTreeMap<String, String>,
    /// How we accept the client's permessage-deflate offer, in order of preference (absent: declined).
    pub deflate: Option<Vec<RawDeflateAccept>>,
}

/// One way of accepting a permessage-deflate offer, `{ client_no_context_takeover = true,
/// client_max_window_bits = 9 }` (`{}`: the offer as it is).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDeflateAccept {
    /// Ask the client not to use context takeover.
    #[serde(default)]
    pub client_no_context_takeover: bool,
    /// Limit the client's window (8-15).
    pub client_max_window_bits: Option<Param>,
}

/// A `[[case.step]]` table: exactly one of `send`, `send_raw`, `wait_ms`, `expect`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStep {
    // actions
    pub send: Option<Param>,
    pub send_raw: Option<String>,
    pub wait_ms: Option<Param>,
    pub expect: Option<String>,
    /// `shutdown = "write"`: half-close (TCP FIN), keep reading.
    pub shutdown: Option<String>,
    // repetition (send, send_raw, expect)
    pub repeat: Option<Param>,
    // frame fields
    pub fin: Option<bool>,
    pub rsv: Option<Param>,
    pub mask: Option<MaskField>,
    pub length: Option<Param>,
    pub declared_len: Option<Param>,
    pub payload: Option<String>,
    pub payload_hex: Option<String>,
    pub payload_len: Option<Param>,
    pub fill: Option<String>,
    pub fill_hex: Option<String>,
    pub fragment: Option<Param>,
    // messages built when the case runs (permessage-deflate)
    /// Compress each message with the negotiated permessage-deflate (RFC 7692).
    pub compress: Option<bool>,
    /// A data set each message is sliced from: json, image, text, html, pdf.
    pub data: Option<String>,
    /// A compressed payload inflating to this many bytes (a decompression bomb).
    pub bomb: Option<Param>,
    /// Await each batch's echo before sending the next.
    pub echo: Option<bool>,
    /// With `data`: every message is the set's first `payload_len` bytes (a message repeated, to tempt a
    /// compressor into referring to the previous one).
    pub same_payload: Option<bool>,
    pub close_code: Option<Param>,
    pub reason: Option<String>,
    pub reason_hex: Option<String>,
    // delivery
    pub chunk: Option<Param>,
    pub chunks: Option<Vec<u64>>,
    pub pause_ms: Option<Param>,
    // expectation fields
    pub status: Option<Vec<Param>>,
    pub headers: Option<BTreeMap<String, String>>,
    pub absent: Option<Vec<String>>,
    pub opcode: Option<String>,
    pub codes: Option<Vec<Param>>,
    pub allow_drop: Option<bool>,
    pub ms: Option<Param>,
    pub timeout_ms: Option<u64>,
    pub mismatch: Option<String>,
}

/// `mask = false`, `mask = true` (a fresh random key) or `mask = "37fa213d"`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum MaskField {
    Flag(bool),
    Key(String),
}
