//! Autobahn|Testsuite's fuzzingserver URL API, sans-IO: a request target in, an [`ApiRequest`] or an
//! [`ApiError`] out, and the messages Autobahn answers with.
//!
//! What `FuzzingServerProtocol.onConnect` (autobahntestsuite/fuzzing.py) does, and this router copies:
//!
//! - the query is read as Python's `parse_qs` reads it ([`super::query`]);
//! - `agent`, `case`, `casetuple` and `shutdownOnComplete` may each be given once; `case` (a decimal number,
//!   surrounding spaces and a sign allowed, as Python's `int()`) wins over `casetuple` (a case key, trimmed);
//! - a case given is checked against the count whatever the path (`/getCaseCount?case=999` is refused);
//! - the path is compared exactly: `/runCase` needs a case and an agent, `/getCaseStatus` too, `/getCaseInfo`
//!   a case, `/updateReports` an agent; `/getCaseCount` and `/stopServer` nothing.
//!
//! Where we differ: Autobahn answers a refused request with HTTP 500 and takes an unknown path as its JSON
//! "direct command mode"; we answer 400 (404 for an unknown path) with the reason ([`ApiError::reply`]).
//! Everything a client sends is bounded: the target ([`MAX_TARGET`]), the parameters ([`MAX_PARAMETERS`]) and
//! an agent name ([`MAX_AGENT`]).

use thiserror::Error;

use super::numbering::{CaseNumber, CaseNumbering};
use super::pyjson;
use super::query::parse_qs;
use crate::wire::handshake::server::{split_target, ServerReply};

/// The longest request target routed, in bytes.
pub const MAX_TARGET: usize = 8 * 1024;
/// The most query parameters routed.
pub const MAX_PARAMETERS: usize = 32;
/// The longest agent name, in bytes (after decoding).
pub const MAX_AGENT: usize = 128;

/// What a client asked the fuzzing server for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiRequest {
    /// `/getCaseCount`: how many cases there are.
    GetCaseCount,
    /// `/runCase?case=N&agent=A` (or `casetuple=ID`): run case N against this client.
    RunCase {
        /// The case.
        case: CaseNumber,
        /// The client's name in the results.
        agent: String,
    },
    /// `/getCaseInfo?case=N`: the case's id and description.
    GetCaseInfo {
        /// The case.
        case: CaseNumber,
    },
    /// `/getCaseStatus?case=N&agent=A`: the behaviour verdict once the case has run for that agent.
    GetCaseStatus {
        /// The case.
        case: CaseNumber,
        /// The client's name in the results.
        agent: String,
    },
    /// `/updateReports?agent=A`: write the reports (every agent's, as Autobahn does).
    UpdateReports {
        /// The agent that asked (Autobahn requires one but writes every agent's results).
        agent: String,
        /// `shutdownOnComplete=true` (or `yes`): stop the server once the reports are written.
        shutdown_on_complete: bool,
    },
    /// `/stopServer`: stop the server.
    StopServer,
}

/// Why a request target is refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ApiError {
    /// The path is none of the API's.
    #[error("unknown path {path:?}: not one of the fuzzingserver API's")]
    UnknownPath {
        /// The path as received.
        path: String,
    },
    /// The request target is longer than [`MAX_TARGET`].
    #[error("request target is over {limit} bytes")]
    TargetTooLong {
        /// The limit.
        limit: usize,
    },
    /// The request target has a fragment (RFC 6455 §3: a WebSocket URI MUST NOT).
    #[error("request target has a fragment")]
    Fragment,
    /// The query has more than [`MAX_PARAMETERS`] parameters.
    #[error("query has more than {limit} parameters")]
    TooManyParameters {
        /// The limit.
        limit: usize,
    },
    /// A parameter that may be given once was given more than once.
    #[error("parameter {name} given more than once")]
    RepeatedParameter {
        /// The parameter.
        name: &'static str,
    },
    /// `case` is not a decimal number.
    #[error("invalid case number {value:?}")]
    InvalidCaseNumber {
        /// The value as decoded.
        value: String,
    },
    /// `case` is not from 1 to the count.
    #[error("case {case} not found: cases are numbered 1 to {count}")]
    CaseOutOfRange {
        /// The number as given (trimmed).
        case: String,
        /// How many cases there are.
        count: usize,
    },
    /// `casetuple` names no selected case.
    #[error("case tuple {tuple:?} names no selected case")]
    UnknownCaseTuple {
        /// The value as decoded (trimmed).
        tuple: String,
    },
    /// The path needs a case and none was given.
    #[error("{path} needs a case: case=N or casetuple=ID")]
    MissingCase {
        /// The path.
        path: &'static str,
    },
    /// The path needs an agent and none was given (an empty `agent=` counts as none).
    #[error("{path} needs an agent: agent=NAME")]
    MissingAgent {
        /// The path.
        path: &'static str,
    },
    /// The agent name is longer than [`MAX_AGENT`].
    #[error("agent name is over {limit} bytes")]
    AgentTooLong {
        /// The limit.
        limit: usize,
    },
}

impl ApiError {
    /// The HTTP status we refuse the handshake with: 404 for an unknown path, 400 otherwise.
    pub fn status(&self) -> u16 {
        match self {
            ApiError::UnknownPath { .. } => 404,
            _ => 400,
        }
    }

