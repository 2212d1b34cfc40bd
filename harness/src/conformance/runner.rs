//! Runs one case on a fresh connection: the I/O driver of the judge.
//!
//! Steps run in order. Send steps write what [`super::send`] builds; each
//! `expect` step hands the server's next events to a [`StepJudge`] until it is
//! met or missed. After the steps the close phase runs on its own
//! ([`CloseJudge`]), as Autobahn|Testsuite judges "close behavior": if the
//! connection is still open we send close 1000 and expect a close reply and
//! then the server to close TCP. This file only moves bytes and events; every
//! decision is the judge's.
//!
//! The same run tests a client when we play the server ([`run_client_case`], in [`answer`]): the
//! client's request is judged and answered, our frames go out unmasked, and the server (we) closes TCP
//! first.

mod answer;
mod close;
mod write;

pub use answer::run_client_case;

use std::time::Duration;

use tokio::time::Instant;

use super::connect::{connect, ConnectError};
use super::event::Closed;
use super::judge::{
    looks_like_tls, Actual, CaseJudgement, CaseState, CloseOutcome, Deflate, DeflateSummary, Judgement, Mismatch,
    NoResponse, Opening, StepEnd, StepJudge,
};
use super::messages::BuildError;
use super::observe::{Conn, DeliveryState, HeadRead};
use super::probe::probe_alive;
use super::send::{opening_request, read_limit};
use super::target::Target;
use super::trace::{Direction, TraceEvent, TraceKind, MAX_TRACE_BYTES};
use super::unmask::ServerBytes;
use crate::case::{Case, Delivery, FrameStreamError, Step};
use crate::verdict::Verdict;
use crate::wire::{parse_response, Endpoint, FrameSpec, ReceivedRequest, ServerResponse};

/// How cases are run.
#[derive(Clone)]
pub struct RunOptions {
    /// The whole budget of one case, the close included.
    pub case_timeout: Duration,
    /// How long the close phase waits for a close reply and then for TCP to close.
    pub close_timeout: Duration,
    /// TLS for `wss://` targets (`None`: certificates are checked against the Mozilla roots).
    pub tls: Option<tokio_rustls::TlsConnector>,
}

impl std::fmt::Debug for RunOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunOptions")
            .field("case_timeout", &self.case_timeout)
            .field("close_timeout", &self.close_timeout)
            .field("tls", &self.tls.is_some())
            .finish()
    }
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions { case_timeout: Duration::from_secs(5), close_timeout: Duration::from_secs(2), tls: None }
    }
}

/// What happened when a case ran.
#[derive(Debug, Clone)]
pub struct CaseOutcome {
    /// The case's id.
    pub id: String,
    /// The behaviour verdict.
    pub verdict: Verdict,
    /// The close behaviour, where judged (not when the handshake itself is under test).
    pub close: Option<CloseOutcome>,
    /// One line, for anything not OK.
    pub reason: Option<String>,
    /// The requirement of the step that missed.
    pub expected: Option<String>,
    /// What the server did instead.
    pub observed: Option<String>,
    /// Wall time of the case.
    pub duration: Duration,
    /// Every write and read.
    pub trace: Vec<TraceEvent>,
    /// The `Server` field of the server's 101, if any.
    pub server_header: Option<String>,
    /// Why no connection could be opened, if none was (the case is then ERRORED).
    pub connect_error: Option<ConnectError>,
    /// For a case NOT RUN: when the target went away, from the start of the run.
    pub lost_at: Option<Duration>,
    /// permessage-deflate, when the server accepted it: the extension and the traffic each way.
    pub deflate: Option<DeflateSummary>,
}

