//! One `expect` step, judged event by event.
//!
//! [`StepJudge::begin`] decides what it can without events (a status, a
//! refusal, a close frame an earlier step already took); then each
//! [`StepJudge::on_event`] takes the server's next event and answers
//! [`Judgement::Pending`] (feed the next one), [`Judgement::Met`] or
//! [`Judgement::Miss`]. An event that shows a miss is handed back unconsumed,
//! so a later step can still match it (a milder miss lets the case go on).

use tokio::time::Instant;

use super::describe::{describe_close, describe_expectation, describe_message, expected_message};
use super::{Actual, CaseState, Mismatch, Miss, Severity};
use crate::case::Expectation;
use crate::conformance::event::{close_code, describe_frame, Event};
use crate::conformance::trace::preview;
use crate::verdict::Verdict;
use crate::wire::{Endpoint, Message, Opcode};

/// Where a step stands.
#[derive(Debug)]
pub enum Judgement {
    /// Not decided yet: feed the next event.
    Pending,
    /// Met; what the server did, when that is worth reporting.
    Met(Option<String>),
    /// Missed.
    Miss {
        /// The verdict, the requirement and what happened.
        miss: Miss,
        /// The event that showed the miss, not consumed: it goes back to be seen first by the next step.
        unread: Option<Event>,
    },
}

/// What the step is waiting for, once begun.
#[derive(Debug)]
enum Waiting {
    /// Nothing yet (not begun).
    Idle,
    /// A data message (`echo`: one of the echoes due).
    Message { want: Message, echo: bool },
    /// A pong with this payload.
    Pong,
    /// A close frame, or a dropped connection where allowed.
    Close,
    /// TCP closed by the server (close frames are passed over).
    Dropped,
    /// Nothing at all until the deadline.
    Silence,
    /// The client under test failing the connection after our crafted 101: TCP closed, no data frame.
    ClientRefusal,
}

/// The judge of one `expect` step, repeated `repeat` times.
#[derive(Debug)]
pub struct StepJudge<'a> {
    what: &'a Expectation,
    mismatch: Verdict,
    repeat: usize,
    done: usize,
    waiting: Waiting,
}

/// What a mismatch or an unconsumed event does to the step.
type Step = Result<Option<String>, (Mismatch, Option<Event>)>;

impl<'a> StepJudge<'a> {
    /// A judge for `what`, rated `mismatch` on a miss, to be met `repeat` times in a row.
    pub fn new(what: &'a Expectation, mismatch: Verdict, repeat: usize) -> StepJudge<'a> {
        StepJudge { what, mismatch, repeat: repeat.max(1), done: 0, waiting: Waiting::Idle }
    }

    /// The expectation.
    pub fn expectation(&self) -> &'a Expectation {
        self.what
    }

    /// How many times in a row the step must be met.
    pub fn repeat(&self) -> usize {
        self.repeat
    }

    /// Whether this step needs a fresh connection of its own (`alive`): the runner probes and calls
    /// [`StepJudge::on_probe`] instead of feeding events.
    pub fn needs_probe(&self) -> bool {
        matches!(self.what, Expectation::Alive)
    }

    /// When the current repetition stops waiting: `silence` waits its own time from `now`, the others
    /// until the step's deadline.
    pub fn wait_until(&self, step_deadline: Instant, case_deadline: Instant, now: Instant) -> Instant {
        match self.what {
            Expectation::Silence(d) => (now + *d).min(case_deadline),
            _ => step_deadline,
        }
    }

    /// Starts (or restarts, for the next repetition) the step; decides at once where no event is needed.
    pub fn begin(&mut self, case: &mut CaseState) -> Judgement {
        let started = self.start(case);
        self.settle(case, started)
    }

    /// Takes the server's next event (or [`Event::Timeout`]).
    pub fn on_event(&mut self, case: &mut CaseState, event: Event) -> Judgement {
        let step = match &self.waiting {
            Waiting::Idle => return self.begin(case),
            Waiting::Message { .. } => self.on_message_event(case, event),
            Waiting::Pong => on_pong_event(self.what, event),
            Waiting::Close => on_close_event(self.what, case, event),
            Waiting::Dropped => on_dropped_event(event),
            Waiting::Silence => on_silence_event(event),
            Waiting::ClientRefusal => on_client_refusal_event(event, case.opening.is_http_refusal()),
        };
        self.settle(case, step)
    }

    /// The result of the probe of an `alive` step.
    pub fn on_probe(&mut self, case: &mut CaseState, result: Result<String, Mismatch>) -> Judgement {
        let step = result.map(Some).map_err(|m| (m, None));
        self.settle(case, Some(step))
    }

