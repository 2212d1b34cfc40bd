//! Message payloads, their pre-masked frames, and checking echoes against them.
//!
//! Every payload is the message's sequence number (its first 8 bytes, or
//! fewer for shorter messages) followed by a fixed pattern. A text payload
//! writes the sequence number as 8 lowercase hex digits and uses an ASCII
//! pattern, so it is valid UTF-8; a binary one writes it little-endian.
//! An echo that differs anywhere, a reordered or duplicated echo included, is
//! a payload mismatch.
//!
//! The pattern is masked once per key at start-up ([`KEYS`] keys drawn from
//! the wire layer's unpredictable source, RFC 6455 §5.3; fewer for large
//! messages, see [`keys_for`]): building a frame is then a header, one copy of
//! the pre-masked pattern, and eight XORs for the sequence number. Frames
//! rotate through the keys by sequence number. Reusing keys departs from
//! §5.3's fresh key per frame, which protects intermediaries from payloads an
//! untrusted script chose (§10.3); the generator's payloads are its own, and a
//! server cannot tell reuse from chance. A message of
//! [`BORROW_MIN`] bytes or more is not even copied: its [`Outbox`] holds the header and the
//! masked sequence number, and the body goes to the socket straight from the pre-masked pattern
//! (a vectored send).

use std::io::IoSlice;

use crate::wire::MaskingKey;

/// Pre-masked copies of the pattern, one per key, for small messages.
pub const KEYS: usize = 16;
/// Fewer keys for large messages, so that the pre-masked copies, which large messages are sent
/// from, stay within this many bytes (in the CPU's cache: from memory, sending a 64 KiB message
/// costs the generator more than echoing it costs a server); at least [`MIN_KEYS`].
pub const KEYS_BYTES: usize = 256 * 1024;
/// Fewest keys, whatever the size.
pub const MIN_KEYS: usize = 2;

/// How many masking keys a book for payloads up to `max_size` bytes rotates through (a power of
/// two: picking one is a mask, not a division).
pub fn keys_for(max_size: usize) -> usize {
    let n = (KEYS_BYTES / max_size.max(1)).clamp(MIN_KEYS, KEYS);
    1 << n.ilog2()
}
/// Bytes of a payload that carry the sequence number.
pub const SEQ_LEN: usize = 8;

/// Largest client frame header: 2 bytes, 8 of length, 4 of key.
pub const MAX_HEADER: usize = 14;
/// Messages of this many bytes or more are sent from the pre-masked pattern, not copied.
pub const BORROW_MIN: usize = 1024;
/// Most slices one vectored send takes (Linux `UIO_MAXIOV`).
pub const IOV_MAX: usize = 1024;

/// What a connection has written and not yet sent, in wire order: its own bytes (headers, control
/// frames, small messages, the masked sequence numbers of large messages) and, between them, the
/// bodies of large messages, which stay in the [`PayloadBook`] that wrote them.
#[derive(Debug, Default)]
pub struct Outbox {
    own: Vec<u8>,
    bodies: Vec<Body>,
    borrowed: usize,
}

/// The body of a large message: after `own[..at]`, bytes `start..end` of pre-masked pattern `key`.
#[derive(Debug, Clone, Copy)]
struct Body {
    at: usize,
    key: usize,
    start: usize,
    end: usize,
}

impl Outbox {
    /// Bytes to send.
    #[inline]
    pub fn len(&self) -> usize {
        self.own.len() + self.borrowed
    }

    /// Whether nothing is to be sent.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the bytes are all in one buffer (no body is borrowed): [`Outbox::own`] is the wire.
    #[inline]
    pub fn contiguous(&self) -> bool {
        self.bodies.is_empty()
    }

    /// The connection's own bytes; appending to them appends to the wire.
    #[inline]
    pub fn own(&mut self) -> &mut Vec<u8> {
        &mut self.own
    }

