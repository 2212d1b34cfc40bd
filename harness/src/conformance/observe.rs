//! One case's connection, the I/O layer: writes with the case's delivery, and
//! reads turned into [`Event`]s, every one of them recorded in the trace. It
//! judges nothing; the judge ([`super::judge`]) takes the events.
//!
//! Every frame is seen as its bytes arrive ([`FrameScanner`]: its trace line
//! and the judge's facts), but kept as raw bytes until a step asks for the next
//! event, so a flood of tiny frames costs its bytes, not an allocation each.
//! Everything held for the server has a cap: the bytes read and not yet asked
//! for ([`BacklogCap`]: what a correct server could echo of what the case sent,
//! plus a margin), the frame being read (the case's read limit), and the trace
//! ([`super::trace`]). A server that floods while the case writes is read no
//! further once the backlog is full: its own writes then block, as TCP intends.

use std::collections::VecDeque;
use std::io;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadHalf, WriteHalf};
use tokio::time::{sleep_until, timeout_at, Instant};

use super::event::{describe_frame_start, Closed, Event};
use super::judge::WireFacts;
use super::scan::{FrameScanner, Scanned};
use super::trace::{Direction, Trace, TraceKind};
use crate::case::{Delivery, ReadPace};
use crate::wire::{FrameHeader, FrameReader};

/// A byte stream to the server: TCP, or TLS over TCP.
pub trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// How long a write may make no progress before the harness gives up on it.
pub const WRITE_STALL: Duration = Duration::from_secs(2);

/// Read buffer size.
const READ_SIZE: usize = 64 * 1024;

/// Bytes the backlog holds beyond what the case sent (a correct server echoes about that much).
pub const BACKLOG_MARGIN: usize = 1024 * 1024;

/// Frames read before a deadline that are still handed out after it (a close reply that crossed the
/// case's end is judged); beyond these, a flooding server's backlog cannot hold a case past its time.
pub const OVERTIME_FRAMES: usize = 1000;

/// Events handed out between two turns of the other tasks: a backlog of tiny frames is taken without a
/// wait, and must not hold the runtime's thread from the other cases (tokio's budget sees no I/O here).
const YIELD_EVERY: usize = 256;

/// The most the backlog of bytes read and not yet asked for may hold; reads stop while it is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BacklogCap(pub usize);

impl BacklogCap {
    /// The cap once the case has sent `bytes` bytes: a correct server's echo fits.
    pub fn after_sending(bytes: u64) -> BacklogCap {
        BacklogCap(usize::try_from(bytes).unwrap_or(usize::MAX).saturating_add(BACKLOG_MARGIN))
    }
}

/// What one read before the handshake response gave.
#[derive(Debug)]
pub enum HeadRead {
    /// Bytes, for the HTTP parser.
    Bytes(Vec<u8>),
    /// Nothing before the deadline.
    Timeout,
    /// The server closed the connection, or it broke.
    Closed(Closed),
}

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

/// Where a delivery stands across the pieces of one byte stream: the chunk sizes are used in turn,
/// a chunk may span pieces, and the pause comes between chunks.
#[derive(Debug, Clone, Default)]
pub struct DeliveryState {
    /// Index of the next chunk size.
    next: usize,
    /// Bytes still to write of the current chunk (0: the next byte starts a chunk).
    left: usize,
    /// A chunk has been written (the next one pauses first).
    started: bool,
}

impl DeliveryState {
    /// How many of `available` bytes the next write takes, and whether a chunk starts there.
    fn next_write(&mut self, delivery: &Delivery, available: usize) -> (usize, bool) {
        let starts = self.left == 0;
        if starts {
            self.left = match delivery.chunks.get(self.next % delivery.chunks.len().max(1)) {
                Some(&n) => n.max(1),
                None => usize::MAX,
            };
            self.next += 1;
        }
        let take = self.left.min(available);
        self.left -= take;
        (take, starts)
    }
}

