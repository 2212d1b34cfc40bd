//! A send step's wire bytes, built lazily: [`FrameStream`] yields them in
//! bounded chunks, with their total known up front ([`SendCost`]), so that a
//! 64 MiB message repeated or cut into thousands of fragments never sits in
//! memory whole. The loader checks a case's cost with the same [`SendCost`].
//!
//! The bytes are those of sending the step's frame `repeat` times, each time
//! whole or cut into fragments:
//! - RFC 6455 §5.4: the first fragment carries the opcode and RSV bits, the
//!   others are continuations (opcode 0, RSV 0); FIN is set on the last
//!   fragment only, and only when the step's frame has FIN;
//! - a fragment's header declares its own length (a step's `declared_len`
//!   applies to the unfragmented frame only);
//! - RFC 6455 §5.3: with `fresh_mask`, every frame gets its own fresh key;
//! - a [`Fill`] payload is generated as it is sent, from its pattern.

use std::fmt;

use super::model::{Fill, Step};
use crate::wire::{apply_mask, EncodeError, Endpoint, FrameHeader, FrameSpec, MaskingKey, Opcode};

#[cfg(test)]
mod tests;

/// Largest chunk [`FrameStream::next_chunk`] returns: 256 KiB.
pub const MAX_CHUNK: usize = 256 << 10;

/// How many leading frames of a stream [`FrameStream::notes`] can describe.
pub const MAX_NOTES: usize = 256;

/// Bytes of a frame's payload a [`FrameNote`] keeps: enough for a trace line's
/// preview (48 bytes) after a close frame's 2-byte code, and to show there is more.
pub const NOTE_HEAD: usize = 64;

/// What a send step puts on the wire, computed from its fields before any byte is built.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SendCost {
    /// Frames (every fragment and every repetition counts; a raw repetition counts as one).
    pub frames: u64,
    /// Bytes, headers included (saturates at `u64::MAX`).
    pub bytes: u64,
}

impl SendCost {
    /// The cost of sending `frame` `repeat` times (see [`FrameStream::new`] for the fields).
    pub fn of_frames(
        frame: &FrameSpec,
        fill: Option<&Fill>,
        fragment: Option<usize>,
        fresh_mask: bool,
        repeat: usize,
    ) -> SendCost {
        Plan::new(frame, fill, fragment, fresh_mask).message_cost().times(repeat as u64)
    }

    /// The cost of a step: its frames or its raw bytes; nothing for other steps.
    pub fn of_step(step: &Step) -> SendCost {
        match step {
            Step::Frame { frame, fill, fragment, fresh_mask, repeat, .. } => {
                SendCost::of_frames(frame, fill.as_ref(), *fragment, *fresh_mask, *repeat)
            }
            Step::Raw { bytes, repeat, .. } => SendCost { frames: 1, bytes: bytes.len() as u64 }.times(*repeat as u64),
            Step::Messages(m) => {
                // compression can only shrink this bound: it is counted before anything is built
                let wire = m.source.max_wire_len() as u64;
                let frames = m.fragment.map_or(1, |f| wire.div_ceil(f as u64).max(1));
                let header = crate::wire::FrameHeader::MAX_LEN as u64;
                SendCost { frames, bytes: wire + frames * header }.times(m.count as u64)
            }
            _ => SendCost::default(),
        }
    }

    /// This cost `n` times (saturating).
    pub fn times(self, n: u64) -> SendCost {
        SendCost { frames: self.frames.saturating_mul(n), bytes: self.bytes.saturating_mul(n) }
    }

    /// Both costs (saturating).
    pub fn plus(self, other: SendCost) -> SendCost {
        SendCost { frames: self.frames.saturating_add(other.frames), bytes: self.bytes.saturating_add(other.bytes) }
    }
}

/// A send step that cannot be put on the wire.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FrameStreamError {
    /// A header cannot be encoded (RSV or opcode too wide, a forced length field too small).
    #[error(transparent)]
    Encode(#[from] EncodeError),
    /// `fragment = 0` cannot cut a payload.
    #[error("fragment size 0 cannot cut a payload: use at least 1")]
    ZeroFragment,
}

/// One frame of a stream, described before it is sent (for traces).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameNote {
    /// The header exactly as sent, its masking key included.
    pub header: FrameHeader,
    /// The frame's payload length (what is sent; the header may declare another).
    pub payload_len: usize,
    /// The first [`NOTE_HEAD`] bytes of the payload, unmasked: the whole payload when
    /// `head.len() == payload_len`.
    pub head: Vec<u8>,
}

