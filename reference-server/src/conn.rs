//! The connection core: RFC 6455 §5-§7 as a sans-IO state machine.
//!
//! [`Connection::process`] takes the bytes a client sent and appends to an
//! output buffer the bytes the protocol obliges the server to send back (the
//! echoes, pongs, close replies and error closes), in order. It does no I/O,
//! so every rule can be unit-tested without sockets, and the I/O layer can
//! write all the replies to one read in one system call.
//!
//! Payloads are consumed as they arrive, not when a frame is complete: text is
//! validated while it streams in (failing fast, §8.1), a declared length of
//! 2^63-1 allocates nothing, and a frame split at any byte needs no copying
//! beyond an unfinished header (at most [`MAX_HEADER_LEN`] bytes, which the
//! caller keeps and presents again).

use crate::deflate::{Agreed, Codec, UNMASK_CHUNK};
use crate::error::ProtocolError;
use crate::frame::{
    apply_mask, parse_close_payload, write_server_header, write_server_header_compressed, CloseCode, FrameHeader,
    Opcode, Rsv, MAX_HEADER_LEN,
};
use crate::utf8::Utf8Validator;

/// Size limits a connection enforces (§10.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest message, in payload bytes, after reassembly of fragments.
    pub max_message_size: u64,
    /// Largest single frame payload.
    pub max_frame_size: u64,
}

/// The unmasking buffer of a compressed frame's payload this short is this short too.
const SMALL_PIECE: usize = 256;

/// Above this capacity the reassembly buffer is released after each message,
/// so an idle connection holds no large allocation.
const KEEP_MESSAGE_CAPACITY: usize = 64 * 1024;

/// Where the connection is in its life (§7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Messages flow both ways.
    Open,
    /// The server sent a close frame of its own accord (shutdown, idle timeout)
    /// and waits for the client's; data frames are read and discarded (§5.5.1).
    CloseSent,
    /// Nothing more is read or sent: the close handshake completed, or the
    /// connection was failed (§7.1.7). The I/O layer closes TCP.
    Closed,
}

/// A frame whose header has been read but not yet all of its payload.
#[derive(Debug, Clone, Copy)]
struct InFrame {
    header: FrameHeader,
    /// Payload bytes received so far.
    received: u64,
}

/// A control frame's payload (at most 125 bytes, §5.5) while it arrives over several reads; a
/// control frame that arrives whole (almost every one) never needs it, and an idle connection holds
/// none (a pointer's worth instead of 126 bytes).
#[derive(Clone)]
struct ControlPayload {
    buf: [u8; 125],
    len: u8,
}

/// The sans-IO state of one WebSocket connection, server side.
pub struct Connection {
    limits: Limits,
    state: State,
    frame: Option<InFrame>,
    /// The opcode (Text or Binary) of the message being received, if any.
    message_opcode: Option<Opcode>,
    /// The unmasked payload of the plain message being received (slow path
    /// only); a compressed one is inflated into the [`Codec`].
    message: Vec<u8>,
    utf8: Utf8Validator,
    control: Option<Box<ControlPayload>>,
    failure: Option<ProtocolError>,
    peer_close: Option<Option<CloseCode>>,
    /// The RSV bits a negotiated extension defines: RSV1 with permessage-deflate.
    allowed_rsv: Rsv,
    /// permessage-deflate, if negotiated (boxed: a plain connection pays one pointer).
    deflate: Option<Box<Codec>>,
    /// The message being received is compressed (RSV1 on its first frame, RFC 7692 §6.1).
    message_compressed: bool,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("state", &self.state)
            .field("message_opcode", &self.message_opcode)
            .field("message_len", &self.message.len())
            .field("failure", &self.failure)
            .finish()
    }
}

impl Connection {
    /// A connection that has just completed its opening handshake, with no extension.
    pub fn new(limits: Limits) -> Self {
        Connection::with_deflate(limits, None)
    }

