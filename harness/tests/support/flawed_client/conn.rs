//! The connection after the handshake, sans-IO: each read's bytes in, [`Action`]s out.
//!
//! [`Conn::on_read`] buffers bytes until a frame header is complete, judges the header at once (so a bad header
//! fails before its payload arrives), validates the UTF-8 of a text message as its payload arrives, and handles
//! each complete frame: echo, pong, close. Everything that fails the connection goes through [`Conn::fail`],
//! every close frame through [`Conn::send_close`]. [`Flaw::OneFramePerRead`] depends on read boundaries, which
//! is why the input is one read at a time.

use wsharness::wire::CloseCode;

use wsharness::wire::deflate::Negotiated;

use super::deflate::Deflate;
use super::frame::{self, Entropy, Header, Masker, BINARY, CLOSE, CONTINUATION, PING, PONG, TEXT};
use super::{Flaw, Flaws, RunLog};
use crate::support::utf8::Utf8Validator;

#[cfg(test)]
#[path = "conn_tests.rs"]
mod tests;

/// Frames larger than this take [`Flaw::CrashesOnLargeFrame`] down.
const LARGE_FRAME: u64 = 64 * 1024;

/// What the I/O loop must do, in order.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Action {
    /// Write these bytes.
    Write(Vec<u8>),
    /// A close frame was sent: wait (bounded) for the server to close TCP, then close it (RFC 6455 §7.1.1).
    AwaitServerClose,
    /// Close TCP now.
    CloseTcp,
    /// Drop the socket at once, unread input and all (a crash).
    Abort,
}

/// The rule a server broke, for which the client failed the connection. Each knows its section and close code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// A server MUST NOT mask any frames that it sends to the client.
    MaskedFrame,
    /// RSV bits MUST be 0 unless a negotiated extension defines them.
    ReservedBits,
    /// Reserved opcodes MUST NOT be used.
    ReservedOpcode,
    /// The most significant bit of a 64-bit payload length MUST be 0.
    LengthMsbSet,
    /// Control frames MUST NOT be fragmented.
    FragmentedControl,
    /// Control frames MUST have a payload of 125 bytes or less.
    LongControl,
    /// A continuation frame continues a fragmented message, and there was none.
    ContinuationWithoutStart,
    /// A new data message MUST NOT start before the fragmented one ends.
    NewMessageInsideFragmented,
    /// A control frame between fragments, which only [`Flaw::RejectsInterleavedControl`] fails on.
    InterleavedControl,
    /// A text message MUST be valid UTF-8.
    InvalidUtf8,
    /// A message over the client's limit.
    MessageTooBig,
    /// A close code that is not valid on the wire.
    InvalidCloseCode,
    /// A close body is empty or at least two bytes (the code).
    OneByteClose,
    /// A close reason MUST be valid UTF-8.
    InvalidCloseReason,
    /// A compressed message MUST inflate once 00 00 ff ff is appended (RFC 7692 §7.2.2).
    CorruptCompressedData,
}

impl Fault {
    /// The section of RFC 6455 that states the rule.
    pub fn section(self) -> &'static str {
        match self {
            Fault::MaskedFrame => "§5.1",
            Fault::ReservedBits | Fault::ReservedOpcode | Fault::LengthMsbSet => "§5.2",
            Fault::FragmentedControl | Fault::LongControl => "§5.5",
            Fault::ContinuationWithoutStart | Fault::NewMessageInsideFragmented | Fault::InterleavedControl => "§5.4",
            Fault::InvalidUtf8 => "§8.1",
            Fault::MessageTooBig => "§10.4",
            Fault::InvalidCloseCode => "§7.4",
            Fault::OneByteClose | Fault::InvalidCloseReason => "§5.5.1",
            Fault::CorruptCompressedData => "RFC 7692 §7.2.2",
        }
    }

    /// The close code the client fails the connection with (RFC 6455 §7.4.1).
    pub fn code(self) -> u16 {
        match self {
            Fault::InvalidUtf8 | Fault::InvalidCloseReason | Fault::CorruptCompressedData => 1007,
            Fault::MessageTooBig => 1009,
            _ => 1002,
        }
    }
}

