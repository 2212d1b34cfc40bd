//! One case's connection: writes with the case's delivery, and reads turned
//! into [`Event`]s, every one of them recorded in the trace. A timeout is data
//! (`None`), not an error, so a stalling server costs a verdict, never the run.

use std::collections::VecDeque;
use std::io;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadHalf, WriteHalf};
use tokio::time::{sleep, sleep_until, timeout_at, Instant};

use super::trace::{
    preview, Direction, TraceEvent, TraceKind, MAX_TRACE_BYTES, MAX_TRACE_EVENTS, MAX_TRACE_TOTAL_BYTES,
};
use crate::case::{Delivery, ReadPace};
use crate::wire::{ClosePayload, FrameHeader, FrameReader, ObservedFrame, Opcode, Violation};

/// Something the server did.
#[derive(Debug, Clone)]
pub enum Event {
    /// A frame, exactly as sent.
    Frame(ObservedFrame),
    /// The server closed TCP (`EOF`) or the connection broke (the error).
    Closed(String),
    /// Bytes that cannot be read as frames (e.g. a frame over the reader's limit).
    Unreadable(String),
}

impl Event {
    /// One line for reasons and traces.
    pub fn describe(&self) -> String {
        match self {
            Event::Frame(f) => describe_frame(&f.header, &f.payload),
            Event::Closed(how) if how == "EOF" => "TCP closed by the server".to_string(),
            Event::Closed(how) => format!("connection broken ({how})"),
            Event::Unreadable(why) => format!("unreadable bytes ({why})"),
        }
    }
}

/// One line describing a frame: opcode, unusual flags, length, payload preview.
pub fn describe_frame(h: &FrameHeader, payload: &[u8]) -> String {
    let name = Opcode::name_of(h.opcode);
    let mut s = String::from(name);
    if !h.fin {
        s.push_str(" FIN=0");
    }
    if h.rsv != 0 {
        s.push_str(&format!(" RSV={}", h.rsv));
    }
    if let Some(k) = h.masking_key {
        s.push_str(&format!(" masked({k})"));
    }
    if h.opcode == 0x8 {
        match ClosePayload::parse(payload) {
            ClosePayload::Code { code, reason } => {
                s.push_str(&format!(" {}", code.0));
                if !reason.is_empty() {
                    s.push_str(&format!(" {}", preview(reason)));
                }
                return s;
            }
            ClosePayload::Empty => return s + " (no code)",
            ClosePayload::Truncated(_) => return s + " (1-byte body)",
        }
    }
    if h.declared_len != payload.len() as u64 {
        s.push_str(&format!(" declared {} bytes, {} sent", h.declared_len, payload.len()));
    } else {
        s.push_str(&format!(" {} bytes", payload.len()));
    }
    if !payload.is_empty() {
        s.push(' ');
        s.push_str(&preview(payload));
    }
    s
}

/// A byte stream to the server: TCP, or TLS over TCP.
pub trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// The status code of a close frame's payload (`None`: no code, or a 1-byte body).
pub fn close_code(payload: &[u8]) -> Option<u16> {
    match ClosePayload::parse(payload) {
        ClosePayload::Code { code, .. } => Some(code.0),
        _ => None,
    }
}

/// How long a write may make no progress before the harness gives up on it.
pub const WRITE_STALL: std::time::Duration = std::time::Duration::from_secs(2);

/// Read buffer size.
const READ_SIZE: usize = 64 * 1024;

/// What the bytes read are for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// The handshake response: bytes wait in `early` for the HTTP parser.
    Head,
    /// Frames, after a 101.
    Frames,
    /// Neither: the server refused the handshake; bytes are only traced.
    Ignore,
}

/// A case's TCP connection and everything seen on it.
///
/// Writes read at the same time: a server that echoes while it reads (as it
/// should) and stops reading while its writes are blocked (as it may) cannot
/// deadlock a case that sends megabytes.
pub struct Conn {
    rd: ReadHalf<Box<dyn Io>>,
    wr: WriteHalf<Box<dyn Io>>,
    /// What reads are for: the handshake response, frames, or nothing (after a refusal).
    phase: Phase,
    early: Vec<u8>,
    /// A slow client: read size and pause.
    pace: Option<ReadPace>,
    next_read: Instant,
    /// Writes stop here: the case's deadline.
    deadline: Instant,
    /// Trace events left out once the trace is full.
    omitted: usize,
    /// Raw bytes kept in the trace so far.
    traced_bytes: usize,
    reader: FrameReader,
    pending: VecDeque<Event>,
    closed: Option<String>,
    buf: Vec<u8>,
    start: Instant,
    /// Every write and read, in order.
    pub trace: Vec<TraceEvent>,
    /// Rules the server's frames broke.
    pub violations: Vec<Violation>,
    /// The server's first close frame, when read: its code (`None`: no code).
    pub server_close: Option<Option<u16>>,
    /// The close frame an expectation took (its code and summary): later close expectations judge it again.
    pub close_taken: Option<(Option<u16>, String)>,
}

