//! The messages of a [`Messages`] step, built when the case runs, pure: each
//! payload from its source, compressed with the connection's permessage-deflate
//! where the step asks (RFC 7692 §7.2.1), cut into frames (RSV1 on the first
//! only, RFC 7692 §6.1) and masked with a fresh key per frame (RFC 6455 §5.3).

use thiserror::Error;

use crate::case::data::DataCursor;
use crate::case::{MessageSource, Messages};
use crate::wire::deflate::{craft, CompressError, Compressor, Negotiated};
use crate::wire::{apply_mask, EncodeError, Endpoint, FrameHeader, LengthField, MaskingKey, Message, Opcode, RSV1};

/// The zlib level of our compressed messages: they only have to be valid, and level 1 keeps the
/// harness's compression cheaper than any server's (Autobahn's 12.x/13.x move about 11 GB each way).
pub const LEVEL: u32 = 1;

/// Why a step's messages cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum BuildError {
    /// The step compresses (or sends a bomb) and the server did not accept permessage-deflate.
    #[error("the server did not accept permessage-deflate, which this step needs")]
    NotNegotiated,
    /// zlib refused.
    #[error("cannot compress: {0}")]
    Compress(#[from] CompressError),
    /// A frame header cannot be encoded.
    #[error("cannot encode a frame: {0}")]
    Encode(#[from] EncodeError),
}

/// One message, built.
#[derive(Debug)]
pub struct Built {
    /// What a correct echo server sends back: the plain payload (`None` for a bomb, whose echo is
    /// never awaited: the server must refuse it).
    pub echo: Option<Message>,
    /// Payload bytes before compression.
    pub plain_len: usize,
    /// Payload bytes on the wire (compressed, if it is).
    pub wire_len: usize,
    /// Whether it went out compressed (RSV1).
    pub compressed: bool,
    /// The first frame's header, for the trace.
    pub first: FrameHeader,
    /// Frames it took.
    pub frames: usize,
}

/// How a payload becomes wire payload.
enum Codec {
    /// As it is.
    Plain,
    /// Through zlib with the negotiated window.
    Zlib(Compressor),
    /// Stored blocks: `client_max_window_bits=8`, which zlib cannot compress with (RFC 7692 §7.1.2.2).
    Stored,
    /// The step's bomb, built once.
    Bomb(Vec<u8>),
}

/// Compressed payloads kept for replay, at most this many bytes of them per step.
pub const REPLAY_BYTES: usize = 4 << 20;

/// Builds a step's messages one at a time.
pub struct MessageBuilder<'a> {
    step: &'a Messages,
    cursor: Option<DataCursor>,
    /// Where the next message starts in the data set (the replay key).
    offset: usize,
    codec: Codec,
    /// Compressed payloads by offset: without context takeover on our side a payload always compresses to
    /// the same bytes, so each distinct one is compressed once and replayed (`None`: takeover, no replay).
    replay: Option<Replay>,
    plain: Vec<u8>,
    built: usize,
    /// Our side: a client masks its frames, a server does not.
    sender: Endpoint,
}

/// Compressed payloads already built, by where their plain payload starts in the data set.
#[derive(Debug, Default)]
struct Replay {
    by_offset: std::collections::HashMap<usize, Vec<u8>>,
    bytes: usize,
}

impl std::fmt::Debug for MessageBuilder<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MessageBuilder").field("built", &self.built).finish_non_exhaustive()
    }
}

