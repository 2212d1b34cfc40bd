//! The judge: sans-IO. It takes typed [`Event`]s (frames, the TCP close, a
//! deadline that passed) and the handshake response, and returns typed
//! results: an expectation is [`Judgement::Met`] or a [`Miss`] with the
//! verdict it earns and h2spec's Expected/Actual; the close phase (RFC 6455
//! §7) is a small state enum ([`close::CloseJudge`]). It never reads a socket
//! or a clock: the runner moves bytes, turns reads into events and hands them
//! over, and writes what the judge asks to send.
//!
//! One concern per file: [`opening`] (the handshake response), [`expect`]
//! (one expectation step), [`close`] (the closing handshake), [`sent`] (what a
//! correct server echoes of what the case sent), [`describe`] (the one-line
//! wording of reasons).

pub mod close;
pub mod deflate;
pub mod describe;
pub mod expect;
pub mod opening;
pub mod sent;

#[cfg(test)]
mod tests;

use std::time::Duration;

use super::event::close_code;
use crate::case::Expectation;
use crate::verdict::{CloseVerdict, Verdict};
use crate::wire::{
    ClosePayload, Endpoint, FrameHeader, KeyFreshness, Message, MessageAssembler, Opcode, Violation, ViolationKind,
    RSV1,
};

pub use close::{CloseFacts, CloseJudge, CloseOutcome, ClosePhase, CloseStart, Initiator};
pub use deflate::{DeflateSummary, DirectionStats, PeerDeflate};
pub use expect::{Judgement, StepJudge};
pub use opening::{looks_like_tls, Deflate, NoResponse, Opening};
pub use sent::SentMessages;

/// What the server did instead of what a step expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actual {
    /// Nothing arrived before the step's deadline.
    Nothing,
    /// Something else happened, in one line.
    Saw(String),
}

impl Actual {
    /// The observation as the report shows it (`nothing` when nothing came).
    pub fn describe(&self) -> String {
        match self {
            Actual::Nothing => "nothing".to_string(),
            Actual::Saw(what) => what.clone(),
        }
    }
}

/// A missed expectation: the verdict it earns, what the step required and what happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Miss {
    /// The verdict: the step's rating, or FAILED where a rule of the RFC was broken whatever the rating.
    pub verdict: Verdict,
    /// The requirement, in one line.
    pub expected: String,
    /// What the server did instead.
    pub actual: Actual,
}

/// How bad a mismatch is before the step's rating applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// The step's `mismatch` rating (FAILED unless the case file says milder).
    AsRated,
    /// FAILED whatever the step's rating: a rule of the RFC broken, not a preference
    /// (a corrupted echo, RFC 6455 §5.6; a broken 101, §4.1).
    Broken,
}

/// A mismatch found by one matcher, before the step's rating applies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    /// How bad.
    pub severity: Severity,
    /// The requirement.
    pub expected: String,
    /// What happened.
    pub actual: Actual,
}

impl Mismatch {
    /// A mismatch rated as the step says.
    pub fn rated(expected: impl Into<String>, actual: Actual) -> Mismatch {
        Mismatch { severity: Severity::AsRated, expected: expected.into(), actual }
    }

    /// A mismatch that is FAILED whatever the step says.
    pub fn broken(expected: impl Into<String>, actual: Actual) -> Mismatch {
        Mismatch { severity: Severity::Broken, expected: expected.into(), actual }
    }
}

/// What the server's frames showed as they were read, whichever step consumed them:
/// the rules they broke and the server's first close frame.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WireFacts {
    /// Rules the server's frames broke: the first violation of each kind, in order (a flood of frames
    /// breaking one rule is one entry, so what is held stays small; the verdict depends on the kinds).
    pub violations: Vec<Violation>,
    /// Violations of a kind already listed.
    pub repeated: u64,
    /// The server's first close frame, when read: its code (`None`: no code).
    pub server_close: Option<Option<u16>>,
    /// permessage-deflate was negotiated: RSV1 may mark a message's first frame (RFC 7692 §6).
    pub deflate: bool,
    /// Who sends the frames read: the server under test (the default), or the client under test
    /// when we play the server (issue 13), whose frames keep the client's rules.
    pub peer: Endpoint,
    /// The client's masking keys over its frames (read only when `peer` is the client).
    pub keys: KeyFreshness,
    /// The rules the client's opening request broke (RFC 6455 §4.1), when we play the server.
    pub request: Vec<Violation>,
}

