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
use super::trace::{Direction, TraceEvent, TraceKind};
use crate::case::{Case, Delivery, Expectation, Request, Step};
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
}

/// Runs `case` against `target`. Never panics and never exceeds `options.case_timeout`
/// by more than the time to notice it: a hostile server costs a verdict, not the run.
pub async fn run_case(case: &Case, target: &Target, options: &RunOptions) -> CaseOutcome {
    let start = Instant::now();
    let deadline = start + options.case_timeout;
    let run = Run { case, start, deadline, options };
    let tcp = match timeout_at(deadline, TcpStream::connect(target.authority())).await {
        Ok(Ok(stream)) => stream,
        Ok(Err(e)) => return run.errored(format!("cannot connect to {}: {e}", target.authority())),
        Err(_) => return run.errored(format!("cannot connect to {} within the case timeout", target.authority())),
    };
    let _ = tcp.set_nodelay(true);
    let stream: Box<dyn Io> = if target.secure {
        let connector = match &options.tls {
            Some(c) => c.clone(),
            None => match tls::connector(false) {
                Ok(c) => c,
                Err(e) => return run.errored(format!("{e}: {:?}", std::error::Error::source(&e))),
            },
        };
        let name = match tls::server_name(&target.host) {
            Ok(n) => n,
            Err(e) => return run.errored(e),
        };
        match timeout_at(deadline, connector.connect(name, tcp)).await {
            Ok(Ok(s)) => Box::new(s),
            Ok(Err(e)) => {
                return run.errored(format!(
                    "TLS handshake with {} failed: {e} (for a self-signed certificate use --insecure)",
                    target.authority()
                ))
            }
            Err(_) => {
                return run.errored(format!("no TLS handshake with {} within the case timeout", target.authority()))
            }
        }
    } else {
        Box::new(tcp)
    };
    let mut conn = Conn::new(stream, start);
    let outcome = run.execute(&mut conn, target).await;
    conn.shutdown().await;
    outcome.finish(conn.trace, start)
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
        conn.note(TraceKind::Http { dir: Direction::Sent, head: String::from_utf8_lossy(&request).into_owned() });
        conn.send(&request, &self.case.handshake.delivery).await;
        let response = self.read_response(conn).await;
        let upgraded = match &response {
            Ok(r) => {
                let protocols: Vec<&str> = offered_protocols.iter().map(String::as_str).collect();
                let extensions: Vec<&str> = offered_extensions.iter().map(String::as_str).collect();
                let problems = r.check_upgrade(&key, &protocols, &extensions);
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
                Step::Frame { frame, delivery } => {
                    let bytes = match frame.encode() {
                        Ok(b) => b,
                        Err(e) => {
                            j.miss(Verdict::Errored, format!("the case's frame cannot be encoded: {e}"), None, None);
                            return j;
                        }
                    };
                    last_sent = describe_frame(&frame.header(), &frame.payload);
                    sent.track(&bytes);
                    conn.note(TraceKind::Frame { dir: Direction::Sent, summary: last_sent.clone() });
                    conn.send(&bytes, delivery).await;
                }
                Step::Raw { bytes, delivery } => {
                    last_sent = format!("{} raw bytes", bytes.len());
                    conn.send(bytes, delivery).await;
                }
                Step::Wait(d) => {
                    let until = (Instant::now() + *d).min(self.deadline);
                    conn.note(TraceKind::Note(format!("waiting {} ms", d.as_millis())));
                    wait_collecting(conn, until).await;
                }
                Step::Expect { what, timeout, mismatch, line } => {
                    let step_deadline = match timeout {
                        Some(t) => (Instant::now() + *t).min(self.deadline),
                        None => self.deadline,
                    };
                    let result = match what {
                        Expectation::Status { codes, headers } => check_status(&response, codes, headers),
                        _ if !upgraded => Err(Miss {
                            expected: describe_expectation(what),
                            observed: "no WebSocket connection (the handshake did not succeed)".into(),
                        }),
                        Expectation::Echo => {
                            let mut r = Ok(());
                            while let Some(m) = sent.pending.pop_front() {
                                r = expect_message(conn, &mut assembler, &m, step_deadline, true).await;
                                if r.is_err() {
                                    break;
                                }
                            }
                            r
                        }
                        Expectation::Message { opcode, payload } => {
                            let m = if *opcode == 1 {
                                Message::Text(payload.clone())
                            } else {
                                Message::Binary(payload.clone())
                            };
                            expect_message(conn, &mut assembler, &m, step_deadline, false).await
                        }
                        Expectation::Pong { payload } => expect_pong(conn, payload, step_deadline).await,
                        Expectation::Close { codes, allow_drop } => {
                            let r = expect_close(conn, codes, *allow_drop, step_deadline).await;
                            if r.is_ok() && conn.is_closed() {
                                accepted_drop = true;
                            }
                            r
                        }
                        Expectation::Dropped => {
                            let r = expect_dropped(conn, step_deadline).await;
                            accepted_drop |= r.is_ok();
                            r
                        }
                        Expectation::Silence(d) => expect_silence(conn, (Instant::now() + *d).min(self.deadline)).await,
                    };
                    match result {
                        Ok(()) => {
                            conn.note(TraceKind::Note(format!("line {line}: met: {}", describe_expectation(what))))
                        }
                        Err(miss) => {
                            let waited = if miss.observed == "nothing" {
                                let secs = step_deadline.saturating_duration_since(self.start).as_secs_f64();
                                format!("no response within {secs:.1} s after sending {last_sent}")
                            } else {
                                format!("got {}", miss.observed)
                            };
                            let reason = format!("expected {}; {waited}", miss.expected);
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
            j.close = Some(self.judge_close(conn, accepted_drop).await);
        }
        judge_violations(conn, &sent.close_codes, &mut j);
        j
    }

    async fn read_response(&self, conn: &mut Conn) -> Result<ServerResponse, String> {
        let mut head = Vec::new();
        loop {
            match conn.read_raw(self.deadline).await {
                Ok(None) => {
                    let secs = self.options.case_timeout.as_secs_f64();
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
                    conn.push_frames(&head[len..]);
                    return Ok(response);
                }
                Err(e) => return Err(format!("the server's answer is not an HTTP response: {e}")),
            }
        }
    }

    /// The close phase (RFC 6455 §7.1): judged on its own, like Autobahn's "close behavior".
    async fn judge_close(&self, conn: &mut Conn, accepted_drop: bool) -> CloseOutcome {
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
    }
}

fn join_codes(codes: &[u16]) -> String {
    let mut unique = codes.to_vec();
    unique.dedup();
    let s: Vec<String> = unique.iter().map(|c| c.to_string()).collect();
    s.join(" or ")
}

fn check_status(
    response: &Result<ServerResponse, String>,
    codes: &[u16],
    headers: &[(String, String)],
) -> Result<(), Miss> {
    let expected = if headers.is_empty() {
        format!("HTTP status {}", join_codes(codes))
    } else {
        let h: Vec<String> = headers.iter().map(|(k, v)| format!("{k}: {v}")).collect();
        format!("HTTP status {} with {}", join_codes(codes), h.join(", "))
    };
    let r = match response {
        Ok(r) => r,
        Err(why) => return Err(Miss { expected, observed: why.clone() }),
    };
    if !codes.contains(&r.status) {
        return Err(Miss { expected, observed: format!("{} {}", r.status, r.reason) });
    }
    for (name, want) in headers {
        let found: Vec<&str> = r.header_values(name).collect();
        let ok = if want == "*" {
            !found.is_empty()
        } else {
            found.iter().any(|v| v.trim().eq_ignore_ascii_case(want.trim()))
        };
        if !ok {
            let observed =
                if found.is_empty() { format!("no {name} header") } else { format!("{name}: {}", found.join(", ")) };
            return Err(Miss { expected, observed });
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
            return Err(Miss { expected, observed: "nothing".into() });
        };
        match &event {
            Event::Frame(f) if matches!(f.header.opcode, 0x0..=0x2) => {
                let assembled =
                    assembler.push(f).map_err(|e| Miss { expected: expected.clone(), observed: e.to_string() })?;
                if let Some(v) = assembled.violations.first() {
                    return Err(Miss { expected, observed: v.to_string() });
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
                return Err(Miss { expected, observed });
            }
            _ => {
                let observed = event.describe();
                conn.unread(event);
                return Err(Miss { expected, observed });
            }
        }
    }
}

async fn expect_pong(conn: &mut Conn, payload: &[u8], deadline: Instant) -> Result<(), Miss> {
    let expected = format!("a pong with {}", super::trace::preview(payload));
    match conn.next_event(deadline).await {
        None => Err(Miss { expected, observed: "nothing".into() }),
        Some(Event::Frame(f)) if f.header.opcode == 0xA && f.payload == payload => Ok(()),
        Some(e) => {
            let observed = e.describe();
            conn.unread(e);
            Err(Miss { expected, observed })
        }
    }
}

async fn expect_close(conn: &mut Conn, codes: &[u16], allow_drop: bool, deadline: Instant) -> Result<(), Miss> {
    let expected = if codes.is_empty() {
        "a close frame".to_string()
    } else {
        format!("a close frame with code {}", join_codes(codes))
    };
    match conn.next_event(deadline).await {
        None => Err(Miss { expected, observed: "nothing".into() }),
        Some(Event::Frame(f)) if f.header.opcode == 0x8 => {
            let code = close_code(&f.payload);
            match code {
                _ if codes.is_empty() => Ok(()),
                Some(c) if codes.contains(&c) => Ok(()),
                // 1005 in a case's list means "no status code" (RFC 6455 §7.4.1)
                None if codes.contains(&1005) => Ok(()),
                _ => Err(Miss { expected, observed: describe_frame(&f.header, &f.payload) }),
            }
        }
        Some(Event::Closed(how)) if allow_drop => {
            let _ = how;
            Ok(())
        }
        Some(Event::Closed(how)) => Err(Miss {
            expected,
            observed: format!(
                "the TCP connection closed without a close frame ({how}): a browser reports 1006 instead of the code (RFC 6455 §7.1.5)"
            ),
        }),
        Some(e) => {
            let observed = e.describe();
            conn.unread(e);
            Err(Miss { expected, observed })
        }
    }
}

async fn expect_dropped(conn: &mut Conn, deadline: Instant) -> Result<(), Miss> {
    let expected = "the server to close TCP".to_string();
    loop {
        match conn.next_event(deadline).await {
            None => return Err(Miss { expected, observed: "nothing".into() }),
            Some(Event::Closed(_)) => return Ok(()),
            Some(Event::Frame(f)) if f.header.opcode == 0x8 => {}
            Some(e) => {
                let observed = e.describe();
                conn.unread(e);
                return Err(Miss { expected, observed });
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
            Err(Miss { expected: "nothing".into(), observed })
        }
    }
}
