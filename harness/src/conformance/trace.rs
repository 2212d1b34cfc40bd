//! The wire trace of a case: every write and read with its time, the raw
//! bytes (up to a cap) and what they decoded to.

use std::time::Duration;

/// Raw bytes kept per trace event; longer writes and reads keep their length.
pub const MAX_TRACE_BYTES: usize = 2048;

/// Trace events kept per case (a case writing 16,000 chunks keeps the first ones, then notes only).
pub const MAX_TRACE_EVENTS: usize = 1000;

/// Raw bytes kept per case over all its events; later events keep only their length, so a case
/// that moves megabytes still has a report of a reasonable size.
pub const MAX_TRACE_TOTAL_BYTES: usize = 32 * 1024;

/// Who sent it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// From the harness to the server.
    Sent,
    /// From the server to the harness.
    Received,
}

/// One event of a case, `at` from the start of the case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceEvent {
    /// Time since the case started.
    pub at: Duration,
    /// What happened.
    pub kind: TraceKind,
}

/// What happened on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TraceKind {
    /// One TCP write or read.
    Bytes {
        /// Which way.
        dir: Direction,
        /// The first [`MAX_TRACE_BYTES`] bytes.
        bytes: Vec<u8>,
        /// The full length.
        len: usize,
    },
    /// A frame, decoded.
    Frame {
        /// Which way.
        dir: Direction,
        /// One line: opcode, flags, length, payload preview.
        summary: String,
    },
    /// The HTTP head of the handshake, as text.
    Http {
        /// Which way.
        dir: Direction,
        /// The head.
        head: String,
    },
    /// The server closed TCP (EOF), or the connection broke.
    Closed {
        /// `EOF` or the error.
        how: String,
    },
    /// Something the runner concluded: a timeout, an expectation met or missed.
    Note(String),
}

/// Payload preview for summaries: text if printable UTF-8, else hex; capped.
pub fn preview(payload: &[u8]) -> String {
    const MAX: usize = 48;
    let shown = &payload[..payload.len().min(MAX)];
    let more = if payload.len() > MAX { "…" } else { "" };
    match std::str::from_utf8(shown) {
        Ok(s) if s.chars().all(|c| !c.is_control()) => format!("{s:?}{more}"),
        _ => {
            let hex: Vec<String> = shown.iter().map(|b| format!("{b:02x}")).collect();
            format!("[{}{more}]", hex.join(" "))
        }
    }
}