impl WireFacts {
    /// Takes note of one frame read from the server: its header and the start of its payload (all of a
    /// control frame's).
    pub fn on_frame(&mut self, header: &FrameHeader, first: &[u8]) {
        let starts_message = header.defined_opcode().is_some_and(|o| o.is_data() && o != Opcode::Continuation);
        // RFC 7692 §6: with permessage-deflate, RSV1 marks a compressed message on its first frame
        let allowed = if self.deflate && starts_message { RSV1 } else { 0 };
        let mut found = header.violations(self.peer, allowed);
        if self.peer == Endpoint::Client {
            // RFC 6455 §5.3: a fresh masking key for each frame, judged over the connection
            found.extend(self.keys.observe(header.masking_key));
        }
        if self.deflate && !starts_message && header.rsv & RSV1 != 0 {
            // RFC 7692 §6.1: RSV1 is set on the first frame of a message only
            found.retain(|v| v.kind != ViolationKind::ReservedBitsSet || header.rsv & !RSV1 != 0);
            let what = format!("RSV1 on a {} frame", Opcode::name_of(header.opcode));
            found.push(Violation::new(ViolationKind::DeflateRsv1NotFirstFrame, what));
        }
        self.add(found);
        if header.defined_opcode() == Some(Opcode::Close) {
            self.add(ClosePayload::parse(first).violations());
            if self.server_close.is_none() {
                self.server_close = Some(close_code(first));
            }
        }
    }

    fn add(&mut self, found: Vec<Violation>) {
        for v in found {
            if self.violations.iter().any(|seen| seen.kind == v.kind) {
                self.repeated += 1;
            } else {
                self.violations.push(v);
            }
        }
    }
}

/// The verdict of a case as it is built: the worst miss wins, with its first reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseJudgement {
    /// The behaviour verdict so far.
    pub verdict: Verdict,
    /// One line, for anything not OK.
    pub reason: Option<String>,
    /// The requirement of the step that missed.
    pub expected: Option<String>,
    /// What the server did instead, or (when all is well) what it did worth reporting.
    pub observed: Option<String>,
    /// The close behaviour, where judged.
    pub close: Option<CloseOutcome>,
    /// permessage-deflate, when negotiated: the extension and the traffic each way.
    pub deflate: Option<DeflateSummary>,
}

impl Default for CaseJudgement {
    fn default() -> Self {
        CaseJudgement { verdict: Verdict::Ok, reason: None, expected: None, observed: None, close: None, deflate: None }
    }
}

impl CaseJudgement {
    /// Records a miss; the worst verdict, and its first reason, win.
    pub fn miss(&mut self, verdict: Verdict, reason: String, expected: Option<String>, observed: Option<String>) {
        if verdict > self.verdict {
            self.verdict = verdict;
            self.reason = Some(reason);
            self.expected = expected;
            self.observed = observed;
        }
    }

    /// Records what the server did, when nothing went wrong (the last such observation wins).
    pub fn saw(&mut self, what: String) {
        if self.verdict == Verdict::Ok {
            self.observed = Some(what);
        }
    }

    /// Whether the case has already failed (later steps need not run).
    pub fn failed(&self) -> bool {
        self.verdict >= Verdict::Failed
    }

