//! Compressed payloads built by hand, for frames with RSV1: window-agnostic
//! encoders (stored blocks, literal-only fixed Huffman blocks: no back-reference,
//! valid under any window, 8 bits included), any token stream (back-references
//! at chosen distances, beyond a window too), bombs, corrupt data, and the
//! examples of RFC 7692 §7.2.3.
//!
//! Every `*_message` function ends its data as RFC 7692 §7.2.1 says: an empty
//! stored block whose 4 octets 00 00 ff ff are then removed.

use super::huffman::{DIST_BASE, DIST_EXTRA, LENGTH_BASE, LENGTH_EXTRA};

/// RFC 7692 §7.2.3.1: "Hello" in one fixed Huffman block (also the first message of §7.2.3.2).
pub const RFC_HELLO: [u8; 7] = [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];
/// RFC 7692 §7.2.3.1: the same message in two frames' payloads.
pub const RFC_HELLO_FRAGMENTS: [&[u8]; 2] = [&[0xf2, 0x48, 0xcd], &[0xc9, 0xc9, 0x07, 0x00]];
/// RFC 7692 §7.2.3.2: the second "Hello", a back-reference into the first message (context takeover).
pub const RFC_HELLO_SHARED_WINDOW: [u8; 5] = [0xf2, 0x00, 0x11, 0x00, 0x00];
/// RFC 7692 §7.2.3.3: "Hello" in a stored block.
pub const RFC_HELLO_STORED: [u8; 11] = [0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00];
/// RFC 7692 §7.2.3.4: "Hello" in a block with BFINAL set.
pub const RFC_HELLO_BFINAL: [u8; 8] = [0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00];
/// RFC 7692 §7.2.3.5: "Hello" in two blocks ("He", then "llo").
pub const RFC_HELLO_TWO_BLOCKS: [u8; 13] =
    [0xf2, 0x48, 0x05, 0x00, 0x00, 0x00, 0xff, 0xff, 0xca, 0xc9, 0xc9, 0x07, 0x00];
/// An empty message: one empty stored block, tail removed (RFC 7692 §7.2.3.6 allows a single 0x00 octet).
pub const EMPTY_STORED: [u8; 1] = [0x00];
/// An empty message as zlib makes it: an empty fixed block, then the flush, tail removed.
pub const EMPTY_FIXED: [u8; 2] = [0x02, 0x00];
/// Reserved block type 3 (RFC 1951 §3.2.3): corrupt from the first byte.
pub const CORRUPT_RESERVED_BLOCK: [u8; 2] = [0x06, 0x00];
/// A stored block whose NLEN is not the complement of LEN (RFC 1951 §3.2.4).
pub const CORRUPT_STORED_LENGTH: [u8; 6] = [0x00, 0x05, 0x00, 0x00, 0x00, 0x48];
/// A back-reference (length 3, distance 1) before any byte was produced: corrupt on a fresh stream.
pub const CORRUPT_DISTANCE_AT_START: [u8; 3] = [0x02, 0x02, 0x00];

/// One DEFLATE symbol (RFC 1951 §3.2.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Token {
    /// A literal byte.
    Literal(u8),
    /// Copy `length` (3..=258) bytes from `distance` (1..=32768) back.
    Match {
        /// 3..=258.
        length: u16,
        /// 1..=32768.
        distance: u16,
    },
}

/// Writes DEFLATE blocks bit by bit (RFC 1951 §3.1.1: least significant bit first).
#[derive(Debug, Clone, Default)]
pub struct BlockWriter {
    out: Vec<u8>,
    acc: u64,
    n: u32,
}

impl BlockWriter {
    /// An empty stream.
    pub fn new() -> BlockWriter {
        BlockWriter::default()
    }

    fn put(&mut self, value: u32, bits: u32) {
        self.acc |= u64::from(value) << self.n;
        self.n += bits;
        while self.n >= 8 {
            // ok: the low byte
            self.out.push(self.acc as u8);
            self.acc >>= 8;
            self.n -= 8;
        }
    }

    /// A Huffman code is sent most significant bit first (RFC 1951 §3.1.1).
    fn put_code(&mut self, code: u32, len: u32) {
        self.put(code.reverse_bits() >> (32 - len), len);
    }

    fn align(&mut self) {
        if self.n > 0 {
            self.put(0, 8 - self.n);
        }
    }

    /// Stored blocks holding `data` (several if over 65,535 bytes; one, empty, if `data` is empty).
    pub fn stored(&mut self, data: &[u8], last: bool) -> &mut BlockWriter {
        let mut chunks: Vec<&[u8]> = data.chunks(usize::from(u16::MAX)).collect();
        if chunks.is_empty() {
            chunks.push(&[]);
        }
        let count = chunks.len();
        for (i, chunk) in chunks.into_iter().enumerate() {
            // RFC 1951 §3.2.4: header bits, pad to a byte, LEN, NLEN, the bytes
            self.put(u32::from(last && i + 1 == count), 1);
            self.put(0, 2);
            self.align();
            // ok: chunks are at most 65,535 bytes
            let len = chunk.len() as u16;
            self.put(u32::from(len), 16);
            self.put(u32::from(!len), 16);
            self.out.extend_from_slice(chunk);
        }
        self
    }