/// A case's TCP connection and everything seen on it.
///
/// Writes read at the same time: a server that echoes while it reads (as it
/// should) and stops reading while its writes are blocked (as it may) cannot
/// deadlock a case that sends megabytes.
pub struct Conn {
    rd: ReadHalf<Box<dyn Io>>,
    wr: WriteHalf<Box<dyn Io>>,
    phase: Phase,
    early: Vec<u8>,
    /// A slow client: read size and pause.
    pace: Option<ReadPace>,
    next_read: Instant,
    /// Writes and pauses stop here: the case's deadline.
    deadline: Instant,
    /// Frames are read from here when a step asks for the next event.
    reader: FrameReader,
    /// Sees each frame as its bytes arrive: the trace and the facts.
    scanner: FrameScanner,
    /// The last frame seen: one exactly like it adds nothing new to the trace or the facts.
    last_frame: Option<(FrameHeader, Vec<u8>)>,
    /// The reader's failure was handed out as an event (once).
    unreadable_told: bool,
    /// Events a step handed back unconsumed, seen first by the next step.
    put_back: VecDeque<Event>,
    /// Frames handed out after a deadline had passed (at most [`OVERTIME_FRAMES`]).
    overtime: usize,
    /// Events handed out so far (every [`YIELD_EVERY`]th gives the other cases a turn).
    handed: usize,
    cap: BacklogCap,
    /// The backlog was full at least once (noted in the trace once).
    held_back: bool,
    closed: Option<Closed>,
    buf: Vec<u8>,
    /// Every write and read, in order.
    pub trace: Trace,
    /// What the server's frames showed as they were read.
    pub facts: WireFacts,
}

impl Conn {
    /// Wraps a connected stream; `start` is the case's start time, `deadline` its end, `max_frame` the
    /// largest frame payload it reads.
    pub fn new(stream: Box<dyn Io>, start: Instant, deadline: Instant, max_frame: u64) -> Conn {
        let (rd, wr) = tokio::io::split(stream);
        Conn {
            rd,
            wr,
            phase: Phase::Head,
            early: Vec::new(),
            pace: None,
            next_read: start,
            deadline,
            reader: FrameReader::with_max_payload(max_frame),
            scanner: FrameScanner::new(max_frame),
            last_frame: None,
            unreadable_told: false,
            put_back: VecDeque::new(),
            overtime: 0,
            handed: 0,
            cap: BacklogCap::after_sending(0),
            held_back: false,
            closed: None,
            buf: vec![0; READ_SIZE],
            trace: Trace::new(start),
            facts: WireFacts::default(),
        }
    }

    /// Reads at most `pace.chunk` bytes at a time, pausing between reads: a slow client.
    pub fn set_read_pace(&mut self, pace: Option<ReadPace>) {
        self.pace = pace;
    }

    /// How many bytes read and not yet asked for may be held (it grows with what the case sends).
    pub fn set_backlog_cap(&mut self, cap: BacklogCap) {
        self.cap = cap;
    }

    /// Records a trace event now.
    pub fn note(&mut self, kind: TraceKind) {
        self.trace.note(kind);
    }

    /// The server's side is closed (EOF) or the connection broke: how.
    pub fn closed(&self) -> Option<&Closed> {
        self.closed.as_ref()
    }

    /// Whether the server closed TCP (or the connection broke).
    pub fn is_closed(&self) -> bool {
        self.closed.is_some()
    }

    /// Whether reads may go on: the backlog has room.
    fn backlog_has_room(&self) -> bool {
        self.reader.buffered().len() < self.cap.0
    }

