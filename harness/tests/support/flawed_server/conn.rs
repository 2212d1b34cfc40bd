//! The connection after the handshake, sans-IO: each read's bytes in, [`Action`]s out.
//!
//! [`Conn::on_read`] buffers bytes until a frame header is complete, judges the
//! header at once (so a bad header fails before its payload arrives), validates
//! the UTF-8 of a text frame as its payload arrives, and handles each complete
//! frame: echo, pong, close. Everything that makes the connection fail goes
//! through [`Conn::fail`], everything that closes through [`Conn::send_close`].
//! Flaws that depend on read boundaries ([`Flaw::OneFramePerRead`],
//! [`Flaw::NoPartialFrameBuffering`], [`Flaw::IgnoresSplitControlFrames`],
//! [`Flaw::CrashesOnManyFramesPerRead`]) are why the input is one read at a time.

use wsharness::wire::CloseCode;

use super::deflate::{Agreement, Codec, InflateFail};
use super::frame::{self, Header, BINARY, CLOSE, CONTINUATION, PING, PONG, TEXT};
use super::{Flaw, Flaws};
use crate::support::utf8::Utf8Validator;

/// Frames one read may hold under [`Flaw::CrashesOnManyFramesPerRead`].
const FRAME_TABLE: usize = 1024;

/// Close codes the server fails with (RFC 6455 §7.4.1).
const PROTOCOL_ERROR: u16 = 1002;
const INVALID_PAYLOAD: u16 = 1007;
const MESSAGE_TOO_BIG: u16 = 1009;

/// What the I/O loop must do, in order.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Action {
    /// Write these bytes.
    Write(Vec<u8>),
    /// Close TCP gracefully (FIN, then discard input for a while); nothing more is sent.
    Close,
    /// Drop the socket at once.
    Drop,
    /// Keep TCP open and never answer again.
    Hold,
    /// Keep serving for the linger time, then close gracefully.
    CloseLater,
    /// Take the whole server down, every connection with it (a crash flaw).
    Crash,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Open,
    /// A close frame was sent (or the connection given up): input is ignored.
    Closed,
    /// [`Flaw::SendsAfterClose`]: a close was answered, data frames are still echoed.
    EchoingAfterClose,
}

/// A data message being received.
#[derive(Debug)]
struct Message {
    text: bool,
    /// RSV1 on its first frame: compressed (RFC 7692 §6).
    compressed: bool,
    data: Vec<u8>,
}

/// RSV1 in [`Header::rsv`]: permessage-deflate's "compressed" bit.
const RSV1: u8 = 0b100;

/// What the next bytes of the buffer hold.
enum Next {
    /// Not a whole frame yet.
    NeedMore,
    /// A frame was handled (or the connection failed on it).
    Handled,
}

/// One connection's protocol state.
#[derive(Debug)]
pub(crate) struct Conn {
    flaws: Flaws,
    max_message: u64,
    /// Received bytes not yet handled; starts with the frame in progress.
    buf: Vec<u8>,
    state: State,
    message: Option<Message>,
    /// UTF-8 state of the text message in progress, including the frame in progress.
    utf8: Utf8Validator,
    /// Payload bytes of the frame in progress already fed to `utf8`.
    fed: usize,
    /// Bytes at the front of `buf` that came in earlier reads than the current one.
    carried: usize,
    /// permessage-deflate, when the handshake accepted it.
    deflate: Option<Codec>,
}

impl Conn {
    pub fn new(flaws: Flaws, max_message: u64, deflate: Option<Agreement>) -> Conn {
        Conn {
            deflate: deflate.map(|a| Codec::new(a, flaws.clone())),
            flaws,
            max_message,
            buf: Vec::new(),
            state: State::Open,
            message: None,
            utf8: Utf8Validator::default(),
            fed: 0,
            carried: 0,
        }
    }

    fn has(&self, flaw: Flaw) -> bool {
        self.flaws.has(flaw)
    }

