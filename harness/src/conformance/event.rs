//! What the server did, as the judge sees it: each read becomes an [`Event`],
//! and so does a deadline that passed with nothing read ([`Event::Timeout`]).
//! A timeout is data, not an error (h2spec's verifiers work the same way), so
//! a stalling server costs a verdict, never the run.

use std::fmt;
use std::io;

use crate::wire::{ClosePayload, FrameHeader, ObservedFrame, Opcode, ReadError};

use super::trace::preview;

/// How the server's side of the connection ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Closed {
    /// The server closed TCP: a read returned end of stream.
    Eof,
    /// The connection broke (a reset, or another I/O error).
    Broken {
        /// The kind of the error, for decisions (a refusal is not a reset).
        kind: io::ErrorKind,
        /// The error as the operating system put it.
        message: String,
    },
}

impl Closed {
    /// The state of a connection after a failed read or write.
    pub fn from_error(e: &io::Error) -> Closed {
        Closed::Broken { kind: e.kind(), message: e.to_string() }
    }
}

impl fmt::Display for Closed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Closed::Eof => f.write_str("EOF"),
            Closed::Broken { message, .. } => f.write_str(message),
        }
    }
}

/// Something the server did, or a deadline that passed.
#[derive(Debug, Clone)]
pub enum Event {
    /// A frame, exactly as sent.
    Frame(ObservedFrame),
    /// The server closed TCP, or the connection broke.
    Closed(Closed),
    /// Bytes that cannot be read as frames (a frame over the case's limit).
    Unreadable(ReadError),
    /// Nothing arrived before the deadline.
    Timeout,
}

impl Event {
    /// One line for reasons and traces.
    pub fn describe(&self) -> String {
        match self {
            Event::Frame(f) => describe_frame(&f.header, &f.payload),
            Event::Closed(Closed::Eof) => "TCP closed by the peer (EOF)".to_string(),
            Event::Closed(how) => format!("connection broken ({how})"),
            Event::Unreadable(why) => format!("unreadable bytes ({why})"),
            Event::Timeout => "nothing".to_string(),
        }
    }

    /// The frame, if this is a frame with a defined opcode of `op`.
    pub fn frame_of(&self, op: Opcode) -> Option<&ObservedFrame> {
        match self {
            Event::Frame(f) if f.header.defined_opcode() == Some(op) => Some(f),
            _ => None,
        }
    }

    /// Whether this is a data frame (continuation, text or binary).
    pub fn is_data_frame(&self) -> bool {
        matches!(self, Event::Frame(f) if f.header.defined_opcode().is_some_and(Opcode::is_data))
    }
}

/// The status code of a close frame's payload (`None`: no code, or a 1-byte body).
pub fn close_code(payload: &[u8]) -> Option<u16> {
    match ClosePayload::parse(payload) {
        ClosePayload::Code { code, .. } => Some(code.0),
        _ => None,
    }
}

/// One line describing a frame: opcode, unusual flags, length, payload preview.
pub fn describe_frame(h: &FrameHeader, payload: &[u8]) -> String {
    describe_frame_start(h, payload.len() as u64, payload)
}

/// [`describe_frame`] of a frame whose payload has `len` bytes, of which `first` are at hand (at least
/// the first 49, or all of them: enough for the preview and a close frame's body).
pub fn describe_frame_start(h: &FrameHeader, len: u64, first: &[u8]) -> String {
    let payload = first;
    let mut s = String::from(Opcode::name_of(h.opcode));
    if !h.fin {
        s.push_str(" FIN=0");
    }
    if h.rsv != 0 {
        s.push_str(&format!(" RSV={}", h.rsv));
    }
    if let Some(k) = h.masking_key {
        s.push_str(&format!(" masked({k})"));
    }
    if h.defined_opcode() == Some(Opcode::Close) {
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
    if h.declared_len != len {
        s.push_str(&format!(" declared {} bytes, {len} sent", h.declared_len));
    } else {
        s.push_str(&format!(" {len} bytes"));
    }
    if !payload.is_empty() {
        s.push(' ');
        s.push_str(&preview(payload));
    }
    s
}
