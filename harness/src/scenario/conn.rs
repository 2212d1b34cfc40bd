//! One scenario connection over its socket: frames in and out around the sans-IO [`Engine`].
//!
//! The server's frames are read with the wire layer (a frame and a message at most
//! [`MAX_MESSAGE`] bytes); pings are answered (RFC 6455 §5.5.2), a close from the server is
//! answered and ends the connection (§5.5.1); at the end of the run, once every iteration has its
//! replies or has timed out, the connection closes with 1000 and waits for the server's close.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::engine::{Engine, Outgoing};
use super::stats::Tally;
use crate::load::connect::Transport;
use crate::load::stats::Clock;
use crate::wire::{CloseCode, ClosePayload, FrameReader, FrameSpec, MessageAssembler, Opcode};

/// Largest frame and message read from the server.
pub const MAX_MESSAGE: u64 = 16 << 20;
/// Bytes read per call.
const READ_BUF: usize = 16 * 1024;

/// Why a connection ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum End {
    /// We closed after the run, cleanly.
    Done,
    /// The run was aborted (Ctrl-C, or the drain ran out).
    Aborted,
    /// The connection failed; the detail was counted as an error.
    Failed,
}

/// A connection that only receives stays open this long after the last sending connection ended,
/// so that what was published at the end of the run still reaches it.
pub const RECEIVE_GRACE: Duration = Duration::from_millis(500);

/// Signals from the run.
pub struct Signals<'a> {
    /// Cancelled at the end of the measured phase: start no iteration, close once drained.
    pub stop: &'a tokio_util::sync::CancellationToken,
    /// Cancelled to stop at once.
    pub abort: &'a tokio_util::sync::CancellationToken,
    /// Connections of roles that send, still running; `None`: this connection sends itself.
    pub senders: Option<&'a std::sync::atomic::AtomicU64>,
}

impl Signals<'_> {
    /// For a receive-only connection: whether every sender has ended (since when, `quiet_since`).
    fn senders_done(&self, now: u64, quiet_since: &mut Option<u64>) -> bool {
        let Some(senders) = self.senders else { return true };
        if senders.load(std::sync::atomic::Ordering::Relaxed) > 0 {
            return false;
        }
        let since = *quiet_since.get_or_insert(now);
        now >= since + RECEIVE_GRACE.as_nanos() as u64
    }
}

