//! Reassembles a server's data frames into messages (RFC 6455 §5.4, §8.1).
//!
//! [`MessageAssembler`] is given every frame the reader returns, in order.
//! Control frames may be interleaved with the fragments of a message and do not
//! disturb it. Sequence errors are reported as violations, never as panics or
//! errors: a continuation with no message to continue is dropped, and a new
//! text or binary frame while a message is incomplete drops the incomplete
//! message and starts a new one. A completed text message that is not UTF-8 is
//! still returned, with a violation.
//!
//! Payloads are taken as sent: a message whose first frame has RSV1 is marked
//! [`Assembled::compressed`] and left for the caller to inflate (permessage-deflate, RFC 7692 §6).

use std::fmt;

use thiserror::Error;

use super::header::RSV1;
use super::opcode::Opcode;
use super::reader::ObservedFrame;
use super::violation::{Violation, ViolationKind};

/// Default largest message the assembler buffers: 64 MiB.
pub const DEFAULT_MAX_MESSAGE: u64 = 64 * 1024 * 1024;

/// A complete message from the server.
#[derive(Clone, PartialEq, Eq)]
pub enum Message {
    /// A text message; the bytes are kept as sent, valid UTF-8 or not.
    Text(Vec<u8>),
    /// A binary message.
    Binary(Vec<u8>),
}

impl Message {
    /// The message's bytes.
    pub fn payload(&self) -> &[u8] {
        match self {
            Message::Text(bytes) | Message::Binary(bytes) => bytes,
        }
    }

    /// Whether this is a text message.
    pub fn is_text(&self) -> bool {
        matches!(self, Message::Text(_))
    }

    /// The text, if this is a text message whose bytes are valid UTF-8.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Message::Text(bytes) => std::str::from_utf8(bytes).ok(),
            Message::Binary(_) => None,
        }
    }
}

impl fmt::Debug for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Message::Text(bytes) => write!(f, "Text({} bytes)", bytes.len()),
            Message::Binary(bytes) => write!(f, "Binary({} bytes)", bytes.len()),
        }
    }
}

/// Messages cannot be assembled further.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum AssembleError {
    /// A message grew beyond the assembler's limit.
    #[error("message reached {size} bytes, over the {limit}-byte limit")]
    MessageTooLarge {
        /// Size the message would have had with the last fragment.
        size: u64,
        /// The assembler's limit.
        limit: u64,
    },
}

/// What one frame did to the message stream.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Assembled {
    /// The message this frame completed, if any.
    pub message: Option<Message>,
    /// Sequence and content rules the frame broke.
    pub violations: Vec<Violation>,
    /// The completed message's first frame had RSV1 set: its payload is compressed (RFC 7692 §6),
    /// and a text message's UTF-8 is judged after inflating, not here.
    pub compressed: bool,
}

/// A message whose final fragment has not arrived.
#[derive(Debug, Clone)]
struct Partial {
    text: bool,
    /// RSV1 on the first frame (RFC 7692 §6: the message is compressed).
    compressed: bool,
    payload: Vec<u8>,
    fragments: usize,
}

impl Partial {
    fn describe(&self) -> String {
        let kind = if self.text { "text" } else { "binary" };
        format!("{kind} message of {} bytes in {} fragments", self.payload.len(), self.fragments)
    }
}

/// A frame's payload, lent or given.
enum Body<'a> {
    Borrowed(&'a [u8]),
    /// The payload and its length.
    Owned(Vec<u8>, usize),
}

impl Body<'_> {
    fn len(&self) -> usize {
        match self {
            Body::Borrowed(p) => p.len(),
            Body::Owned(_, len) => *len,
        }
    }
}

/// Turns a server's frames into messages, reporting sequence violations.
#[derive(Debug, Clone)]
pub struct MessageAssembler {
    partial: Option<Partial>,
    max_message: u64,
    close_seen: bool,
    failed: Option<AssembleError>,
}

impl Default for MessageAssembler {
    fn default() -> Self {
        MessageAssembler::new()
    }
}

impl MessageAssembler {
    /// An assembler with the default message limit ([`DEFAULT_MAX_MESSAGE`]).
    pub fn new() -> MessageAssembler {
        MessageAssembler::with_max_message(DEFAULT_MAX_MESSAGE)
    }

    /// An assembler that fails when a message grows beyond `max_message` bytes.
    pub fn with_max_message(max_message: u64) -> MessageAssembler {
        MessageAssembler { partial: None, max_message, close_seen: false, failed: None }
    }

