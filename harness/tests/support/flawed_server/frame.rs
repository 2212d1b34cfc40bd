//! Frame headers in and frames out (RFC 6455 §5.2), with the length and
//! server-frame flaws.
//!
//! The parser reads any header exactly (judging it is `conn`'s job), except
//! under [`Flaw::Mangles16BitLength`] and [`Flaw::Mangles64BitLength`], which
//! read the extended length in the wrong byte order. The encoder writes valid
//! server frames unless a server-frame flaw is on.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};

use wsharness::wire::{apply_mask, MaskingKey};

use super::{Flaw, Flaws};

pub(crate) const CONTINUATION: u8 = 0x0;
pub(crate) const TEXT: u8 = 0x1;
pub(crate) const BINARY: u8 = 0x2;
pub(crate) const CLOSE: u8 = 0x8;
pub(crate) const PING: u8 = 0x9;
pub(crate) const PONG: u8 = 0xA;

/// Which length field a header used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LengthField {
    Bits7,
    Bits16,
    Bits64,
}

/// A client frame header, as read.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Header {
    pub fin: bool,
    /// RSV1-3 as a 3-bit value.
    pub rsv: u8,
    /// Raw 4-bit opcode.
    pub opcode: u8,
    pub key: Option<[u8; 4]>,
    pub length_field: LengthField,
    /// The length exactly as the field says (most significant bit included).
    pub len: u64,
    /// Bytes the header takes.
    pub header_len: usize,
}

impl Header {
    /// Whether a shorter length field could hold the length (RFC 6455 §5.2: minimal encoding).
    pub fn non_minimal(&self) -> bool {
        match self.length_field {
            LengthField::Bits7 => false,
            LengthField::Bits16 => self.len <= 125,
            LengthField::Bits64 => self.len <= u64::from(u16::MAX),
        }
    }
}

/// The header at the start of `buf`, or `None` until it is complete.
pub(crate) fn parse_header(buf: &[u8], flaws: &Flaws) -> Option<Header> {
    let (&b0, &b1) = (buf.first()?, buf.get(1)?);
    let (length_field, ext_len) = match b1 & 0x7F {
        126 => (LengthField::Bits16, 2),
        127 => (LengthField::Bits64, 8),
        _ => (LengthField::Bits7, 0),
    };
    let ext = buf.get(2..2 + ext_len)?;
    let len = match length_field {
        LengthField::Bits7 => u64::from(b1 & 0x7F),
        LengthField::Bits16 => {
            let bytes = [ext[0], ext[1]];
            u64::from(if flaws.has(Flaw::Mangles16BitLength) {
                u16::from_le_bytes(bytes)
            } else {
                u16::from_be_bytes(bytes)
            })
        }
        LengthField::Bits64 => {
            let bytes: [u8; 8] = ext.try_into().ok()?;
            if flaws.has(Flaw::Mangles64BitLength) {
                u64::from_le_bytes(bytes)
            } else {
                u64::from_be_bytes(bytes)
            }
        }
    };
    let mut header_len = 2 + ext_len;
    let key = if b1 & 0x80 != 0 {
        let key: [u8; 4] = buf.get(header_len..header_len + 4)?.try_into().ok()?;
        header_len += 4;
        Some(key)
    } else {
        None
    };
    Some(Header { fin: b0 & 0x80 != 0, rsv: (b0 >> 4) & 0x07, opcode: b0 & 0x0F, key, length_field, len, header_len })
}

/// Unmasks `data`, the payload bytes starting at `offset` of a frame masked with `key`.
pub(crate) fn unmask(data: &mut [u8], key: Option<[u8; 4]>, offset: usize) {
    if let Some(key) = key {
        for (i, byte) in data.iter_mut().enumerate() {
            *byte ^= key[(offset + i) % 4];
        }
    }
}

/// A server frame: unmasked, no RSV, minimal length, unless a server-frame flaw says otherwise.
pub(crate) fn encode(fin: bool, opcode: u8, payload: &[u8], flaws: &Flaws) -> Vec<u8> {
    let rsv = if flaws.has(Flaw::SetsRsvOnServerFrames) { 0b100 } else { 0 };
    let mut out = vec![u8::from(fin) << 7 | rsv << 4 | opcode];
    let mask_bit = if flaws.has(Flaw::MasksServerFrames) { 0x80 } else { 0 };
    let len = payload.len();
    if len <= 125 && !flaws.has(Flaw::SendsNonMinimalLength) {
        out.push(mask_bit | len as u8);
    } else if len <= usize::from(u16::MAX) && !flaws.has(Flaw::SendsNonMinimalLength) {
        out.push(mask_bit | 126);
        let len = len as u16;
        out.extend(if flaws.has(Flaw::Mangles16BitLength) { len.to_le_bytes() } else { len.to_be_bytes() });
    } else {
        out.push(mask_bit | 127);
        let len = len as u64;
        out.extend(if flaws.has(Flaw::Mangles64BitLength) { len.to_le_bytes() } else { len.to_be_bytes() });
    }
    let start = out.len();
    if mask_bit != 0 {
        let key = MaskingKey::random();
        out.extend(key.bytes());
        out.extend_from_slice(payload);
        apply_mask(&mut out[start + 4..], key);
    } else {
        out.extend_from_slice(payload);
    }
    out
}

/// A close frame with this code (`None`: an empty body).
pub(crate) fn close(code: Option<u16>, flaws: &Flaws) -> Vec<u8> {
    let body = code.map(u16::to_be_bytes);
    encode(true, CLOSE, body.as_ref().map_or(&[][..], |b| &b[..]), flaws)
}

/// `n` unpredictable bytes (std's per-process random hash keys; no extra crate).
pub(crate) fn random_bytes(n: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(n + 8);
    while out.len() < n {
        let mut hasher = RandomState::new().build_hasher();
        hasher.write_usize(out.len());
        out.extend(hasher.finish().to_le_bytes());
    }
    out.truncate(n);
    out
}