    /// Writes `bytes`, cut and paced as `delivery` says (continuing `state` from the stream's earlier
    /// pieces), reading whatever arrives meanwhile. A failed write (the server already closed) is
    /// recorded, not returned: the reads tell the story. Returns whether all of it was written.
    pub async fn send(&mut self, bytes: &[u8], delivery: &Delivery, state: &mut DeliveryState) -> bool {
        let mut rest = bytes;
        while !rest.is_empty() {
            let (size, starts) = state.next_write(delivery, rest.len());
            if starts && state.started && !delivery.pause.is_zero() {
                if Instant::now() + delivery.pause > self.deadline {
                    let why = format!("write abandoned: the case's time ran out; {} bytes left unwritten", rest.len());
                    self.note(TraceKind::Note(why));
                    return false;
                }
                self.pause_reading(Instant::now() + delivery.pause).await;
            }
            state.started = true;
            let (chunk, tail) = rest.split_at(size);
            self.trace.bytes(Direction::Sent, chunk);
            if let Err(e) = self.write_reading(chunk).await {
                let why = if e.kind() == io::ErrorKind::TimedOut {
                    format!("write abandoned: {e}")
                } else {
                    format!("write failed after the server closed: {e}")
                };
                self.note(TraceKind::Note(why));
                return false;
            }
            rest = tail;
        }
        true
    }

    /// Writes all of `chunk`, taking in what the server sends meanwhile (while the backlog has room). A
    /// server that stops reading for [`WRITE_STALL`] ends the write (it is reported; the case goes on,
    /// so later steps still have time).
    async fn write_reading(&mut self, chunk: &[u8]) -> io::Result<()> {
        let mut written = 0;
        let mut stall = Instant::now() + WRITE_STALL;
        while written < chunk.len() {
            let reading = self.closed.is_none() && self.backlog_has_room();
            let limit = self.read_limit();
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
            self.note_if_held_back();
        }
        self.wr.flush().await
    }

    /// Pauses between delivery chunks until `until`, reading what arrives while the backlog has room.
    pub async fn pause_reading(&mut self, until: Instant) {
        self.read_until(until, false).await;
    }

    /// A `wait_ms` step: reads what arrives until `until`, or until the server closes.
    pub async fn wait_reading(&mut self, until: Instant) {
        self.read_until(until, true).await;
    }

    async fn read_until(&mut self, until: Instant, end_at_close: bool) {
        let until = until.min(self.deadline.max(Instant::now()));
        while Instant::now() < until {
            if self.closed.is_some() && end_at_close {
                return;
            }
            if self.closed.is_some() || !self.backlog_has_room() {
                self.note_if_held_back();
                sleep_until(until).await;
                return;
            }
            match self.read_paced(until).await {
                None => return,
                Some(r) => self.took(r),
            }
        }
    }

    fn note_if_held_back(&mut self) {
        if !self.held_back && self.closed.is_none() && !self.backlog_has_room() {
            self.held_back = true;
            let why = format!(
                "reading paused: {} bytes read and not yet expected by any step, the most this case holds",
                self.reader.buffered().len()
            );
            self.note(TraceKind::Note(why));
        }
    }

    fn read_limit(&self) -> usize {
        self.pace.map_or(self.buf.len(), |p| p.chunk.clamp(1, self.buf.len()))
    }

    /// Records the result of one read: bytes to the trace and on to the frame reader (or, before
    /// the handshake response is parsed, kept for it).
    fn took(&mut self, r: io::Result<usize>) {
        match r {
            Ok(0) => self.close_with(Closed::Eof),
            Ok(n) => {
                if let Some(p) = self.pace {
                    self.next_read = Instant::now() + p.pause;
                }
                let bytes = std::mem::take(&mut self.buf);
                self.trace.bytes(Direction::Received, &bytes[..n]);
                match self.phase {
                    Phase::Head => self.early.extend_from_slice(&bytes[..n]),
                    Phase::Frames => self.take_frames(&bytes[..n]),
                    Phase::Ignore => {}
                }
                self.buf = bytes;
            }
            Err(e) => self.close_with(Closed::from_error(&e)),
        }
    }

    fn close_with(&mut self, how: Closed) {
        self.note(TraceKind::Closed { how: how.to_string() });
        self.closed = Some(how);
    }