    /// The refusal to send: the status, the error as a `text/plain` body (so that a client's bytes never land
    /// in the status line).
    pub fn reply(&self) -> ServerReply {
        let (status, reason) = match self.status() {
            404 => (404, "Not Found"),
            _ => (400, "Bad Request"),
        };
        let body = self.to_string().into_bytes();
        ServerReply::refusal(status, reason).header("Content-Type", "text/plain; charset=utf-8").body(body)
    }
}

/// The parameters the API reads, each at most once.
#[derive(Debug, Default)]
struct Params {
    agent: Option<String>,
    case: Option<String>,
    casetuple: Option<String>,
    shutdown_on_complete: Option<String>,
}

/// Routes a request target (`/runCase?case=3&agent=tungstenite`, origin or absolute form) against the
/// selected cases.
pub fn route(target: &str, cases: &CaseNumbering) -> Result<ApiRequest, ApiError> {
    if target.len() > MAX_TARGET {
        return Err(ApiError::TargetTooLong { limit: MAX_TARGET });
    }
    let parts = split_target(target);
    if parts.fragment.is_some() {
        // RFC 6455 §3: fragment identifiers MUST NOT be used on WebSocket URIs
        return Err(ApiError::Fragment);
    }
    let params = read_params(parts.query.unwrap_or_default())?;
    let case = resolve_case(&params, cases)?;
    let needs_case = |path| case.ok_or(ApiError::MissingCase { path });
    let needs_agent = |path| params.agent.clone().ok_or(ApiError::MissingAgent { path });
    match parts.path {
        "/getCaseCount" => Ok(ApiRequest::GetCaseCount),
        "/runCase" => Ok(ApiRequest::RunCase { case: needs_case("/runCase")?, agent: needs_agent("/runCase")? }),
        "/getCaseInfo" => Ok(ApiRequest::GetCaseInfo { case: needs_case("/getCaseInfo")? }),
        "/getCaseStatus" => {
            Ok(ApiRequest::GetCaseStatus { case: needs_case("/getCaseStatus")?, agent: needs_agent("/getCaseStatus")? })
        }
        "/updateReports" => Ok(ApiRequest::UpdateReports {
            agent: needs_agent("/updateReports")?,
            shutdown_on_complete: params
                .shutdown_on_complete
                .as_deref()
                .is_some_and(|v| v.eq_ignore_ascii_case("true") || v.eq_ignore_ascii_case("yes")),
        }),
        "/stopServer" => Ok(ApiRequest::StopServer),
        path => Err(ApiError::UnknownPath { path: path.to_owned() }),
    }
}

/// The API's parameters; others are ignored, as Autobahn does.
fn read_params(query: &str) -> Result<Params, ApiError> {
    if query.split('&').count() > MAX_PARAMETERS {
        return Err(ApiError::TooManyParameters { limit: MAX_PARAMETERS });
    }
    let mut params = Params::default();
    for (name, value) in parse_qs(query) {
        let (slot, name) = match name.as_str() {
            "agent" => (&mut params.agent, "agent"),
            "case" => (&mut params.case, "case"),
            "casetuple" => (&mut params.casetuple, "casetuple"),
            "shutdownOnComplete" => (&mut params.shutdown_on_complete, "shutdownOnComplete"),
            _ => continue,
        };
        if slot.replace(value).is_some() {
            return Err(ApiError::RepeatedParameter { name });
        }
    }
    if params.agent.as_ref().is_some_and(|agent| agent.len() > MAX_AGENT) {
        return Err(ApiError::AgentTooLong { limit: MAX_AGENT });
    }
    Ok(params)
}

/// The case named by `case` (which wins) or `casetuple`, checked against the numbering.
fn resolve_case(params: &Params, cases: &CaseNumbering) -> Result<Option<CaseNumber>, ApiError> {
    if let Some(value) = &params.case {
        return case_number(value, cases).map(Some);
    }
    match &params.casetuple {
        Some(tuple) => cases
            .number_of(tuple.trim())
            .map(Some)
            .ok_or_else(|| ApiError::UnknownCaseTuple { tuple: tuple.trim().to_owned() }),
        None => Ok(None),
    }
}

/// `case=N` as Python's `int()` reads it (ASCII digits only), then checked against the count.
fn case_number(value: &str, cases: &CaseNumbering) -> Result<CaseNumber, ApiError> {
    let trimmed = value.trim();
    let digits = trimmed.strip_prefix(['+', '-']).unwrap_or(trimmed);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ApiError::InvalidCaseNumber { value: value.to_owned() });
    }
    let out_of_range = || ApiError::CaseOutOfRange { case: trimmed.to_owned(), count: cases.count() };
    if trimmed.starts_with('-') {
        return Err(out_of_range());
    }
    let number: usize = digits.parse().map_err(|_| out_of_range())?;
    cases.case(number).map(|(number, _)| number).ok_or_else(out_of_range)
}

/// The text message answering `/getCaseCount`: the count as a JSON number (`517`).
pub fn case_count_message(count: usize) -> String {
    count.to_string()
}

/// The text message answering `/getCaseInfo`: `{"id": "1.1.1", "description": "..."}`, as Python's
/// `json.dumps` writes it (that key order, `, ` and `: ` separators, non-ASCII escaped).
pub fn case_info_message(id: &str, description: &str) -> String {
    format!("{{\"id\": {}, \"description\": {}}}", pyjson::string(id), pyjson::string(description))
}

/// The text message answering `/getCaseStatus`: `{"behavior": "OK"}`.
pub fn case_status_message(behavior: &str) -> String {
    format!("{{\"behavior\": {}}}", pyjson::string(behavior))
}

#[cfg(test)]
mod tests;