    /// A connection that has just completed its opening handshake, with
    /// permessage-deflate if it was agreed (RFC 7692).
    pub fn with_deflate(limits: Limits, deflate: Option<Agreed>) -> Self {
        Connection {
            allowed_rsv: if deflate.is_some() { Rsv::RSV1 } else { Rsv::NONE },
            deflate: deflate.map(|agreed| Box::new(Codec::new(agreed))),
            message_compressed: false,
            limits,
            state: State::Open,
            frame: None,
            message_opcode: None,
            message: Vec::new(),
            utf8: Utf8Validator::new(),
            control: None,
            failure: None,
            peer_close: None,
        }
    }

    /// The current state.
    pub fn state(&self) -> State {
        self.state
    }

    /// The rule the client broke, if the connection was failed.
    pub fn failure(&self) -> Option<&ProtocolError> {
        self.failure.as_ref()
    }

    /// The close the client sent, if any: `Some(None)` for an empty close frame.
    pub fn peer_close(&self) -> Option<Option<CloseCode>> {
        self.peer_close
    }

    /// Whether a partially received message or frame is held.
    pub fn is_mid_message(&self) -> bool {
        self.frame.is_some() || self.message_opcode.is_some()
    }

    /// Bytes currently held for reassembly (inflated bytes for a compressed message).
    pub fn buffered_len(&self) -> usize {
        self.message.len() + self.deflate.as_deref().map_or(0, |c| c.message().len())
    }

    /// The permessage-deflate state, if negotiated.
    pub fn deflate(&self) -> Option<&Codec> {
        self.deflate.as_deref()
    }

    /// Capacity currently allocated for reassembly (and inflation).
    pub fn buffered_capacity(&self) -> usize {
        self.message.capacity() + self.deflate.as_deref().map_or(0, |c| c.message().capacity())
    }

    /// Starts a server-initiated close (§7.1.2), e.g. 1001 on shutdown.
    pub fn initiate_close(&mut self, code: CloseCode, reason: &str, out: &mut Vec<u8>) {
        if self.state == State::Open {
            write_close(out, Some(code), reason);
            self.state = State::CloseSent;
        }
    }

    /// Processes bytes received from the client, appending the server's replies
    /// to `out`. Returns how many bytes were consumed; the rest (an incomplete
    /// header, fewer than [`MAX_HEADER_LEN`] bytes) must be presented again
    /// with more data after it.
    pub fn process(&mut self, input: &[u8], out: &mut Vec<u8>) -> usize {
        let mut pos = 0;
        while self.state != State::Closed {
            if let Some(frame) = self.frame {
                let remaining = frame.header.payload_len - frame.received;
                let available = (input.len() - pos) as u64;
                if remaining > 0 && available == 0 {
                    break;
                }
                let take = remaining.min(available) as usize;
                let chunk = &input[pos..pos + take];
                pos += take;
                if let Err(e) = self.payload(frame, chunk, out) {
                    self.fail(e, out);
                    break;
                }
                continue;
            }
            match FrameHeader::parse(&input[pos..], self.allowed_rsv) {
                Ok(None) => {
                    debug_assert!(input.len() - pos < MAX_HEADER_LEN);
                    break;
                }
                Ok(Some((header, n))) => {
                    pos += n;
                    if let Some(fast) = self.try_echo_whole_frame(&header, &input[pos..], out) {
                        match fast {
                            Ok(()) => pos += header.payload_len as usize,
                            Err(e) => {
                                self.fail(e, out);
                                break;
                            }
                        }
                        continue;
                    }
                    if let Err(e) = self.begin_frame(header) {
                        self.fail(e, out);
                        break;
                    }
                    // the payload, even an empty one, is handled at the top of the loop
                    self.frame = Some(InFrame { header, received: 0 });
                }
                Err(e) => {
                    self.fail(e, out);
                    break;
                }
            }
        }
        if let Some(codec) = self.deflate.as_deref_mut() {
            // between reads a connection holds no zlib state, only what context takeover needs
            codec.park(self.message_compressed && self.message_opcode.is_some());
        }
        if self.state == State::Closed {
            // RFC 6455 §7.1.7: no further data is processed once the connection is closed or failed
            return input.len();
        }
        pos
    }