    /// Turns one repetition's result into the step's judgement: the next repetition, or the end.
    fn settle(&mut self, case: &mut CaseState, step: Option<Step>) -> Judgement {
        match step {
            None => Judgement::Pending,
            Some(Ok(seen)) => {
                self.done += 1;
                self.waiting = Waiting::Idle;
                if self.done < self.repeat {
                    let next = self.start(case);
                    return match next {
                        None => Judgement::Pending,
                        Some(_) => self.settle(case, next),
                    };
                }
                Judgement::Met(seen)
            }
            Some(Err((m, unread))) => {
                self.waiting = Waiting::Idle;
                let verdict = match m.severity {
                    Severity::AsRated => self.mismatch,
                    Severity::Broken => Verdict::Failed,
                };
                Judgement::Miss { miss: Miss { verdict, expected: m.expected, actual: m.actual }, unread }
            }
        }
    }

    /// Begins one repetition: `Some` when decided without an event, else the state to wait in.
    fn start(&mut self, case: &mut CaseState) -> Option<Step> {
        let opening = &case.opening;
        let decided = match self.what {
            Expectation::Status { codes, headers, absent } => {
                opening.check_status(codes, headers, absent).map(|()| None)
            }
            // RFC 6455 §4.1: a client MUST fail the connection on an invalid 101: judged on what it does next
            Expectation::Refused if case.peer == Endpoint::Client => return self.wait(Waiting::ClientRefusal),
            Expectation::Refused => opening.check_refused().map(Some),
            // the runner probes (needs_probe), then calls on_probe
            Expectation::Alive => return None,
            // RFC 6455 §7.1.1: testing a client, once the close frames are exchanged we (the server) close TCP
            Expectation::Dropped if case.peer == Endpoint::Client && case.close_taken.is_some() => {
                Ok(Some("close frames exchanged: the server closes TCP first".into()))
            }
            // after a refused handshake the server may still close TCP, or keep it open
            Expectation::Dropped => return self.wait(Waiting::Dropped),
            Expectation::Silence(_) => return self.wait(Waiting::Silence),
            _ if !opening.upgraded() => Err(Mismatch::rated(
                describe_expectation(self.what),
                Actual::Saw("no WebSocket connection (the handshake did not succeed)".into()),
            )),
            Expectation::Echo => match case.sent.next_due() {
                Some(want) => return self.wait(Waiting::Message { want, echo: true }),
                None => Ok(None),
            },
            Expectation::Message { opcode, payload } => {
                return self.wait(Waiting::Message { want: expected_message(*opcode, payload), echo: false })
            }
            Expectation::Pong { .. } => return self.wait(Waiting::Pong),
            Expectation::Close { codes, .. } => match &case.close_taken {
                // an earlier step already took the server's close: it stands for this one too
                Some((code, seen)) if close_acceptable(codes, *code) => Ok(Some(format!("{seen} (received earlier)"))),
                Some((_, seen)) => {
                    Err(Mismatch::rated(describe_close(codes), Actual::Saw(format!("{seen} (received earlier)"))))
                }
                None => return self.wait(Waiting::Close),
            },
        };
        Some(decided.map_err(|m| (m, None)))
    }

    fn wait(&mut self, waiting: Waiting) -> Option<Step> {
        self.waiting = waiting;
        None
    }

    /// A data message: fragments go to the case's assembler until a message is complete.
    fn on_message_event(&mut self, case: &mut CaseState, event: Event) -> Option<Step> {
        let Waiting::Message { want, echo } = &self.waiting else {
            return None;
        };
        let expected =
            if *echo { format!("the echo of the {}", describe_message(want)) } else { describe_message(want) };
        let frame = match event {
            Event::Timeout => return Some(Err((Mismatch::rated(expected, Actual::Nothing), None))),
            Event::Frame(f) if f.header.defined_opcode().is_some_and(Opcode::is_data) => f,
            other => return Some(Err((Mismatch::rated(expected, Actual::Saw(other.describe())), Some(other)))),
        };
        let assembled = match case.assembler.push_owned(frame) {
            Ok(a) => a,
            Err(e) => return Some(Err((Mismatch::rated(expected, Actual::Saw(e.to_string())), None))),
        };
        if let Some(v) = assembled.violations.first() {
            return Some(Err((Mismatch::rated(expected, Actual::Saw(v.to_string())), None)));
        }
        let got = match case.server_message(assembled.message?, assembled.compressed) {
            Ok(m) => m,
            // RFC 7692 §7.2.2: a compressed message that cannot be inflated is not the message sent
            Err(why) => return Some(Err((Mismatch::broken(expected, Actual::Saw(why)), None))),
        };
        if &got == want {
            // the next echo due, if any, is part of the same repetition
            if *echo {
                if let Some(next) = case.sent.next_due() {
                    self.waiting = Waiting::Message { want: next, echo: true };
                    return None;
                }
            }
            return Some(Ok(None));
        }
        // a wrong message is never a milder fault: the server corrupted data (RFC 6455 §5.6)
        Some(Err((Mismatch::broken(expected, Actual::Saw(describe_difference(&got, want))), None)))
    }
}