impl Conn {
    /// Wraps a connected stream; `start` is the case's start time.
    pub fn new(stream: Box<dyn Io>, start: Instant) -> Conn {
        let (rd, wr) = tokio::io::split(stream);
        Conn {
            rd,
            wr,
            phase: Phase::Head,
            early: Vec::new(),
            pace: None,
            next_read: start,
            omitted: 0,
            deadline: start + std::time::Duration::from_secs(24 * 3600),
            traced_bytes: 0,
            reader: FrameReader::new(),
            pending: VecDeque::new(),
            closed: None,
            buf: vec![0; READ_SIZE],
            start,
            trace: Vec::new(),
            violations: Vec::new(),
            server_close: None,
            close_taken: None,
        }
    }

    /// Writes give up at `deadline` (the case's own).
    pub fn set_deadline(&mut self, deadline: Instant) {
        self.deadline = deadline;
    }

    /// Reads at most `pace.chunk` bytes at a time, pausing between reads: a slow client.
    pub fn set_read_pace(&mut self, pace: Option<ReadPace>) {
        self.pace = pace;
    }

    /// Records a trace event now (up to [`MAX_TRACE_EVENTS`]; then only notes and closes are kept).
    pub fn note(&mut self, mut kind: TraceKind) {
        if let TraceKind::Bytes { bytes, .. } = &mut kind {
            let room = MAX_TRACE_TOTAL_BYTES.saturating_sub(self.traced_bytes);
            bytes.truncate(room);
            self.traced_bytes += bytes.len();
        }
        let essential = matches!(kind, TraceKind::Note(_) | TraceKind::Closed { .. } | TraceKind::Http { .. });
        if self.trace.len() >= MAX_TRACE_EVENTS && !essential {
            if self.omitted == 0 {
                self.trace.push(TraceEvent {
                    at: self.start.elapsed(),
                    kind: TraceKind::Note(format!(
                        "trace full: further frames and bytes are left out (limit {MAX_TRACE_EVENTS} events)"
                    )),
                });
            }
            self.omitted += 1;
            return;
        }
        self.trace.push(TraceEvent { at: self.start.elapsed(), kind });
    }

    /// Whether the server closed TCP (or the connection broke).
    pub fn is_closed(&self) -> bool {
        self.closed.is_some()
    }

    /// Writes `bytes` cut and paced as `delivery` says, reading whatever
    /// arrives meanwhile. A failed write (the server already closed) is
    /// recorded, not returned: the reads tell the story.
    pub async fn send(&mut self, bytes: &[u8], delivery: &Delivery) {
        let mut rest = bytes;
        let mut sizes = delivery.chunks.iter().cycle();
        while !rest.is_empty() {
            let n = sizes.next().copied().unwrap_or(rest.len()).min(rest.len());
            let (chunk, tail) = rest.split_at(n);
            let keep = chunk.len().min(MAX_TRACE_BYTES);
            self.note(TraceKind::Bytes { dir: Direction::Sent, bytes: chunk[..keep].to_vec(), len: chunk.len() });
            if let Err(e) = self.write_reading(chunk).await {
                let why = if e.kind() == io::ErrorKind::TimedOut {
                    format!("write abandoned: {e}")
                } else {
                    format!("write failed after the server closed: {e}")
                };
                self.note(TraceKind::Note(why));
                return;
            }
            rest = tail;
            if !rest.is_empty() && !delivery.pause.is_zero() {
                if Instant::now() + delivery.pause > self.deadline {
                    self.note(TraceKind::Note(format!(
                        "write abandoned: the case's time ran out; {} bytes left unwritten",
                        rest.len()
                    )));
                    return;
                }
                sleep(delivery.pause).await;
            }
        }
    }

    /// Writes all of `chunk`, taking in what the server sends meanwhile. A
    /// server that stops reading for [`WRITE_STALL`] ends the write (it is
    /// reported; the case goes on, so later steps still have time).
    async fn write_reading(&mut self, chunk: &[u8]) -> io::Result<()> {
        let mut written = 0;
        let mut stall = Instant::now() + WRITE_STALL;
        while written < chunk.len() {
            let reading = self.closed.is_none();
            let limit = self.pace.map_or(self.buf.len(), |p| p.chunk.min(self.buf.len()));
            let next_read = self.next_read;
            tokio::select! {
                biased;
                w = self.wr.write(&chunk[written..]) => match w {
                    Ok(0) => return Err(io::Error::new(io::ErrorKind::WriteZero, "the connection accepts no more bytes")),
                    Ok(n) => {
                        written += n;
                        stall = Instant::now() + WRITE_STALL;
                    }
                    Err(e) => return Err(e),
                },
                () = sleep_until(stall.min(self.deadline)) => {
                    let left = chunk.len() - written;
                    let why = if stall <= self.deadline {
                        format!("the server read nothing for {} s; {left} bytes left unwritten", WRITE_STALL.as_secs())
                    } else {
                        format!("the case's time ran out; {left} bytes left unwritten")
                    };
                    return Err(io::Error::new(io::ErrorKind::TimedOut, why));
                }
                r = async { sleep_until(next_read).await; self.rd.read(&mut self.buf[..limit]).await }, if reading => {
                    self.took(r);
                }
            }
        }
        self.wr.flush().await
    }

