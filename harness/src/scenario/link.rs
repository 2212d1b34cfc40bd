//! One scenario connection's frames around its [`Engine`], sans-IO: bytes in, bytes out, when to
//! wake. Both drivers ([`super::conn`] on tokio, [`super::uring`] on io_uring) only move bytes
//! between a socket and a `Link`.
//!
//! The server's frames are read with the wire layer (a frame and a message at most
//! [`MAX_MESSAGE`] bytes); pings are answered (RFC 6455 §5.5.2), a close from the server is
//! answered and ends the connection (§5.5.1); at the end of the run, once every iteration has its
//! replies or has timed out, the connection closes with 1000 and waits for the server's close (up
//! to the timeout). A connection that only receives (fan-out) stays open until every sending
//! connection has ended, plus [`RECEIVE_GRACE`].

use std::time::Duration;

use super::engine::{Engine, Outgoing};
use super::stats::Tally;
use crate::wire::{CloseCode, ClosePayload, FrameReader, FrameSpec, MessageAssembler, Opcode};

/// Largest frame and message read from the server.
pub const MAX_MESSAGE: u64 = 16 << 20;

/// A connection that only receives stays open this long after the last sending connection ended,
/// so that what was published at the end of the run still reaches it.
pub const RECEIVE_GRACE: Duration = Duration::from_millis(500);

/// A lingering receiver looks at the senders again this often.
const LINGER_CHECK_NS: u64 = 20_000_000;

/// Engine polls per [`Link::poll`] at most (what was just sent may start more steps).
const POLLS_PER_TURN: usize = 4;

/// The error detail of TCP closed without a close frame (RFC 6455 §7.1.5 calls this 1006).
pub const EOF_DETAIL: &str = "unexpected_close 1006";

/// The error detail of a connection still running when the run was aborted before its end.
pub const ABORTED_DETAIL: &str = "aborted";

/// The error detail of a peer that does not take what is written to it.
pub const PEER_NOT_READING: &str = "peer_not_reading";

/// The error detail of a failed read or write.
pub fn io_detail(kind: std::io::ErrorKind) -> String {
    format!("io {kind}")
}

/// Why a connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// We closed after the run, cleanly.
    Done,
    /// The run was aborted (Ctrl-C, or the drain ran out).
    Aborted,
    /// The connection failed; the detail was counted as an error.
    Failed,
}

/// One connection's protocol state: its engine and its frames.
#[derive(Debug)]
pub struct Link {
    engine: Engine,
    reader: FrameReader,
    assembler: MessageAssembler,
    /// Our close is sent: the server's close is awaited until then.
    closing: Option<u64>,
    /// A receiver: since when no sender is left.
    quiet_since: Option<u64>,
    /// Frames owed: pongs, the answer to the server's close.
    replies: Vec<FrameSpec>,
    /// The connection is over (once `replies` are written).
    over: Option<End>,
    timeout_ns: u64,
}

/// What the frames read so far did.
enum Frames {
    /// Go on.
    More,
    /// The server closed, with this code.
    Closed(Option<u16>),
    /// The server broke the protocol: the error's detail.
    Broken(String),
}

impl Link {
    /// `engine`'s connection; `timeout`: the longest wait for the server's close.
    pub fn new(engine: Engine, timeout: Duration) -> Link {
        Link {
            engine,
            reader: FrameReader::with_max_payload(MAX_MESSAGE),
            assembler: MessageAssembler::with_max_message(MAX_MESSAGE),
            closing: None,
            quiet_since: None,
            replies: Vec::new(),
            over: None,
            timeout_ns: timeout.as_nanos() as u64,
        }
    }

    /// At the connection's end: what the engine counts then ([`Engine::finish`]).
    pub fn finish(&mut self, tally: &mut Tally) {
        self.engine.finish(tally);
    }

    /// Whether our close is sent (the end of the stream is then no error).
    pub fn closing(&self) -> bool {
        self.closing.is_some()
    }

    /// Bytes from the server at `now_ns`: messages to the engine, pings answered. `false`: the
    /// connection is over (counted); [`Link::poll`] gives its last bytes.
    pub fn on_bytes(&mut self, data: &[u8], now_ns: u64, tally: &mut Tally) -> bool {
        if self.over.is_some() {
            return false;
        }
        self.reader.push(data);
        match self.take_frames(now_ns, tally) {
            Frames::More => true,
            Frames::Closed(code) => {
                if self.closing.is_none() {
                    tally.error(format!("unexpected_close {}", code.map_or("no-code".into(), |c| c.to_string())));
                }
                // RFC 6455 §5.5.1: answer a close with a close
                self.replies = vec![FrameSpec::close(CloseCode::NORMAL, "")];
                self.over = Some(if self.closing.is_some() { End::Done } else { End::Failed });
                false
            }
            Frames::Broken(detail) => {
                tally.error(detail);
                self.replies.clear();
                self.over = Some(End::Failed);
                false
            }
        }
    }

