//! Our own DEFLATE decoder (RFC 1951), to judge the server's compressed stream
//! itself: for each message, how far back its back-references reach, whether
//! one reaches into an earlier message, which blocks it used and how it ends.
//!
//! flate2 only says whether a stream inflates; a server that ignores
//! `server_no_context_takeover` or `server_max_window_bits` produces data that
//! inflates fine with a 32 KiB window, so only a decoder that reports every
//! back-reference can see it (RFC 7692 §7.1.1.1, §7.1.2.1). Output is bounded:
//! decoding stops with [`AnalyzeError::OverLimit`] before the message exceeds
//! its limit, whatever the compression ratio.

use std::sync::OnceLock;

use thiserror::Error;

use super::huffman::{
    BitReader, CodeError, Huffman, OutOfInput, CODE_LENGTH_ORDER, DIST_BASE, DIST_EXTRA, LENGTH_BASE, LENGTH_EXTRA,
};
use super::TAIL;

/// The largest distance DEFLATE can express, and the history kept between messages (RFC 1951 §3.2.5).
pub const MAX_DISTANCE: usize = 32_768;

/// Why a message's compressed data is not valid DEFLATE, or is over its limit.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum AnalyzeError {
    /// The inflated message would exceed the limit; decoding stopped there.
    #[error("inflated message over the limit of {limit} bytes after {input_consumed} input bytes")]
    OverLimit {
        /// The limit on one inflated message.
        limit: usize,
        /// Compressed bytes consumed when the limit was reached.
        input_consumed: usize,
    },
    /// Block type 3 is reserved (RFC 1951 §3.2.3).
    #[error("reserved block type 3 at byte {at}")]
    ReservedBlockType {
        /// Byte offset of the block header.
        at: usize,
    },
    /// A stored block's NLEN is not the complement of its LEN (RFC 1951 §3.2.4).
    #[error("stored block length {len:#06x} does not match its complement {nlen:#06x} at byte {at}")]
    StoredLengthMismatch {
        /// LEN.
        len: u16,
        /// NLEN.
        nlen: u16,
        /// Byte offset of LEN.
        at: usize,
    },
    /// A dynamic block's code lengths do not make a Huffman code (RFC 1951 §3.2.7).
    #[error("invalid {what} at byte {at}")]
    InvalidCode {
        /// Which code, and what is wrong with it.
        what: &'static str,
        /// Byte offset where it was read.
        at: usize,
    },
    /// A back-reference reaches before the first byte the stream produced.
    #[error("distance {distance} reaches before the stream's start ({available} bytes of history) at byte {at}")]
    DistanceTooFar {
        /// The distance.
        distance: usize,
        /// Bytes produced before it (earlier messages included, at most 32 KiB).
        available: usize,
        /// Byte offset where it was read.
        at: usize,
    },
}

/// How a message's data (with 00 00 ff ff appended, RFC 7692 §7.2.2) ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// At a block boundary with every byte used: the flush of RFC 7692 §7.2.1.
    Flushed,
    /// A block with BFINAL set ended the stream (RFC 7692 §7.2.3.4); `unused` bytes followed it.
    Final {
        /// Input bytes after the final block (the appended tail included).
        unused: usize,
    },
    /// The input ran out inside a block: the message is not complete DEFLATE data.
    Truncated,
}

/// What one compressed message contained (RFC 7692 §7.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageReport {
    /// Compressed payload bytes, without the appended tail.
    pub compressed_len: usize,
    /// Inflated bytes.
    pub inflated_len: usize,
    /// The longest back-reference distance used (0: none).
    pub max_distance: usize,
    /// Whether a back-reference reached before this message's first byte (context takeover).
    pub reaches_before_message: bool,
    /// Stored blocks (BTYPE 00), empty ones included.
    pub stored_blocks: u32,
    /// Fixed Huffman blocks (BTYPE 01).
    pub fixed_blocks: u32,
    /// Dynamic Huffman blocks (BTYPE 10).
    pub dynamic_blocks: u32,
    /// Whether a block had BFINAL set.
    pub final_block: bool,
    /// Whether the payload itself ended with a whole empty stored block (00 00 ff ff not removed).
    pub tail_not_removed: bool,
    /// How the data ended.
    pub ending: Ending,
}

impl MessageReport {
    /// The smallest window (bits, at least 8) that holds every back-reference of this message.
    pub fn window_bits_needed(&self) -> u8 {
        (8u8..=15).find(|&bits| self.max_distance <= 1 << bits).unwrap_or(16)
    }
}

