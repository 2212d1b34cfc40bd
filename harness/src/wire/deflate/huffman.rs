//! DEFLATE's building blocks (RFC 1951 §3.1.1, §3.2.2, §3.2.5): the bit reader,
//! canonical Huffman decoding, and the length and distance tables. Shared by
//! the analyzing decoder ([`super::analyze`]) and the block writer ([`super::craft`]).

/// Base length of length symbols 257..=285 (RFC 1951 §3.2.5).
pub(crate) const LENGTH_BASE: [u16; 29] =
    [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258];
/// Extra bits of length symbols 257..=285.
pub(crate) const LENGTH_EXTRA: [u8; 29] =
    [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0];
/// Base distance of distance codes 0..=29 (RFC 1951 §3.2.5).
pub(crate) const DIST_BASE: [u16; 30] = [
    1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145,
    8193, 12289, 16385, 24577,
];
/// Extra bits of distance codes 0..=29.
pub(crate) const DIST_EXTRA: [u8; 30] =
    [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13];
/// The order code length code lengths are sent in (RFC 1951 §3.2.7).
pub(crate) const CODE_LENGTH_ORDER: [usize; 19] = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15];
/// Longest Huffman code (RFC 1951 §3.2.2).
const MAX_BITS: usize = 15;
/// Codes up to this long are decoded with one table lookup; longer ones bit by bit.
const FAST_BITS: u32 = 9;

/// The input ran out before what was being read was complete (not an error: more may come).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct OutOfInput;

/// Reads bits least significant first (RFC 1951 §3.1.1).
pub(crate) struct BitReader<'a> {
    data: &'a [u8],
    /// Next byte to load into `buf`.
    pos: usize,
    buf: u64,
    /// Valid bits in `buf`.
    n: u32,
}

impl<'a> BitReader<'a> {
    pub(crate) fn new(data: &'a [u8]) -> BitReader<'a> {
        BitReader { data, pos: 0, buf: 0, n: 0 }
    }

    fn refill(&mut self) {
        while self.n <= 56 {
            let Some(&b) = self.data.get(self.pos) else { break };
            self.buf |= u64::from(b) << self.n;
            self.pos += 1;
            self.n += 8;
        }
    }

    /// The next `k` (≤ 32) bits as a number, first bit lowest.
    pub(crate) fn bits(&mut self, k: u32) -> Result<u32, OutOfInput> {
        if self.n < k {
            self.refill();
            if self.n < k {
                return Err(OutOfInput);
            }
        }
        // ok: k ≤ 32, so the mask fits and the cast keeps every bit
        let v = (self.buf & ((1u64 << k) - 1)) as u32;
        self.buf >>= k;
        self.n -= k;
        Ok(v)
    }

    /// Drops the bits left in the current byte (before a stored block's LEN, RFC 1951 §3.2.4).
    pub(crate) fn align(&mut self) {
        let drop = self.n % 8;
        self.buf >>= drop;
        self.n -= drop;
    }

    /// Bytes consumed so far, a partly read byte counted.
    pub(crate) fn bytes_consumed(&self) -> usize {
        self.pos - (self.n / 8) as usize
    }

    /// Whether the reader stands on a byte boundary with every byte consumed.
    pub(crate) fn at_end(&self) -> bool {
        self.n == 0 && self.pos == self.data.len()
    }

    /// After [`BitReader::align`]: the next `len` bytes, or as many as there are.
    pub(crate) fn take_available(&mut self, len: usize) -> &'a [u8] {
        let start = self.pos - (self.n / 8) as usize;
        let end = start.saturating_add(len).min(self.data.len());
        self.buf = 0;
        self.n = 0;
        self.pos = end;
        self.data.get(start..end).unwrap_or_default()
    }

    fn peek(&mut self) -> (u32, u32) {
        if self.n < MAX_BITS as u32 {
            self.refill();
        }
        // ok: masked to 15 bits
        ((self.buf & 0x7fff) as u32, self.n)
    }

    fn consume(&mut self, k: u32) {
        self.buf >>= k;
        self.n -= k;
    }
}

/// Why a set of code lengths is not a usable Huffman code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CodeError {
    /// More codes of some length than the code space holds.
    Oversubscribed,
    /// Code space left over (allowed only for a single code of length 1, as zlib does).
    Incomplete,
}