    /// The connection's own bytes (the whole wire when [`Outbox::contiguous`]).
    #[inline]
    pub fn own_bytes(&self) -> &[u8] {
        &self.own
    }

    /// Empties it, keeping at most `keep` bytes of capacity.
    pub fn clear(&mut self, keep: usize) {
        self.own.clear();
        self.bodies.clear();
        self.borrowed = 0;
        if self.own.capacity() > keep {
            self.own = Vec::with_capacity(256);
        }
    }

    /// The wire bytes from byte `from` on, as at most `max` non-empty slices, each given to `f`.
    pub fn each_slice<'a>(&'a self, book: &'a PayloadBook, from: usize, max: usize, mut f: impl FnMut(&'a [u8])) {
        let (mut skip, mut n, mut own_at) = (from, 0, 0);
        let mut give = |piece: &'a [u8]| {
            if skip >= piece.len() {
                skip -= piece.len();
                return n < max;
            }
            f(&piece[skip..]);
            skip = 0;
            n += 1;
            n < max
        };
        for b in &self.bodies {
            if !give(&self.own[own_at..b.at]) || !give(&book.masked[b.key][b.start..b.end]) {
                return;
            }
            own_at = b.at;
        }
        give(&self.own[own_at..]);
    }

    /// The wire bytes from byte `from` on, as at most `max` slices for a vectored write.
    pub fn slices<'a>(&'a self, book: &'a PayloadBook, from: usize, max: usize, out: &mut Vec<IoSlice<'a>>) {
        self.each_slice(book, from, max, |s| out.push(IoSlice::new(s)));
    }

    /// The wire bytes in one buffer (tests and benchmarks).
    pub fn to_vec(&self, book: &PayloadBook) -> Vec<u8> {
        let mut slices = Vec::new();
        self.slices(book, 0, usize::MAX, &mut slices);
        slices.iter().flat_map(|s| s.iter().copied()).collect()
    }
}

/// Opcodes used here (RFC 6455 §5.2).
pub mod op {
    /// Continuation frame.
    pub const CONTINUATION: u8 = 0x0;
    /// Text frame.
    pub const TEXT: u8 = 0x1;
    /// Binary frame.
    pub const BINARY: u8 = 0x2;
    /// Close frame.
    pub const CLOSE: u8 = 0x8;
    /// Ping frame.
    pub const PING: u8 = 0x9;
    /// Pong frame.
    pub const PONG: u8 = 0xA;
}

/// What identifies a message's payload: its sequence-number bytes, kept until its echo.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tag(pub [u8; SEQ_LEN]);

/// The payloads of one run: the pattern, and its masked copies.
#[derive(Debug, Clone)]
pub struct PayloadBook {
    binary: bool,
    pattern: Vec<u8>,
    keys: [[u8; 4]; KEYS],
    masked: Vec<Vec<u8>>,
    frames: Option<Frames>,
}

/// Whole masked frames of the book's largest message when it is small (from [`SEQ_LEN`] to
/// [`BORROW_MIN`] bytes), one per key in key order, twice over: the frames of any
/// run of consecutive sequence numbers, up to one per key, are one slice of it. A closed loop's
/// batch is then a copy per run of keys and, per message, its masked sequence number written over
/// the pattern's ([`PayloadBook::write_messages`]).
#[derive(Debug, Clone)]
struct Frames {
    /// The payload size.
    size: usize,
    /// Header bytes before each payload.
    head: usize,
    bytes: Vec<u8>,
    /// Each frame's key repeated over eight bytes (RFC 6455 §5.3: octet i is masked with key
    /// octet i mod 4), for its sequence number.
    key8: Vec<u64>,
}