    /// Judges the rules the server's frames broke: FAILED, except where the RFC leaves room.
    pub fn judge_violations(&mut self, facts: &WireFacts, sent_close_codes: &[u16]) {
        let echoed_ours = matches!(facts.server_close, Some(Some(c)) if sent_close_codes.contains(&c));
        for v in &facts.violations {
            let verdict = match v.kind {
                // 1012-1014 were registered with IANA after the RFC: neither right nor wrong
                ViolationKind::CloseCodeRegisteredAfterRfc => Verdict::Informational,
                // echoing back the invalid code the client itself sent (Autobahn 7.13.x rates this INFORMATIONAL)
                ViolationKind::CloseCodeOutOfRange | ViolationKind::CloseCodeNotForWire if echoed_ours => {
                    Verdict::Informational
                }
                _ => Verdict::Failed,
            };
            self.miss(verdict, format!("the {} sent an invalid frame: {v}", facts.peer.as_str()), None, None);
        }
        for v in &facts.request {
            self.miss(Verdict::Failed, format!("the client's opening request breaks {v}"), None, None);
        }
    }

    /// Judges the server's compressed stream once the case is over: a rule of RFC 7692 broken is FAILED,
    /// with its evidence; a server that negotiated permessage-deflate and compressed nothing worth
    /// compressing is reported (INFORMATIONAL), with what it sent.
    pub fn judge_deflate(&mut self, deflate: Option<&PeerDeflate>) {
        let Some(d) = deflate else { return };
        self.deflate = Some(d.summary());
        for v in &d.violations {
            let reason = format!("the server's compressed data breaks {}: {}", v.rfc, v.observed);
            self.miss(Verdict::Failed, reason, Some(v.rule.to_string()), Some(v.observed.clone()));
        }
        if d.never_compressed() {
            let s = &d.received;
            let reason = format!(
                "permessage-deflate negotiated ({}), but the server compressed none of its {} messages \
                 ({} bytes, the largest {} bytes): compression ratio 1.00",
                d.deflate.response, s.messages, s.wire_bytes, s.largest
            );
            self.miss(Verdict::Informational, reason, None, None);
        }
    }

    /// The close verdict, if judged.
    pub fn close_verdict(&self) -> Option<CloseVerdict> {
        self.close.as_ref().map(|c| c.verdict)
    }
}

/// The reason line of a miss: `expected X; got Y`, or `expected X; no response within N s after sending Z`.
pub fn miss_reason(miss: &Miss, waited: Duration, last_sent: &str) -> String {
    match &miss.actual {
        Actual::Nothing => {
            // 2.0 s, 0.25 s: as precise as the wait was set
            let secs = waited.as_secs_f64();
            let shown = if waited.subsec_millis() % 100 == 0 { format!("{secs:.1}") } else { format!("{secs:.2}") };
            format!("expected {}; no response within {shown} s after sending {last_sent}", miss.expected)
        }
        Actual::Saw(what) => format!("expected {}; got {what}", miss.expected),
    }
}

/// Everything the judge knows about one case while its steps run.
#[derive(Debug)]
pub struct CaseState {
    /// The opening handshake's result.
    pub opening: Opening,
    /// What the case sent, and the echoes still due.
    pub sent: SentMessages,
    /// The server's data frames, reassembled across steps.
    pub assembler: MessageAssembler,
    /// The close frame a `close` step took (its code and summary): later `close` steps judge it again.
    pub close_taken: Option<(Option<u16>, String)>,
    /// A step accepted the server dropping the connection.
    pub accepted_drop: bool,
    /// The verdict so far.
    pub judgement: CaseJudgement,
    /// What the case sent last, in one line (for "no response within 2 s after sending ...").
    pub last_sent: String,
    /// permessage-deflate, when negotiated: the server's stream inflated and judged, both ways counted.
    pub deflate: Option<PeerDeflate>,
    /// The implementation under test: the server (the default) or, when we play the server, the client.
    pub peer: Endpoint,
}