impl<'a> MessageBuilder<'a> {
    /// The builder of `step`, sent by a client, on a connection that negotiated `deflate` (`None`: not
    /// negotiated).
    pub fn new(step: &'a Messages, deflate: Option<&Negotiated>) -> Result<MessageBuilder<'a>, BuildError> {
        MessageBuilder::sent_by(step, deflate, Endpoint::Client)
    }

    /// The builder of `step` as `sender` (our side) sends it: a client masks each frame with a fresh
    /// key, a server masks none (RFC 6455 §5.1); compressed with that side's window and context takeover.
    pub fn sent_by(
        step: &'a Messages,
        deflate: Option<&Negotiated>,
        sender: Endpoint,
    ) -> Result<MessageBuilder<'a>, BuildError> {
        let codec = match (&step.source, step.compress, deflate) {
            (MessageSource::Bomb { .. }, _, None) | (_, true, None) => return Err(BuildError::NotNegotiated),
            (MessageSource::Bomb { inflated }, _, Some(_)) => Codec::Bomb(craft::bomb_message(*inflated)),
            (_, true, Some(n)) if n.max_window_bits(sender) < 9 => Codec::Stored,
            (_, true, Some(n)) => Codec::Zlib(Compressor::for_sender(n, sender, LEVEL)?),
            (_, false, _) => Codec::Plain,
        };
        let cursor = match step.source {
            MessageSource::Data { set, len, .. } => Some(DataCursor::new(set, len)),
            _ => None,
        };
        // RFC 7692 §7.1.1.2: without context takeover each message is compressed on its own
        let independent = match &codec {
            Codec::Zlib(_) => deflate.is_some_and(|n| n.no_context_takeover(sender)),
            Codec::Stored => true,
            Codec::Plain | Codec::Bomb(_) => false,
        };
        let replay = independent.then(Replay::default);
        Ok(MessageBuilder { step, cursor, offset: 0, codec, replay, plain: Vec::new(), built: 0, sender })
    }

    /// Whether every message of the step has been built.
    pub fn is_done(&self) -> bool {
        self.built >= self.step.count
    }

    /// The next message's frames appended to `out`; `None` once the step's count is built.
    pub fn next(&mut self, out: &mut Vec<u8>) -> Option<Result<Built, BuildError>> {
        if self.built >= self.step.count {
            return None;
        }
        self.built += 1;
        Some(self.build(out))
    }

    fn build(&mut self, out: &mut Vec<u8>) -> Result<Built, BuildError> {
        let key = self.offset;
        self.fill_plain();
        let replayed = self.replay.as_ref().and_then(|r| r.by_offset.get(&key)).cloned();
        let (wire, compressed) = match (&mut self.codec, replayed) {
            (_, Some(done)) => (Some(done), true),
            (Codec::Plain, _) => (None, false),
            (Codec::Zlib(c), None) => (Some(c.compress(&self.plain)?), true),
            (Codec::Stored, None) => (Some(craft::stored_message(&self.plain)), true),
            (Codec::Bomb(b), None) => (Some(b.clone()), true),
        };
        if let (Some(r), Some(w)) = (self.replay.as_mut(), wire.as_ref()) {
            if r.bytes + w.len() <= REPLAY_BYTES && !r.by_offset.contains_key(&key) {
                r.bytes += w.len();
                r.by_offset.insert(key, w.clone());
            }
        }
        let payload = wire.as_deref().unwrap_or(&self.plain);
        let (first, frames) =
            frames_sent_by(out, self.sender, self.step.opcode, payload, compressed, self.step.fragment)?;
        let echo = match self.codec {
            Codec::Bomb(_) => None,
            _ if self.step.opcode == Opcode::Text => Some(Message::Text(self.plain.clone())),
            _ => Some(Message::Binary(self.plain.clone())),
        };
        let plain_len = match &self.step.source {
            MessageSource::Bomb { inflated } => *inflated,
            _ => self.plain.len(),
        };
        Ok(Built { echo, plain_len, wire_len: payload.len(), compressed, first, frames })
    }

    /// The next plain payload into `self.plain` (a bomb has none: it is compressed data already), and where
    /// the one after it starts.
    fn fill_plain(&mut self) {
        match (&self.step.source, &mut self.cursor) {
            (MessageSource::Data { same: true, .. }, Some(_)) if self.built > 1 => {}
            (MessageSource::Data { set, len, same }, Some(cursor)) => {
                cursor.next_into(&mut self.plain);
                let total = set.bytes().len().max(1);
                self.offset = if *same { 0 } else { (self.offset + len % total) % total };
            }
            (_, Some(cursor)) => cursor.next_into(&mut self.plain),
            (MessageSource::Bytes(b), None) if self.built == 1 => self.plain.clone_from(b),
            (MessageSource::Fill(f), None) if self.built == 1 => self.plain = f.bytes(),
            _ => {}
        }
    }
}