impl Frames {
    fn new(book: &PayloadBook, size: usize) -> Option<Frames> {
        if !(SEQ_LEN..BORROW_MIN).contains(&size) || size > book.pattern.len() {
            return None;
        }
        let opcode = if book.binary { op::BINARY } else { op::TEXT };
        let (mut bytes, mut key8) = (Vec::new(), Vec::new());
        for k in (0..2 * book.masked.len()).map(|i| i % book.masked.len()) {
            let key = book.keys[k];
            write_header(&mut bytes, opcode, size, key);
            bytes.extend_from_slice(&book.masked[k][..size]);
            key8.push(u64::from_ne_bytes([key[0], key[1], key[2], key[3], key[0], key[1], key[2], key[3]]));
        }
        let head = bytes.len() / (2 * book.masked.len()) - size;
        Some(Frames { size, head, bytes, key8 })
    }

    /// Bytes per frame.
    fn len(&self) -> usize {
        self.head + self.size
    }
}

impl PayloadBook {
    /// A book for payloads up to `max_size` bytes, text or binary.
    pub fn new(max_size: usize, binary: bool) -> PayloadBook {
        const TEXT: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_";
        let pattern: Vec<u8> = if binary {
            let mut x: u32 = 0x1234_5678;
            (0..max_size)
                .map(|_| {
                    x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                    (x >> 24) as u8
                })
                .collect()
        } else {
            (0..max_size).map(|i| TEXT[i % TEXT.len()]).collect()
        };
        let keys: [[u8; 4]; KEYS] = std::array::from_fn(|_| MaskingKey::random().bytes());
        let nkeys = keys_for(max_size);
        let masked = keys[..nkeys]
            .iter()
            .map(|k| {
                let mut m = pattern.clone();
                mask(&mut m, *k, 0);
                m
            })
            .collect();
        let mut book = PayloadBook { binary, pattern, keys, masked, frames: None };
        book.frames = Frames::new(&book, max_size);
        book
    }

    /// Whether messages are binary.
    pub fn binary(&self) -> bool {
        self.binary
    }

    /// The sequence-number bytes of message `seq`.
    #[inline]
    pub fn seq_bytes(&self, seq: u64) -> [u8; SEQ_LEN] {
        if self.binary {
            seq.to_le_bytes()
        } else {
            hex8(seq as u32)
        }
    }

    /// Appends the masked data frame of message `seq` with a `size`-byte payload; its echo is checked
    /// against [`PayloadBook::tag`] of `seq` ([`PayloadBook::verify`]).
    #[inline]
    pub fn write_message(&self, outbox: &mut Outbox, seq: u64, size: usize) {
        let k = (seq as usize) & (self.masked.len() - 1);
        let key = self.keys[k];
        let opcode = if self.binary { op::BINARY } else { op::TEXT };
        write_header(&mut outbox.own, opcode, size, key);
        let start = outbox.own.len();
        if size >= BORROW_MIN {
            // the sequence number here, the rest sent from the pattern
            outbox.own.extend_from_slice(&self.masked[k][..SEQ_LEN]);
            outbox.bodies.push(Body { at: start + SEQ_LEN, key: k, start: SEQ_LEN, end: size });
            outbox.borrowed += size - SEQ_LEN;
        } else {
            outbox.own.extend_from_slice(&self.masked[k][..size]);
        }
        let out = &mut outbox.own;
        let seq = self.seq_bytes(seq);
        // RFC 6455 §5.3: octet i is masked with key octet i mod 4
        let key8 = [key[0], key[1], key[2], key[3], key[0], key[1], key[2], key[3]];
        if size >= SEQ_LEN {
            let masked = u64::from_ne_bytes(seq) ^ u64::from_ne_bytes(key8);
            out[start..start + SEQ_LEN].copy_from_slice(&masked.to_ne_bytes());
        } else {
            for (i, dst) in out[start..].iter_mut().enumerate() {
                *dst = seq[i] ^ key8[i];
            }
        }
    }

