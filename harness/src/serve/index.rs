//! `index.json` in Autobahn|Testsuite's layout, so that CI diffs written for Autobahn keep working.
//!
//! Autobahn's `FuzzingFactory.createMasterReportJSON` writes, for every agent and every case that ran:
//!
//! ```json
//! {
//!    "Tungstenite": {
//!       "1.1.1": {
//!          "behavior": "OK",
//!          "behaviorClose": "OK",
//!          "duration": 1,
//!          "remoteCloseCode": 1000,
//!          "reportfile": "tungstenite_case_1_1_1.json"
//!       }
//!    }
//! }
//! ```
//!
//! with `json.dumps(res, sort_keys=True, indent=3, separators=(',', ': '))`: keys sorted as strings (`10.1.1`
//! before `2.1`), three spaces of indent, non-ASCII escaped, no final newline. [`AutobahnIndex::to_json`] writes
//! exactly that. The case key is the Autobahn id, or our id for a case Autobahn lacks
//! ([`super::numbering`]); `duration` is in milliseconds, rounded; `remoteCloseCode` is the code of the client's
//! close frame (`null` without one). What our verdicts become:
//!
//! - a case NOT RUN is left out, as Autobahn has no entry for a case the client never ran;
//! - ERRORED is written as it is (Autobahn has no such verdict: a diff shows it);
//! - a case whose close was not judged (the client had to refuse our 101) has `behaviorClose: "INFORMATIONAL"`.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::pyjson::ensure_ascii;
use crate::verdict::{CloseVerdict, Verdict};

/// The most agents one index holds (each runner names itself; a client cannot grow the index without bound).
pub const MAX_AGENTS: usize = 64;

/// One case's result for one agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexEntry {
    /// The behaviour verdict.
    pub behavior: Verdict,
    /// The close verdict (`INFORMATIONAL` when not judged).
    #[serde(rename = "behaviorClose")]
    pub behavior_close: CloseVerdict,
    /// Wall time of the case, in milliseconds.
    pub duration: u64,
    /// The status code of the client's close frame, if it sent one with a code.
    #[serde(rename = "remoteCloseCode")]
    pub remote_close_code: Option<u16>,
    /// The case's own report file, named as Autobahn names it ([`report_file_name`]).
    pub reportfile: String,
}

/// One case's result, as the run gives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CaseResult {
    /// The behaviour verdict.
    pub verdict: Verdict,
    /// The close verdict, where judged.
    pub close: Option<CloseVerdict>,
    /// The status code of the client's close frame, if it sent one with a code.
    pub remote_close_code: Option<u16>,
    /// Wall time of the case.
    pub duration: Duration,
}

/// `index.json` could not be recorded into or read.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum IndexError {
    /// A new agent would pass [`MAX_AGENTS`].
    #[error("more than {limit} agents")]
    TooManyAgents {
        /// The limit.
        limit: usize,
    },
    /// The text is not an index in Autobahn's layout.
    #[error("not an index.json in Autobahn's layout")]
    Parse(#[source] serde_json::Error),
}

/// Every agent's results: agent, then case key, then the entry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AutobahnIndex {
    agents: BTreeMap<String, BTreeMap<String, IndexEntry>>,
}

impl AutobahnIndex {
    /// Records a case's result for an agent (replacing an earlier run of the same case). A case NOT RUN is not
    /// recorded (`Ok(false)`).
    pub fn record(&mut self, agent: &str, case_key: &str, result: CaseResult) -> Result<bool, IndexError> {
        if result.verdict == Verdict::NotRun {
            return Ok(false);
        }
        if !self.agents.contains_key(agent) && self.agents.len() >= MAX_AGENTS {
            return Err(IndexError::TooManyAgents { limit: MAX_AGENTS });
        }
        let entry = IndexEntry {
            behavior: result.verdict,
            behavior_close: result.close.unwrap_or(CloseVerdict::Informational),
            // Autobahn: int(round(1000. * seconds))
            duration: (result.duration.as_secs_f64() * 1000.0).round() as u64,
            remote_close_code: result.remote_close_code,
            reportfile: report_file_name(agent, case_key),
        };
        self.agents.entry(agent.to_owned()).or_default().insert(case_key.to_owned(), entry);
        Ok(true)
    }

    /// The entry of a case for an agent, once recorded (what `/getCaseStatus` waits for).
    pub fn entry(&self, agent: &str, case_key: &str) -> Option<&IndexEntry> {
        self.agents.get(agent)?.get(case_key)
    }

    /// The agents, sorted.
    pub fn agents(&self) -> impl Iterator<Item = &str> {
        self.agents.keys().map(String::as_str)
    }

    /// The index as Autobahn writes it, byte for byte (no final newline).
    pub fn to_json(&self) -> String {
        let mut out = Vec::new();
        let formatter = serde_json::ser::PrettyFormatter::with_indent(b"   ");
        let mut serializer = serde_json::Serializer::with_formatter(&mut out, formatter);
        // a map of strings to plain structs cannot fail to serialize into memory
        if self.serialize(&mut serializer).is_err() {
            return String::from("{}");
        }
        ensure_ascii(&String::from_utf8_lossy(&out))
    }

    /// Reads an index written by Autobahn's fuzzingserver or by [`AutobahnIndex::to_json`] (one written by its
    /// fuzzingclient may hold `"FAILED BY CLIENT"`, a close verdict we do not have: refused).
    pub fn from_json(text: &str) -> Result<AutobahnIndex, IndexError> {
        serde_json::from_str(text).map_err(IndexError::Parse)
    }
}

/// The name Autobahn gives a case's report file: the agent lower-cased, every character outside `a-z0-9` a
/// space, trimmed, spaces as `_` (`FuzzingFactory.cleanForFilename`), then `_case_` and the case key with every
/// character outside `A-Za-z0-9-` as `_` (Autobahn replaces the dots of its ids; our ids also have `/`).
pub fn report_file_name(agent: &str, case_key: &str) -> String {
    let agent = clean_for_filename(agent);
    let case: String = case_key.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' }).collect();
    format!("{agent}_case_{case}.json")
}

/// An agent's folder name: its name cleaned as Autobahn cleans it for file names (`agent` when nothing is
/// left).
pub fn clean_agent(agent: &str) -> String {
    match clean_for_filename(agent) {
        cleaned if cleaned.is_empty() => "agent".to_owned(),
        cleaned => cleaned,
    }
}

/// `FuzzingFactory.cleanForFilename`: lower-cased, every character outside `a-z0-9` a space, trimmed, spaces
/// as `_`.
fn clean_for_filename(agent: &str) -> String {
    let lowered: String = agent
        .chars()
        .flat_map(char::to_lowercase)
        .map(|c| if c.is_ascii_lowercase() || c.is_ascii_digit() { c } else { ' ' })
        .collect();
    lowered.trim_matches(' ').replace(' ', "_")
}

#[cfg(test)]
mod tests;