    /// The fast path: a whole unfragmented data frame already in `payload`
    /// is unmasked straight into the echo, with no reassembly copy.
    fn try_echo_whole_frame(
        &mut self,
        header: &FrameHeader,
        payload: &[u8],
        out: &mut Vec<u8>,
    ) -> Option<Result<(), ProtocolError>> {
        let whole = header.fin
            && header.rsv == Rsv::NONE
            && self.state == State::Open
            && self.message_opcode.is_none()
            && matches!(header.opcode, Opcode::Text | Opcode::Binary)
            && payload.len() as u64 >= header.payload_len;
        if !whole {
            return None;
        }
        if let Err(e) = self.check_limits(header) {
            return Some(Err(e));
        }
        let len = header.payload_len as usize;
        let start = out.len();
        write_server_header(out, header.opcode, len);
        let body = out.len();
        out.extend_from_slice(&payload[..len]);
        apply_mask(&mut out[body..], header.mask, 0);
        // RFC 6455 §8.1: a text message MUST be valid UTF-8
        if header.opcode == Opcode::Text && std::str::from_utf8(&out[body..]).is_err() {
            out.truncate(start);
            return Some(Err(ProtocolError::InvalidUtf8));
        }
        Some(Ok(()))
    }

    fn check_limits(&self, header: &FrameHeader) -> Result<(), ProtocolError> {
        if header.opcode.is_control() {
            return Ok(());
        }
        // RFC 6455 §10.4: a server MAY limit frame and message sizes (closing with 1009, §7.4.1)
        if header.payload_len > self.limits.max_frame_size {
            return Err(ProtocolError::FrameTooBig { len: header.payload_len, limit: self.limits.max_frame_size });
        }
        // a compressed message is bounded on the wire here, and once inflated while it inflates
        let held = match &self.deflate {
            Some(codec) if self.message_compressed => codec.wire_len(),
            _ => self.message.len() as u64,
        };
        let total = held + header.payload_len;
        if total > self.limits.max_message_size {
            return Err(ProtocolError::MessageTooBig { len: total, limit: self.limits.max_message_size });
        }
        Ok(())
    }

    /// Checks a frame's place in the message sequence (§5.4) and its size.
    fn begin_frame(&mut self, header: FrameHeader) -> Result<(), ProtocolError> {
        if header.opcode.is_control() {
            // RFC 7692 §6.1: control frames are never compressed
            if header.rsv.rsv1() {
                return Err(ProtocolError::CompressedControlFrame);
            }
            self.control = None;
            return Ok(());
        }
        if self.state == State::CloseSent {
            // after our close, data is discarded unread (§5.5.1); only a close matters
            return Ok(());
        }
        match header.opcode {
            Opcode::Continuation => {
                // RFC 6455 §5.4: a continuation frame needs a started message
                if self.message_opcode.is_none() {
                    return Err(ProtocolError::UnexpectedContinuation);
                }
                // RFC 7692 §6.1: RSV1 is set on the first frame of a compressed message only
                if header.rsv.rsv1() {
                    return Err(ProtocolError::CompressedContinuation);
                }
            }
            Opcode::Text | Opcode::Binary => {
                // RFC 6455 §5.4: fragments of different messages MUST NOT interleave
                if self.message_opcode.is_some() {
                    return Err(ProtocolError::ExpectedContinuation);
                }
                self.message_opcode = Some(header.opcode);
                self.utf8 = Utf8Validator::new();
                // RFC 7692 §6.1: RSV1 on the first frame marks the whole message compressed
                self.message_compressed = header.rsv.rsv1();
            }
            Opcode::Close | Opcode::Ping | Opcode::Pong => {}
        }
        self.check_limits(&header)
    }