    /// Appends the masked data frames of messages `first..first + n`, each `size` bytes: as
    /// [`PayloadBook::write_message`] each in turn writes them, copied a run of keys at a time
    /// when `size` is the book's largest and small ([`Frames`]).
    pub fn write_messages(&self, outbox: &mut Outbox, first: u64, n: u64, size: usize) {
        let Some(f) = self.frames.as_ref().filter(|f| f.size == size) else {
            for seq in first..first + n {
                self.write_message(outbox, seq, size);
            }
            return;
        };
        let (keys, len) = (self.masked.len(), f.len());
        let own = &mut outbox.own;
        own.reserve(n as usize * len);
        let (mut seq, end) = (first, first + n);
        while seq < end {
            let k = (seq as usize) & (keys - 1);
            let m = ((end - seq) as usize).min(keys);
            let start = own.len();
            own.extend_from_slice(&f.bytes[k * len..(k + m) * len]);
            let frames = own[start..].chunks_exact_mut(len);
            for ((frame, key8), s) in frames.zip(&f.key8[k..k + m]).zip(seq..) {
                let masked = u64::from_ne_bytes(self.seq_bytes(s)) ^ key8;
                if let Some(at) = frame.get_mut(f.head..f.head + SEQ_LEN) {
                    at.copy_from_slice(&masked.to_ne_bytes());
                }
            }
            seq += m as u64;
        }
    }

    /// The masking key of message `seq` (frames rotate through the keys by sequence number).
    #[inline]
    fn key_of(&self, seq: u64) -> [u8; 4] {
        self.keys[(seq as usize) & (self.masked.len() - 1)]
    }

    /// The plain payload of message `seq` of `size` bytes (at most the book's largest), in two
    /// parts: the first `head` bytes of its tag (its sequence number, `min(size, SEQ_LEN)` bytes),
    /// then the rest of the pattern.
    #[inline]
    pub fn plain(&self, seq: u64, size: usize) -> (Tag, usize, &[u8]) {
        let head = size.min(SEQ_LEN);
        let rest = self.pattern.get(head..size).unwrap_or(&[]);
        (self.tag(seq), head, rest)
    }

    /// Appends the masked data frame of message `seq` whose payload `fill` appends to the buffer it
    /// is given, with RSV1 set if `rsv1` (a compressed message, RFC 7692 §6.1). The header is written
    /// for a payload of `expected` bytes and rewritten if the payload came out another length.
    /// Returns the payload's length.
    pub fn write_frame_with(
        &self,
        outbox: &mut Outbox,
        seq: u64,
        rsv1: bool,
        expected: usize,
        fill: impl FnOnce(&mut Vec<u8>),
    ) -> usize {
        let key = self.key_of(seq);
        let opcode = if self.binary { op::BINARY } else { op::TEXT };
        // RFC 7692 §6.1: RSV1 marks a compressed message, on its first frame (ours are single frames)
        let first = 0x80 | opcode | if rsv1 { RSV1_BIT } else { 0 };
        let own = &mut outbox.own;
        let header_at = own.len();
        let (header, guessed) = header_bytes(first, expected, key);
        own.extend_from_slice(&header[..guessed]);
        let start = own.len();
        fill(own);
        let len = own.len() - start;
        let (header, actual) = header_bytes(first, len, key);
        if actual == guessed {
            own[header_at..start].copy_from_slice(&header[..actual]);
        } else {
            own.splice(header_at..start, header[..actual].iter().copied());
        }
        let at = header_at + actual;
        mask(&mut own[at..], key, 0);
        len
    }

    /// Appends a masked control frame (ping, pong, close) with this payload (at most 125 bytes).
    pub fn write_control(&self, out: &mut Vec<u8>, opcode: u8, payload: &[u8], key_index: usize) {
        let key = self.keys[key_index & (self.masked.len() - 1)];
        write_header(out, opcode, payload.len(), key);
        let start = out.len();
        out.extend_from_slice(payload);
        mask(&mut out[start..], key, 0);
    }

    /// The tag of message `seq`.
    pub fn tag(&self, seq: u64) -> Tag {
        Tag(self.seq_bytes(seq))
    }

