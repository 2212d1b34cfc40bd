//! One case's connection: writes with the case's delivery, and reads turned
//! into [`Event`]s, every one of them recorded in the trace. A timeout is data
//! (`None`), not an error, so a stalling server costs a verdict, never the run.

use std::collections::VecDeque;
use std::io;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::time::{sleep, timeout_at, Instant};

use super::trace::{preview, Direction, TraceEvent, TraceKind, MAX_TRACE_BYTES};
use crate::case::Delivery;
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

/// Read buffer size.
const READ_SIZE: usize = 64 * 1024;

/// A case's TCP connection and everything seen on it.
pub struct Conn {
    stream: Box<dyn Io>,
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
}

impl Conn {
    /// Wraps a connected stream; `start` is the case's start time.
    pub fn new(stream: Box<dyn Io>, start: Instant) -> Conn {
        Conn {
            stream,
            reader: FrameReader::new(),
            pending: VecDeque::new(),
            closed: None,
            buf: vec![0; READ_SIZE],
            start,
            trace: Vec::new(),
            violations: Vec::new(),
            server_close: None,
        }
    }

    /// Records a trace event now.
    pub fn note(&mut self, kind: TraceKind) {
        self.trace.push(TraceEvent { at: self.start.elapsed(), kind });
    }

    /// Whether the server closed TCP (or the connection broke).
    pub fn is_closed(&self) -> bool {
        self.closed.is_some()
    }

    /// Writes `bytes` cut and paced as `delivery` says. A failed write (the
    /// server already closed) is recorded, not returned: the reads tell the story.
    pub async fn send(&mut self, bytes: &[u8], delivery: &Delivery) {
        let mut rest = bytes;
        let mut sizes = delivery.chunks.iter().cycle();
        while !rest.is_empty() {
            let n = sizes.next().copied().unwrap_or(rest.len()).min(rest.len());
            let (chunk, tail) = rest.split_at(n);
            let keep = chunk.len().min(MAX_TRACE_BYTES);
            self.note(TraceKind::Bytes { dir: Direction::Sent, bytes: chunk[..keep].to_vec(), len: chunk.len() });
            if let Err(e) = self.stream.write_all(chunk).await {
                self.note(TraceKind::Note(format!("write failed after the server closed: {e}")));
                return;
            }
            rest = tail;
            if !rest.is_empty() && !delivery.pause.is_zero() {
                sleep(delivery.pause).await;
            }
        }
    }

    /// Reads once into the buffer (for the handshake). `Ok(None)` on timeout, `Ok(Some(0))` on EOF.
    pub async fn read_raw(&mut self, deadline: Instant) -> io::Result<Option<Vec<u8>>> {
        match timeout_at(deadline, self.stream.read(&mut self.buf)).await {
            Err(_) => Ok(None),
            Ok(Ok(n)) => {
                let bytes = self.buf[..n].to_vec();
                if n > 0 {
                    let keep = n.min(MAX_TRACE_BYTES);
                    self.note(TraceKind::Bytes { dir: Direction::Received, bytes: bytes[..keep].to_vec(), len: n });
                } else {
                    self.closed = Some("EOF".into());
                    self.note(TraceKind::Closed { how: "EOF".into() });
                }
                Ok(Some(bytes))
            }
            Ok(Err(e)) => {
                self.closed = Some(e.to_string());
                self.note(TraceKind::Closed { how: e.to_string() });
                Err(e)
            }
        }
    }

    /// Hands bytes that followed the handshake response to the frame reader.
    pub fn push_frames(&mut self, bytes: &[u8]) {
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
            if self.reader.is_failed() {
                // nothing more can be read as frames; wait for the server to close
                match self.read_raw(deadline).await {
                    Ok(None) => return None,
                    _ => continue,
                }
            }
            match self.read_raw(deadline).await {
                Ok(None) => return None,
                Ok(Some(bytes)) if !bytes.is_empty() => {
                    self.reader.push(&bytes);
                    self.drain_frames();
                }
                _ => {}
            }
        }
    }

    /// Puts an event back, to be seen first by the next expectation.
    pub fn unread(&mut self, event: Event) {
        if !matches!(event, Event::Closed(_)) {
            self.pending.push_front(event);
        }
    }

    /// Closes our side (FIN) without waiting.
    pub async fn shutdown(&mut self) {
        let _ = self.stream.shutdown().await;
    }
}