/// Where a step's payload comes from.
#[derive(Clone, Copy)]
enum Payload<'a> {
    Bytes(&'a [u8]),
    Fill { len: usize, pattern: &'a [u8] },
}

impl Payload<'_> {
    /// Its length (a fill with an empty pattern generates nothing, as [`Fill::bytes`] does).
    fn len(&self) -> usize {
        match self {
            Payload::Bytes(b) => b.len(),
            Payload::Fill { pattern: [], .. } => 0,
            Payload::Fill { len, .. } => *len,
        }
    }
}

/// The frames of one message (the step's frame whole, or its fragments): one
/// definition shared by the cost and the encoder.
struct Plan<'a> {
    frame: &'a FrameSpec,
    payload: Payload<'a>,
    /// Fragment size; `None`: the frame is sent whole.
    fragment: Option<usize>,
    fresh_mask: bool,
    /// The key of every frame when not fresh (the frame's own; `None`: unmasked).
    fixed_key: Option<MaskingKey>,
}

/// One frame of a message, without its key.
struct Piece {
    header: FrameHeader,
    /// Offset of its payload in the message's payload.
    start: usize,
    /// Its payload length.
    len: usize,
}

impl<'a> Plan<'a> {
    fn new(frame: &'a FrameSpec, fill: Option<&'a Fill>, fragment: Option<usize>, fresh_mask: bool) -> Plan<'a> {
        let payload = match fill {
            Some(f) => Payload::Fill { len: f.len, pattern: &f.pattern },
            None => Payload::Bytes(&frame.payload),
        };
        Plan { frame, payload, fragment, fresh_mask, fixed_key: frame.mask.key() }
    }

    /// Frames per message (a zero fragment size is refused by [`FrameStream::new`]; counted as 1 here).
    fn frames(&self) -> u64 {
        let len = self.payload.len() as u64;
        match self.fragment {
            None => 1,
            Some(size) => len.div_ceil(size.max(1) as u64).max(1),
        }
    }

    fn masked(&self) -> bool {
        self.fresh_mask || self.fixed_key.is_some()
    }

    /// Header bytes of a frame declaring `declared` bytes.
    fn header_len(&self, declared: u64) -> u64 {
        let field = self.frame.length.field_for(declared);
        2 + field.extension_len() as u64 + if self.masked() { 4 } else { 0 }
    }

    /// Frames and bytes of one message.
    fn message_cost(&self) -> SendCost {
        let len = self.payload.len() as u64;
        let bytes = match self.fragment {
            None => self.header_len(self.frame.declared_len.unwrap_or(len)) + len,
            Some(_) if len == 0 => self.header_len(0),
            Some(size) => {
                let size = size.max(1) as u64;
                let (full, rest) = (len / size, len % size);
                let rest_header = if rest > 0 { self.header_len(rest) } else { 0 };
                len.saturating_add(full.saturating_mul(self.header_len(size))).saturating_add(rest_header)
            }
        };
        SendCost { frames: self.frames(), bytes }
    }

    /// Frame `i` of the message, keyed as the step's frame (a fresh key is set by the caller).
    fn piece(&self, i: u64) -> Piece {
        let total = self.payload.len();
        let (start, len, declared_len) = match self.fragment {
            None => (0, total, self.frame.declared_len.unwrap_or(total as u64)),
            Some(size) => {
                let size = size.max(1);
                let start = (i as usize).saturating_mul(size).min(total);
                let len = size.min(total - start);
                (start, len, len as u64)
            }
        };
        let first = i == 0;
        let last = i + 1 == self.frames();
        let header = FrameHeader {
            // RFC 6455 §5.4: a fragmented message's FIN is on its last fragment only
            fin: if self.fragment.is_some() { last && self.frame.fin } else { self.frame.fin },
            // RFC 6455 §5.4: the first fragment carries the opcode (and RSV), the others are continuations
            rsv: if first { self.frame.rsv } else { 0 },
            opcode: if first { self.frame.opcode } else { Opcode::Continuation.as_u8() },
            masking_key: self.fixed_key,
            length_field: self.frame.length.field_for(declared_len),
            declared_len,
        };
        Piece { header, start, len }
    }
}

/// Where the stream is inside the frame it is writing.
struct Current {
    /// The frame's header bytes.
    header: Vec<u8>,
    /// Header bytes already written.
    header_done: usize,
    /// Offset of its payload in the message's payload.
    start: usize,
    /// Its payload length.
    len: usize,
    /// Payload bytes already written.
    done: usize,
    key: Option<MaskingKey>,
}