    /// Takes the next frame from the server.
    ///
    /// Fails only when a message outgrows the limit; the assembler then drops
    /// the message and returns the same error for every later frame.
    pub fn push(&mut self, frame: &ObservedFrame) -> Result<Assembled, AssembleError> {
        self.take(frame, Body::Borrowed(&frame.payload))
    }

    /// [`MessageAssembler::push`] of a frame the caller gives away: an unfragmented message keeps the
    /// frame's payload instead of copying it (a 16 MiB echo is held once, not twice).
    pub fn push_owned(&mut self, mut frame: ObservedFrame) -> Result<Assembled, AssembleError> {
        let payload = std::mem::take(&mut frame.payload);
        let len = payload.len();
        self.take(&frame, Body::Owned(payload, len))
    }

    fn take(&mut self, frame: &ObservedFrame, body: Body<'_>) -> Result<Assembled, AssembleError> {
        if let Some(err) = &self.failed {
            return Err(err.clone());
        }
        let mut out = Assembled::default();
        let opcode = match Opcode::from_u8(frame.opcode()) {
            // reserved opcodes are reported by the frame's own violations
            None => return Ok(out),
            Some(op) if op.is_control() => {
                if op == Opcode::Close {
                    self.close_seen = true;
                }
                // RFC 6455 §5.4: control frames MAY be injected in the middle of a fragmented message
                return Ok(out);
            }
            Some(op) => op,
        };
        if self.close_seen {
            // RFC 6455 §5.5.1: no data frames after a close frame
            out.violations.push(Violation::new(
                ViolationKind::DataAfterClose,
                format!("{} frame after the server's close frame", opcode.name()),
            ));
        }
        let partial = match (opcode, self.partial.take()) {
            (Opcode::Continuation, None) => {
                // RFC 6455 §5.4: a continuation frame continues a started message
                out.violations.push(Violation::new(
                    ViolationKind::ContinuationWithoutStart,
                    format!("continuation frame of {} bytes with no message in progress", body.len()),
                ));
                return Ok(out);
            }
            (Opcode::Continuation, Some(partial)) => partial,
            (_, previous) => {
                if let Some(previous) = previous {
                    // RFC 6455 §5.4: fragments of one message are not interleaved with another data frame
                    out.violations.push(Violation::new(
                        ViolationKind::DataFrameInsideMessage,
                        format!("{} frame while a {} was incomplete (dropped)", opcode.name(), previous.describe()),
                    ));
                }
                Partial {
                    text: opcode == Opcode::Text,
                    compressed: frame.header.rsv & RSV1 != 0,
                    payload: Vec::new(),
                    fragments: 0,
                }
            }
        };
        let partial = self.append(partial, body)?;
        if frame.fin() {
            out.compressed = partial.compressed;
            out.message = Some(self.complete(partial, &mut out.violations));
        } else {
            self.partial = Some(partial);
        }
        Ok(out)
    }

    fn append(&mut self, mut partial: Partial, body: Body<'_>) -> Result<Partial, AssembleError> {
        let size = partial.payload.len() as u64 + body.len() as u64;
        if size > self.max_message {
            let err = AssembleError::MessageTooLarge { size, limit: self.max_message };
            self.failed = Some(err.clone());
            return Err(err);
        }
        match body {
            Body::Owned(payload, _) if partial.payload.is_empty() => partial.payload = payload,
            Body::Owned(payload, _) => partial.payload.extend_from_slice(&payload),
            Body::Borrowed(payload) => partial.payload.extend_from_slice(payload),
        }
        partial.fragments += 1;
        Ok(partial)
    }

    fn complete(&self, partial: Partial, violations: &mut Vec<Violation>) -> Message {
        if !partial.text || partial.compressed {
            // a compressed text message is UTF-8 once inflated (RFC 7692 §6): the caller judges it then
            if partial.text {
                return Message::Text(partial.payload);
            }
            return Message::Binary(partial.payload);
        }
        if let Err(e) = std::str::from_utf8(&partial.payload) {
            // RFC 6455 §8.1: text messages are UTF-8
            violations.push(Violation::new(
                ViolationKind::TextNotUtf8,
                format!("{} is not UTF-8 from byte {}", partial.describe(), e.valid_up_to()),
            ));
        }
        Message::Text(partial.payload)
    }

    /// Whether a message has started and its final fragment has not arrived.
    pub fn in_message(&self) -> bool {
        self.partial.is_some()
    }