    /// Reads once, before the handshake response is parsed: bytes read while the request was being
    /// written come first.
    pub async fn read_head(&mut self, deadline: Instant) -> HeadRead {
        if !self.early.is_empty() {
            return HeadRead::Bytes(std::mem::take(&mut self.early));
        }
        if self.closed.is_none() {
            match self.read_paced(deadline).await {
                None => return HeadRead::Timeout,
                Some(r) => self.took(r),
            }
        }
        match &self.closed {
            _ if !self.early.is_empty() => HeadRead::Bytes(std::mem::take(&mut self.early)),
            Some(how) => HeadRead::Closed(how.clone()),
            None => HeadRead::Bytes(Vec::new()),
        }
    }

    /// After a response other than 101: later bytes (a body) are traced, not read as frames.
    pub fn ignore_rest(&mut self) {
        self.phase = Phase::Ignore;
        self.early.clear();
    }

    /// One read into the buffer, at the slow client's pace if one is set; `None` at `deadline`.
    async fn read_paced(&mut self, deadline: Instant) -> Option<io::Result<usize>> {
        let limit = self.read_limit();
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
        self.take_frames(bytes);
    }

    /// Frame bytes: seen by the scanner now (trace, facts), kept for the reader until asked for.
    fn take_frames(&mut self, bytes: &[u8]) {
        let (trace, facts, last) = (&mut self.trace, &mut self.facts, &mut self.last_frame);
        self.scanner.push(bytes, |seen| match seen {
            Scanned::Frame { header, first } => {
                // a frame exactly like the one before adds nothing to the facts, and to the trace only a count:
                // a flood costs a comparison per frame
                let same = last.as_ref().is_some_and(|(h, f)| *h == header && *f == first);
                if !(same && trace.frame_again(Direction::Received)) && trace.has_room() {
                    trace.frame(Direction::Received, describe_frame_start(&header, header.declared_len, &first));
                }
                if !same {
                    facts.on_frame(&header, &first);
                    *last = Some((header, first));
                }
            }
            Scanned::TooLarge(e) => trace.note(TraceKind::Note(format!("cannot read the server's frames: {e}"))),
        });
        if !self.reader.is_failed() {
            self.reader.push(bytes);
        }
    }

    /// The next event; [`Event::Timeout`] if nothing arrives before `deadline`.
    pub async fn next_event(&mut self, deadline: Instant) -> Event {
        self.handed += 1;
        if self.handed % YIELD_EVERY == 0 {
            // frames already read come without a wait: let the other cases run between them
            tokio::task::yield_now().await;
        }
        loop {
            // what was read already comes first (it is capped, so this is bounded work)
            if let Some(e) = self.put_back.pop_front() {
                return e;
            }
            let late = Instant::now() >= deadline;
            if late && self.overtime >= OVERTIME_FRAMES {
                return Event::Timeout;
            }
            match self.reader.next_frame() {
                Ok(Some(frame)) if late => {
                    self.overtime += 1;
                    return Event::Frame(frame);
                }
                Ok(Some(frame)) => return Event::Frame(frame),
                Ok(None) => {}
                Err(e) if !self.unreadable_told => {
                    self.unreadable_told = true;
                    return Event::Unreadable(e);
                }
                Err(_) => {}
            }
            if let Some(how) = &self.closed {
                return Event::Closed(how.clone());
            }
            if late {
                // a flooding server always has bytes ready: the deadline wins over them
                return Event::Timeout;
            }
            match self.read_paced(deadline).await {
                None => return Event::Timeout,
                Some(r) => self.took(r),
            }
        }
    }

    /// Puts an event back, to be seen first by the next step (a close or a timeout is not an event to
    /// put back: the connection state and the clock say it again).
    pub fn unread(&mut self, event: Event) {
        if matches!(event, Event::Frame(_) | Event::Unreadable(_)) {
            self.put_back.push_front(event);
        }
    }

    /// Closes our side (FIN) without waiting; reads go on.
    pub async fn shutdown(&mut self) {
        let _ = self.wr.shutdown().await;
    }
}