    /// Whether `data`, found at byte `offset` of the echo of the message tagged `tag`, is what was sent there.
    #[inline(always)]
    pub fn verify(&self, tag: Tag, offset: usize, data: &[u8]) -> bool {
        let end = offset + data.len();
        if end > self.pattern.len() {
            return false;
        }
        if offset == 0 && data.len() >= SEQ_LEN {
            // the whole-message case, without a call per comparison
            let head = u64::from_ne_bytes(tag.0);
            let mut got = [0u8; SEQ_LEN];
            got.copy_from_slice(&data[..SEQ_LEN]);
            return head == u64::from_ne_bytes(got) && same(&data[SEQ_LEN..], &self.pattern[SEQ_LEN..end]);
        }
        if offset < SEQ_LEN {
            let seq = tag.0;
            let n = end.min(SEQ_LEN) - offset;
            if data[..n] != seq[offset..offset + n] {
                return false;
            }
            same(&data[n..], &self.pattern[offset + n..end])
        } else {
            same(data, &self.pattern[offset..end])
        }
    }
}

/// Byte equality, sixteen bytes at a time for short slices (a library call costs more than the
/// work): whole words from the start, and the last word ending at the last byte (it may overlap the
/// one before: those bytes are compared twice, none is skipped).
#[inline]
fn same(a: &[u8], b: &[u8]) -> bool {
    let len = a.len();
    if len != b.len() {
        return false;
    }
    if len > 256 {
        return a == b;
    }
    if len < 16 {
        return same_short(a, b);
    }
    let mut diff = 0u128;
    let mut at = 0;
    while at + 16 < len {
        diff |= word16(a, at) ^ word16(b, at);
        at += 16;
    }
    diff |= word16(a, len - 16) ^ word16(b, len - 16);
    diff == 0
}

/// [`same`] for fewer than 16 bytes: two words of 8 (overlapping) from 8 bytes on.
#[inline]
fn same_short(a: &[u8], b: &[u8]) -> bool {
    let len = a.len();
    if len < 8 {
        return a == b;
    }
    (word8(a, 0) ^ word8(b, 0)) | (word8(a, len - 8) ^ word8(b, len - 8)) == 0
}

/// The 16 bytes of `s` from `at` (zero past its end, which callers never reach).
#[inline(always)]
fn word16(s: &[u8], at: usize) -> u128 {
    s.get(at..at + 16).and_then(|w| w.try_into().ok()).map_or(0, u128::from_ne_bytes)
}

/// The 8 bytes of `s` from `at` (zero past its end, which callers never reach).
#[inline(always)]
fn word8(s: &[u8], at: usize) -> u64 {
    s.get(at..at + 8).and_then(|w| w.try_into().ok()).map_or(0, u64::from_ne_bytes)
}

/// The 8 lowercase hex digits of `v`, most significant first (SWAR: no table, no loop).
#[inline]
pub fn hex8(v: u32) -> [u8; 8] {
    let mut x = u64::from(v);
    // spread the eight nibbles into eight bytes, nibble k in byte k
    x = (x | (x << 16)) & 0x0000_FFFF_0000_FFFF;
    x = (x | (x << 8)) & 0x00FF_00FF_00FF_00FF;
    x = (x | (x << 4)) & 0x0F0F_0F0F_0F0F_0F0F;
    // 1 in each byte whose nibble is 10 or more
    let letters = ((x + 0x0606_0606_0606_0606) >> 4) & 0x0101_0101_0101_0101;
    let ascii = x + 0x3030_3030_3030_3030 + letters * u64::from(b'a' - b'0' - 10);
    ascii.to_be_bytes()
}

/// RSV1 in a frame's first byte (RFC 6455 §5.2), the bit permessage-deflate uses (RFC 7692 §6).
pub const RSV1_BIT: u8 = 0x40;