    /// Whether the server has sent a close frame.
    pub fn close_seen(&self) -> bool {
        self.close_seen
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::close::CloseCode;
    use crate::wire::frame::FrameSpec;
    use crate::wire::reader::FrameReader;

    fn observe(spec: FrameSpec) -> ObservedFrame {
        let mut reader = FrameReader::new();
        reader.push(&spec.unmasked().encode().expect("encodable"));
        reader.next_frame().expect("readable").expect("complete frame")
    }

    /// Pushes frames; returns the messages and the kinds of violations, in order.
    fn run(specs: Vec<FrameSpec>) -> (Vec<Message>, Vec<ViolationKind>) {
        let mut assembler = MessageAssembler::new();
        let (mut messages, mut kinds) = (Vec::new(), Vec::new());
        for spec in specs {
            let step = assembler.push(&observe(spec)).expect("within limits");
            messages.extend(step.message);
            kinds.extend(step.violations.into_iter().map(|v| v.kind));
        }
        (messages, kinds)
    }

    #[test]
    fn single_frame_messages_complete_at_once() {
        let (messages, kinds) = run(vec![FrameSpec::text("Hello"), FrameSpec::binary([1, 2])]);
        assert_eq!(messages, [Message::Text(b"Hello".to_vec()), Message::Binary(vec![1, 2])]);
        assert!(kinds.is_empty());
    }

    #[test]
    fn fragments_with_interleaved_control_frames_form_one_message() {
        let (messages, kinds) = run(vec![
            FrameSpec::text("Hel").fin(false),
            FrameSpec::ping("p"),
            FrameSpec::continuation("l").fin(false),
            FrameSpec::pong(""),
            FrameSpec::continuation("o"),
        ]);
        assert_eq!(messages, [Message::Text(b"Hello".to_vec())]);
        assert!(kinds.is_empty());
    }

    #[test]
    fn continuation_without_start_is_a_violation_and_dropped() {
        let (messages, kinds) = run(vec![FrameSpec::continuation("lo"), FrameSpec::text("ok")]);
        assert_eq!(messages, [Message::Text(b"ok".to_vec())]);
        assert_eq!(kinds, [ViolationKind::ContinuationWithoutStart]);
    }

    #[test]
    fn new_data_frame_mid_message_is_a_violation_and_starts_over() {
        let (messages, kinds) = run(vec![FrameSpec::text("Hel").fin(false), FrameSpec::binary([7])]);
        assert_eq!(messages, [Message::Binary(vec![7])]);
        assert_eq!(kinds, [ViolationKind::DataFrameInsideMessage]);
    }

    #[test]
    fn invalid_utf8_text_is_returned_with_a_violation() {
        let (messages, kinds) = run(vec![FrameSpec::text([0xCE, 0xBA]).fin(false), FrameSpec::continuation([0xFF])]);
        assert_eq!(messages, [Message::Text(vec![0xCE, 0xBA, 0xFF])]);
        assert_eq!(messages[0].as_text(), None);
        assert_eq!(kinds, [ViolationKind::TextNotUtf8]);
    }

    #[test]
    fn utf8_split_across_fragments_is_valid() {
        let (messages, kinds) = run(vec![FrameSpec::text([0xCE]).fin(false), FrameSpec::continuation([0xBA])]);
        assert_eq!(messages[0].as_text(), Some("κ"));
        assert!(kinds.is_empty());
    }

    #[test]
    fn data_after_close_is_a_violation() {
        let (messages, kinds) = run(vec![FrameSpec::close(CloseCode::NORMAL, ""), FrameSpec::text("late")]);
        assert_eq!(messages.len(), 1);
        assert_eq!(kinds, [ViolationKind::DataAfterClose]);
    }

    #[test]
    fn reserved_opcodes_do_not_touch_the_message() {
        let (messages, kinds) =
            run(vec![FrameSpec::text("a").fin(false), FrameSpec::new(0x3, "x"), FrameSpec::continuation("b")]);
        assert_eq!(messages, [Message::Text(b"ab".to_vec())]);
        assert!(kinds.is_empty());
    }

    #[test]
    fn message_over_the_limit_fails_and_stays_failed() {
        let mut assembler = MessageAssembler::with_max_message(4);
        assert!(assembler.push(&observe(FrameSpec::binary([0; 3]).fin(false))).is_ok());
        let err = assembler.push(&observe(FrameSpec::continuation([0; 2]))).expect_err("over the limit");
        assert_eq!(err, AssembleError::MessageTooLarge { size: 5, limit: 4 });
        assert_eq!(assembler.push(&observe(FrameSpec::text("x"))), Err(err));
    }

    #[test]
    fn tracks_message_in_progress() {
        let mut assembler = MessageAssembler::new();
        assembler.push(&observe(FrameSpec::binary([1]).fin(false))).expect("within limits");
        assert!(assembler.in_message());
        assembler.push(&observe(FrameSpec::continuation([2]))).expect("within limits");
        assert!(!assembler.in_message());
    }
}
