//! The closing handshake (RFC 6455 §7.1), judged on its own after the steps,
//! like Autobahn|Testsuite's "close behavior".
//!
//! [`CloseJudge::start`] looks at how the steps left the connection and either
//! judges at once or says which close frame to send; then the judge is one of
//! two states, [`ClosePhase::AwaitingReply`] (we sent close 1000) and
//! [`ClosePhase::AwaitingTcpClose`] (the close frames are exchanged; the server
//! closes TCP first, §7.1.1), and [`CloseJudge::on_event`] moves it on.
//!
//! When the implementation under test is a client ([`Endpoint::Client`]), we are the server and the
//! server closes TCP first (§7.1.1): the judge ends once the close frames are exchanged
//! ([`CloseStart::Answer`], or the client's reply in [`ClosePhase::AwaitingReply`]) and the runner
//! closes TCP. A client that closed TCP before we could is rated INFORMATIONAL (it SHOULD wait).

use std::time::Duration;

use crate::conformance::event::{close_code, Event};
use crate::verdict::CloseVerdict;
use crate::wire::{CloseCode, Endpoint, FrameSpec, Opcode};

/// Who sent the first close frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Initiator {
    /// The server closed first (the server under test, or we when testing a client).
    Server,
    /// The client closed first (we, after the steps, when testing a server; or the client under test).
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
    /// The code in the close frame of the implementation under test (`None`: no code, or no close frame).
    pub server_code: Option<u16>,
    /// Who sent the first close frame.
    pub initiated_by: Initiator,
    /// Whether the implementation under test closed TCP.
    pub server_closed_tcp: bool,
    /// Why it is not OK.
    pub reason: Option<String>,
}

/// How the steps left the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CloseFacts {
    /// The implementation under test: the server (we are its client) or the client (we are its server).
    pub peer: Endpoint,
    /// The peer's first close frame, if read: its code (`None`: no code).
    pub server_close: Option<Option<u16>>,
    /// The peer has closed TCP (or the connection broke).
    pub tcp_closed: bool,
    /// A step accepted the server dropping the connection (`close` with `allow_drop`, `dropped`).
    pub accepted_drop: bool,
    /// Our bytes end inside a frame (a declared length never sent).
    pub mid_frame: bool,
    /// A step already sent a close frame of ours (testing a client: no second one is sent; the step that
    /// expected the reply judged its code).
    pub we_closed: bool,
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
    /// Send this frame (our answer to the client's close), then close TCP: judged (we are the server,
    /// which closes TCP first, RFC 6455 §7.1.1).
    Answer(FrameSpec, CloseOutcome),
}

/// The close phase in progress.
#[derive(Debug)]
pub struct CloseJudge {
    phase: ClosePhase,
    outcome: CloseOutcome,
    close_timeout: Duration,
    peer: Endpoint,
}

impl CloseJudge {
    /// Judges what needs no more events, or says what to send.
    pub fn start(facts: CloseFacts) -> CloseStart {
        let who = facts.peer.as_str();
        let mut outcome = CloseOutcome {
            verdict: CloseVerdict::Ok,
            server_code: facts.server_close.flatten(),
            initiated_by: if facts.server_close.is_some() { initiator(facts.peer) } else { Initiator::None },
            server_closed_tcp: facts.tcp_closed,
            reason: None,
        };
        let judge =
            |phase, outcome| CloseJudge { phase, outcome, close_timeout: facts.close_timeout, peer: facts.peer };
        if facts.server_close.is_none() && facts.tcp_closed {
            if !facts.accepted_drop {
                outcome.verdict = CloseVerdict::Unclean;
                outcome.reason = Some(format!("the {who} closed TCP without a close frame: a browser reports 1006"));
            }
            return CloseStart::Judged(outcome);
        }
        if let Some(code) = facts.server_close {
            // RFC 6455 §5.5.1: the peer closed: we answer, then the server closes TCP first (§7.1.1)
            let reply = match code {
                Some(c) => FrameSpec::close(CloseCode(c), b""),
                None => FrameSpec::close_empty(),
            };
            if facts.peer == Endpoint::Client {
                if facts.tcp_closed {
                    closed_first(&mut outcome);
                }
                if facts.we_closed {
                    // the client answered a close of the steps (whose `close` step judged its code): the
                    // handshake is complete, we close TCP
                    outcome.initiated_by = Initiator::Server;
                    return CloseStart::Judged(outcome);
                }
                return CloseStart::Answer(reply, outcome);
            }
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
        outcome.initiated_by = initiator(facts.peer.other());
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
                if self.peer == Endpoint::Client {
                    // RFC 6455 §7.1.1: we are the server, and close TCP now
                    if tcp_closed {
                        self.outcome.server_closed_tcp = true;
                        closed_first(&mut self.outcome);
                    }
                    return Some(self.outcome.clone());
                }
                self.phase = ClosePhase::AwaitingTcpClose;
                None
            }
            // data the peer was already sending when our close crossed it
            Event::Frame(_) => None,
            Event::Closed(_) | Event::Unreadable(_) => {
                self.outcome.server_closed_tcp = tcp_closed;
                self.outcome.verdict = CloseVerdict::Unclean;
                let who = self.peer.as_str();
                self.outcome.reason =
                    Some(format!("the {who} closed TCP without replying to our close: a browser reports 1006"));
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

/// The initiator that is `side`.
fn initiator(side: Endpoint) -> Initiator {
    match side {
        Endpoint::Server => Initiator::Server,
        Endpoint::Client => Initiator::Client,
    }
}

/// A client that closed TCP before the server could: RFC 6455 §7.1.1 says it SHOULD wait, so this is noted,
/// not failed.
fn closed_first(outcome: &mut CloseOutcome) {
    outcome.verdict = CloseVerdict::Informational;
    outcome.reason = Some(
        "the client closed TCP before the server did: it SHOULD wait for the server to close first (RFC 6455 §7.1.1)"
            .into(),
    );
}