/// Appends `payload` as one message of `opcode`, in frames of at most `fragment` bytes, each masked
/// with a fresh key; RSV1 on the first if `compressed`. Returns the first header and the frame count.
pub fn frames_into(
    out: &mut Vec<u8>,
    opcode: Opcode,
    payload: &[u8],
    compressed: bool,
    fragment: Option<usize>,
) -> Result<(FrameHeader, usize), EncodeError> {
    frames_sent_by(out, Endpoint::Client, opcode, payload, compressed, fragment)
}

/// As [`frames_into`], the frames as `sender` sends them: masked with a fresh key each by a client,
/// unmasked by a server (RFC 6455 §5.1).
pub fn frames_sent_by(
    out: &mut Vec<u8>,
    sender: Endpoint,
    opcode: Opcode,
    payload: &[u8],
    compressed: bool,
    fragment: Option<usize>,
) -> Result<(FrameHeader, usize), EncodeError> {
    let mut pieces = payload.chunks(fragment.unwrap_or(payload.len()).max(1));
    // an empty message is one empty frame
    let head = pieces.next().unwrap_or(&[]);
    let count = 1 + pieces.len();
    let masked = sender == Endpoint::Client;
    // RFC 7692 §6.1: RSV1 on the first frame of a compressed message only
    let rsv = if compressed { RSV1 } else { 0 };
    let first = put_frame(out, opcode, rsv, head, count == 1, masked)?;
    for (i, piece) in pieces.enumerate() {
        put_frame(out, Opcode::Continuation, 0, piece, i + 2 == count, masked)?;
    }
    Ok((first, count))
}