/// What the connection did so far, for the [`RunLog`].
#[derive(Debug, Default, Clone)]
pub(crate) struct Tally {
    echoed: u64,
    pongs: u64,
    server_close: Option<Option<u16>>,
    sent_close: Option<Option<u16>>,
    fault: Option<Fault>,
}

impl Tally {
    pub fn fill(&self, log: &mut RunLog) {
        log.echoed = self.echoed;
        log.pongs = self.pongs;
        log.server_close = self.server_close;
        log.sent_close = self.sent_close;
        log.fault = self.fault;
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Messages are echoed, pings answered.
    Open,
    /// A close frame was sent: input is ignored while the server closes TCP.
    Closing,
    /// [`Flaw::EchoesAfterClose`]: a close reply was sent and data messages are still echoed.
    EchoingAfterClose,
    /// The connection was given up (dropped, or the server's close ignored): input is ignored.
    Done,
}

/// A data message being received.
#[derive(Debug)]
struct Message {
    text: bool,
    data: Vec<u8>,
    /// RSV1 on its first frame, permessage-deflate negotiated: the data is compressed (RFC 7692 §6).
    compressed: bool,
}

/// Why a header stops the connection.
enum Stop {
    Fail(Fault),
    Crash,
}

/// What the next bytes of the buffer held.
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
    /// An offered extension other than permessage-deflate was accepted: its RSV bits are allowed.
    extension: bool,
    /// permessage-deflate was accepted: RSV1 marks a compressed message (RFC 7692 §6).
    deflate: Option<Deflate>,
    masker: Masker,
    /// Received bytes not yet handled, from `pos` on; the frame in progress starts at `pos`.
    buf: Vec<u8>,
    pos: usize,
    state: State,
    message: Option<Message>,
    /// UTF-8 state of the text message in progress, including the frame in progress.
    utf8: Utf8Validator,
    /// Payload bytes of the frame in progress already fed to `utf8`.
    fed: usize,
    tally: Tally,
}

impl Conn {
    pub fn new(flaws: Flaws, max_message: u64, extension: bool, entropy: Entropy) -> Conn {
        Conn::with_deflate(flaws, max_message, extension, None, entropy)
    }

    /// A connection that negotiated permessage-deflate (`deflate`), or not.
    pub fn with_deflate(
        flaws: Flaws,
        max_message: u64,
        extension: bool,
        deflate: Option<Negotiated>,
        entropy: Entropy,
    ) -> Conn {
        let limit = usize::try_from(max_message).unwrap_or(usize::MAX);
        Conn {
            deflate: deflate.map(|n| Deflate::new(&n, &flaws, limit)),
            masker: Masker::new(&flaws, entropy),
            flaws,
            max_message,
            extension,
            buf: Vec::new(),
            pos: 0,
            state: State::Open,
            message: None,
            utf8: Utf8Validator::default(),
            fed: 0,
            tally: Tally::default(),
        }
    }

    pub fn tally(&self) -> &Tally {
        &self.tally
    }

    fn has(&self, flaw: Flaw) -> bool {
        self.flaws.has(flaw)
    }

    fn reading(&self) -> bool {
        matches!(self.state, State::Open | State::EchoingAfterClose)
    }

    /// Handles the bytes of one read.
    pub fn on_read(&mut self, bytes: &[u8]) -> Vec<Action> {
        let mut out = Vec::new();
        if !self.reading() {
            return out;
        }
        self.buf.extend_from_slice(bytes);
        while self.reading() {
            match self.next(&mut out) {
                Next::NeedMore => break,
                Next::Handled if self.has(Flaw::OneFramePerRead) => {
                    // the seed bug: whatever followed the first frame of this read is lost
                    self.pos = self.buf.len();
                    break;
                }
                Next::Handled => {}
            }
        }
        if self.reading() && self.has(Flaw::DropsPartialFrames) && self.pos < self.buf.len() {
            // the bug: a frame this read did not finish is lost
            self.pos = self.buf.len();
            self.fed = 0;
        }
        if self.reading() {
            self.buf.drain(..self.pos);
        } else {
            self.buf = Vec::new();
        }
        self.pos = 0;
        out
    }