    /// Handles the next `chunk` of the current frame's payload.
    fn payload(&mut self, frame: InFrame, chunk: &[u8], out: &mut Vec<u8>) -> Result<(), ProtocolError> {
        let header = frame.header;
        let offset = frame.received as usize;
        let received = frame.received + chunk.len() as u64;
        let done = received == header.payload_len;
        self.frame = if done { None } else { Some(InFrame { header, received }) };

        if header.opcode.is_control() {
            if offset == 0 && done {
                // the whole control frame in this read: unmasked on the stack
                let mut buf = [0u8; 125];
                let payload = &mut buf[..chunk.len()];
                payload.copy_from_slice(chunk);
                apply_mask(payload, header.mask, 0);
                return self.control_frame(header.opcode, payload, out);
            }
            let control = self.control.get_or_insert_with(|| Box::new(ControlPayload { buf: [0; 125], len: 0 }));
            let start = usize::from(control.len);
            let end = start + chunk.len();
            control.buf[start..end].copy_from_slice(chunk);
            apply_mask(&mut control.buf[start..end], header.mask, offset);
            control.len = end as u8;
            if done {
                if let Some(c) = self.control.take() {
                    self.control_frame(header.opcode, &c.buf[..usize::from(c.len)], out)?;
                }
            }
            return Ok(());
        }
        if self.state != State::Open {
            return Ok(());
        }
        if self.message_compressed {
            return self.compressed_payload(header, offset, chunk, done, out);
        }
        let start = self.message.len();
        self.message.extend_from_slice(chunk);
        apply_mask(&mut self.message[start..], header.mask, offset);
        if self.message_opcode == Some(Opcode::Text) {
            // RFC 6455 §8.1: invalid UTF-8 fails the connection, as early as it is seen
            self.utf8.feed(&self.message[start..]).map_err(|_| ProtocolError::InvalidUtf8)?;
        }
        if done && header.fin {
            let opcode = self.message_opcode.take().unwrap_or(Opcode::Binary);
            if opcode == Opcode::Text {
                // RFC 6455 §8.1: the message must not end inside a code point
                self.utf8.finish().map_err(|_| ProtocolError::InvalidUtf8)?;
            }
            // echo: the whole message as one frame of the same type
            write_server_header(out, opcode, self.message.len());
            out.extend_from_slice(&self.message);
            self.end_message();
        }
        Ok(())
    }

    /// Handles the next `chunk` of a compressed message's frame (RFC 7692 §6.2):
    /// unmasked a piece at a time, inflated under the message limit, UTF-8
    /// checked on the inflated text; at the end, echoed compressed (§6.1).
    fn compressed_payload(
        &mut self,
        header: FrameHeader,
        offset: usize,
        chunk: &[u8],
        done: bool,
        out: &mut Vec<u8>,
    ) -> Result<(), ProtocolError> {
        let Some(codec) = self.deflate.as_deref_mut() else {
            // unreachable: RSV1 passes the header check only when the extension was negotiated
            return Err(ProtocolError::ReservedBits(header.rsv.0));
        };
        let limit = usize::try_from(self.limits.max_message_size).unwrap_or(usize::MAX);
        let text = self.message_opcode == Some(Opcode::Text);
        // a small frame does not zero 4 KiB: for a 64-byte message that was about as many instructions as inflating it
        let (mut small, mut large);
        let piece: &mut [u8] = if chunk.len() <= SMALL_PIECE {
            small = [0u8; SMALL_PIECE];
            &mut small
        } else {
            large = [0u8; UNMASK_CHUNK];
            &mut large
        };
        for (i, part) in chunk.chunks(UNMASK_CHUNK).enumerate() {
            let unmasked = &mut piece[..part.len()];
            unmasked.copy_from_slice(part);
            apply_mask(unmasked, header.mask, offset + i * UNMASK_CHUNK);
            let start = codec.message().len();
            codec.inflate(unmasked, limit)?;
            if text {
                // RFC 6455 §8.1 on the inflated text, as early as it is seen
                feed_utf8(&mut self.utf8, codec, start)?;
            }
        }
        if !(done && header.fin) {
            return Ok(());
        }
        let start = codec.message().len();
        codec.finish_message(limit)?;
        let opcode = self.message_opcode.take().unwrap_or(Opcode::Binary);
        if text {
            feed_utf8(&mut self.utf8, codec, start)?;
            // RFC 6455 §8.1: the message must not end inside a code point
            self.utf8.finish().map_err(|_| ProtocolError::InvalidUtf8)?;
        }
        // echo compressed, as received: RSV1 on the (single) frame, RFC 7692 §6.1
        let at = out.len();
        let len = match codec.compress_message(out) {
            Ok(len) => len,
            Err(e) => {
                out.truncate(at);
                return Err(e);
            }
        };
        // the payload went straight into `out`; its header goes in front of it (one move, no second buffer)
        write_server_header_compressed(out, opcode, len);
        let header_len = out.len() - at - len;
        out[at..].rotate_right(header_len);
        self.end_message();
        Ok(())
    }