    /// Handles the bytes of one read.
    pub fn on_read(&mut self, bytes: &[u8]) -> Vec<Action> {
        let mut out = Vec::new();
        if self.state == State::Closed {
            return out;
        }
        if self.has(Flaw::NoPartialFrameBuffering) {
            self.forget_buffer();
        }
        self.carried = self.buf.len();
        self.buf.extend_from_slice(bytes);
        let mut frames = 0;
        while self.state != State::Closed {
            match self.next(&mut out) {
                Next::NeedMore => break,
                Next::Handled if self.has(Flaw::CrashesOnManyFramesPerRead) && frames == FRAME_TABLE => {
                    // the frame table of this read overflows
                    self.state = State::Closed;
                    out.push(Action::Crash);
                    break;
                }
                Next::Handled if self.has(Flaw::OneFramePerRead) => {
                    // the seed bug: whatever followed the first frame in this read is lost
                    self.forget_buffer();
                    break;
                }
                Next::Handled => frames += 1,
            }
        }
        if self.has(Flaw::NoPartialFrameBuffering) {
            self.forget_buffer();
        }
        out
    }

    fn forget_buffer(&mut self) {
        self.buf.clear();
        self.fed = 0;
        self.carried = 0;
    }

    /// Judges the header at the front of the buffer and, once its payload is here, handles the frame.
    fn next(&mut self, out: &mut Vec<Action>) -> Next {
        let Some(header) = frame::parse_header(&self.buf, &self.flaws) else { return Next::NeedMore };
        let len = match self.check_header(&header) {
            Ok(len) => len,
            Err(MESSAGE_TOO_BIG) if self.has(Flaw::CrashesOnOversizedMessage) => {
                // the allocation for the whole message fails and takes the process down
                self.state = State::Closed;
                out.push(Action::Crash);
                return Next::Handled;
            }
            Err(code) => {
                self.fail(code, out);
                return Next::Handled;
            }
        };
        let available = (self.buf.len() - header.header_len) as u64;
        let len = if available >= len {
            len as usize
        } else if self.has(Flaw::NoPartialFrameBuffering) {
            // decodes what this read holds as if it were the whole frame
            available as usize
        } else {
            if !self.validate_text(&header, available as usize) {
                self.fail(INVALID_PAYLOAD, out);
                return Next::Handled;
            }
            return Next::NeedMore;
        };
        if !self.validate_text(&header, len) {
            self.fail(INVALID_PAYLOAD, out);
            return Next::Handled;
        }
        let whole_in_this_read = self.carried == 0;
        self.carried = self.carried.saturating_sub(header.header_len + len);
        let mut payload: Vec<u8> = self.buf.drain(..header.header_len + len).skip(header.header_len).collect();
        self.fed = 0;
        if header.opcode & 0x8 != 0 && !whole_in_this_read && self.has(Flaw::IgnoresSplitControlFrames) {
            // the control-frame path only looks at frames that came whole in one read
            return Next::Handled;
        }
        frame::unmask(&mut payload, header.key, 0);
        self.on_frame(&header, payload, out);
        Next::Handled
    }