/// Appends one frame, masked with a fresh key when `masked` (RFC 6455 §5.3: unpredictable, one per frame).
fn put_frame(
    out: &mut Vec<u8>,
    opcode: Opcode,
    rsv: u8,
    piece: &[u8],
    fin: bool,
    masked: bool,
) -> Result<FrameHeader, EncodeError> {
    let key = masked.then(MaskingKey::random);
    let header = FrameHeader {
        fin,
        rsv,
        opcode: opcode as u8,
        masking_key: key,
        length_field: LengthField::minimal_for(piece.len() as u64),
        declared_len: piece.len() as u64,
    };
    header.encode_into(out)?;
    let start = out.len();
    out.extend_from_slice(piece);
    if let Some(key) = key {
        apply_mask(&mut out[start..], key);
    }
    Ok(header)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::case::data::DataSet;
    use crate::wire::deflate::Inflater;
    use crate::wire::{FrameReader, MessageAssembler};

    fn step(source: MessageSource, compress: bool, fragment: Option<usize>, count: usize) -> Messages {
        Messages { opcode: Opcode::Text, source, count, compress, fragment, echo: true, line: 1 }
    }

    /// Reads our frames back as a server would: reassembled, inflated with our parameters.
    fn read_back(bytes: &[u8], n: &Negotiated) -> Vec<Vec<u8>> {
        let mut reader = FrameReader::new();
        reader.push(bytes);
        let mut assembler = MessageAssembler::new();
        let mut inflater = Inflater::new(n.client_max_window_bits, n.client_no_context_takeover, 1 << 24);
        let mut out = Vec::new();
        while let Ok(Some(frame)) = reader.next_frame() {
            assert!(frame.header.masking_key.is_some());
            let rsv = frame.header.rsv;
            let a = assembler.push(&frame).expect("assembles");
            assert!(rsv == 0 || frame.opcode() != 0, "RSV1 on a continuation");
            if let Some(m) = a.message {
                out.push(if a.compressed {
                    inflater.inflate(m.payload()).expect("inflates")
                } else {
                    m.payload().to_vec()
                });
            }
        }
        out
    }

    #[test]
    fn data_messages_compressed_and_fragmented_read_back_as_sent() {
        let n = Negotiated::default();
        let s = step(MessageSource::Data { set: DataSet::Json, len: 4096, same: false }, true, Some(256), 20);
        let mut b = MessageBuilder::new(&s, Some(&n)).expect("builder");
        let mut wire = Vec::new();
        let mut echoes = Vec::new();
        while let Some(built) = b.next(&mut wire) {
            let built = built.expect("built");
            assert!(built.compressed && built.wire_len < built.plain_len);
            assert_eq!(built.frames, built.wire_len.div_ceil(256));
            echoes.push(built.echo.expect("an echo").payload().to_vec());
        }
        assert_eq!(echoes.len(), 20);
        assert_eq!(read_back(&wire, &n), echoes);
    }

    #[test]
    fn no_context_takeover_and_window_8_are_honoured() {
        for n in [
            Negotiated { client_no_context_takeover: true, client_max_window_bits: 9, ..Negotiated::default() },
            Negotiated { client_max_window_bits: 8, ..Negotiated::default() },
        ] {
            let s = step(MessageSource::Bytes(b"hello hello hello".to_vec()), true, None, 3);
            let mut b = MessageBuilder::new(&s, Some(&n)).expect("builder");
            let mut wire = Vec::new();
            while let Some(built) = b.next(&mut wire) {
                built.expect("built");
            }
            assert_eq!(read_back(&wire, &n), vec![b"hello hello hello".to_vec(); 3]);
        }
    }

    #[test]
    fn without_context_takeover_each_distinct_payload_is_compressed_once_and_replayed() {
        let n = Negotiated { client_no_context_takeover: true, ..Negotiated::default() };
        let total = DataSet::Image.bytes().len();
        // a length that divides the set's size twice over: the payloads repeat every few messages
        let len = total / 2;
        let s = step(MessageSource::Data { set: DataSet::Image, len, same: false }, true, None, 6);
        let mut b = MessageBuilder::new(&s, Some(&n)).expect("builder");
        let mut wire = Vec::new();
        let mut echoes = Vec::new();
        while let Some(built) = b.next(&mut wire) {
            echoes.push(built.expect("built").echo.expect("echo").payload().to_vec());
        }
        assert_eq!(b.replay.as_ref().map(|r| r.by_offset.len()), Some(2));
        assert_eq!(echoes[0], echoes[2]);
        assert_ne!(echoes[0], echoes[1]);
        assert_eq!(read_back(&wire, &n), echoes);
        let with_takeover = MessageBuilder::new(&s, Some(&Negotiated::default())).expect("builder");
        assert!(with_takeover.replay.is_none());
    }

    #[test]
    fn compressing_needs_a_negotiation_and_a_bomb_is_not_echoed() {
        let s = step(MessageSource::Bytes(b"x".to_vec()), true, None, 1);
        assert_eq!(MessageBuilder::new(&s, None).err(), Some(BuildError::NotNegotiated));
        let s = step(MessageSource::Bomb { inflated: 1 << 20 }, false, None, 1);
        let mut b = MessageBuilder::new(&s, Some(&Negotiated::default())).expect("builder");
        let mut wire = Vec::new();
        let built = b.next(&mut wire).expect("one").expect("built");
        assert!(built.echo.is_none() && built.compressed && built.plain_len == 1 << 20);
        assert!(wire.len() < 8000, "{}", wire.len());
        assert!(b.next(&mut wire).is_none());
    }

    #[test]
    fn an_empty_uncompressed_message_is_one_empty_frame() {
        let mut out = Vec::new();
        let (first, frames) = frames_into(&mut out, Opcode::Binary, &[], false, Some(10)).expect("frame");
        assert_eq!((frames, first.fin, first.declared_len), (1, true, 0));
    }
}