    /// Forgets the message just echoed, keeping a small buffer for the next one;
    /// after a compressed message none (an idle deflate connection holds only its history).
    fn end_message(&mut self) {
        self.message.clear();
        if self.message_compressed || self.message.capacity() > KEEP_MESSAGE_CAPACITY {
            self.message = Vec::new();
        }
        self.message_compressed = false;
    }

    fn control_frame(&mut self, opcode: Opcode, payload: &[u8], out: &mut Vec<u8>) -> Result<(), ProtocolError> {
        match opcode {
            Opcode::Ping => {
                // RFC 6455 §5.5.2: a ping is answered with a pong carrying the same payload
                if self.state == State::Open {
                    write_server_header(out, Opcode::Pong, payload.len());
                    out.extend_from_slice(payload);
                }
            }
            // RFC 6455 §5.5.3: an unsolicited pong needs no response
            Opcode::Pong => {}
            Opcode::Close => {
                if self.state == State::CloseSent {
                    // the client answered our close: the handshake is complete
                    self.peer_close = Some(parse_close_payload(payload).ok().flatten());
                    self.state = State::Closed;
                    return Ok(());
                }
                let code = parse_close_payload(payload)?;
                self.peer_close = Some(code);
                // RFC 6455 §5.5.1: reply with a close frame, echoing the status code
                write_close(out, code, "");
                self.state = State::Closed;
            }
            Opcode::Continuation | Opcode::Text | Opcode::Binary => {}
        }
        Ok(())
    }

    /// Fails the connection (§7.1.7): a close frame with the rule's code, then nothing more.
    fn fail(&mut self, error: ProtocolError, out: &mut Vec<u8>) {
        if self.state == State::Open {
            let reason = error.to_string();
            write_close(out, Some(error.close_code()), &reason);
        }
        self.failure = Some(error);
        self.state = State::Closed;
        self.frame = None;
        self.message = Vec::new();
        self.message_compressed = false;
        if let Some(codec) = self.deflate.as_deref_mut() {
            codec.discard_message();
        }
    }
}

/// Validates the bytes of the codec's message inflated since `start` (RFC 6455 §8.1).
fn feed_utf8(utf8: &mut Utf8Validator, codec: &Codec, start: usize) -> Result<(), ProtocolError> {
    for part in codec.message().since(start) {
        utf8.feed(part).map_err(|_| ProtocolError::InvalidUtf8)?;
    }
    Ok(())
}

/// Appends a close frame; `None` sends an empty body (§5.5.1). The reason is
/// cut at a character boundary to fit the 125-byte control payload.
fn write_close(out: &mut Vec<u8>, code: Option<CloseCode>, reason: &str) {
    let Some(code) = code else {
        write_server_header(out, Opcode::Close, 0);
        return;
    };
    let mut end = reason.len().min(123);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    write_server_header(out, Opcode::Close, 2 + end);
    out.extend_from_slice(&code.0.to_be_bytes());
    out.extend_from_slice(&reason.as_bytes()[..end]);
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod deflate_tests;