/// How a message differs from the one expected.
fn describe_difference(got: &Message, want: &Message) -> String {
    if got.is_text() != want.is_text() {
        return describe_message(got);
    }
    match got.payload().iter().zip(want.payload()).position(|(a, b)| a != b) {
        Some(i) => format!("{} differing at byte {i}", describe_message(got)),
        None => describe_message(got),
    }
}

/// Whether a close code is one of `codes` (empty: any; 1005 in the list: a close with no code, RFC 6455 §7.4.1).
fn close_acceptable(codes: &[u16], code: Option<u16>) -> bool {
    match code {
        _ if codes.is_empty() => true,
        Some(c) => codes.contains(&c),
        None => codes.contains(&1005),
    }
}

fn on_pong_event(what: &Expectation, event: Event) -> Option<Step> {
    let Expectation::Pong { payload } = what else {
        return None;
    };
    let expected = format!("a pong with {}", preview(payload));
    match event {
        Event::Timeout => Some(Err((Mismatch::rated(expected, Actual::Nothing), None))),
        e if e.frame_of(Opcode::Pong).is_some_and(|f| &f.payload == payload) => Some(Ok(None)),
        e => Some(Err((Mismatch::rated(expected, Actual::Saw(e.describe())), Some(e)))),
    }
}

fn on_close_event(what: &Expectation, case: &mut CaseState, event: Event) -> Option<Step> {
    let Expectation::Close { codes, allow_drop } = what else {
        return None;
    };
    let expected = describe_close(codes);
    match event {
        Event::Timeout => Some(Err((Mismatch::rated(expected, Actual::Nothing), None))),
        Event::Frame(f) if f.header.defined_opcode() == Some(Opcode::Close) => {
            let code = close_code(&f.payload);
            let seen = describe_frame(&f.header, &f.payload);
            if close_acceptable(codes, code) {
                case.close_taken = Some((code, seen.clone()));
                Some(Ok(Some(seen)))
            } else {
                // put back: a milder miss lets a later step judge it
                Some(Err((Mismatch::rated(expected, Actual::Saw(seen)), Some(Event::Frame(f)))))
            }
        }
        Event::Closed(how) if *allow_drop => Some(Ok(Some(format!("TCP closed without a close frame ({how})")))),
        // RFC 6455 §7.1.5: without a close frame the application sees 1006, not the server's code
        Event::Closed(how) => Some(Err((
            Mismatch::rated(
                expected,
                Actual::Saw(format!(
                    "the TCP connection closed without a close frame ({how}): a browser reports 1006 instead of the code (RFC 6455 §7.1.5)"
                )),
            ),
            None,
        ))),
        e => Some(Err((Mismatch::rated(expected, Actual::Saw(e.describe())), Some(e)))),
    }
}

fn on_dropped_event(event: Event) -> Option<Step> {
    let expected = "the server to close TCP";
    match event {
        Event::Timeout => Some(Err((Mismatch::rated(expected, Actual::Nothing), None))),
        Event::Closed(how) => Some(Ok(Some(format!("TCP closed ({how})")))),
        // a close frame on the way to the TCP close
        e if e.frame_of(Opcode::Close).is_some() => None,
        e => Some(Err((Mismatch::rated(expected, Actual::Saw(e.describe())), Some(e)))),
    }
}

fn on_silence_event(event: Event) -> Option<Step> {
    match event {
        Event::Timeout => Some(Ok(None)),
        e => Some(Err((Mismatch::rated("nothing", Actual::Saw(e.describe())), Some(e)))),
    }
}

/// What a client does after a 101 it must refuse (RFC 6455 §4.1: "the client MUST _Fail the WebSocket
/// Connection_"): closing TCP meets the step; a close frame on the way is passed over (the connection was
/// never established, so none is due, but failing with one is still failing); a data frame shows the client
/// took the connection as open.
fn on_client_refusal_event(event: Event, http_refusal: bool) -> Option<Step> {
    let expected = if http_refusal {
        "the client to take the answer as a refusal: no frame back (RFC 6455 §4.1)"
    } else {
        "the client to fail the connection (close TCP) after the invalid 101"
    };
    match event {
        // RFC 6455 §4.1: a status other than 101 is handled "per HTTP procedures": the client may keep the
        // HTTP connection, as long as it never speaks WebSocket on it
        Event::Timeout if http_refusal => Some(Ok(Some("no frame came back within the wait".into()))),
        Event::Timeout => Some(Err((Mismatch::rated(expected, Actual::Nothing), None))),
        Event::Closed(how) => Some(Ok(Some(format!("TCP closed ({how})")))),
        e if e.frame_of(Opcode::Close).is_some() => None,
        e => Some(Err((Mismatch::broken(expected, Actual::Saw(e.describe())), None))),
    }
}