    /// Judges the header at `pos` and, once its payload is here, handles the frame.
    fn next(&mut self, out: &mut Vec<Action>) -> Next {
        let Some(h) = frame::parse_header(&self.buf[self.pos..]) else { return Next::NeedMore };
        let len = match self.check_header(&h) {
            // at most `max_message`, which is a buffer size
            Ok(len) => len as usize,
            Err(Stop::Fail(fault)) => {
                self.fail(fault, out);
                return Next::Handled;
            }
            Err(Stop::Crash) => {
                self.state = State::Done;
                out.push(Action::Abort);
                return Next::Handled;
            }
        };
        let available = self.buf.len() - self.pos - h.header_len;
        if !self.validate_text(&h, len.min(available)) {
            self.fail(Fault::InvalidUtf8, out);
            return Next::Handled;
        }
        if available < len {
            return Next::NeedMore;
        }
        let start = self.pos + h.header_len;
        let mut payload = self.buf[start..start + len].to_vec();
        self.pos = start + len;
        self.fed = 0;
        if let Some(key) = h.key {
            frame::apply_mask(&mut payload, key, 0);
        }
        self.on_frame(&h, payload, out);
        Next::Handled
    }

    /// The rules a header can break before its payload arrives (RFC 6455 §5.1-§5.5, §10.4).
    /// Returns the payload length to read.
    fn check_header(&self, h: &Header) -> Result<u64, Stop> {
        let fail = |fault| Err(Stop::Fail(fault));
        if h.len >> 63 != 0 {
            return fail(Fault::LengthMsbSet);
        }
        if h.len > LARGE_FRAME && self.has(Flaw::CrashesOnLargeFrame) {
            return Err(Stop::Crash);
        }
        // RFC 6455 §5.1: the client MUST close the connection on a masked frame
        if h.key.is_some() && !self.has(Flaw::AcceptsMaskedFrames) {
            return fail(Fault::MaskedFrame);
        }
        // RFC 6455 §5.2: RSV bits are 0 unless a negotiated extension defines them; reserved opcodes fail
        let allowed = self.allowed_rsv(h);
        if h.rsv & !allowed != 0 && !self.has(Flaw::IgnoresRsv) {
            return fail(Fault::ReservedBits);
        }
        if !frame::defined(h.opcode) && !self.has(Flaw::AcceptsReservedOpcodes) {
            return fail(Fault::ReservedOpcode);
        }
        let in_message = self.message.is_some();
        let size = if frame::control(h.opcode) {
            // RFC 6455 §5.5: control frames are not fragmented and carry at most 125 bytes
            if !h.fin && !self.has(Flaw::AcceptsFragmentedControl) {
                return fail(Fault::FragmentedControl);
            }
            if h.len > 125 && !self.has(Flaw::AcceptsLongControl) {
                return fail(Fault::LongControl);
            }
            if in_message && self.has(Flaw::RejectsInterleavedControl) {
                return fail(Fault::InterleavedControl);
            }
            h.len
        } else {
            // RFC 6455 §5.4: continuations continue a message, new messages wait for the last one to end
            let lenient = self.has(Flaw::AcceptsBadContinuation);
            if h.opcode == CONTINUATION && !in_message && !lenient {
                return fail(Fault::ContinuationWithoutStart);
            }
            if matches!(h.opcode, TEXT | BINARY) && in_message && !lenient {
                return fail(Fault::NewMessageInsideFragmented);
            }
            self.message.as_ref().map_or(0, |m| m.data.len() as u64).saturating_add(h.len)
        };
        // RFC 6455 §10.4: refuse a message over the limit as soon as its size is known
        if size > self.max_message {
            return fail(Fault::MessageTooBig);
        }
        Ok(h.len)
    }