/// Decodes a server's compressed messages in order, keeping the last 32 KiB as history.
///
/// History is kept even when the server promised no context takeover, so that
/// a message that depends on an earlier one is decoded and reported, not rejected.
#[derive(Debug, Clone)]
pub struct StreamAnalyzer {
    history: Vec<u8>,
    limit: usize,
}

/// One decoded message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Analyzed {
    /// The inflated bytes (up to the end of the data, or where it was cut short).
    pub data: Vec<u8>,
    /// What the compressed data contained.
    pub report: MessageReport,
}

impl StreamAnalyzer {
    /// An analyzer whose messages inflate to at most `limit` bytes each.
    pub fn new(limit: usize) -> StreamAnalyzer {
        StreamAnalyzer { history: Vec::new(), limit }
    }

    /// Forgets the history (a new connection).
    pub fn reset(&mut self) {
        self.history.clear();
    }

    /// Decodes one message's payload (RSV1 set, the frames' payloads joined), appending 00 00 ff ff (RFC 7692 §7.2.2).
    pub fn message(&mut self, payload: &[u8]) -> Result<Analyzed, AnalyzeError> {
        let mut input = Vec::with_capacity(payload.len() + TAIL.len());
        input.extend_from_slice(payload);
        // RFC 7692 §7.2.2: append 0x00 0x00 0xff 0xff to the tail end of the payload
        input.extend_from_slice(&TAIL);
        let mut d = Decoder {
            bits: BitReader::new(&input),
            history: &self.history,
            out: Vec::new(),
            limit: self.limit,
            payload_len: payload.len(),
            report: MessageReport {
                compressed_len: payload.len(),
                inflated_len: 0,
                max_distance: 0,
                reaches_before_message: false,
                stored_blocks: 0,
                fixed_blocks: 0,
                dynamic_blocks: 0,
                final_block: false,
                tail_not_removed: false,
                ending: Ending::Truncated,
            },
        };
        d.run()?;
        let Decoder { out, mut report, .. } = d;
        report.inflated_len = out.len();
        self.remember(&out);
        Ok(Analyzed { data: out, report })
    }

    fn remember(&mut self, out: &[u8]) {
        if out.len() >= MAX_DISTANCE {
            self.history.clear();
            self.history.extend_from_slice(&out[out.len() - MAX_DISTANCE..]);
            return;
        }
        self.history.extend_from_slice(out);
        if self.history.len() > MAX_DISTANCE {
            self.history.drain(..self.history.len() - MAX_DISTANCE);
        }
    }
}

struct Decoder<'a> {
    bits: BitReader<'a>,
    history: &'a [u8],
    out: Vec<u8>,
    limit: usize,
    payload_len: usize,
    report: MessageReport,
}

/// A block ended the data (`true`: BFINAL), or the input ran out.
type Step = Result<Result<bool, OutOfInput>, AnalyzeError>;