    /// One fixed Huffman block with these tokens and end-of-block (RFC 1951 §3.2.6).
    /// Lengths and distances are clamped to 3..=258 and 1..=32768.
    pub fn fixed(&mut self, tokens: &[Token], last: bool) -> &mut BlockWriter {
        self.put(u32::from(last), 1);
        self.put(1, 2);
        for &token in tokens {
            match token {
                Token::Literal(b) => self.fixed_symbol(u32::from(b)),
                Token::Match { length, distance } => self.fixed_match(length.clamp(3, 258), distance.max(1)),
            }
        }
        self.fixed_symbol(256);
        self
    }

    fn fixed_symbol(&mut self, symbol: u32) {
        // RFC 1951 §3.2.6: the fixed literal/length code
        match symbol {
            0..=143 => self.put_code(0x30 + symbol, 8),
            144..=255 => self.put_code(0x190 + symbol - 144, 9),
            256..=279 => self.put_code(symbol - 256, 7),
            _ => self.put_code(0xc0 + symbol - 280, 8),
        }
    }

    fn fixed_match(&mut self, length: u16, distance: u16) {
        let li = LENGTH_BASE.iter().rposition(|&b| b <= length).unwrap_or(0);
        // ok: li < 29
        self.fixed_symbol(257 + li as u32);
        self.put(u32::from(length - LENGTH_BASE[li]), u32::from(LENGTH_EXTRA[li]));
        let di = DIST_BASE.iter().rposition(|&b| b <= distance).unwrap_or(0);
        // ok: di < 30; fixed distance codes are 5 bits
        self.put_code(di as u32, 5);
        self.put(u32::from(distance - DIST_BASE[di]), u32::from(DIST_EXTRA[di]));
    }

    /// Any bits, e.g. a malformed header (`bits` ≤ 32, value's low bits first).
    pub fn raw_bits(&mut self, value: u32, bits: u32) -> &mut BlockWriter {
        self.put(value & (u32::MAX >> (32 - bits.clamp(1, 32))), bits.min(32));
        self
    }

    /// The stream so far, a partial last byte padded with zero bits.
    pub fn finish(&mut self) -> Vec<u8> {
        self.align();
        std::mem::take(&mut self.out)
    }

    /// Ends the message as RFC 7692 §7.2.1 says (an empty stored block, then its 00 00 ff ff removed).
    pub fn finish_message(&mut self) -> Vec<u8> {
        self.stored(&[], false);
        let mut out = self.finish();
        out.truncate(out.len().saturating_sub(4));
        out
    }
}

/// `data` in stored blocks, as a message payload: valid under any window (8 bits included).
pub fn stored_message(data: &[u8]) -> Vec<u8> {
    let mut w = BlockWriter::new();
    if !data.is_empty() {
        w.stored(data, false);
    }
    w.finish_message()
}

/// `data` as literals of one fixed Huffman block, as a message payload: no back-reference, valid under any window.
pub fn literal_message(data: &[u8]) -> Vec<u8> {
    let tokens: Vec<Token> = data.iter().map(|&b| Token::Literal(b)).collect();
    BlockWriter::new().fixed(&tokens, false).finish_message()
}

/// A message that inflates to `inflated_len` zero bytes from about `inflated_len / 158` compressed
/// bytes (a literal, then length-258 distance-1 references in fixed Huffman blocks): a decompression bomb.
/// Built a block of [`BOMB_BLOCK_TOKENS`] references at a time: a 4 GiB bomb holds its 27 MiB, not its tokens.
pub fn bomb_message(inflated_len: usize) -> Vec<u8> {
    let mut w = BlockWriter::new();
    if inflated_len == 0 {
        return w.finish_message();
    }
    let mut tokens = vec![Token::Literal(0)];
    let mut left = inflated_len - 1;
    while left > 0 {
        // a reference is 3..=258 long: leave no remainder of 1 or 2
        let length = match left {
            259 | 260 => 256,
            n => n.min(258),
        };
        if length < 3 {
            tokens.extend(std::iter::repeat_n(Token::Literal(0), length));
        } else {
            // ok: length ≤ 258
            tokens.push(Token::Match { length: length as u16, distance: 1 });
        }
        left -= length;
        if tokens.len() >= BOMB_BLOCK_TOKENS {
            w.fixed(&tokens, false);
            tokens.clear();
        }
    }
    if !tokens.is_empty() {
        w.fixed(&tokens, false);
    }
    w.finish_message()
}

/// References per fixed block of a bomb.
pub const BOMB_BLOCK_TOKENS: usize = 1 << 16;

/// A message whose one back-reference has `distance` (1..=32768): `distance` literal bytes
/// (a counting pattern), then a 3-byte copy from `distance` back. With `distance` = 2^bits + 1
/// it breaks `server_max_window_bits=bits` (RFC 7692 §7.1.2.1). Returns the payload and its inflated bytes.
pub fn reference_message(distance: u16) -> (Vec<u8>, Vec<u8>) {
    let distance = distance.max(1);
    // ok: the pattern byte is the index modulo 251
    let mut plain: Vec<u8> = (0..usize::from(distance)).map(|i| (i % 251) as u8).collect();
    let mut tokens: Vec<Token> = plain.iter().map(|&b| Token::Literal(b)).collect();
    tokens.push(Token::Match { length: 3, distance });
    for i in 0..3 {
        plain.push(plain[i]);
    }
    (BlockWriter::new().fixed(&tokens, false).finish_message(), plain)
}