    /// The RSV bits this frame may carry: any with another extension accepted; with permessage-deflate, RSV1
    /// on the first frame of a data message only (RFC 7692 §6.1); none otherwise.
    fn allowed_rsv(&self, h: &Header) -> u8 {
        match (self.extension, &self.deflate) {
            (true, _) => 0b111,
            (false, Some(_)) if matches!(h.opcode, TEXT | BINARY) && self.message.is_none() => 0b100,
            _ => 0,
        }
    }

    /// Whether the frame at `pos` carries text: the next frame of a text message, or a text frame starting one.
    fn is_text(&self, h: &Header) -> bool {
        match (&self.message, h.opcode) {
            (Some(message), CONTINUATION | TEXT | BINARY) => message.text,
            (None, TEXT) => true,
            _ => false,
        }
    }

    /// Feeds the UTF-8 validator the payload bytes of the frame at `pos` up to `upto` that it has not seen;
    /// `false` if the text is already invalid (RFC 6455 §8.1: fail as soon as invalid UTF-8 is found).
    fn validate_text(&mut self, h: &Header, upto: usize) -> bool {
        if !self.is_text(h) || self.has(Flaw::SkipsUtf8Validation) || self.has(Flaw::Utf8CheckedOnlyAtMessageEnd) {
            return true;
        }
        // RFC 7692 §6: a compressed message is text once inflated; its compressed bytes are not
        let compressed = match &self.message {
            Some(m) => m.compressed,
            None => self.deflate.is_some() && h.rsv & 0b100 != 0,
        };
        if compressed && !self.has(Flaw::DeflateUtf8BeforeInflating) {
            return true;
        }
        let start = self.pos + h.header_len;
        let mut fresh = self.buf[start + self.fed..start + upto].to_vec();
        if let Some(key) = h.key {
            frame::apply_mask(&mut fresh, key, self.fed);
        }
        self.fed = upto;
        self.utf8.feed(&fresh)
    }

    fn on_frame(&mut self, h: &Header, payload: Vec<u8>, out: &mut Vec<Action>) {
        match (self.state, h.opcode) {
            (State::Open, PING) => self.on_ping(payload, out),
            (State::Open, PONG) if self.has(Flaw::PongsUnsolicitedPongs) => self.on_ping(payload, out),
            (State::Open, CLOSE) => self.on_close(&payload, out),
            (_, CONTINUATION | TEXT | BINARY) => self.on_data(h, payload, out),
            // pongs, reserved opcodes a flaw lets through, control frames after a close
            _ => {}
        }
    }

    /// RFC 6455 §5.5.2, §5.5.3: a pong with the ping's payload.
    fn on_ping(&mut self, payload: Vec<u8>, out: &mut Vec<Action>) {
        if self.has(Flaw::NoPong) {
            return;
        }
        let payload = if self.has(Flaw::PongWithEmptyPayload) { Vec::new() } else { payload };
        out.push(Action::Write(self.masker.encode(PONG, &payload)));
        self.tally.pongs += 1;
    }