    /// The server's end of the stream (TCP closed): how the connection ended.
    pub fn on_eof(&mut self, tally: &mut Tally) -> End {
        if self.closing.is_none() {
            tally.error(EOF_DETAIL.into());
            return End::Failed;
        }
        End::Done
    }

    /// Runs the engine to `now_ns` and appends what is to be sent to `out` (masked frames,
    /// RFC 6455 §5.3). `stop`: the measured phase is over; `senders`: for a connection that only
    /// receives, the sending connections still running. `Ok`: when to call again at the latest
    /// (`None`: when bytes come); `Err`: the connection is over once `out` is written.
    pub fn poll(
        &mut self,
        now_ns: u64,
        stop: bool,
        senders: Option<u64>,
        tally: &mut Tally,
        out: &mut Vec<u8>,
    ) -> Result<Option<u64>, End> {
        for _ in 0..POLLS_PER_TURN {
            if let Some(end) = self.over {
                self.encode(out, tally)?;
                return Err(end);
            }
            if stop {
                self.engine.stop();
            }
            let wake = self.engine.poll(now_ns, tally);
            self.replies.extend(self.engine.take_outgoing().into_iter().map(frame_of));
            let lingering = stop && !self.senders_done(now_ns, senders);
            if self.closing.is_none() && stop && self.engine.drained() && !lingering {
                self.replies.push(FrameSpec::close(CloseCode::NORMAL, ""));
                self.closing = Some(now_ns + self.timeout_ns);
            }
            if !self.replies.is_empty() {
                self.encode(out, tally)?;
                continue;
            }
            if self.closing.is_some_and(|deadline| now_ns >= deadline) {
                tally.error("timeout close".into());
                self.over = Some(End::Failed);
                return Err(End::Failed);
            }
            let linger_check = lingering.then_some(now_ns + LINGER_CHECK_NS);
            return Ok(self.closing.into_iter().chain(wake).chain(linger_check).min());
        }
        Ok(Some(now_ns))
    }

    /// For a receive-only connection: whether every sender has ended, [`RECEIVE_GRACE`] ago.
    fn senders_done(&mut self, now_ns: u64, senders: Option<u64>) -> bool {
        match senders {
            None => true,
            Some(n) if n > 0 => false,
            Some(_) => {
                let since = *self.quiet_since.get_or_insert(now_ns);
                now_ns >= since + RECEIVE_GRACE.as_nanos() as u64
            }
        }
    }

    /// Moves the owed frames into `out`.
    fn encode(&mut self, out: &mut Vec<u8>, tally: &mut Tally) -> Result<(), End> {
        for f in self.replies.drain(..) {
            match f.encode() {
                Ok(bytes) => out.extend_from_slice(&bytes),
                Err(e) => {
                    tally.error(format!("encode {e}"));
                    self.over = Some(End::Failed);
                    return Err(End::Failed);
                }
            }
        }
        Ok(())
    }

    /// Takes every whole frame read: messages to the engine, pings answered into `replies`.
    fn take_frames(&mut self, now: u64, tally: &mut Tally) -> Frames {
        loop {
            let frame = match self.reader.next_frame() {
                Ok(Some(f)) => f,
                Ok(None) => return Frames::More,
                Err(e) => return Frames::Broken(format!("protocol_error {e}")),
            };
            match Opcode::from_u8(frame.opcode()) {
                // RFC 6455 §5.5.2: a pong with the ping's payload
                Some(Opcode::Ping) => self.replies.push(FrameSpec::pong(frame.payload)),
                Some(Opcode::Pong) => {}
                Some(Opcode::Close) => {
                    let code = match frame.close_payload() {
                        Some(ClosePayload::Code { code, .. }) => Some(code.0),
                        _ => None,
                    };
                    return Frames::Closed(code);
                }
                _ => match self.assembler.push_owned(frame) {
                    Ok(done) => {
                        if let Some(v) = done.violations.first() {
                            return Frames::Broken(format!("protocol_error {}", v.kind.rfc()));
                        }
                        if let Some(msg) = done.message {
                            let text = String::from_utf8_lossy(msg.payload());
                            self.engine.on_message(&text, now, tally);
                        }
                    }
                    Err(e) => return Frames::Broken(format!("protocol_error {e}")),
                },
            }
        }
    }
}

fn frame_of(o: Outgoing) -> FrameSpec {
    if o.binary {
        FrameSpec::binary(o.text.into_bytes())
    } else {
        FrameSpec::text(o.text.into_bytes())
    }
}

#[cfg(test)]
mod tests;