impl CaseOutcome {
    /// The outcome of a case that did not get to judge the server: `verdict` (ERRORED, or NOT RUN) and why.
    pub fn not_judged(case: &Case, verdict: Verdict, reason: String, duration: Duration) -> CaseOutcome {
        CaseOutcome {
            id: case.id.clone(),
            verdict,
            close: None,
            reason: Some(reason),
            expected: None,
            observed: None,
            duration,
            trace: Vec::new(),
            server_header: None,
            connect_error: None,
            lost_at: None,
            deflate: None,
        }
    }
}

/// Runs `case` against `target`. Never panics and never exceeds the case's budget by more than the
/// time to notice it: a hostile server costs a verdict, not the run.
pub async fn run_case(case: &Case, target: &Target, options: &RunOptions) -> CaseOutcome {
    let start = Instant::now();
    let deadline = start + case_budget(case, options);
    let stream = match connect(target, options.tls.as_ref(), deadline).await {
        Ok(s) => s,
        Err(e) => {
            let mut outcome = CaseOutcome::not_judged(case, Verdict::Errored, e.to_string(), start.elapsed());
            outcome.connect_error = Some(e);
            return outcome;
        }
    };
    let mut conn = Conn::new(stream, start, deadline, read_limit(case));
    conn.set_read_pace(case.read);
    let run = CaseRun {
        case,
        peer: Endpoint::Server,
        target: Some(target),
        options,
        start,
        deadline,
        conn,
        server_bytes: None,
    };
    run.outcome(None).await
}

/// The time budget of a case: the run's `--case-timeout`, or the case's own when it needs more.
pub fn case_budget(case: &Case, options: &RunOptions) -> Duration {
    case.timeout.map_or(options.case_timeout, |t| t.max(options.case_timeout))
}

/// One case on its connection.
struct CaseRun<'a> {
    case: &'a Case,
    /// The implementation under test: a server (we are its client) or a client (we are its server).
    peer: Endpoint,
    /// The server under test (`None` when testing a client: no fresh connection can be opened to it).
    target: Option<&'a Target>,
    options: &'a RunOptions,
    start: Instant,
    deadline: Instant,
    conn: Conn,
    /// Testing a client: the case's frames followed, so that zero-keyed ones go out unmasked.
    server_bytes: Option<ServerBytes>,
}

