//! Runs one case on a fresh connection and judges it.
//!
//! Steps run in order. Each expectation consumes the server's next events
//! (frames, TCP close) in order; a miss gives the verdict the case file names
//! for it (FAILED unless milder), with a one-line reason. After the steps the
//! runner judges the close behaviour apart, as Autobahn|Testsuite does: if
//! the connection is still open it sends close 1000 and expects a close reply
//! and then the server to close TCP.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::net::TcpStream;
use tokio::time::{timeout_at, Instant};

use super::observe::{close_code, describe_frame, Conn, Event, Io};
use super::target::Target;
use super::tls;
use super::trace::{Direction, TraceEvent, TraceKind, MAX_TRACE_BYTES};
use crate::case::{Case, Delivery, Expectation, Fill, Request, Step};
use crate::verdict::{CloseVerdict, Verdict};
use crate::wire::{
    parse_response, ClientRequest, CloseCode, ClosePayload, FrameReader, FrameSpec, LengthField, Message,
    MessageAssembler, ObservedFrame, RawRequest, ServerResponse, ViolationKind,
};

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

/// The close behaviour observed at the end of a case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloseOutcome {
    /// The judgement.
    pub verdict: CloseVerdict,
    /// The code in the server's close frame (`None`: no code, or no close frame).
    pub server_code: Option<u16>,
    /// Who sent the first close frame: `"server"`, `"client"` or `"none"`.
    pub initiated_by: &'static str,
    /// Whether the server closed TCP.
    pub server_closed_tcp: bool,
    /// Why it is not OK.
    pub reason: Option<String>,
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
}

/// A missed expectation.
struct Miss {
    expected: String,
    observed: String,
    /// FAILED whatever the step's `mismatch` says (a rule of the RFC broken, not a preference).
    hard: bool,
}

/// Runs `case` against `target`. Never panics and never exceeds `options.case_timeout`
/// by more than the time to notice it: a hostile server costs a verdict, not the run.
pub async fn run_case(case: &Case, target: &Target, options: &RunOptions) -> CaseOutcome {
    let start = Instant::now();
    let deadline = start + case_budget(case, options);
    let run = Run { case, start, deadline, options };
    let stream = match connect(target, options, deadline).await {
        Ok(s) => s,
        Err(why) => return run.errored(why),
    };
    let mut conn = Conn::new(stream, start);
    conn.set_read_pace(case.read);
    conn.set_deadline(deadline);
    let outcome = run.execute(&mut conn, target).await;
    conn.shutdown().await;
    outcome.finish(conn.trace, start)
}

/// The time budget of a case: the run's `--case-timeout`, or the case's own when it needs more.
pub fn case_budget(case: &Case, options: &RunOptions) -> Duration {
    case.timeout.map_or(options.case_timeout, |t| t.max(options.case_timeout))
}

/// Opens TCP (and TLS for `wss://`) to the target, before `deadline`.
async fn connect(target: &Target, options: &RunOptions, deadline: Instant) -> Result<Box<dyn Io>, String> {
    let tcp = match timeout_at(deadline, TcpStream::connect(target.authority())).await {
        Ok(Ok(stream)) => stream,
        Ok(Err(e)) => return Err(format!("cannot connect to {}: {e}", target.authority())),
        Err(_) => return Err(format!("cannot connect to {} within the case timeout", target.authority())),
    };
    let _ = tcp.set_nodelay(true);
    if !target.secure {
        return Ok(Box::new(tcp));
    }
    let connector = match &options.tls {
        Some(c) => c.clone(),
        None => tls::connector(false).map_err(|e| format!("{e}: {:?}", std::error::Error::source(&e)))?,
    };
    let name = tls::server_name(&target.host)?;
    match timeout_at(deadline, connector.connect(name, tcp)).await {
        Ok(Ok(s)) => Ok(Box::new(s)),
        Ok(Err(e)) => Err(format!(
            "TLS handshake with {} failed: {e} (for a self-signed certificate use --insecure)",
            target.authority()
        )),
        Err(_) => Err(format!("no TLS handshake with {} within the case timeout", target.authority())),
    }
}

/// The state of one case run.
struct Run<'a> {
    case: &'a Case,
    start: Instant,
    deadline: Instant,
    options: &'a RunOptions,
}

/// The verdict being built.
struct Judged {
    id: String,
    verdict: Verdict,
    reason: Option<String>,
    expected: Option<String>,
    observed: Option<String>,
    close: Option<CloseOutcome>,
}

impl Judged {
    fn new(id: &str) -> Judged {
        Judged { id: id.to_string(), verdict: Verdict::Ok, reason: None, expected: None, observed: None, close: None }
    }

