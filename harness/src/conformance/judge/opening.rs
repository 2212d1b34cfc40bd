//! The opening handshake as the judge sees it (RFC 6455 §4.1, §4.2.2): the
//! server's response, or why there is none, and what a step requires of it.

use std::fmt;
use std::time::Duration;

use super::describe::join_codes;
use super::{Actual, Mismatch};
use crate::wire::deflate::{negotiate, Negotiated, Negotiation};
use crate::wire::{HandshakeError, ServerResponse};

/// Why there is no response to judge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoResponse {
    /// Nothing complete arrived within the budget.
    Timeout {
        /// How long the harness waited.
        waited: Duration,
    },
    /// The server closed the connection before a response.
    Closed,
    /// The connection broke while waiting.
    Broken(String),
    /// The bytes are not an HTTP response.
    NotHttp {
        /// What the parser found wrong.
        error: HandshakeError,
        /// The first bytes look like a TLS record (a `ws://` URL for a TLS server).
        looks_like_tls: bool,
    },
}

impl fmt::Display for NoResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NoResponse::Timeout { waited } => {
                write!(f, "no HTTP response within {:.1} s after sending the request", waited.as_secs_f64())
            }
            NoResponse::Closed => f.write_str("the server closed the connection without an HTTP response"),
            NoResponse::Broken(e) => write!(f, "connection broken while waiting for the response: {e}"),
            NoResponse::NotHttp { error, .. } => write!(f, "the server's answer is not an HTTP response: {error}"),
        }
    }
}

/// Whether bytes start like a TLS record: a content type of 20-23 and major version 3 (RFC 8446 §5.1).
pub fn looks_like_tls(bytes: &[u8]) -> bool {
    matches!(bytes, [20..=23, 3, ..])
}

/// The opening handshake's result, judged once and seen by every step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opening {
    /// The response, or why there is none.
    pub response: Result<ServerResponse, NoResponse>,
    /// What is wrong with a 101 (RFC 6455 §4.1 items 1-6), if it was one.
    pub problems: Vec<String>,
    /// permessage-deflate, when a valid 101 accepted it (RFC 7692 §7).
    pub deflate: Option<Deflate>,
}

/// permessage-deflate as a valid 101 accepted it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deflate {
    /// The server's `Sec-WebSocket-Extensions` value(s), as sent.
    pub response: String,
    /// What each side may use.
    pub negotiated: Negotiated,
}

impl Deflate {
    /// The permessage-deflate a response accepted, judged against the extensions offered; `None` when it
    /// was not offered, declined, or answered against the rules (the 101's problems say so).
    pub fn accepted(response: &ServerResponse, offered: &[&str]) -> Option<Deflate> {
        let values: Vec<&str> = response.header_values("Sec-WebSocket-Extensions").collect();
        match negotiate(offered, &values) {
            Ok(Negotiation::Accepted(negotiated)) => Some(Deflate { response: values.join(", "), negotiated }),
            _ => None,
        }
    }
}

impl Opening {
    /// Judges `response` against the request that was sent: its key and what it offered.
    pub fn judge(
        response: Result<ServerResponse, NoResponse>,
        key: &str,
        protocols: &[&str],
        extensions: &[&str],
    ) -> Opening {
        let problems = match &response {
            // RFC 6455 §4.1: the client checks the 101 item by item
            Ok(r) if r.status == 101 => {
                r.check_upgrade(key, protocols, extensions).iter().map(ToString::to_string).collect()
            }
            _ => Vec::new(),
        };
        let deflate = match &response {
            Ok(r) if r.status == 101 && problems.is_empty() => Deflate::accepted(r, extensions),
            _ => None,
        };
        Opening { response, problems, deflate }
    }

    /// A valid 101: frames follow.
    pub fn upgraded(&self) -> bool {
        matches!(&self.response, Ok(r) if r.status == 101) && self.problems.is_empty()
    }

    /// A complete HTTP answer other than 101: the server refused, and no WebSocket connection exists to
    /// fail (RFC 6455 §4.1: the client "handles the response per HTTP procedures").
    pub fn is_http_refusal(&self) -> bool {
        matches!(&self.response, Ok(r) if r.status != 101)
    }