impl CaseRun<'_> {
    /// Runs the case and closes the connection: its outcome.
    async fn outcome(mut self, request: Option<&ReceivedRequest>) -> CaseOutcome {
        let (judgement, server_header) = self.execute(request).await;
        self.conn.shutdown().await;
        let (case, start) = (self.case, self.start);
        CaseOutcome {
            id: case.id.clone(),
            verdict: judgement.verdict,
            deflate: judgement.deflate,
            close: judgement.close,
            reason: judgement.reason,
            expected: judgement.expected,
            observed: judgement.observed,
            duration: start.elapsed(),
            trace: self.conn.trace.into_events(),
            server_header,
            connect_error: None,
            lost_at: None,
        }
    }

    /// The handshake, the steps, the close phase; the judgement and the peer's `Server` (or, for a
    /// client, `User-Agent`) field. `request` is the client's, when testing a client.
    async fn execute(&mut self, request: Option<&ReceivedRequest>) -> (CaseJudgement, Option<String>) {
        let (opening, server_header) = match request {
            Some(request) => {
                let agent = request.header("user-agent").map(str::to_string);
                (self.answer(request).await, agent)
            }
            None => {
                let opening = self.open().await;
                let server = opening.server_header().map(str::to_string);
                (opening, server)
            }
        };
        // testing a client, a crafted 101 is judged by what the client does next (`expect = "refused"`)
        if self.case.handshake.expect_101 && self.peer == Endpoint::Server {
            if let Some(reason) = opening.not_upgraded_reason() {
                let mut j = CaseJudgement::default();
                j.miss(Verdict::Failed, reason, None, None);
                return (j, server_header);
            }
        }
        let upgraded = opening.upgraded();
        let mut state = CaseState::with_peer(opening, read_limit(self.case), self.peer);
        for step in &self.case.steps {
            if self.run_step(step, &mut state).await {
                break;
            }
        }
        if upgraded {
            state.judgement.close = Some(self.close_phase(&state).await);
        }
        state.judgement.judge_violations(&self.conn.facts, &state.sent.close_codes);
        state.judgement.judge_deflate(state.deflate.as_ref());
        (state.judgement, server_header)
    }

    /// The opening handshake (RFC 6455 §4.1): the request sent, the response read and judged.
    async fn open(&mut self) -> Opening {
        let Some(target) = self.target else {
            return Opening::judge(Err(NoResponse::Closed), "", &[], &[]);
        };
        let request = opening_request(&self.case.handshake, target);
        self.conn.note(TraceKind::Http { dir: Direction::Sent, head: capped_text(&request.bytes) });
        self.conn.send(&request.bytes, &self.case.handshake.delivery, &mut DeliveryState::default()).await;
        let budget = self.deadline.saturating_duration_since(self.start);
        let protocols: Vec<&str> = request.protocols.iter().map(String::as_str).collect();
        let extensions: Vec<&str> = request.extensions.iter().map(String::as_str).collect();
        let response = read_response(&mut self.conn, self.deadline, budget, &extensions).await;
        Opening::judge(response, &request.key, &protocols, &extensions)
    }

    /// Runs one step; `true` when the case stops here (a miss rated FAILED, or a frame that cannot be built).
    async fn run_step(&mut self, step: &Step, state: &mut CaseState) -> bool {
        match step {
            Step::Frame { .. } => self.send_frames(state, step).await,
            Step::Messages(m) => self.send_messages(state, m).await,
            Step::Raw { bytes, repeat, delivery } => {
                self.send_raw(state, bytes, *repeat, delivery).await;
                false
            }
            Step::ShutdownWrite => {
                self.conn.note(TraceKind::Note("half-close: TCP FIN sent, still reading".into()));
                self.conn.shutdown().await;
                state.last_sent = "a TCP FIN (half-close)".into();
                false
            }
            Step::Wait(d) => {
                self.conn.note(TraceKind::Note(format!("waiting {} ms", d.as_millis())));
                self.conn.wait_reading(Instant::now() + *d).await;
                false
            }
            Step::Expect { what, timeout, mismatch, repeat, line } => {
                self.run_expect(state, StepJudge::new(what, *mismatch, *repeat), *timeout, *line).await
            }
        }
    }

    /// An `expect` step: events to the step's judge until it is met or missed.
    async fn run_expect(
        &mut self,
        state: &mut CaseState,
        mut judge: StepJudge<'_>,
        timeout: Option<Duration>,
        line: usize,
    ) -> bool {
        let began = Instant::now();
        let step_deadline = timeout.map_or(self.deadline, |t| (began + t).min(self.deadline));
        let mut judgement = judge.begin(state);
        let result = loop {
            judgement = match judgement {
                Judgement::Met(seen) => break Ok(seen),
                Judgement::Miss { miss, unread } => {
                    if let Some(e) = unread {
                        self.conn.unread(e);
                    }
                    break Err(miss);
                }
                Judgement::Pending if judge.needs_probe() => {
                    let probe = match self.target {
                        Some(target) => probe_alive(target, self.options, step_deadline).await,
                        // the loader refuses `alive` in cases that test clients
                        None => Err(Mismatch::rated("a fresh connection", Actual::Saw("no server to probe".into()))),
                    };
                    judge.on_probe(state, probe)
                }
                Judgement::Pending => {
                    let until = judge.wait_until(step_deadline, self.deadline, Instant::now());
                    let event = self.conn.next_event(until).await;
                    judge.on_event(state, event)
                }
            };
        };
        let end = StepEnd {
            what: judge.expectation(),
            line,
            repeat: judge.repeat(),
            took: began.elapsed(),
            budget: step_deadline.saturating_duration_since(began),
            tcp_closed: self.conn.is_closed(),
        };
        let (note, stop) = state.conclude(&end, result);
        self.conn.note(TraceKind::Note(note));
        stop
    }
}