    fn on_data(&mut self, h: &Header, payload: Vec<u8>, out: &mut Vec<Action>) {
        // a continuation with no message is binary under AcceptsBadContinuation; a new frame inside continues
        let compressed = self.deflate.is_some() && h.rsv & 0b100 != 0;
        let mut message =
            self.message.take().unwrap_or(Message { text: h.opcode == TEXT, data: Vec::new(), compressed });
        if self.has(Flaw::EchoesEachFragment) && !h.fin {
            // the fragment goes out as a message of its own
            out.push(Action::Write(self.masker.encode(if message.text { TEXT } else { BINARY }, &payload)));
            self.message = Some(Message { text: message.text, data: Vec::new(), compressed: message.compressed });
            return;
        }
        message.data.extend_from_slice(&payload);
        if !h.fin {
            self.message = Some(message);
            return;
        }
        let utf8 = std::mem::take(&mut self.utf8);
        if let (true, Some(deflate)) = (message.compressed, self.deflate.as_mut()) {
            match deflate.inflate(&message.data) {
                Ok(data) => message.data = data,
                Err(fault) => return self.fail(fault, out),
            }
        }
        if message.text && !self.has(Flaw::SkipsUtf8Validation) {
            let valid = if self.has(Flaw::Utf8CheckedOnlyAtMessageEnd) || message.compressed {
                std::str::from_utf8(&message.data).is_ok()
            } else {
                utf8.is_complete()
            };
            if !valid {
                return self.fail(Fault::InvalidUtf8, out);
            }
        }
        // the runner contract: the message back as one frame of the same type
        let opcode = if message.text != self.has(Flaw::SwapsMessageType) { TEXT } else { BINARY };
        if self.has(Flaw::TruncatesLargeMessages) {
            message.data.truncate(65535);
        }
        let (payload, rsv) = match self.deflate.as_mut() {
            Some(deflate) => match deflate.compress(message.data) {
                // RFC 7692 §6.1: RSV1 on the (only) frame of a compressed message
                (data, true) => (data, 0b100),
                (data, false) => (data, 0),
            },
            None => (message.data, 0),
        };
        out.push(Action::Write(self.masker.encode_rsv(opcode, rsv, &payload)));
        self.tally.echoed += 1;
    }

    /// A close from the server: validate its body (RFC 6455 §5.5.1, §7.4) and answer it with the same code.
    fn on_close(&mut self, body: &[u8], out: &mut Vec<Action>) {
        self.tally.server_close = Some(body.get(..2).map(|code| u16::from_be_bytes([code[0], code[1]])));
        if self.has(Flaw::NeverCloses) {
            self.state = State::Done;
            return;
        }
        if self.has(Flaw::NoCloseReply) {
            self.state = State::Done;
            return out.push(Action::CloseTcp);
        }
        let code = match body {
            [] => None,
            [_] if self.has(Flaw::AcceptsOneByteClose) => None,
            [_] => return self.fail(Fault::OneByteClose, out),
            [hi, lo, reason @ ..] => {
                let code = u16::from_be_bytes([*hi, *lo]);
                if !CloseCode(code).is_valid_on_wire() && !self.has(Flaw::AcceptsInvalidCloseCode) {
                    return self.fail(Fault::InvalidCloseCode, out);
                }
                if std::str::from_utf8(reason).is_err() && !self.has(Flaw::AcceptsInvalidCloseReason) {
                    return self.fail(Fault::InvalidCloseReason, out);
                }
                Some(code)
            }
        };
        let reply = if self.has(Flaw::WrongCloseCodeInReply) { Some(1002) } else { code };
        self.send_close(reply, out);
        if self.has(Flaw::ClosesTcpFirst) {
            self.state = State::Done;
            out.pop();
            out.push(Action::CloseTcp);
        } else if self.has(Flaw::EchoesAfterClose) {
            self.state = State::EchoingAfterClose;
        }
    }

    /// Fails the connection (RFC 6455 §7.1.7): a close frame with the fault's code, then the close wait.
    fn fail(&mut self, fault: Fault, out: &mut Vec<Action>) {
        self.tally.fault = Some(fault);
        let code = match fault.code() {
            1007 if self.has(Flaw::Utf8WrongCode) => 1002,
            code => code,
        };
        self.send_close(Some(code), out);
    }

    /// Sends a close frame, then waits for the server to close TCP (RFC 6455 §7.1.1: the server closes first).
    fn send_close(&mut self, code: Option<u16>, out: &mut Vec<Action>) {
        self.state = State::Closing;
        self.message = None;
        self.utf8 = Utf8Validator::default();
        let rsv = if self.deflate.is_some() && self.has(Flaw::DeflateRsv1OnClose) { 0b100 } else { 0 };
        out.push(Action::Write(self.masker.close(code, rsv)));
        self.tally.sent_close = Some(code);
        out.push(Action::AwaitServerClose);
    }
}