    /// Records the result of one read: bytes to the trace and on to the frame
    /// reader (or, before the handshake response is parsed, kept for it).
    fn took(&mut self, r: io::Result<usize>) -> Option<Vec<u8>> {
        match r {
            Ok(0) => {
                self.closed = Some("EOF".into());
                self.note(TraceKind::Closed { how: "EOF".into() });
                None
            }
            Ok(n) => {
                if let Some(p) = self.pace {
                    self.next_read = Instant::now() + p.pause;
                }
                let keep = n.min(MAX_TRACE_BYTES);
                let bytes = self.buf[..n].to_vec();
                self.note(TraceKind::Bytes { dir: Direction::Received, bytes: bytes[..keep].to_vec(), len: n });
                match self.phase {
                    Phase::Head => self.early.extend_from_slice(&bytes),
                    // once the reader has failed, bytes are only traced while we wait for the server to close
                    Phase::Frames if !self.reader.is_failed() => {
                        self.reader.push(&bytes);
                        self.drain_frames();
                    }
                    Phase::Frames | Phase::Ignore => {}
                }
                Some(bytes)
            }
            Err(e) => {
                self.closed = Some(e.to_string());
                self.note(TraceKind::Closed { how: e.to_string() });
                None
            }
        }
    }

    /// Reads once, before the handshake response is parsed: bytes read while
    /// the request was being written come first. `Ok(None)` on timeout, an
    /// empty vector on EOF.
    pub async fn read_raw(&mut self, deadline: Instant) -> io::Result<Option<Vec<u8>>> {
        if !self.early.is_empty() {
            return Ok(Some(std::mem::take(&mut self.early)));
        }
        if let Some(how) = &self.closed {
            return match how.as_str() {
                "EOF" => Ok(Some(Vec::new())),
                other => Err(io::Error::other(other.to_string())),
            };
        }
        match self.read_paced(deadline).await {
            None => Ok(None),
            Some(r) => {
                let failed = r.as_ref().err().map(|e| io::Error::new(e.kind(), e.to_string()));
                match self.took(r) {
                    Some(_) => Ok(Some(std::mem::take(&mut self.early))),
                    None => match failed {
                        Some(e) => Err(e),
                        None => Ok(Some(Vec::new())),
                    },
                }
            }
        }
    }

    /// After a response other than 101: later bytes (a body) are traced, not read as frames.
    pub fn ignore_rest(&mut self) {
        self.phase = Phase::Ignore;
        self.early.clear();
    }

    /// One read into the buffer, at the slow client's pace if one is set; `None` at `deadline`.
    async fn read_paced(&mut self, deadline: Instant) -> Option<io::Result<usize>> {
        let limit = self.pace.map_or(self.buf.len(), |p| p.chunk.min(self.buf.len()));
        let next_read = self.next_read;
        let read = async {
            sleep_until(next_read).await;
            self.rd.read(&mut self.buf[..limit]).await
        };
        timeout_at(deadline, read).await.ok()
    }

    /// Switches to frames: `bytes` followed the handshake response and go to the frame reader.
    pub fn push_frames(&mut self, bytes: &[u8]) {
        self.phase = Phase::Frames;
        self.early.clear();
        self.reader.push(bytes);
        self.drain_frames();
    }

    fn drain_frames(&mut self) {
        loop {
            match self.reader.next_frame() {
                Ok(Some(frame)) => {
                    let summary = describe_frame(&frame.header, &frame.payload);
                    self.note(TraceKind::Frame { dir: Direction::Received, summary });
                    self.violations.extend(frame.violations());
                    if frame.header.opcode == 0x8 && self.server_close.is_none() {
                        self.server_close = Some(close_code(&frame.payload));
                    }
                    self.pending.push_back(Event::Frame(frame));
                }
                Ok(None) => return,
                Err(e) => {
                    let why = e.to_string();
                    self.note(TraceKind::Note(format!("cannot read the server's frames: {why}")));
                    self.pending.push_back(Event::Unreadable(why));
                    return;
                }
            }
        }
    }

    /// The next event, or `None` if nothing arrives before `deadline`.
    pub async fn next_event(&mut self, deadline: Instant) -> Option<Event> {
        loop {
            if let Some(e) = self.pending.pop_front() {
                return Some(e);
            }
            if let Some(how) = &self.closed {
                return Some(Event::Closed(how.clone()));
            }
            if Instant::now() >= deadline {
                // a flooding server always has bytes ready: the deadline must win over them
                return None;
            }
            match self.read_paced(deadline).await {
                None => return None,
                Some(r) => {
                    self.took(r);
                }
            }
        }
    }

    /// Puts an event back, to be seen first by the next expectation.
    pub fn unread(&mut self, event: Event) {
        if !matches!(event, Event::Closed(_)) {
            self.pending.push_front(event);
        }
    }

    /// Closes our side (FIN) without waiting; reads go on.
    pub async fn shutdown(&mut self) {
        let _ = self.wr.shutdown().await;
    }
}