    /// Why the case fails when it requires a valid 101 and did not get one (`None`: it did).
    pub fn not_upgraded_reason(&self) -> Option<String> {
        if self.upgraded() {
            return None;
        }
        Some(match &self.response {
            Ok(r) => {
                let why = self
                    .problems
                    .first()
                    .cloned()
                    .unwrap_or_else(|| format!("server answered {} {} instead of 101", r.status, r.reason));
                format!("opening handshake refused or invalid: {why}")
            }
            Err(why) => format!("opening handshake: {why}"),
        })
    }

    /// The `Server` field of a 101, if any.
    pub fn server_header(&self) -> Option<&str> {
        match &self.response {
            Ok(r) if r.status == 101 => r.header("server"),
            _ => None,
        }
    }

    /// `expect = "status"`: one of `codes`, with the `headers` and none of the `absent` fields.
    pub fn check_status(&self, codes: &[u16], headers: &[(String, String)], absent: &[String]) -> Result<(), Mismatch> {
        let expected = describe_status(codes, headers, absent);
        let r = match &self.response {
            Ok(r) => r,
            Err(why) => return Err(Mismatch::rated(expected, Actual::Saw(why.to_string()))),
        };
        if !codes.contains(&r.status) {
            return Err(Mismatch::rated(expected, Actual::Saw(format!("{} {}", r.status, r.reason))));
        }
        if let Some(problem) = self.problems.first() {
            // a 101 is only acceptable when it is a valid one (RFC 6455 §4.2.2)
            return Err(Mismatch::broken(expected, Actual::Saw(format!("101 with a broken handshake: {problem}"))));
        }
        for (name, want) in headers {
            let found: Vec<&str> = r.header_values(name).collect();
            if !found.iter().any(|v| field_matches(v, want)) {
                let observed = if found.is_empty() {
                    format!("no {name} header")
                } else {
                    format!("{name}: {}", found.join(", "))
                };
                return Err(Mismatch::rated(expected, Actual::Saw(observed)));
            }
        }
        for name in absent {
            let found: Vec<&str> = r.header_values(name).collect();
            if !found.is_empty() {
                return Err(Mismatch::rated(expected, Actual::Saw(format!("{name}: {}", found.join(", ")))));
            }
        }
        Ok(())
    }

    /// `expect = "refused"`: any answer but 101, or the connection closed without one (RFC 6455 §4.2.1: the
    /// server "MUST stop processing the client's handshake" of an invalid request).
    pub fn check_refused(&self) -> Result<String, Mismatch> {
        let expected = "the handshake refused (any status but 101, or the connection closed)";
        match &self.response {
            Ok(r) if r.status != 101 => Ok(format!("refused with {} {}", r.status, r.reason)),
            Ok(r) => Err(Mismatch::rated(expected, Actual::Saw(format!("{} {}", r.status, r.reason)))),
            Err(why @ (NoResponse::Closed | NoResponse::Broken(_))) => Ok(format!("refused: {why}")),
            Err(why) => Err(Mismatch::rated(expected, Actual::Saw(why.to_string()))),
        }
    }
}

/// A required field is present: `*` matches any value; otherwise the whole value or one token of a
/// comma-separated list (RFC 7230 §7), case-insensitively.
fn field_matches(value: &str, want: &str) -> bool {
    want == "*"
        || value.trim().eq_ignore_ascii_case(want.trim())
        || value.split(',').any(|t| t.trim().eq_ignore_ascii_case(want.trim()))
}

fn describe_status(codes: &[u16], headers: &[(String, String)], absent: &[String]) -> String {
    let mut expected = if headers.is_empty() {
        format!("HTTP status {}", join_codes(codes))
    } else {
        let h: Vec<String> = headers.iter().map(|(k, v)| format!("{k}: {v}")).collect();
        format!("HTTP status {} with {}", join_codes(codes), h.join(", "))
    };
    if !absent.is_empty() {
        expected.push_str(&format!(" and no {}", absent.join(", no ")));
    }
    expected
}