/// Drives `engine` over `stream` to its end. `leftover`: bytes read after the 101.
pub async fn drive(
    mut stream: Transport,
    leftover: &[u8],
    engine: &mut Engine,
    clock: Clock,
    timeout: Duration,
    signals: Signals<'_>,
    shared: &std::sync::Mutex<Tally>,
) -> End {
    // every connection counts into one tally per process, locked for a read's worth of work: a tally's
    // histograms take hundreds of kilobytes, too much to hold one per connection
    let lock = || shared.lock().unwrap_or_else(|p| p.into_inner());
    let mut reader = FrameReader::with_max_payload(MAX_MESSAGE);
    reader.push(leftover);
    let mut assembler = MessageAssembler::with_max_message(MAX_MESSAGE);
    let mut buf = vec![0u8; READ_BUF];
    let mut closing: Option<u64> = None;
    let mut quiet_since: Option<u64> = None;
    loop {
        let now = clock.now_ns();
        let mut replies = Vec::new();
        let frames = take_frames(&mut reader, &mut assembler, engine, now, &mut lock(), &mut replies);
        match frames {
            Frames::More => {}
            Frames::Closed(code) => {
                if closing.is_none() {
                    lock().error(format!("unexpected_close {}", code.map_or("no-code".into(), |c| c.to_string())));
                }
                // RFC 6455 §5.5.1: answer a close with a close
                let _ = write(&mut stream, &[FrameSpec::close(CloseCode::NORMAL, "")], timeout).await;
                return if closing.is_some() { End::Done } else { End::Failed };
            }
            Frames::Broken(detail) => {
                lock().error(detail);
                return End::Failed;
            }
        }
        if signals.stop.is_cancelled() {
            engine.stop();
        }
        let wake = engine.poll(now, &mut lock());
        replies.extend(engine.take_outgoing().into_iter().map(frame_of));
        let lingering = signals.stop.is_cancelled() && !signals.senders_done(now, &mut quiet_since);
        if closing.is_none() && signals.stop.is_cancelled() && engine.drained() && !lingering {
            replies.push(FrameSpec::close(CloseCode::NORMAL, ""));
            closing = Some(now + timeout.as_nanos() as u64);
        }
        if let Err(detail) = write(&mut stream, &replies, timeout).await {
            lock().error(detail);
            return End::Failed;
        }
        if !replies.is_empty() {
            // what was just sent may have started more steps
            continue;
        }
        // a lingering receiver looks at the senders again soon
        let linger_check = lingering.then_some(now + 20_000_000);
        let wake = closing.into_iter().chain(wake).chain(linger_check).min();
        if closing.is_some_and(|deadline| now >= deadline) {
            lock().error("timeout close".into());
            return End::Failed;
        }
        let sleep = tokio::time::sleep_until(clock.instant(wake.unwrap_or(now + 3_600_000_000_000)).into());
        tokio::select! {
            biased;
            _ = signals.abort.cancelled() => return End::Aborted,
            read = stream.read(&mut buf) => match read {
                Ok(0) => {
                    if closing.is_none() {
                        // TCP closed without a close frame: RFC 6455 §7.1.5 calls this 1006
                        lock().error("unexpected_close 1006".into());
                        return End::Failed;
                    }
                    return End::Done;
                }
                Ok(n) => reader.push(&buf[..n]),
                Err(e) => {
                    lock().error(format!("io {}", e.kind()));
                    return End::Failed;
                }
            },
            _ = sleep => {}
            _ = signals.stop.cancelled(), if !signals.stop.is_cancelled() => {}
        }
    }
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

/// Takes every whole frame read: messages to the engine, pings answered into `replies`.
fn take_frames(
    reader: &mut FrameReader,
    assembler: &mut MessageAssembler,
    engine: &mut Engine,
    now: u64,
    tally: &mut Tally,
    replies: &mut Vec<FrameSpec>,
) -> Frames {
    loop {
        let frame = match reader.next_frame() {
            Ok(Some(f)) => f,
            Ok(None) => return Frames::More,
            Err(e) => return Frames::Broken(format!("protocol_error {e}")),
        };
        match Opcode::from_u8(frame.opcode()) {
            // RFC 6455 §5.5.2: a pong with the ping's payload
            Some(Opcode::Ping) => replies.push(FrameSpec::pong(frame.payload)),
            Some(Opcode::Pong) => {}
            Some(Opcode::Close) => {
                let code = match frame.close_payload() {
                    Some(ClosePayload::Code { code, .. }) => Some(code.0),
                    _ => None,
                };
                return Frames::Closed(code);
            }
            _ => match assembler.push_owned(frame) {
                Ok(done) => {
                    if let Some(v) = done.violations.first() {
                        return Frames::Broken(format!("protocol_error {}", v.kind.rfc()));
                    }
                    if let Some(msg) = done.message {
                        let text = String::from_utf8_lossy(msg.payload());
                        engine.on_message(&text, now, tally);
                    }
                }
                Err(e) => return Frames::Broken(format!("protocol_error {e}")),
            },
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

/// Writes `frames` (masked, RFC 6455 §5.3) within `timeout`; `Err`: the error's detail.
async fn write(stream: &mut Transport, frames: &[FrameSpec], timeout: Duration) -> Result<(), String> {
    if frames.is_empty() {
        return Ok(());
    }
    let mut bytes = Vec::new();
    for f in frames {
        bytes.extend(f.encode().map_err(|e| format!("encode {e}"))?);
    }
    match tokio::time::timeout(timeout, async {
        stream.write_all(&bytes).await?;
        stream.flush().await
    })
    .await
    {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(format!("io {}", e.kind())),
        Err(_) => Err("peer_not_reading".into()),
    }
}