impl Decoder<'_> {
    fn run(&mut self) -> Result<(), AnalyzeError> {
        loop {
            if self.bits.at_end() {
                self.report.ending = Ending::Flushed;
                return Ok(());
            }
            match self.block()? {
                Ok(false) => {}
                Ok(true) => {
                    let unused = self.payload_len + TAIL.len() - self.bits.bytes_consumed();
                    self.report.ending = Ending::Final { unused };
                    return Ok(());
                }
                Err(OutOfInput) => {
                    self.report.ending = Ending::Truncated;
                    return Ok(());
                }
            }
        }
    }

    fn block(&mut self) -> Step {
        let at = self.bits.bytes_consumed();
        let header = match self.bits.bits(3) {
            Ok(h) => h,
            Err(e) => return Ok(Err(e)),
        };
        let last = header & 1 == 1;
        self.report.final_block |= last;
        // RFC 1951 §3.2.3: BTYPE 00 stored, 01 fixed Huffman, 10 dynamic Huffman, 11 reserved (error)
        let done = match header >> 1 {
            0 => self.stored(),
            1 => {
                self.report.fixed_blocks += 1;
                let (lit, dist) = fixed_codes();
                self.codes(lit, dist)
            }
            2 => {
                self.report.dynamic_blocks += 1;
                self.dynamic()
            }
            _ => return Err(AnalyzeError::ReservedBlockType { at }),
        }?;
        Ok(done.map(|()| last))
    }

    fn stored(&mut self) -> Result<Result<(), OutOfInput>, AnalyzeError> {
        self.report.stored_blocks += 1;
        self.bits.align();
        let at = self.bits.bytes_consumed();
        let (len, nlen) = match (self.bits.bits(16), self.bits.bits(16)) {
            (Ok(len), Ok(nlen)) => (len, nlen),
            _ => return Ok(Err(OutOfInput)),
        };
        // ok: 16-bit reads
        let (len, nlen) = (len as u16, nlen as u16);
        // RFC 1951 §3.2.4: NLEN is the one's complement of LEN
        if len != !nlen {
            return Err(AnalyzeError::StoredLengthMismatch { len, nlen, at });
        }
        let end = at + 4;
        if len == 0 && end == self.payload_len {
            // RFC 7692 §7.2.1: the payload ends with the 4 octets the sender should have removed
            self.report.tail_not_removed = true;
        }
        let len = usize::from(len);
        // only the bytes that are there count towards the limit (flate2 inflates a partial stored block too)
        let bytes = self.bits.take_available(len);
        self.check_room(bytes.len())?;
        self.out.extend_from_slice(bytes);
        Ok(if bytes.len() == len { Ok(()) } else { Err(OutOfInput) })
    }

    fn check_room(&self, more: usize) -> Result<(), AnalyzeError> {
        if self.out.len() + more > self.limit {
            let input_consumed = self.bits.bytes_consumed().min(self.payload_len);
            return Err(AnalyzeError::OverLimit { limit: self.limit, input_consumed });
        }
        Ok(())
    }

    fn dynamic(&mut self) -> Result<Result<(), OutOfInput>, AnalyzeError> {
        let at = self.bits.bytes_consumed();
        let lengths = match read_code_lengths(&mut self.bits, at)? {
            Ok(lengths) => lengths,
            Err(e) => return Ok(Err(e)),
        };
        let (lit_lengths, dist_lengths) = lengths.0.split_at(lengths.1);
        // RFC 1951 §3.2.7: the literal/length code must have a code for end-of-block (256)
        if lit_lengths.get(256).copied().unwrap_or(0) == 0 {
            return Err(AnalyzeError::InvalidCode { what: "literal/length code without end-of-block", at });
        }
        let invalid = |what| move |_: CodeError| AnalyzeError::InvalidCode { what, at };
        let lit = Huffman::new(lit_lengths, true).map_err(invalid("literal/length code lengths"))?;
        let dist = Huffman::new(dist_lengths, true).map_err(invalid("distance code lengths"))?;
        self.codes(&lit, &dist)
    }

    /// Literals and back-references until end-of-block (RFC 1951 §3.2.5).
    fn codes(&mut self, lit: &Huffman, dist: &Huffman) -> Result<Result<(), OutOfInput>, AnalyzeError> {
        loop {
            let at = self.bits.bytes_consumed();
            let symbol = match lit.decode(&mut self.bits) {
                Ok(Some(s)) => usize::from(s),
                Ok(None) => return Err(AnalyzeError::InvalidCode { what: "literal/length code", at }),
                Err(e) => return Ok(Err(e)),
            };
            if symbol < 256 {
                self.check_room(1)?;
                // ok: symbol < 256
                self.out.push(symbol as u8);
                continue;
            }
            if symbol == 256 {
                return Ok(Ok(()));
            }
            match self.back_reference(symbol, dist, at)? {
                Ok(()) => {}
                Err(e) => return Ok(Err(e)),
            }
        }
    }

    fn back_reference(
        &mut self,
        symbol: usize,
        dist: &Huffman,
        at: usize,
    ) -> Result<Result<(), OutOfInput>, AnalyzeError> {
        let invalid = AnalyzeError::InvalidCode { what: "length or distance symbol", at };
        // RFC 1951 §3.2.6: length symbols 286 and 287 and distance codes 30 and 31 never occur
        let index = symbol - 257;
        let (Some(&base), Some(&extra)) = (LENGTH_BASE.get(index), LENGTH_EXTRA.get(index)) else {
            return Err(invalid);
        };
        let read = (|| {
            let length = usize::from(base) + self.bits.bits(u32::from(extra))? as usize;
            let code = dist.decode(&mut self.bits)?.map(usize::from);
            Ok::<_, OutOfInput>((length, code))
        })();
        let (length, code) = match read {
            Ok(v) => v,
            Err(e) => return Ok(Err(e)),
        };
        let Some((&base, &extra)) = code.and_then(|c| Some((DIST_BASE.get(c)?, DIST_EXTRA.get(c)?))) else {
            return Err(invalid);
        };
        let distance = match self.bits.bits(u32::from(extra)) {
            Ok(e) => usize::from(base) + e as usize,
            Err(e) => return Ok(Err(e)),
        };
        self.copy(length, distance, at)?;
        Ok(Ok(()))
    }

    fn copy(&mut self, length: usize, distance: usize, at: usize) -> Result<(), AnalyzeError> {
        let available = self.out.len() + self.history.len().min(MAX_DISTANCE);
        if distance > available {
            return Err(AnalyzeError::DistanceTooFar { distance, available, at });
        }
        self.check_room(length)?;
        self.report.max_distance = self.report.max_distance.max(distance);
        if distance <= self.out.len() {
            let start = self.out.len() - distance;
            if distance >= length {
                self.out.extend_from_within(start..start + length);
            } else {
                for i in start..start + length {
                    let b = self.out[i];
                    self.out.push(b);
                }
            }
            return Ok(());
        }
        self.report.reaches_before_message = true;
        let back = distance - self.out.len();
        let h = self.history.len() - back;
        for i in 0..length {
            let b = match self.history.get(h + i) {
                Some(&b) => b,
                None => self.out[h + i - self.history.len()],
            };
            self.out.push(b);
        }
        Ok(())
    }
}

