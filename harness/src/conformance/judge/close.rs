//! The closing handshake (RFC 6455 §7.1), judged on its own after the steps,
//! like Autobahn|Testsuite's "close behavior".
//!
//! [`CloseJudge::start`] looks at how the steps left the connection and either
//! judges at once or says which close frame to send; then the judge is one of
//! two states, [`ClosePhase::AwaitingReply`] (we sent close 1000) and
//! [`ClosePhase::AwaitingTcpClose`] (the close frames are exchanged; the server
//! closes TCP first, §7.1.1), and [`CloseJudge::on_event`] moves it on.

use std::time::Duration;

use crate::conformance::event::{close_code, Event};
use crate::verdict::CloseVerdict;
use crate::wire::{CloseCode, FrameSpec, Opcode};

/// Who sent the first close frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Initiator {
    /// The server closed first.
    Server,
    /// We did, after the steps.
    Client,
    /// Nobody: the connection ended without a close frame.
    None,
}

impl Initiator {
    /// `server`, `client` or `none`, as reports spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Initiator::Server => "server",
            Initiator::Client => "client",
            Initiator::None => "none",
        }
    }
}

/// The close behaviour observed at the end of a case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloseOutcome {
    /// The judgement.
    pub verdict: CloseVerdict,
    /// The code in the server's close frame (`None`: no code, or no close frame).
    pub server_code: Option<u16>,
    /// Who sent the first close frame.
    pub initiated_by: Initiator,
    /// Whether the server closed TCP.
    pub server_closed_tcp: bool,
    /// Why it is not OK.
    pub reason: Option<String>,
}

/// How the steps left the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CloseFacts {
    /// The server's first close frame, if read: its code (`None`: no code).
    pub server_close: Option<Option<u16>>,
    /// The server has closed TCP (or the connection broke).
    pub tcp_closed: bool,
    /// A step accepted the server dropping the connection (`close` with `allow_drop`, `dropped`).
    pub accepted_drop: bool,
    /// Our bytes end inside a frame (a declared length never sent).
    pub mid_frame: bool,
    /// How long each wait of the phase lasts.
    pub close_timeout: Duration,
}

/// The two waits of the closing handshake.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClosePhase {
    /// We sent close 1000; the server's close frame is due (RFC 6455 §5.5.1).
    AwaitingReply,
    /// The close frames are exchanged; the server closes TCP first (RFC 6455 §7.1.1).
    AwaitingTcpClose,
}

/// Where the close phase starts.
#[derive(Debug)]
pub enum CloseStart {
    /// Judged without sending anything.
    Judged(CloseOutcome),
    /// Send this frame, then feed events to the judge.
    Send(FrameSpec, CloseJudge),
}

/// The close phase in progress.
#[derive(Debug)]
pub struct CloseJudge {
    phase: ClosePhase,
    outcome: CloseOutcome,
    close_timeout: Duration,
}

impl CloseJudge {
    /// Judges what needs no more events, or says what to send.
    pub fn start(facts: CloseFacts) -> CloseStart {
        let mut outcome = CloseOutcome {
            verdict: CloseVerdict::Ok,
            server_code: facts.server_close.flatten(),
            initiated_by: if facts.server_close.is_some() { Initiator::Server } else { Initiator::None },
            server_closed_tcp: facts.tcp_closed,
            reason: None,
        };
        let judge = |phase, outcome| CloseJudge { phase, outcome, close_timeout: facts.close_timeout };
        if facts.server_close.is_none() && facts.tcp_closed {
            if !facts.accepted_drop {
                outcome.verdict = CloseVerdict::Unclean;
                outcome.reason = Some("the server closed TCP without a close frame: a browser reports 1006".into());
            }
            return CloseStart::Judged(outcome);
        }
        if let Some(code) = facts.server_close {
            // RFC 6455 §5.5.1: the server closed: we answer, then the server closes TCP first (§7.1.1)
            let reply = match code {
                Some(c) => FrameSpec::close(CloseCode(c), b""),
                None => FrameSpec::close_empty(),
            };
            return CloseStart::Send(reply, judge(ClosePhase::AwaitingTcpClose, outcome));
        }
        if facts.mid_frame {
            // our bytes stopped inside a frame (a declared length never sent): a close frame now would
            // only be read as that frame's payload, so there is no closing handshake to judge
            outcome.verdict = CloseVerdict::Informational;
            outcome.reason = Some(
                "not judged: the case's last frame is unfinished, so a close frame would be read as its payload".into(),
            );
            return CloseStart::Judged(outcome);
        }
        // still open: we start the closing handshake with 1000
        outcome.initiated_by = Initiator::Client;
        CloseStart::Send(FrameSpec::close(CloseCode::NORMAL, b""), judge(ClosePhase::AwaitingReply, outcome))
    }

    /// The phase the judge is in.
    pub fn phase(&self) -> ClosePhase {
        self.phase
    }

    /// Takes the next event; `Some` once the close behaviour is judged. `tcp_closed` tells whether the
    /// server's side is closed now.
    pub fn on_event(&mut self, event: &Event, tcp_closed: bool) -> Option<CloseOutcome> {
        match self.phase {
            ClosePhase::AwaitingReply => self.on_reply_event(event, tcp_closed),
            ClosePhase::AwaitingTcpClose => self.on_tcp_event(event),
        }
    }

    fn on_reply_event(&mut self, event: &Event, tcp_closed: bool) -> Option<CloseOutcome> {
        match event {
            Event::Timeout => Some(self.fail(format!(
                "no close reply within {:.1} s after sending close 1000",
                self.close_timeout.as_secs_f64()
            ))),
            Event::Frame(f) if f.header.defined_opcode() == Some(Opcode::Close) => {
                let code = close_code(&f.payload);
                self.outcome.server_code = code;
                // RFC 6455 §5.5.1: the reply echoes the status code it received (1000), or has none
                if !matches!(code, None | Some(1000)) {
                    self.outcome.verdict = CloseVerdict::WrongCode;
                    self.outcome.reason = Some(format!("replied to close 1000 with code {}", code.unwrap_or_default()));
                }
                self.phase = ClosePhase::AwaitingTcpClose;
                None
            }
            // data the server was already sending when our close crossed it
            Event::Frame(_) => None,
            Event::Closed(_) | Event::Unreadable(_) => {
                self.outcome.server_closed_tcp = tcp_closed;
                self.outcome.verdict = CloseVerdict::Unclean;
                self.outcome.reason =
                    Some("the server closed TCP without replying to our close: a browser reports 1006".into());
                Some(self.outcome.clone())
            }
        }
    }

    fn on_tcp_event(&mut self, event: &Event) -> Option<CloseOutcome> {
        match event {
            Event::Closed(_) => {
                self.outcome.server_closed_tcp = true;
                Some(self.outcome.clone())
            }
            Event::Timeout => Some(self.fail(format!(
                "the server did not close TCP within {:.1} s of the close handshake (RFC 6455 §7.1.1)",
                self.close_timeout.as_secs_f64()
            ))),
            _ => None,
        }
    }

    fn fail(&mut self, reason: String) -> CloseOutcome {
        self.outcome.verdict = CloseVerdict::Failed;
        self.outcome.reason = Some(reason);
        self.outcome.clone()
    }
}