/// How one step ended, for [`CaseState::conclude`].
#[derive(Debug)]
pub struct StepEnd<'a> {
    /// What the step expected.
    pub what: &'a Expectation,
    /// The step's line in its case file.
    pub line: usize,
    /// How many times in a row it had to be met.
    pub repeat: usize,
    /// How long the step took.
    pub took: Duration,
    /// How long the step could wait (the "N s" of "no response within N s").
    pub budget: Duration,
    /// Whether the server's side of the connection is closed now.
    pub tcp_closed: bool,
}

impl CaseState {
    /// The state of a case whose handshake got `opening`; `message_limit` bounds a reassembled message.
    pub fn new(opening: Opening, message_limit: u64) -> CaseState {
        CaseState::with_peer(opening, message_limit, Endpoint::Server)
    }

    /// The state of a case testing `peer` (the server, or the client when we play the server).
    pub fn with_peer(opening: Opening, message_limit: u64, peer: Endpoint) -> CaseState {
        let limit = usize::try_from(message_limit).unwrap_or(usize::MAX);
        let deflate = opening.deflate.clone().map(|d| PeerDeflate::of(peer, d, limit));
        let mut sent = match &opening.deflate {
            Some(d) => SentMessages::default().with_deflate(&d.negotiated, peer.other(), limit),
            None => SentMessages::default(),
        };
        sent.sender = peer.other();
        CaseState {
            deflate,
            opening,
            sent,
            assembler: MessageAssembler::with_max_message(message_limit),
            close_taken: None,
            accepted_drop: false,
            judgement: CaseJudgement::default(),
            last_sent: String::from("the opening handshake"),
            peer,
        }
    }

    /// A data message from the server as the application sees it: inflated if compressed (RFC 7692 §6),
    /// counted either way; `Err` with the rule broken when it cannot be read.
    pub fn server_message(&mut self, m: Message, compressed: bool) -> Result<Message, String> {
        match (&mut self.deflate, compressed) {
            (Some(d), true) => {
                let seen = d.violations.len();
                let plain = d.inflate(m.payload(), m.is_text())?;
                if let Some(v) = d.violations.get(seen) {
                    // a rule of RFC 7692 broken in the stream: the case has its verdict, the rest need not run
                    return Err(format!("compressed data that breaks {}: {}", v.rfc, v.observed));
                }
                Ok(if m.is_text() { Message::Text(plain) } else { Message::Binary(plain) })
            }
            (Some(d), false) => {
                d.plain(m.payload().len());
                Ok(m)
            }
            // RFC 6455 §5.2: without an extension that defines it, RSV1 is 0
            (None, true) => Err("a message with RSV1 set although permessage-deflate was not negotiated".into()),
            (None, false) => Ok(m),
        }
    }

    /// Records how a step ended (`Ok`: met, with what the server did; `Err`: the miss). Returns the
    /// trace note, and whether the case stops here (a miss rated FAILED).
    pub fn conclude(&mut self, end: &StepEnd<'_>, result: Result<Option<String>, Miss>) -> (String, bool) {
        let what = describe::describe_expectation(end.what);
        if matches!(end.what, Expectation::Close { .. } | Expectation::Dropped) && result.is_ok() && end.tcp_closed {
            self.accepted_drop = true;
        }
        match result {
            Ok(seen) => {
                let times = if end.repeat > 1 { format!(" ({} times)", end.repeat) } else { String::new() };
                let after = end.took.as_secs_f64() * 1000.0;
                let how = seen.as_ref().map(|s| format!(" ({s})")).unwrap_or_default();
                if let Some(seen) = seen {
                    // what the server did, for the report (limits cases are judged on it)
                    self.judgement.saw(format!("{seen} after {after:.0} ms"));
                }
                (format!("line {}: met{times} after {after:.1} ms: {what}{how}", end.line), false)
            }
            Err(miss) => {
                let reason = miss_reason(&miss, end.budget, &self.last_sent);
                let note = format!("line {}: {}: {reason}", end.line, miss.verdict);
                let stop = miss.verdict == Verdict::Failed;
                self.judgement.miss(miss.verdict, reason, Some(miss.expected), Some(miss.actual.describe()));
                (note, stop)
            }
        }
    }
}