    /// Records a miss; the worst verdict, and its first reason, win.
    fn miss(&mut self, verdict: Verdict, reason: String, expected: Option<String>, observed: Option<String>) {
        if verdict > self.verdict {
            self.verdict = verdict;
            self.reason = Some(reason);
            self.expected = expected;
            self.observed = observed;
        }
    }

    /// Records what the server did, when nothing went wrong (the last such observation wins).
    fn saw(&mut self, what: String) {
        if self.verdict == Verdict::Ok {
            self.observed = Some(what);
        }
    }

    fn finish(self, trace: Vec<TraceEvent>, start: Instant) -> CaseOutcome {
        CaseOutcome {
            id: self.id,
            verdict: self.verdict,
            close: self.close,
            reason: self.reason,
            expected: self.expected,
            observed: self.observed,
            duration: start.elapsed(),
            trace,
        }
    }
}

impl Run<'_> {
    fn errored(&self, reason: String) -> CaseOutcome {
        let mut j = Judged::new(&self.case.id);
        j.miss(Verdict::Errored, reason, None, None);
        j.finish(Vec::new(), self.start)
    }

    async fn execute(&self, conn: &mut Conn, target: &Target) -> Judged {
        let mut j = Judged::new(&self.case.id);
        // --- the opening handshake (RFC 6455 §4.1) ---
        let (request, key, offered_protocols, offered_extensions) = match &self.case.handshake.request {
            Request::Default { headers } => {
                let mut req = ClientRequest::new(target.host_header(), target.path.clone());
                for (name, value) in headers {
                    req = match value {
                        Some(v) => req.header(name.clone(), v.clone()),
                        None => req.remove_header(name),
                    };
                }
                let key = req.websocket_key().unwrap_or_default().to_string();
                let protocols: Vec<String> = req.offered_protocols().iter().map(|s| s.to_string()).collect();
                let extensions: Vec<String> = req.offered_extensions().iter().map(|s| s.to_string()).collect();
                (req.encode(), key, protocols, extensions)
            }
            Request::Raw(template) => {
                let filled = template.replace("{host}", &target.host_header()).replace("{path}", &target.path);
                let raw = RawRequest::new(filled.into_bytes());
                (raw.encode(), raw.key.clone(), Vec::new(), Vec::new())
            }
        };
        conn.note(TraceKind::Http { dir: Direction::Sent, head: capped_text(&request) });
        conn.send(&request, &self.case.handshake.delivery).await;
        let response = read_response(conn, self.deadline, self.deadline - self.start).await;
        let mut upgrade_problems = Vec::new();
        let upgraded = match &response {
            Ok(r) => {
                let protocols: Vec<&str> = offered_protocols.iter().map(String::as_str).collect();
                let extensions: Vec<&str> = offered_extensions.iter().map(String::as_str).collect();
                let problems = r.check_upgrade(&key, &protocols, &extensions);
                if r.status == 101 {
                    upgrade_problems = problems.iter().map(ToString::to_string).collect();
                }
                if r.status == 101 && problems.is_empty() {
                    true
                } else {
                    if self.case.handshake.expect_101 {
                        let why = problems
                            .first()
                            .map(|v| v.to_string())
                            .unwrap_or_else(|| format!("server answered {} {} instead of 101", r.status, r.reason));
                        j.miss(Verdict::Failed, format!("opening handshake refused or invalid: {why}"), None, None);
                        return j;
                    }
                    false
                }
            }
            Err(why) => {
                if self.case.handshake.expect_101 {
                    j.miss(Verdict::Failed, format!("opening handshake: {why}"), None, None);
                    return j;
                }
                false
            }
        };

        // --- the steps ---
        let mut sent = SentMessages::default();
        let mut assembler = MessageAssembler::new();
        let mut accepted_drop = false;
        let mut last_sent = String::from("the opening handshake");
        for step in &self.case.steps {
            match step {
                Step::Frame { frame, fill, fragment, fresh_mask, repeat, delivery } => {
                    let (bytes, summaries) = match encode_send(frame, fill.as_ref(), *fragment, *fresh_mask, *repeat) {
                        Ok(b) => b,
                        Err(e) => {
                            j.miss(Verdict::Errored, format!("the case's frame cannot be encoded: {e}"), None, None);
                            return j;
                        }
                    };
                    sent.track(&bytes);
                    let count = summaries.len();
                    last_sent = match summaries.first() {
                        Some(one) if count == 1 => one.clone(),
                        _ => format!("{count} frames ({} bytes)", bytes.len()),
                    };
                    for summary in summaries.into_iter().take(FRAMES_NOTED) {
                        conn.note(TraceKind::Frame { dir: Direction::Sent, summary });
                    }
                    if count > FRAMES_NOTED {
                        conn.note(TraceKind::Note(format!("... {} more frames sent like these", count - FRAMES_NOTED)));
                    }
                    conn.send(&bytes, delivery).await;
                }
                Step::Raw { bytes, repeat, delivery } => {
                    let all = bytes.repeat(*repeat);
                    sent.track(&all);
                    last_sent = format!("{} raw bytes", all.len());
                    conn.send(&all, delivery).await;
                }
                Step::ShutdownWrite => {
                    conn.note(TraceKind::Note("half-close: TCP FIN sent, still reading".into()));
                    conn.shutdown().await;
                    last_sent = "a TCP FIN (half-close)".into();
                }
                Step::Wait(d) => {
                    let until = (Instant::now() + *d).min(self.deadline);
                    conn.note(TraceKind::Note(format!("waiting {} ms", d.as_millis())));
                    wait_collecting(conn, until).await;
                }
                Step::Expect { what, timeout, mismatch, repeat, line } => {
                    let began = Instant::now();
                    let step_deadline = match timeout {
                        Some(t) => (began + *t).min(self.deadline),
                        None => self.deadline,
                    };
                    let mut result = Ok(None);
                    for _ in 0..*repeat {
                        let opening = Opening { response: &response, upgraded, problems: &upgrade_problems };
                        result = self
                            .expect_once(what, conn, &opening, &mut sent, &mut assembler, step_deadline, target)
                            .await;
                        if result.is_err() {
                            break;
                        }
                    }
                    if matches!(what, Expectation::Close { .. } | Expectation::Dropped)
                        && result.is_ok()
                        && conn.is_closed()
                    {
                        accepted_drop = true;
                    }
                    match result {
                        Ok(seen) => {
                            let times = if *repeat > 1 { format!(" ({repeat} times)") } else { String::new() };
                            let after = began.elapsed().as_secs_f64() * 1000.0;
                            let how = seen.as_ref().map(|s| format!(" ({s})")).unwrap_or_default();
                            conn.note(TraceKind::Note(format!(
                                "line {line}: met{times} after {after:.1} ms: {}{how}",
                                describe_expectation(what)
                            )));
                            if let Some(seen) = seen {
                                // what the server did, for the report (limits cases are judged on it)
                                j.saw(format!("{seen} after {after:.0} ms"));
                            }
                        }
                        Err(miss) => {
                            let waited = if miss.observed == "nothing" {
                                let secs = step_deadline.saturating_duration_since(began).as_secs_f64();
                                format!("no response within {secs:.1} s after sending {last_sent}")
                            } else {
                                format!("got {}", miss.observed)
                            };
                            let reason = format!("expected {}; {waited}", miss.expected);
                            // a broken 101 breaks a MUST of §4.1 whatever the step's own rating
                            let mismatch = if miss.hard { &Verdict::Failed } else { mismatch };
                            conn.note(TraceKind::Note(format!("line {line}: {mismatch}: {reason}")));
                            j.miss(*mismatch, reason, Some(miss.expected), Some(miss.observed));
                            if *mismatch == Verdict::Failed {
                                break;
                            }
                        }
                    }
                }
            }
        }
        if upgraded {
            j.close = Some(self.judge_close(conn, accepted_drop, sent.mid_frame()).await);
        }
        judge_violations(conn, &sent.close_codes, &mut j);
        j
    }

    /// One expectation, once. `Ok(Some(what))` names what the server did when that is worth reporting.
    #[allow(clippy::too_many_arguments)]
    async fn expect_once(
        &self,
        what: &Expectation,
        conn: &mut Conn,
        opening: &Opening<'_>,
        sent: &mut SentMessages,
        assembler: &mut MessageAssembler,
        step_deadline: Instant,
        target: &Target,
    ) -> Result<Option<String>, Miss> {
        match what {
            Expectation::Status { codes, headers, absent } => {
                check_status(opening, codes, headers, absent).map(|()| None)
            }
            Expectation::Refused => check_refused(opening.response).map(Some),
            Expectation::Alive => probe_alive(target, self.options, step_deadline).await.map(Some),
            // after a refused handshake the server may still close TCP, or keep it open
            Expectation::Dropped => expect_dropped(conn, step_deadline).await.map(Some),
            Expectation::Silence(d) => {
                expect_silence(conn, (Instant::now() + *d).min(self.deadline)).await.map(|()| None)
            }
            _ if !opening.upgraded => Err(Miss {
                expected: describe_expectation(what),
                observed: "no WebSocket connection (the handshake did not succeed)".into(),
                hard: false,
            }),
            Expectation::Echo => {
                while let Some(m) = sent.pending.pop_front() {
                    expect_message(conn, assembler, &m, step_deadline, true).await?;
                }
                Ok(None)
            }
            Expectation::Message { opcode, payload } => {
                let m = if *opcode == 1 { Message::Text(payload.clone()) } else { Message::Binary(payload.clone()) };
                expect_message(conn, assembler, &m, step_deadline, false).await.map(|()| None)
            }
            Expectation::Pong { payload } => expect_pong(conn, payload, step_deadline).await.map(|()| None),
            Expectation::Close { codes, allow_drop } => {
                expect_close(conn, codes, *allow_drop, step_deadline).await.map(Some)
            }
        }
    }
}