/// A masked client frame header whose first byte is `first` (FIN, RSV, opcode), for a payload of
/// `len` bytes, in the minimal length encoding (RFC 6455 §5.2); and its length.
fn header_bytes(first: u8, len: usize, key: [u8; 4]) -> ([u8; MAX_HEADER], usize) {
    let mut h = [0u8; MAX_HEADER];
    h[0] = first;
    let at = if len < 126 {
        // ok: len < 126
        h[1] = 0x80 | len as u8;
        2
    } else if len <= usize::from(u16::MAX) {
        h[1] = 0x80 | 126;
        // ok: len ≤ 65,535
        h[2..4].copy_from_slice(&(len as u16).to_be_bytes());
        4
    } else {
        h[1] = 0x80 | 127;
        h[2..10].copy_from_slice(&(len as u64).to_be_bytes());
        10
    };
    h[at..at + 4].copy_from_slice(&key);
    (h, at + 4)
}

/// Appends a final, masked client frame header.
#[inline(always)]
fn write_header(out: &mut Vec<u8>, opcode: u8, len: usize, key: [u8; 4]) {
    // RFC 6455 §5.2: FIN, no RSV, opcode; MASK bit set (§5.3: a client masks every frame);
    // the minimal length encoding
    if len < 126 {
        out.extend_from_slice(&[0x80 | opcode, 0x80 | len as u8, key[0], key[1], key[2], key[3]]);
    } else {
        write_long_header(out, opcode, len, key);
    }
}

/// [`write_header`] for payloads of 126 bytes or more.
#[cold]
fn write_long_header(out: &mut Vec<u8>, opcode: u8, len: usize, key: [u8; 4]) {
    out.push(0x80 | opcode);
    if len <= usize::from(u16::MAX) {
        out.push(0x80 | 126);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(0x80 | 127);
        out.extend_from_slice(&(len as u64).to_be_bytes());
    }
    out.extend_from_slice(&key);
}