/// The wire bytes of a `Step::Frame`, built a chunk at a time.
///
/// ```
/// use wsharness::case::FrameStream;
/// use wsharness::wire::FrameSpec;
///
/// let frame = FrameSpec::text("Hello").unmasked();
/// let mut stream = FrameStream::new(&frame, None, Some(3), false, 2).unwrap();
/// assert_eq!((stream.cost().frames, stream.cost().bytes), (4, 18));
/// let mut wire = Vec::new();
/// while let Some(chunk) = stream.next_chunk(4) {
///     wire.extend_from_slice(chunk);
/// }
/// assert_eq!(&wire[..9], [0x01, 0x03, b'H', b'e', b'l', 0x80, 0x02, b'l', b'o']);
/// ```
pub struct FrameStream<'a> {
    plan: Plan<'a>,
    /// Frames per message.
    per_message: u64,
    cost: SendCost,
    /// Index of the next frame to begin, over all repetitions.
    next_frame: u64,
    current: Option<Current>,
    /// Fresh keys of the first frames, drawn in frame order (at most [`MAX_NOTES`]).
    keys: Vec<MaskingKey>,
    fresh_key: Box<dyn FnMut() -> MaskingKey + Send + 'a>,
    bytes: PayloadBytes<'a>,
    /// The chunk being returned.
    buf: Vec<u8>,
}

/// The message's payload bytes, generated on demand.
struct PayloadBytes<'a> {
    payload: Payload<'a>,
    /// A fill's pattern repeated to at least 4 KiB, for fast copies.
    tile: Vec<u8>,
}

impl<'a> PayloadBytes<'a> {
    fn new(payload: Payload<'a>) -> PayloadBytes<'a> {
        let tile = match payload {
            Payload::Fill { pattern, .. } if !pattern.is_empty() => pattern.repeat(4096usize.div_ceil(pattern.len())),
            _ => Vec::new(),
        };
        PayloadBytes { payload, tile }
    }

    /// Appends `n` bytes from offset `from` of the payload.
    fn copy(&self, from: usize, n: usize, out: &mut Vec<u8>) {
        match self.payload {
            Payload::Bytes(b) => out.extend_from_slice(&b[from..from + n]),
            Payload::Fill { pattern, .. } => {
                let mut phase = from % pattern.len().max(1);
                let mut left = n;
                while left > 0 {
                    let take = (self.tile.len() - phase).min(left);
                    out.extend_from_slice(&self.tile[phase..phase + take]);
                    left -= take;
                    // the tile is whole patterns: after its end the pattern starts again
                    phase = 0;
                }
            }
        }
    }
}

impl fmt::Debug for FrameStream<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FrameStream")
            .field("frames", &self.cost.frames)
            .field("bytes", &self.cost.bytes)
            .field("next_frame", &self.next_frame)
            .finish_non_exhaustive()
    }
}