    /// The rules a header can break before its payload arrives (RFC 6455 §5.2-§5.5, §10.4).
    /// Returns the payload length to read, or the close code to fail with.
    fn check_header(&self, h: &Header) -> Result<u64, u16> {
        let defined = matches!(h.opcode, CONTINUATION | TEXT | BINARY | CLOSE | PING | PONG);
        let control = h.opcode & 0x8 != 0;
        // RFC 6455 §5.2: RSV bits are 0 without an extension; reserved opcodes fail
        // RFC 7692 §6.1: with permessage-deflate, RSV1 on the first frame of a data message
        let starts = matches!(h.opcode, TEXT | BINARY) || self.has(Flaw::DeflateAcceptsRsv1Anywhere);
        let allowed = if self.deflate.is_some() && starts { RSV1 } else { 0 };
        if h.rsv & !allowed != 0 && !self.has(Flaw::IgnoresRsv) {
            return Err(PROTOCOL_ERROR);
        }
        if !defined && !self.has(Flaw::IgnoresReservedOpcodes) {
            return Err(PROTOCOL_ERROR);
        }
        // RFC 6455 §5.1: a server MUST close the connection on an unmasked client frame
        if h.key.is_none() && !self.has(Flaw::AcceptsUnmasked) {
            return Err(PROTOCOL_ERROR);
        }
        // RFC 6455 §5.2: minimal length encoding, and the 64-bit length's top bit is 0
        if h.non_minimal() && !self.has(Flaw::AcceptsNonMinimalLength) {
            return Err(PROTOCOL_ERROR);
        }
        let mut len = h.len;
        if len >> 63 != 0 {
            if !self.has(Flaw::IgnoresLengthMsb) {
                return Err(PROTOCOL_ERROR);
            }
            len &= !(1 << 63);
        }
        if control {
            // RFC 6455 §5.5: control frames are not fragmented and carry at most 125 bytes
            if !h.fin && !self.has(Flaw::AcceptsFragmentedControl) {
                return Err(PROTOCOL_ERROR);
            }
            if len > 125 && !self.has(Flaw::AcceptsLongControl) {
                return Err(PROTOCOL_ERROR);
            }
            if self.message.is_some() && self.has(Flaw::RejectsInterleavedControl) {
                return Err(PROTOCOL_ERROR);
            }
            return Ok(len);
        }
        // RFC 6455 §5.4: continuations continue a message, new messages wait for the last one to end
        let in_message = self.message.is_some();
        if h.opcode == CONTINUATION && !in_message && !self.has(Flaw::AcceptsContinuationWithoutStart) {
            return Err(PROTOCOL_ERROR);
        }
        if matches!(h.opcode, TEXT | BINARY) && in_message && !self.has(Flaw::AcceptsInterleavedDataFrames) {
            return Err(PROTOCOL_ERROR);
        }
        // RFC 6455 §10.4: refuse a message over the limit as soon as its size is known
        let size = self.message.as_ref().map_or(0, |m| m.data.len() as u64).saturating_add(len);
        // (a server without a bound on inflating has none on what it buffers either)
        let unbounded = self.has(Flaw::NoMessageLimit) || self.has(Flaw::DeflateBombCrashes);
        if defined && size > self.max_message && !unbounded {
            return Err(MESSAGE_TOO_BIG);
        }
        Ok(len)
    }

    /// Whether the frame at the front of the buffer belongs to a text message whose frames carry its text
    /// (not compressed, or a flaw that reads compressed bytes as text).
    fn is_text(&self, h: &Header) -> bool {
        let text = match (&self.message, h.opcode) {
            (Some(message), CONTINUATION | TEXT | BINARY) => message.text && !message.compressed,
            (None, TEXT) => !self.compressed(h),
            _ => false,
        };
        text || (self.has(Flaw::DeflateUtf8BeforeInflating)
            && self.message.as_ref().map_or(h.opcode == TEXT, |m| m.text))
    }

    /// Whether a message starting with this frame is compressed.
    fn compressed(&self, h: &Header) -> bool {
        self.deflate.is_some() && (h.rsv & RSV1 != 0 || self.has(Flaw::DeflateInflatesUncompressed))
    }

    /// Feeds the UTF-8 validator the payload bytes of the frame in progress up to
    /// `upto` that it has not seen; `false` if the text is already invalid
    /// (RFC 6455 §8.1: fail as soon as invalid UTF-8 is found).
    fn validate_text(&mut self, h: &Header, upto: usize) -> bool {
        if !self.is_text(h) || self.has(Flaw::NoUtf8Validation) || self.has(Flaw::LateUtf8Failure) {
            return true;
        }
        let start = h.header_len + self.fed;
        let mut fresh = self.buf[start..h.header_len + upto].to_vec();
        frame::unmask(&mut fresh, h.key, self.fed);
        self.fed = upto;
        self.utf8.feed(&fresh)
    }