/// Masks `data` with `key`, `data[0]` being payload byte `offset` (RFC 6455 §5.3), eight bytes at a time.
pub fn mask(data: &mut [u8], key: [u8; 4], offset: usize) {
    let k8 = u64::from_ne_bytes(std::array::from_fn(|i| key[(offset + i) % 4]));
    let len = data.len();
    let mut chunks = data.chunks_exact_mut(8);
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        c.copy_from_slice(&(u64::from_ne_bytes(w) ^ k8).to_ne_bytes());
    }
    let done = len - chunks.into_remainder().len();
    for (i, b) in data[done..].iter_mut().enumerate() {
        *b ^= key[(offset + done + i) % 4];
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{apply_mask, FrameReader};

    #[test]
    fn word_masking_equals_the_byte_loop_at_every_offset_and_length() {
        let key = [0x37, 0xfa, 0x21, 0x3d];
        for offset in 0..8 {
            for len in 0..40 {
                let data: Vec<u8> = (0..len as u8).collect();
                let mut fast = data.clone();
                mask(&mut fast, key, offset);
                let slow: Vec<u8> = data.iter().enumerate().map(|(i, b)| b ^ key[(offset + i) % 4]).collect();
                assert_eq!(fast, slow, "offset {offset} len {len}");
            }
        }
    }

    fn decoded(bytes: &[u8]) -> (u8, Vec<u8>) {
        let mut r = FrameReader::new();
        r.push(bytes);
        let f = r.next_frame().unwrap().expect("a whole frame");
        assert!(f.fin() && f.masked() && f.rsv() == 0);
        (f.opcode(), f.payload)
    }

    #[test]
    fn built_frames_are_valid_masked_frames_that_verify() {
        for binary in [false, true] {
            let book = PayloadBook::new(70_000, binary);
            let sizes = [(0u64, 0usize), (1, 3), (0xdead_beef, 8), (42, 64), (7, 125), (9, 126), (5, 1023), (6, 1024)];
            for (seq, size) in sizes.into_iter().chain([(3, 70_000)]) {
                let mut out = Outbox::default();
                book.write_message(&mut out, seq, size);
                assert_eq!(out.contiguous(), size < BORROW_MIN, "size {size}");
                let (opcode, payload) = decoded(&out.to_vec(&book));
                assert_eq!(opcode, if binary { op::BINARY } else { op::TEXT });
                assert_eq!(payload.len(), size);
                assert!(book.verify(book.tag(seq), 0, &payload), "seq {seq} size {size}");
                if !binary {
                    assert!(std::str::from_utf8(&payload).is_ok());
                }
                // split anywhere, the parts verify at their offsets
                let cut = size / 3;
                let tag = book.tag(seq);
                assert!(book.verify(tag, 0, &payload[..cut]) && book.verify(tag, cut, &payload[cut..]));
            }
        }
    }

    #[test]
    fn a_batch_is_the_frames_of_its_messages_written_one_by_one() {
        for binary in [false, true] {
            for size in [0usize, 3, 8, 9, 64, 125, 126, 1023, 1024] {
                let book = PayloadBook::new(size, binary);
                for first in [0u64, 5, 15, 16, 17, 0xFFFF_FFF0] {
                    for n in [0u64, 1, 15, 16, 17, 40] {
                        let (mut batch, mut one_by_one) = (Outbox::default(), Outbox::default());
                        book.write_messages(&mut batch, first, n, size);
                        for seq in first..first + n {
                            book.write_message(&mut one_by_one, seq, size);
                        }
                        assert_eq!(batch.to_vec(&book), one_by_one.to_vec(&book), "size {size} first {first} n {n}");
                    }
                }
            }
        }
    }

    #[test]
    fn another_sequence_number_or_a_flipped_byte_does_not_verify() {
        let book = PayloadBook::new(64, false);
        let mut out = Outbox::default();
        book.write_message(&mut out, 5, 64);
        let (_, mut payload) = decoded(&out.to_vec(&book));
        assert!(!book.verify(book.tag(6), 0, &payload));
        payload[40] ^= 1;
        assert!(!book.verify(book.tag(5), 0, &payload));
    }

    #[test]
    fn an_outbox_gives_its_wire_bytes_in_order_from_any_offset_in_at_most_max_slices() {
        let book = PayloadBook::new(5000, true);
        let mut out = Outbox::default();
        book.write_control(out.own(), op::PING, b"p", 0);
        book.write_message(&mut out, 1, 5000);
        book.write_message(&mut out, 2, 10);
        book.write_message(&mut out, 3, 2000);
        book.write_control(out.own(), op::PING, b"q", 1);
        let wire = out.to_vec(&book);
        assert_eq!(wire.len(), out.len());
        let mut r = FrameReader::new();
        r.push(&wire);
        let sizes: Vec<usize> = std::iter::from_fn(|| r.next_frame().unwrap()).map(|f| f.payload.len()).collect();
        assert_eq!(sizes, [1, 5000, 10, 2000, 1]);
        for from in [0, 1, 7, 20, 5000, wire.len() - 1, wire.len()] {
            for max in [1, 2, 3, 100] {
                let mut got = Vec::new();
                out.each_slice(&book, from, max, |s| {
                    assert!(!s.is_empty());
                    got.push(s.to_vec());
                });
                assert!(got.len() <= max);
                let joined: Vec<u8> = got.concat();
                assert!(wire[from..].starts_with(&joined), "from {from} max {max}");
                if max == 100 {
                    assert_eq!(joined.len(), wire.len() - from);
                }
            }
        }
    }

    #[test]
    fn large_messages_rotate_through_fewer_keys_a_power_of_two() {
        assert_eq!([64, 16_384, 20_000, 65_536, 1 << 20].map(keys_for), [16, 16, 8, 4, 2]);
        for size in [64usize, 20_000, 65_536] {
            let book = PayloadBook::new(size, true);
            let keys: std::collections::HashSet<[u8; 4]> = (0..64u64)
                .map(|seq| {
                    let mut out = Outbox::default();
                    book.write_message(&mut out, seq, size);
                    let wire = out.to_vec(&book);
                    let at = if size < 126 {
                        2
                    } else if size < 65_536 {
                        4
                    } else {
                        10
                    };
                    [wire[at], wire[at + 1], wire[at + 2], wire[at + 3]]
                })
                .collect();
            assert_eq!(keys.len(), keys_for(size), "size {size}");
        }
    }

    #[test]
    fn a_frame_built_in_place_has_the_header_of_its_actual_length_whatever_was_expected() {
        for binary in [false, true] {
            let book = PayloadBook::new(100, binary);
            for (expected, actual) in
                [(5, 5), (200, 5), (5, 200), (100, 70_000), (70_000, 126), (70_000, 70_001), (0, 0)]
            {
                let mut out = Outbox::default();
                book.write_control(out.own(), op::PING, b"p", 0);
                let body: Vec<u8> = (0..actual).map(|i| i as u8).collect();
                let len = book.write_frame_with(&mut out, 3, true, expected, |own| own.extend_from_slice(&body));
                assert_eq!(len, actual);
                let mut r = FrameReader::new();
                r.push(&out.to_vec(&book));
                assert_eq!(r.next_frame().unwrap().map(|f| f.payload), Some(b"p".to_vec()));
                let f = r.next_frame().unwrap().expect("a whole frame");
                // RFC 7692 §6.1: RSV1 on the (first) frame of a compressed message
                assert!(f.fin() && f.masked() && f.rsv() == 0b100, "{expected} {actual}");
                assert_eq!(f.opcode(), if binary { op::BINARY } else { op::TEXT });
                assert_eq!(f.payload, body, "expected {expected}, actual {actual}");
                assert_eq!(r.next_frame().unwrap().map(|f| f.payload.len()), None);
            }
        }
    }

    #[test]
    fn the_plain_payload_in_two_parts_is_what_verifies() {
        let book = PayloadBook::new(300, false);
        for size in [0usize, 3, 8, 9, 300] {
            let (tag, head, rest) = book.plain(77, size);
            assert_eq!((head, rest.len()), (size.min(SEQ_LEN), size - size.min(SEQ_LEN)));
            assert!(book.verify(tag, 0, &[&tag.0[..head], rest].concat()));
        }
    }

    #[test]
    fn hex8_matches_the_formatter() {
        for v in [0u32, 1, 9, 10, 15, 16, 0xdead_beef, 0x0123_4567, 0x89ab_cdef, u32::MAX] {
            assert_eq!(String::from_utf8(hex8(v).to_vec()).unwrap(), format!("{v:08x}"));
        }
    }

    #[test]
    fn short_comparison_equals_slice_equality() {
        // every length up to past the word loop's limit, a difference at every position
        let a: Vec<u8> = (0..300).map(|i| i as u8).collect();
        let copy = a.clone();
        for len in 0..300usize {
            assert!(same(&a[..len], &copy[..len]), "len {len}");
            assert!(!same(&a[..len], &a[..len.saturating_sub(1)]) || len == 0, "len {len}");
            for flip in 0..len {
                let mut b = a[..len].to_vec();
                b[flip] ^= 0x40;
                assert!(!same(&a[..len], &b), "len {len} flip {flip}");
            }
        }
    }

    #[test]
    fn control_frames_are_masked() {
        let book = PayloadBook::new(8, true);
        let mut out = Vec::new();
        book.write_control(&mut out, op::PING, b"12345678", 3);
        assert_eq!(decoded(&out), (op::PING, b"12345678".to_vec()));
        let mut manual = b"12345678".to_vec();
        apply_mask(&mut manual, MaskingKey(book.keys[3]));
        assert_eq!(&out[6..], manual);
    }
}
