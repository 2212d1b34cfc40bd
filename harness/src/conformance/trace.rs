//! The wire trace of a case: every write and read with its time, the raw
//! bytes (up to a cap) and what they decoded to.

use std::time::Duration;

use tokio::time::Instant;

/// Raw bytes kept per trace event; longer writes and reads keep their length.
pub const MAX_TRACE_BYTES: usize = 2048;

/// Trace events kept per case (a case writing 16,000 chunks keeps the first ones, then notes only).
pub const MAX_TRACE_EVENTS: usize = 1000;

/// Raw bytes kept per case over all its events; later reads and writes are counted, not listed, so
/// a case that moves megabytes still has a report of a reasonable size.
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

/// The wire trace of one connection as it is recorded, within its caps: at most
/// [`MAX_TRACE_EVENTS`] events (then only notes, closes and HTTP heads) and
/// [`MAX_TRACE_TOTAL_BYTES`] raw bytes (then reads and writes are counted, not
/// listed). A run of identical frames is one line and a count, so a flood
/// leaves a short trace that says what it was.
#[derive(Debug)]
pub struct Trace {
    start: Instant,
    /// Events left out once the trace is full.
    omitted: usize,
    /// Raw bytes kept so far.
    bytes: usize,
    /// Reads and writes past the byte cap: how many, and how many bytes, per direction (sent, received).
    unlisted: [(usize, usize); 2],
    /// The last frame line, and how many identical frames followed it.
    run: Option<(Direction, String, usize)>,
    events: Vec<TraceEvent>,
}

impl Trace {
    /// An empty trace; times count from `start`.
    pub fn new(start: Instant) -> Trace {
        Trace { start, omitted: 0, bytes: 0, unlisted: [(0, 0); 2], run: None, events: Vec::new() }
    }

    /// Whether an event that is not essential would be kept (so callers need not format one that is not).
    pub fn has_room(&self) -> bool {
        self.events.len() < MAX_TRACE_EVENTS
    }

    /// Records an event now.
    pub fn note(&mut self, kind: TraceKind) {
        self.end_run();
        self.push(kind);
    }

    /// Counts one more frame exactly like the last one recorded in `dir`, if that one is still the current run
    /// (its summary is known to be the same); `false`: record it with [`Trace::frame`].
    pub fn frame_again(&mut self, dir: Direction) -> bool {
        match &mut self.run {
            Some((d, _, n)) if *d == dir => {
                *n += 1;
                true
            }
            _ => false,
        }
    }

    /// Records a frame; a frame like the one before it is counted, not listed.
    pub fn frame(&mut self, dir: Direction, summary: String) {
        if let Some((d, s, n)) = &mut self.run {
            if *d == dir && *s == summary {
                *n += 1;
                return;
            }
        }
        self.end_run();
        self.push(TraceKind::Frame { dir, summary: summary.clone() });
        self.run = Some((dir, summary, 0));
    }

    /// Records one read or write: its first [`MAX_TRACE_BYTES`] bytes while the byte cap allows, else its count.
    pub fn bytes(&mut self, dir: Direction, bytes: &[u8]) {
        let room = MAX_TRACE_TOTAL_BYTES.saturating_sub(self.bytes);
        if room == 0 {
            let tally = &mut self.unlisted[usize::from(dir == Direction::Received)];
            tally.0 += 1;
            tally.1 += bytes.len();
            return;
        }
        let keep = bytes.len().min(MAX_TRACE_BYTES).min(room);
        self.bytes += keep;
        self.push(TraceKind::Bytes { dir, bytes: bytes[..keep].to_vec(), len: bytes.len() });
    }

    /// The events, with the counts of what was left out as closing notes.
    pub fn into_events(mut self) -> Vec<TraceEvent> {
        self.end_run();
        for (dir, (reads, bytes)) in [Direction::Sent, Direction::Received].into_iter().zip(self.unlisted) {
            if reads > 0 {
                let what = if dir == Direction::Sent { "writes" } else { "reads" };
                let at = self.start.elapsed();
                let text = format!(
                    "{reads} more {what} ({bytes} bytes) not listed: the trace keeps {MAX_TRACE_TOTAL_BYTES} bytes"
                );
                self.events.push(TraceEvent { at, kind: TraceKind::Note(text) });
            }
        }
        self.events
    }

    fn end_run(&mut self) {
        if let Some((_, _, n)) = self.run.take() {
            if n > 0 {
                self.push(TraceKind::Note(format!("... and {n} more frames like the one above")));
            }
        }
    }

    fn push(&mut self, kind: TraceKind) {
        let essential = matches!(kind, TraceKind::Note(_) | TraceKind::Closed { .. } | TraceKind::Http { .. });
        if !self.has_room() && !essential {
            if self.omitted == 0 {
                let full =
                    format!("trace full: further frames and bytes are left out (limit {MAX_TRACE_EVENTS} events)");
                self.events.push(TraceEvent { at: self.start.elapsed(), kind: TraceKind::Note(full) });
            }
            self.omitted += 1;
            return;
        }
        self.events.push(TraceEvent { at: self.start.elapsed(), kind });
    }
}