    fn on_frame(&mut self, h: &Header, payload: Vec<u8>, out: &mut Vec<Action>) {
        match h.opcode {
            // RFC 6455 §5.5.2: a pong with the ping's payload
            PING if !self.has(Flaw::NoPong) => {
                let payload = if self.has(Flaw::PongWrongPayload) { altered(&payload) } else { payload };
                out.push(Action::Write(frame::encode(true, PONG, &payload, &self.flaws)));
            }
            // RFC 6455 §5.5.3: an unsolicited pong needs no answer
            PONG if self.has(Flaw::PongsUnsolicitedPongs) => {
                out.push(Action::Write(frame::encode(true, PONG, &payload, &self.flaws)));
            }
            CLOSE if self.state == State::Open => self.on_close(&payload, out),
            CONTINUATION | TEXT | BINARY => self.on_data(h, payload, out),
            // pings under NoPong, pongs, closes after a close, ignored reserved opcodes
            _ => {}
        }
    }

    fn on_data(&mut self, h: &Header, payload: Vec<u8>, out: &mut Vec<Action>) {
        let compressed = self.compressed(h);
        let mut message =
            self.message.take().unwrap_or(Message { text: h.opcode == TEXT, compressed, data: Vec::new() });
        if self.has(Flaw::EchoesEachFragment) {
            let opcode = if message.text { TEXT } else { BINARY };
            if !h.fin {
                self.message = Some(message);
            } else if message.text && !std::mem::take(&mut self.utf8).is_complete() {
                return self.fail(INVALID_PAYLOAD, out);
            }
            // each frame goes out as a whole message as soon as it arrives
            return out.push(Action::Write(frame::encode(true, opcode, &payload, &self.flaws)));
        }
        message.data.extend_from_slice(&payload);
        if !h.fin {
            self.message = Some(message);
            return;
        }
        let utf8 = std::mem::take(&mut self.utf8);
        if message.compressed {
            return self.on_compressed(message, out);
        }
        if message.text && !self.has(Flaw::NoUtf8Validation) {
            let valid = if self.has(Flaw::LateUtf8Failure) {
                std::str::from_utf8(&message.data).is_ok()
            } else {
                utf8.is_complete()
            };
            if !valid {
                return self.fail(INVALID_PAYLOAD, out);
            }
        }
        self.echo(message, out);
    }

    /// A compressed message, whole: inflated within the limit (RFC 7692 §7.2.2), its text checked, echoed.
    fn on_compressed(&mut self, mut message: Message, out: &mut Vec<Action>) {
        let (limit, flaws) = (self.max_message, self.flaws.clone());
        let Some(codec) = self.deflate.as_mut() else { return self.fail(PROTOCOL_ERROR, out) };
        match codec.inflate(&message.data, limit) {
            Ok(data) => message.data = data,
            Err(InflateFail::TooBig) if flaws.has(Flaw::DeflateBombCrashes) => {
                self.state = State::Closed;
                return out.push(Action::Crash);
            }
            Err(InflateFail::TooBig) => return self.fail(MESSAGE_TOO_BIG, out),
            Err(InflateFail::Corrupt) => return self.fail(INVALID_PAYLOAD, out),
        }
        let check = !self.has(Flaw::NoUtf8Validation) && !self.has(Flaw::DeflateSkipsUtf8AfterInflating);
        // RFC 6455 §8.1 on the inflated text (RFC 7692 §6)
        if message.text && check && std::str::from_utf8(&message.data).is_err() {
            return self.fail(INVALID_PAYLOAD, out);
        }
        self.echo(message, out);
    }