impl<'a> FrameStream<'a> {
    /// The stream of a send step: `frame` (its payload unless `fill` generates
    /// it), cut into fragments of `fragment` bytes if set, with a fresh masking
    /// key on every frame if `fresh_mask`, the whole sent `repeat` times.
    ///
    /// Fails, before any byte is built, when a frame cannot be encoded.
    pub fn new(
        frame: &'a FrameSpec,
        fill: Option<&'a Fill>,
        fragment: Option<usize>,
        fresh_mask: bool,
        repeat: usize,
    ) -> Result<FrameStream<'a>, FrameStreamError> {
        if fragment == Some(0) {
            return Err(FrameStreamError::ZeroFragment);
        }
        let plan = Plan::new(frame, fill, fragment, fresh_mask);
        // the first frame has the opcode, the RSV bits and the largest length: if it encodes, all do
        plan.piece(0).header.encode()?;
        let bytes = PayloadBytes::new(plan.payload);
        let per_message = plan.frames();
        let cost = plan.message_cost().times(repeat as u64);
        Ok(FrameStream {
            plan,
            per_message,
            cost,
            next_frame: 0,
            current: None,
            keys: Vec::new(),
            fresh_key: Box::new(MaskingKey::random),
            bytes,
            buf: Vec::new(),
        })
    }

    /// The stream of a `Step::Frame` as a client sends it; `None` for other steps.
    pub fn of_step(step: &'a Step) -> Option<Result<FrameStream<'a>, FrameStreamError>> {
        FrameStream::of_step_sent_by(step, Endpoint::Client)
    }

    /// The stream of a `Step::Frame` as `sender` sends it: a client masks each default frame with a fresh
    /// key, a server masks none (RFC 6455 §5.1); a key written in the case is used either way (from a
    /// server, a masked frame the client must refuse). `None` for other steps.
    pub fn of_step_sent_by(step: &'a Step, sender: Endpoint) -> Option<Result<FrameStream<'a>, FrameStreamError>> {
        match step {
            Step::Frame { frame, fill, fragment, fresh_mask, repeat, .. } => {
                let stream = FrameStream::new(frame, fill.as_ref(), *fragment, *fresh_mask, *repeat);
                match sender {
                    Endpoint::Client => Some(stream),
                    Endpoint::Server => Some(stream.map(FrameStream::unmask_default)),
                }
            }
            _ => None,
        }
    }

    /// A server's frames: a frame the case masks by default (a fresh key each) goes out unmasked
    /// (RFC 6455 §5.1); a key written in the case stays.
    fn unmask_default(mut self) -> FrameStream<'a> {
        if self.plan.fresh_mask {
            self.plan.fresh_mask = false;
            self.plan.fixed_key = None;
            // every frame had 4 bytes of key
            self.cost.bytes = self.cost.bytes.saturating_sub(4 * self.cost.frames);
        }
        self
    }

    /// Draws fresh masking keys from `keys` instead of at random (reproducible
    /// bytes, for tests). Call before anything else.
    pub fn with_keys(mut self, keys: impl FnMut() -> MaskingKey + Send + 'a) -> FrameStream<'a> {
        self.fresh_key = Box::new(keys);
        self.keys.clear();
        self
    }

    /// Every frame and byte of the stream, known before any is built.
    pub fn cost(&self) -> SendCost {
        self.cost
    }

    /// The first `n` frames (at most [`MAX_NOTES`]), as they are or will be sent.
    pub fn notes(&mut self, n: usize) -> Vec<FrameNote> {
        let n = n.min(MAX_NOTES).min(usize::try_from(self.cost.frames).unwrap_or(usize::MAX));
        (0..n as u64)
            .map(|k| {
                let (header, start, len) = self.frame_at(k);
                let shown = len.min(NOTE_HEAD);
                let mut head = Vec::with_capacity(shown);
                self.bytes.copy(start, shown, &mut head);
                FrameNote { header, payload_len: len, head }
            })
            .collect()
    }

    /// The next at most `max_bytes` bytes (at least 1, at most [`MAX_CHUNK`]);
    /// `None` when every byte has been returned. A chunk may end inside a frame
    /// or hold several.
    pub fn next_chunk(&mut self, max_bytes: usize) -> Option<&[u8]> {
        let max = max_bytes.clamp(1, MAX_CHUNK);
        self.buf.clear();
        while self.buf.len() < max {
            if self.current.is_none() && !self.begin_frame() {
                break;
            }
            let Some(mut cur) = self.current.take() else { break };
            let room = max - self.buf.len();
            let header_part = (cur.header.len() - cur.header_done).min(room);
            self.buf.extend_from_slice(&cur.header[cur.header_done..cur.header_done + header_part]);
            cur.header_done += header_part;
            let n = (cur.len - cur.done).min(max - self.buf.len());
            if n > 0 {
                let at = self.buf.len();
                self.bytes.copy(cur.start + cur.done, n, &mut self.buf);
                if let Some(key) = cur.key {
                    mask_at(&mut self.buf[at..], key, cur.done);
                }
                cur.done += n;
            }
            if cur.header_done < cur.header.len() || cur.done < cur.len {
                self.current = Some(cur);
            }
        }
        (!self.buf.is_empty()).then_some(&self.buf[..])
    }

    /// Starts the next frame; `false` when there is none.
    fn begin_frame(&mut self) -> bool {
        if self.next_frame >= self.cost.frames {
            return false;
        }
        let (header, start, len) = self.frame_at(self.next_frame);
        self.next_frame += 1;
        let mut bytes = Vec::with_capacity(FrameHeader::MAX_LEN);
        // checked in `new`: every header of the stream encodes
        if header.encode_into(&mut bytes).is_err() {
            return false;
        }
        self.current = Some(Current { header: bytes, header_done: 0, start, len, done: 0, key: header.masking_key });
        true
    }

    /// Frame `k` of the stream: its header (key included), payload offset and length.
    fn frame_at(&mut self, k: u64) -> (FrameHeader, usize, usize) {
        let piece = self.plan.piece(k % self.per_message);
        let mut header = piece.header;
        if self.plan.fresh_mask {
            // RFC 6455 §5.3: a fresh, unpredictable key for every frame
            header.masking_key = Some(self.key_of(k));
        }
        (header, piece.start, piece.len)
    }

    /// The fresh key of frame `k`: the first frames' keys are kept so that notes and bytes agree.
    fn key_of(&mut self, k: u64) -> MaskingKey {
        while (self.keys.len() as u64) <= k && self.keys.len() < MAX_NOTES {
            let key = (self.fresh_key)();
            self.keys.push(key);
        }
        match usize::try_from(k).ok().and_then(|k| self.keys.get(k)) {
            Some(key) => *key,
            None => (self.fresh_key)(),
        }
    }
}

/// Masks `data`, the payload bytes from offset `offset` of a frame, with the frame's key.
fn mask_at(data: &mut [u8], key: MaskingKey, offset: usize) {
    let k = key.bytes();
    let rotated = MaskingKey(std::array::from_fn(|i| k[(offset + i) % 4]));
    apply_mask(data, rotated);
}