/// The fixed Huffman codes (RFC 1951 §3.2.6), built once.
fn fixed_codes() -> &'static (Huffman, Huffman) {
    static FIXED: OnceLock<(Huffman, Huffman)> = OnceLock::new();
    FIXED.get_or_init(|| {
        let mut lit = [8u8; 288];
        lit[144..256].fill(9);
        lit[256..280].fill(7);
        // ok: constant lengths that form complete codes (32 distance codes; 30 and 31 decode, then are refused)
        let lit = Huffman::new(&lit, false).unwrap_or_else(|_| unreachable!("fixed literal/length code"));
        let dist = Huffman::new(&[5u8; 32], false).unwrap_or_else(|_| unreachable!("fixed distance code"));
        (lit, dist)
    })
}

/// A dynamic block's header: literal/length and distance code lengths, and where the two split.
type Lengths = (Vec<u8>, usize);

fn read_code_lengths(bits: &mut BitReader<'_>, at: usize) -> Result<Result<Lengths, OutOfInput>, AnalyzeError> {
    let inner = |bits: &mut BitReader<'_>| -> Result<Result<Lengths, AnalyzeError>, OutOfInput> {
        let hlit = bits.bits(5)? as usize + 257;
        let hdist = bits.bits(5)? as usize + 1;
        let hclen = bits.bits(4)? as usize + 4;
        // RFC 1951 §3.2.7: HLIT is at most 286 codes, HDIST at most 30 (as zlib enforces)
        if hlit > 286 || hdist > 30 {
            return Ok(Err(AnalyzeError::InvalidCode { what: "count of literal/length or distance codes", at }));
        }
        let mut cl = [0u8; 19];
        for &i in &CODE_LENGTH_ORDER[..hclen] {
            // ok: 3-bit read
            cl[i] = bits.bits(3)? as u8;
        }
        if cl.iter().all(|&l| l == 0) {
            // no codes at all: zlib reads each of the lengths as a one-bit 0, then finds no end-of-block;
            // read as far so that data cut short here is "truncated" in both decoders, not an error in one
            for _ in 0..hlit + hdist {
                bits.bits(1)?;
            }
            return Ok(Err(AnalyzeError::InvalidCode { what: "code length code without codes", at }));
        }
        let Ok(cl_code) = Huffman::new(&cl, false) else {
            return Ok(Err(AnalyzeError::InvalidCode { what: "code length code", at }));
        };
        let mut lengths = Vec::with_capacity(hlit + hdist);
        while lengths.len() < hlit + hdist {
            let Some(symbol) = cl_code.decode(bits)? else {
                return Ok(Err(AnalyzeError::InvalidCode { what: "code length symbol", at }));
            };
            let (value, repeat) = match symbol {
                // ok: symbol < 16
                0..=15 => (symbol as u8, 1),
                // the repeat count is read before the check, as zlib does (data cut short there is truncated)
                16 => match (bits.bits(2)? as usize, lengths.last()) {
                    (extra, Some(&prev)) => (prev, 3 + extra),
                    (_, None) => {
                        return Ok(Err(AnalyzeError::InvalidCode { what: "repeat with no previous length", at }))
                    }
                },
                17 => (0, 3 + bits.bits(3)? as usize),
                _ => (0, 11 + bits.bits(7)? as usize),
            };
            if lengths.len() + repeat > hlit + hdist {
                return Ok(Err(AnalyzeError::InvalidCode { what: "code length repeat past the end", at }));
            }
            lengths.resize(lengths.len() + repeat, value);
        }
        Ok(Ok((lengths, hlit)))
    };
    match inner(bits) {
        Ok(Ok(lengths)) => Ok(Ok(lengths)),
        Ok(Err(e)) => Err(e),
        Err(e) => Ok(Err(e)),
    }
}