    /// RFC 6455 §5.6: echoes the message, same type, one frame (compressed when permessage-deflate is on).
    fn echo(&mut self, message: Message, out: &mut Vec<Action>) {
        let opcode = if message.text && !self.has(Flaw::EchoesAsBinary) { TEXT } else { BINARY };
        if let Some(codec) = self.deflate.as_mut() {
            let mut frame = frame::encode(true, opcode, &codec.compress(&message.data), &self.flaws);
            // RFC 7692 §6.1: RSV1 on the (only) frame of a compressed message
            frame[0] |= RSV1 << 4;
            return out.push(Action::Write(frame));
        }
        if self.has(Flaw::FragmentsEchoWrongly) {
            let (first, second) = message.data.split_at(message.data.len() / 2);
            out.push(Action::Write(frame::encode(false, CONTINUATION, first, &self.flaws)));
            out.push(Action::Write(frame::encode(true, CONTINUATION, second, &self.flaws)));
        } else {
            out.push(Action::Write(frame::encode(true, opcode, &message.data, &self.flaws)));
        }
    }

    /// A close from the client: validate its body (RFC 6455 §5.5.1, §7.4) and answer it.
    fn on_close(&mut self, body: &[u8], out: &mut Vec<Action>) {
        let mut reply = match body {
            [] => None,
            [_] if self.has(Flaw::AcceptsOneByteClose) => None,
            [_] => return self.fail(PROTOCOL_ERROR, out),
            [hi, lo, reason @ ..] => {
                let code = u16::from_be_bytes([*hi, *lo]);
                if !CloseCode(code).is_valid_on_wire() && !self.has(Flaw::AcceptsInvalidCloseCodes) {
                    return self.fail(PROTOCOL_ERROR, out);
                }
                if code != 1000 && self.has(Flaw::RejectsValidCloseCodes) {
                    return self.fail(PROTOCOL_ERROR, out);
                }
                if std::str::from_utf8(reason).is_err() && !self.has(Flaw::AcceptsInvalidCloseReason) {
                    return self.fail(INVALID_PAYLOAD, out);
                }
                Some(code)
            }
        };
        if self.has(Flaw::WrongCloseEchoCode) {
            reply = Some(if reply == Some(1000) { 1001 } else { 1000 });
        }
        if reply.is_none() && self.has(Flaw::SendsReservedCloseCode) {
            reply = Some(1005);
        }
        if self.has(Flaw::NoCloseReplyKeepsOpen) {
            self.state = State::Closed;
            return out.push(Action::Hold);
        }
        if self.has(Flaw::SendsAfterClose) {
            self.state = State::EchoingAfterClose;
            out.push(Action::Write(frame::close(reply, &self.flaws)));
            return out.push(Action::CloseLater);
        }
        self.send_close(reply, out);
    }

    /// Fails the connection (RFC 6455 §7.1.7): a close frame with `code`, then close TCP.
    fn fail(&mut self, code: u16, out: &mut Vec<Action>) {
        let code = if self.has(Flaw::ClosesWith1000OnErrors) {
            1000
        } else if code == INVALID_PAYLOAD && self.has(Flaw::Utf8WrongCode) {
            PROTOCOL_ERROR
        } else {
            code
        };
        self.message = None;
        self.send_close(Some(code), out);
    }

    /// Sends a close frame and closes TCP (RFC 6455 §7.1.1: the server closes TCP first).
    fn send_close(&mut self, code: Option<u16>, out: &mut Vec<Action>) {
        self.state = State::Closed;
        if self.has(Flaw::DropsTcpWithoutClose) {
            return out.push(Action::Drop);
        }
        out.push(Action::Write(frame::close(code, &self.flaws)));
        out.push(if self.has(Flaw::NeverClosesTcp) { Action::Hold } else { Action::Close });
    }
}

/// A payload that differs from `payload` (for [`Flaw::PongWrongPayload`]).
fn altered(payload: &[u8]) -> Vec<u8> {
    match payload.split_first() {
        Some((_, rest)) => rest.to_vec(),
        None => b"?".to_vec(),
    }
}