/// Plain bytes of a batch of built messages whose echoes are awaited together.
const BATCH_BYTES: u64 = 256 * 1024;

/// Messages of such a batch at most.
const BATCH_MESSAGES: usize = 64;

/// A step whose messages cannot be built: UNIMPLEMENTED when the server declined permessage-deflate, or
/// the client offered none the case accepts (Autobahn's 12.x/13.x rate both so), else the harness cannot run the case (ERRORED). Stops the case.
fn cannot_build(state: &mut CaseState, e: &BuildError) -> bool {
    let (verdict, reason) = match e {
        BuildError::NotNegotiated if state.peer == Endpoint::Client => (
            Verdict::Unimplemented,
            "the client offered no permessage-deflate this case accepts, which this step needs".to_string(),
        ),
        BuildError::NotNegotiated => (Verdict::Unimplemented, e.to_string()),
        _ => (Verdict::Errored, e.to_string()),
    };
    state.judgement.miss(verdict, reason, None, None);
    true
}

/// A send step whose frame cannot be built: the harness cannot run the case.
fn cannot_encode(state: &mut CaseState, e: &FrameStreamError) {
    let reason = format!("the case's frame cannot be encoded: {e}");
    state.judgement.miss(Verdict::Errored, reason, None, None);
}

/// Writes one frame the judge asked for (a close reply, a probe's ping), noted in the trace.
pub async fn send_frame(conn: &mut Conn, frame: &FrameSpec) {
    if let Ok(bytes) = frame.encode() {
        let summary = super::event::describe_frame(&frame.header(), &frame.payload);
        conn.note(TraceKind::Frame { dir: Direction::Sent, summary });
        conn.send(&bytes, &Delivery::default(), &mut DeliveryState::default()).await;
    }
}

/// Reads the HTTP response of the opening handshake; after a 101 the bytes that follow it are
/// frames (read knowing whether it accepted permessage-deflate from the `extensions` offered), after
/// anything else they are not read as frames.
pub async fn read_response(
    conn: &mut Conn,
    deadline: Instant,
    budget: Duration,
    extensions: &[&str],
) -> Result<ServerResponse, NoResponse> {
    let mut head = Vec::new();
    loop {
        match conn.read_head(deadline).await {
            HeadRead::Timeout => return Err(NoResponse::Timeout { waited: budget }),
            HeadRead::Closed(Closed::Eof) => return Err(NoResponse::Closed),
            HeadRead::Closed(Closed::Broken { message, .. }) => return Err(NoResponse::Broken(message)),
            HeadRead::Bytes(bytes) => head.extend_from_slice(&bytes),
        }
        match parse_response(&head) {
            Ok(None) => continue,
            Ok(Some((response, len))) => {
                let text = String::from_utf8_lossy(&response.raw_head).into_owned();
                conn.note(TraceKind::Http { dir: Direction::Received, head: text });
                if response.status == 101 {
                    conn.facts.deflate = Deflate::accepted(&response, extensions).is_some();
                    conn.push_frames(&head[len..]);
                } else {
                    conn.ignore_rest();
                }
                return Ok(response);
            }
            Err(error) => return Err(NoResponse::NotHttp { error, looks_like_tls: looks_like_tls(&head) }),
        }
    }
}

/// The request as text for the trace, at most [`MAX_TRACE_BYTES`] bytes of it.
fn capped_text(bytes: &[u8]) -> String {
    let shown = &bytes[..bytes.len().min(MAX_TRACE_BYTES)];
    let mut text = String::from_utf8_lossy(shown).into_owned();
    if bytes.len() > shown.len() {
        text.push_str(&format!("\n... ({} more bytes)", bytes.len() - shown.len()));
    }
    text
}
