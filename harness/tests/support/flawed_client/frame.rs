//! Server frame headers in, client frames out (RFC 6455 §5.2, §5.3), and the randomness the client draws.
//!
//! [`parse_header`] reads any header exactly (judging it is `conn`'s job) and answers `None`, consuming nothing,
//! until the header is complete. [`Masker`] picks each frame's masking key: a fresh one from [`Entropy`] unless a
//! masking flaw is on; [`Masker::encode`] writes a client frame with it.

use std::fs::File;
use std::io::{BufReader, Read};

use super::{Flaw, Flaws};

pub(crate) const CONTINUATION: u8 = 0x0;
pub(crate) const TEXT: u8 = 0x1;
pub(crate) const BINARY: u8 = 0x2;
pub(crate) const CLOSE: u8 = 0x8;
pub(crate) const PING: u8 = 0x9;
pub(crate) const PONG: u8 = 0xA;

/// Whether an opcode is one RFC 6455 defines.
pub(crate) fn defined(opcode: u8) -> bool {
    matches!(opcode, CONTINUATION | TEXT | BINARY | CLOSE | PING | PONG)
}

/// Whether an opcode is a control opcode (its high bit set; RFC 6455 §5.5).
pub(crate) fn control(opcode: u8) -> bool {
    opcode & 0x8 != 0
}

/// A server frame header, as read.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Header {
    pub fin: bool,
    /// RSV1-3 as a 3-bit value.
    pub rsv: u8,
    /// Raw 4-bit opcode.
    pub opcode: u8,
    pub key: Option<[u8; 4]>,
    /// The length exactly as the field says (most significant bit included).
    pub len: u64,
    /// Bytes the header takes.
    pub header_len: usize,
}

/// The header at the start of `buf`, or `None` until it is complete (nothing is consumed either way).
pub(crate) fn parse_header(buf: &[u8]) -> Option<Header> {
    let (&b0, &b1) = (buf.first()?, buf.get(1)?);
    let ext_len = match b1 & 0x7F {
        126 => 2,
        127 => 8,
        _ => 0,
    };
    let ext = buf.get(2..2 + ext_len)?;
    // RFC 6455 §5.2: a non-minimal length is allowed to a reader; the bytes are read as they say
    let len = match ext_len {
        0 => u64::from(b1 & 0x7F),
        _ => ext.iter().fold(0u64, |len, &byte| len << 8 | u64::from(byte)),
    };
    let mut header_len = 2 + ext_len;
    let key = if b1 & 0x80 != 0 {
        let key: [u8; 4] = buf.get(header_len..header_len + 4)?.try_into().ok()?;
        header_len += 4;
        Some(key)
    } else {
        None
    };
    Some(Header { fin: b0 & 0x80 != 0, rsv: (b0 >> 4) & 0x07, opcode: b0 & 0x0F, key, len, header_len })
}

/// XORs `data`, the payload bytes from `offset` on of a frame masked with `key` (RFC 6455 §5.3).
pub(crate) fn apply_mask(data: &mut [u8], key: [u8; 4], offset: usize) {
    for (i, byte) in data.iter_mut().enumerate() {
        *byte ^= key[(offset + i) % 4];
    }
}

/// The operating system's randomness, read through a buffer (RFC 6455 §5.3 and §4.1: unpredictable masking keys
/// and nonces, "derived from a strong source of entropy").
#[derive(Debug)]
pub(crate) struct Entropy(BufReader<File>);

impl Entropy {
    pub fn open() -> std::io::Result<Entropy> {
        Ok(Entropy(BufReader::with_capacity(4096, File::open("/dev/urandom")?)))
    }

    /// `N` fresh random bytes. `/dev/urandom` does not fail once open; if it ever did, the bytes would stay
    /// zero, which a judge of keys sees.
    pub fn bytes<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0u8; N];
        let _ = self.0.read_exact(&mut out);
        out
    }
}

/// How the client masks its frames, from its flaws.
#[derive(Debug)]
pub(crate) enum Masker {
    /// A fresh random key for every frame (RFC 6455 §5.3).
    Fresh(Entropy),
    /// [`Flaw::UnmaskedFrames`].
    Unmasked,
    /// [`Flaw::ZeroMaskKey`], or [`Flaw::RepeatedMaskKey`]'s one key.
    Fixed([u8; 4]),
}

impl Masker {
    pub fn new(flaws: &Flaws, mut entropy: Entropy) -> Masker {
        if flaws.has(Flaw::UnmaskedFrames) {
            Masker::Unmasked
        } else if flaws.has(Flaw::ZeroMaskKey) {
            Masker::Fixed([0; 4])
        } else if flaws.has(Flaw::RepeatedMaskKey) {
            Masker::Fixed(entropy.bytes())
        } else {
            Masker::Fresh(entropy)
        }
    }

    fn key(&mut self) -> Option<[u8; 4]> {
        match self {
            Masker::Fresh(entropy) => Some(entropy.bytes()),
            Masker::Unmasked => None,
            Masker::Fixed(key) => Some(*key),
        }
    }

    /// A whole client frame: FIN set, no RSV, minimal length, masked with the next key.
    pub fn encode(&mut self, opcode: u8, payload: &[u8]) -> Vec<u8> {
        self.encode_rsv(opcode, 0, payload)
    }

    /// [`Masker::encode`] with these RSV bits (RSV1 = 0b100: a compressed message, RFC 7692 §6).
    pub fn encode_rsv(&mut self, opcode: u8, rsv: u8, payload: &[u8]) -> Vec<u8> {
        let key = self.key();
        let mask_bit = if key.is_some() { 0x80 } else { 0 };
        let mut out = Vec::with_capacity(payload.len() + 14);
        out.push(0x80 | (rsv & 0x7) << 4 | opcode);
        let len = payload.len();
        if len <= 125 {
            out.push(mask_bit | len as u8);
        } else if let Ok(len) = u16::try_from(len) {
            out.push(mask_bit | 126);
            out.extend(len.to_be_bytes());
        } else {
            out.push(mask_bit | 127);
            out.extend((len as u64).to_be_bytes());
        }
        let start = out.len() + key.map_or(0, |k| k.len());
        out.extend(key.into_iter().flatten());
        out.extend_from_slice(payload);
        if let Some(key) = key {
            apply_mask(&mut out[start..], key, 0);
        }
        out
    }

    /// A close frame with this code (`None`: an empty body) and these RSV bits (0 unless a flaw sets them).
    pub fn close(&mut self, code: Option<u16>, rsv: u8) -> Vec<u8> {
        let body = code.map(u16::to_be_bytes);
        self.encode_rsv(CLOSE, rsv, body.as_ref().map_or(&[][..], |b| &b[..]))
    }
}