/// A canonical Huffman code (RFC 1951 §3.2.2), decoded table-first.
pub(crate) struct Huffman {
    /// `counts[len]`: how many codes have this length.
    counts: [u16; MAX_BITS + 1],
    /// Symbols ordered by code.
    symbols: Vec<u16>,
    /// Indexed by the next FAST_BITS input bits: `symbol << 4 | length`, or 0 if the code is longer.
    fast: Vec<u16>,
}

impl Huffman {
    /// The code for these lengths (0: symbol unused). `allow_incomplete`: a lone
    /// code of length 1 may leave code space (literal/length and distance codes).
    pub(crate) fn new(lengths: &[u8], allow_incomplete: bool) -> Result<Huffman, CodeError> {
        let mut counts = [0u16; MAX_BITS + 1];
        for &len in lengths {
            counts[usize::from(len)] += 1;
        }
        counts[0] = 0;
        let mut left: i32 = 1;
        for &count in &counts[1..] {
            left = left * 2 - i32::from(count);
            if left < 0 {
                return Err(CodeError::Oversubscribed);
            }
        }
        let max = (1..=MAX_BITS).rev().find(|&l| counts[l] > 0).unwrap_or(0);
        // RFC 1951 §3.2.7 (as zlib reads it): only a single one-bit code may leave code space unused
        if left > 0 && max > 0 && !(allow_incomplete && max == 1) {
            return Err(CodeError::Incomplete);
        }
        let mut offsets = [0u16; MAX_BITS + 2];
        for len in 1..=MAX_BITS {
            offsets[len + 1] = offsets[len] + counts[len];
        }
        let mut symbols = vec![0u16; usize::from(offsets[MAX_BITS + 1])];
        for (symbol, &len) in lengths.iter().enumerate().filter(|(_, &l)| l > 0) {
            let slot = &mut offsets[usize::from(len)];
            // ok: at most 288 symbols
            symbols[usize::from(*slot)] = symbol as u16;
            *slot += 1;
        }
        let mut code = Huffman { counts, symbols, fast: vec![0; 1 << FAST_BITS] };
        code.fill_fast(lengths);
        Ok(code)
    }

    fn fill_fast(&mut self, lengths: &[u8]) {
        // RFC 1951 §3.2.2: the first code of each length
        let mut next_code = [0u32; MAX_BITS + 2];
        let mut code = 0u32;
        for (len, next) in next_code.iter_mut().enumerate().take(MAX_BITS + 1).skip(1) {
            code = (code + u32::from(self.counts[len - 1])) << 1;
            *next = code;
        }
        for (symbol, &len) in lengths.iter().enumerate() {
            let len = u32::from(len);
            if len == 0 || len > FAST_BITS {
                continue;
            }
            let c = next_code[len as usize];
            next_code[len as usize] += 1;
            let reversed = c.reverse_bits() >> (32 - len);
            // ok: symbol < 288 and len ≤ 9 fit in 16 bits as symbol << 4 | len
            let entry = ((symbol as u16) << 4) | len as u16;
            let mut i = reversed as usize;
            while i < self.fast.len() {
                self.fast[i] = entry;
                i += 1 << len;
            }
        }
    }

    /// The next symbol, or `None` for a bit pattern no code has (an incomplete code's gap).
    pub(crate) fn decode(&self, bits: &mut BitReader<'_>) -> Result<Option<u16>, OutOfInput> {
        let (peek, available) = bits.peek();
        let entry = self.fast[(peek & ((1 << FAST_BITS) - 1)) as usize];
        let len = u32::from(entry & 15);
        if len > 0 && len <= available {
            bits.consume(len);
            return Ok(Some(entry >> 4));
        }
        // bit by bit (puff.c's decode): codes longer than FAST_BITS, or input running out
        let (mut code, mut first, mut index) = (0i32, 0i32, 0i32);
        for len in 1..=MAX_BITS {
            code |= bits.bits(1)? as i32;
            let count = i32::from(self.counts[len]);
            if code - count < first {
                return Ok(self.symbols.get((index + code - first) as usize).copied());
            }
            index += count;
            first = (first + count) << 1;
            code <<= 1;
        }
        Ok(None)
    }
}