/// The opening handshake as the steps see it.
struct Opening<'a> {
    /// The response, or why there is none.
    response: &'a Result<ServerResponse, String>,
    /// A valid 101: frames follow.
    upgraded: bool,
    /// What is wrong with a 101 (RFC 6455 §4.1 items 1-6), if it was one.
    problems: &'a [String],
}

/// A refusal: any answer but 101, or the connection closed without one (RFC 6455 §4.2.1: the server
/// "MUST stop processing the client's handshake" of an invalid request).
fn check_refused(response: &Result<ServerResponse, String>) -> Result<String, Miss> {
    let expected = "the handshake refused (any status but 101, or the connection closed)".to_string();
    match response {
        Ok(r) if r.status != 101 => Ok(format!("refused with {} {}", r.status, r.reason)),
        Ok(r) => Err(Miss { expected, observed: format!("{} {}", r.status, r.reason), hard: false }),
        Err(why) if why.contains("closed the connection") || why.starts_with("connection broken") => {
            Ok(format!("refused: {why}"))
        }
        Err(why) => Err(Miss { expected, observed: why.clone(), hard: false }),
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

/// Frame summaries noted in the trace per send step; the rest are counted.
const FRAMES_NOTED: usize = 32;

/// The bytes of a send step: the frame, or its payload cut into fragments,
/// `repeat` times; with `fresh_mask` every frame gets its own random key
/// (RFC 6455 §5.3: a fresh, unpredictable key per frame). Also one summary per frame.
fn encode_send(
    frame: &FrameSpec,
    fill: Option<&Fill>,
    fragment: Option<usize>,
    fresh_mask: bool,
    repeat: usize,
) -> Result<(Vec<u8>, Vec<String>), crate::wire::EncodeError> {
    let generated = fill.map(Fill::bytes);
    let payload = generated.as_deref().unwrap_or(&frame.payload);
    let mut bytes = Vec::with_capacity((payload.len() + 14) * repeat);
    let mut summaries = Vec::new();
    let mut put = |spec: FrameSpec, bytes: &mut Vec<u8>| -> Result<(), crate::wire::EncodeError> {
        let spec = if fresh_mask { spec.mask_key(crate::wire::MaskingKey::random().0) } else { spec };
        bytes.extend_from_slice(&spec.encode()?);
        if summaries.len() <= FRAMES_NOTED {
            summaries.push(describe_frame(&spec.header(), &spec.payload));
        } else {
            summaries.push(String::new());
        }
        Ok(())
    };
    for _ in 0..repeat {
        match fragment {
            None => {
                let mut spec = frame.clone();
                if generated.is_some() {
                    spec.payload = payload.to_vec();
                }
                put(spec, &mut bytes)?;
            }
            Some(size) => {
                let pieces: Vec<&[u8]> =
                    if payload.is_empty() { vec![&[][..]] } else { payload.chunks(size).collect() };
                let last = pieces.len() - 1;
                for (i, piece) in pieces.into_iter().enumerate() {
                    let mut spec = frame.clone();
                    spec.payload = piece.to_vec();
                    spec.declared_len = None;
                    // RFC 6455 §5.4: the first fragment carries the opcode, the others are continuations
                    if i > 0 {
                        spec.opcode = 0;
                        spec.rsv = 0;
                    }
                    spec.fin = i == last && frame.fin;
                    put(spec, &mut bytes)?;
                }
            }
        }
    }
    Ok((bytes, summaries))
}

/// A fresh connection to the target: it must answer the opening handshake
/// with a valid 101 and a ping with its pong. Shows a server survived what a
/// case did to it (a crash, a hang or exhausted resources fail here).
async fn probe_alive(target: &Target, options: &RunOptions, deadline: Instant) -> Result<String, Miss> {
    let expected = "a fresh connection to get a 101 and a pong (the server survived)".to_string();
    let miss = |observed: String| Miss { expected: expected.clone(), observed, hard: false };
    let began = Instant::now();
    let stream = connect(target, options, deadline).await.map_err(|e| miss(format!("no new connection: {e}")))?;
    let mut conn = Conn::new(stream, began);
    let request = ClientRequest::new(target.host_header(), target.path.clone());
    let key = request.websocket_key().unwrap_or_default().to_string();
    conn.send(&request.encode(), &Delivery::default()).await;
    let response = read_response(&mut conn, deadline, deadline.saturating_duration_since(began))
        .await
        .map_err(|e| miss(format!("a new connection got no handshake answer: {e}")))?;
    if let Some(problem) = response.check_upgrade(&key, &[], &[]).first() {
        return Err(miss(format!("a new connection was refused: {problem}")));
    }
    let probe = b"wsharness: still alive?";
    send_frame(&mut conn, &FrameSpec::ping(probe.to_vec())).await;
    loop {
        match conn.next_event(deadline).await {
            None => return Err(miss("a new connection got no pong".into())),
            Some(Event::Frame(f)) if f.header.opcode == 0xA && f.payload == probe => break,
            Some(Event::Frame(_)) => continue,
            Some(e) => return Err(miss(format!("a new connection: {}", e.describe()))),
        }
    }
    send_frame(&mut conn, &FrameSpec::close(CloseCode::NORMAL, b"")).await;
    conn.shutdown().await;
    Ok("the server still answers new connections".into())
}

/// Reads the HTTP response of the opening handshake; after a 101 the bytes
/// that follow it are frames, after anything else they are not read as frames.
async fn read_response(conn: &mut Conn, deadline: Instant, budget: Duration) -> Result<ServerResponse, String> {
    let mut head = Vec::new();
    loop {
        match conn.read_raw(deadline).await {
            Ok(None) => {
                let secs = budget.as_secs_f64();
                return Err(format!("no HTTP response within {secs:.1} s after sending the request"));
            }
            Ok(Some(bytes)) if bytes.is_empty() => {
                return Err("the server closed the connection without an HTTP response".into());
            }
            Ok(Some(bytes)) => head.extend_from_slice(&bytes),
            Err(e) => return Err(format!("connection broken while waiting for the response: {e}")),
        }
        match parse_response(&head) {
            Ok(None) => continue,
            Ok(Some((response, len))) => {
                conn.note(TraceKind::Http {
                    dir: Direction::Received,
                    head: String::from_utf8_lossy(&response.raw_head).into_owned(),
                });
                if response.status == 101 {
                    conn.push_frames(&head[len..]);
                } else {
                    conn.ignore_rest();
                }
                return Ok(response);
            }
            Err(e) => return Err(format!("the server's answer is not an HTTP response: {e}")),
        }
    }
}

impl Run<'_> {
    /// The close phase (RFC 6455 §7.1): judged on its own, like Autobahn's "close behavior".
    async fn judge_close(&self, conn: &mut Conn, accepted_drop: bool, mid_frame: bool) -> CloseOutcome {
        let until = (Instant::now() + self.options.close_timeout).min(self.deadline.max(Instant::now()));
        let server_close = conn.server_close;
        let mut out = CloseOutcome {
            verdict: CloseVerdict::Ok,
            server_code: server_close.flatten(),
            initiated_by: if server_close.is_some() { "server" } else { "none" },
            server_closed_tcp: conn.is_closed(),
            reason: None,
        };
        if server_close.is_none() && conn.is_closed() {
            if !accepted_drop {
                out.verdict = CloseVerdict::Unclean;
                out.reason = Some("the server closed TCP without a close frame: a browser reports 1006".into());
            }
            return out;
        }
        if let Some(code) = server_close {
            // the server closed: we answer (§5.5.1), then the server closes TCP first (§7.1.1)
            let reply = match code {
                Some(c) => FrameSpec::close(CloseCode(c), b""),
                None => FrameSpec::close_empty(),
            };
            send_frame(conn, &reply).await;
            return self.await_tcp_close(conn, until, out).await;
        }
        if mid_frame {
            // our bytes stopped inside a frame (a declared length never sent): a close frame now would
            // only be read as that frame's payload, so there is no closing handshake to judge
            out.verdict = CloseVerdict::Informational;
            out.reason = Some(
                "not judged: the case's last frame is unfinished, so a close frame would be read as its payload".into(),
            );
            return out;
        }
        // still open: we start the closing handshake with 1000
        out.initiated_by = "client";
        send_frame(conn, &FrameSpec::close(CloseCode::NORMAL, b"")).await;
        loop {
            match conn.next_event(until).await {
                None => {
                    out.verdict = CloseVerdict::Failed;
                    out.reason = Some(format!(
                        "no close reply within {:.1} s after sending close 1000",
                        self.options.close_timeout.as_secs_f64()
                    ));
                    return out;
                }
                Some(Event::Frame(f)) if f.header.opcode == 0x8 => {
                    let code = close_code(&f.payload);
                    out.server_code = code;
                    if !matches!(code, None | Some(1000)) {
                        out.verdict = CloseVerdict::WrongCode;
                        out.reason = Some(format!("replied to close 1000 with code {}", code.unwrap_or_default()));
                    }
                    return self.await_tcp_close(conn, until, out).await;
                }
                // data the server was already sending when our close crossed it
                Some(Event::Frame(_)) => continue,
                Some(Event::Closed(_)) | Some(Event::Unreadable(_)) => {
                    out.server_closed_tcp = conn.is_closed();
                    out.verdict = CloseVerdict::Unclean;
                    out.reason =
                        Some("the server closed TCP without replying to our close: a browser reports 1006".into());
                    return out;
                }
            }
        }
    }

    async fn await_tcp_close(&self, conn: &mut Conn, until: Instant, mut out: CloseOutcome) -> CloseOutcome {
        loop {
            match conn.next_event(until).await {
                Some(Event::Closed(_)) => {
                    out.server_closed_tcp = true;
                    return out;
                }
                Some(_) => continue,
                None => {
                    out.verdict = CloseVerdict::Failed;
                    out.reason = Some(format!(
                        "the server did not close TCP within {:.1} s of the close handshake (RFC 6455 §7.1.1)",
                        self.options.close_timeout.as_secs_f64()
                    ));
                    return out;
                }
            }
        }
    }
}

async fn send_frame(conn: &mut Conn, frame: &FrameSpec) {
    if let Ok(bytes) = frame.encode() {
        conn.note(TraceKind::Frame { dir: Direction::Sent, summary: describe_frame(&frame.header(), &frame.payload) });
        conn.send(&bytes, &Delivery::default()).await;
    }
}

/// Rules broken by the server's frames: FAILED, except where the RFC leaves room.
fn judge_violations(conn: &Conn, sent_close_codes: &[u16], j: &mut Judged) {
    for v in &conn.violations {
        let echoed_ours = matches!(conn.server_close, Some(Some(c)) if sent_close_codes.contains(&c));
        let verdict = match v.kind {
            // 1012-1014 were registered with IANA after the RFC: neither right nor wrong
            ViolationKind::CloseCodeRegisteredAfterRfc => Verdict::Informational,
            // echoing back the invalid code the client itself sent (Autobahn 7.13.x rates this INFORMATIONAL)
            ViolationKind::CloseCodeOutOfRange | ViolationKind::CloseCodeNotForWire if echoed_ours => {
                Verdict::Informational
            }
            _ => Verdict::Failed,
        };
        j.miss(verdict, format!("the server sent an invalid frame: {v}"), None, None);
    }
}

/// Data messages the case sent and whose echo is still due.
#[derive(Default)]
struct SentMessages {
    /// Codes of the close frames the case sent.
    close_codes: Vec<u16>,
    broken: bool,
    reader: FrameReader,
    assembler: MessageAssembler,
    pending: VecDeque<Message>,
}

impl SentMessages {
    /// Whether the bytes sent so far end inside a frame (or could not be read back as frames at all).
    fn mid_frame(&self) -> bool {
        !self.reader.buffered().is_empty() || self.reader.is_failed()
    }

    /// Reads our own frame bytes back to know which messages a correct server
    /// echoes: only messages made of valid client frames, and valid UTF-8 for
    /// text. A frame that breaks a rule makes the server fail the connection
    /// (§7.1.7), so nothing from it onwards is echoed.
    fn track(&mut self, bytes: &[u8]) {
        self.reader.push(bytes);
        while let Ok(Some(frame)) = self.reader.next_frame() {
            if let Some(ClosePayload::Code { code, .. }) = frame.close_payload() {
                self.close_codes.push(code.0);
            }
            if self.broken || !valid_client_frame(&frame) {
                self.broken = true;
                continue;
            }
            match self.assembler.push(&frame) {
                Ok(a) if a.violations.is_empty() => {
                    if let Some(m) = a.message {
                        if m.is_text() && m.as_text().is_none() {
                            self.broken = true;
                        } else {
                            self.pending.push_back(m);
                        }
                    }
                }
                _ => self.broken = true,
            }
        }
    }
}

/// Whether a frame we sent keeps the client's rules of §5 (no extension is negotiated).
fn valid_client_frame(f: &ObservedFrame) -> bool {
    let h = &f.header;
    let control = h.opcode & 0x8 != 0;
    h.masking_key.is_some()
        && h.rsv == 0
        && matches!(h.opcode, 0x0..=0x2 | 0x8..=0xA)
        && h.declared_len == f.payload.len() as u64
        && (!control || (h.fin && h.declared_len <= 125))
        && h.length_field == LengthField::minimal_for(h.declared_len)
}

async fn wait_collecting(conn: &mut Conn, until: Instant) {
    let mut held = Vec::new();
    while let Some(e) = conn.next_event(until).await {
        let closed = matches!(e, Event::Closed(_));
        held.push(e);
        if closed {
            break;
        }
    }
    for e in held.into_iter().rev() {
        conn.unread(e);
    }
}

fn describe_message(m: &Message) -> String {
    let kind = if m.is_text() { "text" } else { "binary" };
    format!("{kind} message of {} bytes {}", m.payload().len(), super::trace::preview(m.payload()))
}

fn describe_expectation(e: &Expectation) -> String {
    match e {
        Expectation::Status { codes, .. } => format!("HTTP status {codes:?}"),
        Expectation::Echo => "the echo of the messages sent".into(),
        Expectation::Message { opcode, payload } => describe_message(&if *opcode == 1 {
            Message::Text(payload.clone())
        } else {
            Message::Binary(payload.clone())
        }),
        Expectation::Pong { payload } => format!("a pong with {}", super::trace::preview(payload)),
        Expectation::Close { codes, .. } if codes.is_empty() => "a close frame".into(),
        Expectation::Close { codes, .. } => format!("a close frame with code {}", join_codes(codes)),
        Expectation::Dropped => "the server to close TCP".into(),
        Expectation::Silence(d) => format!("nothing for {} ms", d.as_millis()),
        Expectation::Alive => "a fresh connection to get a 101 and a pong".into(),
        Expectation::Refused => "the handshake refused".into(),
    }
}

fn join_codes(codes: &[u16]) -> String {
    let mut unique = codes.to_vec();
    unique.dedup();
    let s: Vec<String> = unique.iter().map(|c| c.to_string()).collect();
    s.join(" or ")
}

fn check_status(
    opening: &Opening<'_>,
    codes: &[u16],
    headers: &[(String, String)],
    absent: &[String],
) -> Result<(), Miss> {
    let mut expected = if headers.is_empty() {
        format!("HTTP status {}", join_codes(codes))
    } else {
        let h: Vec<String> = headers.iter().map(|(k, v)| format!("{k}: {v}")).collect();
        format!("HTTP status {} with {}", join_codes(codes), h.join(", "))
    };
    if !absent.is_empty() {
        expected.push_str(&format!(" and no {}", absent.join(", no ")));
    }
    let r = match opening.response {
        Ok(r) => r,
        Err(why) => return Err(Miss { expected, observed: why.clone(), hard: false }),
    };
    if !codes.contains(&r.status) {
        return Err(Miss { expected, observed: format!("{} {}", r.status, r.reason), hard: false });
    }
    if let Some(problem) = opening.problems.first() {
        // a 101 is only acceptable when it is a valid one (RFC 6455 §4.2.2)
        return Err(Miss { expected, observed: format!("101 with a broken handshake: {problem}"), hard: true });
    }
    for (name, want) in headers {
        let found: Vec<&str> = r.header_values(name).collect();
        let ok = if want == "*" {
            !found.is_empty()
        } else {
            // the whole value, or one token of a comma-separated list (RFC 7230 §7)
            found.iter().any(|v| {
                v.trim().eq_ignore_ascii_case(want.trim())
                    || v.split(',').any(|t| t.trim().eq_ignore_ascii_case(want.trim()))
            })
        };
        if !ok {
            let observed =
                if found.is_empty() { format!("no {name} header") } else { format!("{name}: {}", found.join(", ")) };
            return Err(Miss { expected, observed, hard: false });
        }
    }
    for name in absent {
        let found: Vec<&str> = r.header_values(name).collect();
        if !found.is_empty() {
            return Err(Miss { expected, observed: format!("{name}: {}", found.join(", ")), hard: false });
        }
    }
    Ok(())
}

async fn expect_message(
    conn: &mut Conn,
    assembler: &mut MessageAssembler,
    want: &Message,
    deadline: Instant,
    echo: bool,
) -> Result<(), Miss> {
    let expected = if echo { format!("the echo of the {}", describe_message(want)) } else { describe_message(want) };
    loop {
        let Some(event) = conn.next_event(deadline).await else {
            return Err(Miss { expected, observed: "nothing".into(), hard: false });
        };
        match &event {
            Event::Frame(f) if matches!(f.header.opcode, 0x0..=0x2) => {
                let assembled = assembler.push(f).map_err(|e| Miss {
                    expected: expected.clone(),
                    observed: e.to_string(),
                    hard: false,
                })?;
                if let Some(v) = assembled.violations.first() {
                    return Err(Miss { expected, observed: v.to_string(), hard: false });
                }
                let Some(got) = assembled.message else { continue };
                if &got == want {
                    return Ok(());
                }
                let observed = if got.is_text() != want.is_text() {
                    describe_message(&got)
                } else {
                    let at = got.payload().iter().zip(want.payload()).position(|(a, b)| a != b);
                    match at {
                        Some(i) => format!("{} differing at byte {i}", describe_message(&got)),
                        None => describe_message(&got),
                    }
                };
                // a wrong message is never a milder fault: the server corrupted data (RFC 6455 §5.6)
                return Err(Miss { expected, observed, hard: true });
            }
            _ => {
                let observed = event.describe();
                conn.unread(event);
                return Err(Miss { expected, observed, hard: false });
            }
        }
    }
}

async fn expect_pong(conn: &mut Conn, payload: &[u8], deadline: Instant) -> Result<(), Miss> {
    let expected = format!("a pong with {}", super::trace::preview(payload));
    match conn.next_event(deadline).await {
        None => Err(Miss { expected, observed: "nothing".into(), hard: false }),
        Some(Event::Frame(f)) if f.header.opcode == 0xA && f.payload == payload => Ok(()),
        Some(e) => {
            let observed = e.describe();
            conn.unread(e);
            Err(Miss { expected, observed, hard: false })
        }
    }
}

async fn expect_close(conn: &mut Conn, codes: &[u16], allow_drop: bool, deadline: Instant) -> Result<String, Miss> {
    let expected = if codes.is_empty() {
        "a close frame".to_string()
    } else {
        format!("a close frame with code {}", join_codes(codes))
    };
    let acceptable = |code: Option<u16>| match code {
        _ if codes.is_empty() => true,
        Some(c) => codes.contains(&c),
        // 1005 in a case's list means "no status code" (RFC 6455 §7.4.1)
        None => codes.contains(&1005),
    };
    if let Some((code, seen)) = &conn.close_taken {
        // an earlier step already took the server's close: it stands for this one too
        return if acceptable(*code) {
            Ok(format!("{seen} (received earlier)"))
        } else {
            Err(Miss { expected, observed: format!("{seen} (received earlier)"), hard: false })
        };
    }
    match conn.next_event(deadline).await {
        None => Err(Miss { expected, observed: "nothing".into(), hard: false }),
        Some(Event::Frame(f)) if f.header.opcode == 0x8 => {
            let code = close_code(&f.payload);
            let seen = describe_frame(&f.header, &f.payload);
            if acceptable(code) {
                conn.close_taken = Some((code, seen.clone()));
                Ok(seen)
            } else {
                // put back: a milder miss lets a later step judge it
                conn.unread(Event::Frame(f));
                Err(Miss { expected, observed: seen, hard: false })
            }
        }
        Some(Event::Closed(how)) if allow_drop => Ok(format!("TCP closed without a close frame ({how})")),
        Some(Event::Closed(how)) => Err(Miss {
            expected,
            observed: format!(
                "the TCP connection closed without a close frame ({how}): a browser reports 1006 instead of the code (RFC 6455 §7.1.5)"
            ), hard: false }),
        Some(e) => {
            let observed = e.describe();
            conn.unread(e);
            Err(Miss { expected, observed, hard: false })
        }
    }
}

async fn expect_dropped(conn: &mut Conn, deadline: Instant) -> Result<String, Miss> {
    let expected = "the server to close TCP".to_string();
    loop {
        match conn.next_event(deadline).await {
            None => return Err(Miss { expected, observed: "nothing".into(), hard: false }),
            Some(Event::Closed(how)) => return Ok(format!("TCP closed ({how})")),
            Some(Event::Frame(f)) if f.header.opcode == 0x8 => {}
            Some(e) => {
                let observed = e.describe();
                conn.unread(e);
                return Err(Miss { expected, observed, hard: false });
            }
        }
    }
}

async fn expect_silence(conn: &mut Conn, until: Instant) -> Result<(), Miss> {
    match conn.next_event(until).await {
        None => Ok(()),
        Some(e) => {
            let observed = e.describe();
            conn.unread(e);
            Err(Miss { expected: "nothing".into(), observed, hard: false })
        }
    }
}
