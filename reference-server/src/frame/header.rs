//! The frame header, RFC 6455 §5.2, as a client sends it to a server.
//!
//! [`FrameHeader::parse`] either returns a complete header and its length,
//! returns `Ok(None)` ("need more bytes", nothing consumed), or names the rule
//! the bytes break. Because it never consumes a partial header, delivery byte
//! by byte and many frames per read are handled by the same code.

use super::{MaskingKey, Opcode};
use crate::error::ProtocolError;

/// The three reserved bits RSV1-RSV3, as the low bits of this byte (RSV1 = 0b100).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Rsv(pub u8);

impl Rsv {
    /// No reserved bit: what every frame carries without an extension.
    pub const NONE: Rsv = Rsv(0);
    /// RSV1, the "compressed" bit of permessage-deflate (RFC 7692 §6).
    pub const RSV1: Rsv = Rsv(0b100);

    /// Whether RSV1 is set.
    #[inline]
    pub fn rsv1(self) -> bool {
        self.0 & Rsv::RSV1.0 != 0
    }
}

/// The longest possible header: 2 + 8 (64-bit length) + 4 (masking key).
pub const MAX_HEADER_LEN: usize = 14;

/// A parsed client frame header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    /// FIN: this is the final fragment of a message.
    pub fin: bool,
    /// RSV1-3.
    pub rsv: Rsv,
    /// The frame's opcode.
    pub opcode: Opcode,
    /// The masking key; always present, since an unmasked client frame is an error.
    pub mask: MaskingKey,
    /// The payload length.
    pub payload_len: u64,
}

impl FrameHeader {
    /// Parses a client frame header at the start of `buf`.
    ///
    /// `allowed_rsv` holds the RSV bits a negotiated extension defines (0 without one).
    pub fn parse(buf: &[u8], allowed_rsv: Rsv) -> Result<Option<(FrameHeader, usize)>, ProtocolError> {
        let [b0, b1, rest @ ..] = buf else {
            return Ok(None);
        };
        let fin = b0 & 0x80 != 0;
        let rsv = Rsv((b0 >> 4) & 0x07);
        // RFC 6455 §5.2: RSV bits MUST be 0 unless an extension defines them
        if rsv.0 & !allowed_rsv.0 != 0 {
            return Err(ProtocolError::ReservedBits(rsv.0));
        }
        let opcode = Opcode::from_nibble(*b0)?;
        // RFC 6455 §5.1: a server MUST close the connection on an unmasked client frame
        if b1 & 0x80 == 0 {
            return Err(ProtocolError::UnmaskedFrame);
        }
        let len7 = b1 & 0x7F;
        if opcode.is_control() {
            // RFC 6455 §5.5: control frames MUST NOT be fragmented
            if !fin {
                return Err(ProtocolError::FragmentedControlFrame);
            }
            // RFC 6455 §5.5: control frame payloads are at most 125 bytes
            if len7 > 125 {
                return Err(ProtocolError::ControlFrameTooLong);
            }
        }
        let (payload_len, ext) = match len7 {
            126 => {
                let [a, b, ..] = rest else { return Ok(None) };
                let len = u64::from(u16::from_be_bytes([*a, *b]));
                // RFC 6455 §5.2: the minimal number of bytes MUST be used for the length
                if len < 126 {
                    return Err(ProtocolError::NonMinimalLength(len));
                }
                (len, 2)
            }
            127 => {
                // RFC 6455 §5.2: the most significant bit of a 64-bit length MUST be 0
                if let Some(first) = rest.first() {
                    if first & 0x80 != 0 {
                        return Err(ProtocolError::LengthMsbSet);
                    }
                }
                let Some(bytes) = rest.get(..8) else { return Ok(None) };
                let mut be = [0u8; 8];
                be.copy_from_slice(bytes);
                let len = u64::from_be_bytes(be);
                // RFC 6455 §5.2: the minimal number of bytes MUST be used for the length
                if len <= 0xFFFF {
                    return Err(ProtocolError::NonMinimalLength(len));
                }
                (len, 8)
            }
            n => (u64::from(n), 0),
        };
        let Some(key) = rest.get(ext..ext + 4) else { return Ok(None) };
        let mask = MaskingKey([key[0], key[1], key[2], key[3]]);
        Ok(Some((FrameHeader { fin, rsv, opcode, mask, payload_len }, 2 + ext + 4)))
    }
}

/// Appends the header of a server frame of a compressed message (RSV1 set, RFC 7692 §6.1).
pub fn write_server_header_compressed(out: &mut Vec<u8>, opcode: Opcode, payload_len: usize) {
    let at = out.len();
    write_server_header(out, opcode, payload_len);
    out[at] |= 0x40;
}

/// Appends the header of an unmasked server frame (§5.2) with the minimal length encoding.
#[inline]
pub fn write_server_header(out: &mut Vec<u8>, opcode: Opcode, payload_len: usize) {
    let b0 = 0x80 | opcode.as_nibble();
    if payload_len < 126 {
        out.extend_from_slice(&[b0, payload_len as u8]);
    } else if payload_len <= 0xFFFF {
        let l = (payload_len as u16).to_be_bytes();
        out.extend_from_slice(&[b0, 126, l[0], l[1]]);
    } else {
        out.extend_from_slice(&[b0, 127]);
        out.extend_from_slice(&(payload_len as u64).to_be_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: [u8; 4] = [1, 2, 3, 4];

    fn parse(b: &[u8]) -> Result<Option<(FrameHeader, usize)>, ProtocolError> {
        FrameHeader::parse(b, Rsv(0))
    }

    #[test]
    fn needs_more_bytes_at_every_cut_of_every_length_encoding() {
        let frames: [Vec<u8>; 3] = [
            [&[0x81, 0x85][..], &KEY].concat(),
            [&[0x82, 0xFE, 0x01, 0x00][..], &KEY].concat(),
            [&[0x82, 0xFF, 0, 0, 0, 0, 0, 1, 0, 0][..], &KEY].concat(),
        ];
        for f in &frames {
            for cut in 0..f.len() {
                assert_eq!(parse(&f[..cut]), Ok(None), "{f:02x?} cut {cut}");
            }
            let (h, n) = parse(f).unwrap().unwrap();
            assert_eq!(n, f.len());
            assert_eq!(h.mask, MaskingKey(KEY));
        }
        assert_eq!(parse(&frames[1]).unwrap().unwrap().0.payload_len, 256);
        assert_eq!(parse(&frames[2]).unwrap().unwrap().0.payload_len, 65536);
    }

    #[test]
    fn rejects_each_broken_rule() {
        assert_eq!(parse(&[0x81, 0x05]), Err(ProtocolError::UnmaskedFrame));
        assert_eq!(parse(&[0xC1, 0x80]), Err(ProtocolError::ReservedBits(0b100)));
        assert_eq!(parse(&[0x83, 0x80]), Err(ProtocolError::ReservedOpcode(3)));
        assert_eq!(parse(&[0x8B, 0x80]), Err(ProtocolError::ReservedOpcode(0xB)));
        assert_eq!(parse(&[0x09, 0x80]), Err(ProtocolError::FragmentedControlFrame));
        assert_eq!(parse(&[0x89, 0xFE, 0, 126]), Err(ProtocolError::ControlFrameTooLong));
        assert_eq!(parse(&[0x82, 0xFF, 0x80]), Err(ProtocolError::LengthMsbSet));
        assert_eq!(parse(&[0x82, 0xFE, 0, 125, 1, 2, 3, 4]), Err(ProtocolError::NonMinimalLength(125)));
        assert_eq!(
            parse(&[0x82, 0xFF, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 1, 2, 3, 4]),
            Err(ProtocolError::NonMinimalLength(65535))
        );
    }

    #[test]
    fn allows_rsv_bits_an_extension_negotiated() {
        let f = [0xC1, 0x80, 1, 2, 3, 4];
        assert_eq!(FrameHeader::parse(&f, Rsv(0b100)).unwrap().unwrap().0.rsv, Rsv(0b100));
    }

    #[test]
    fn server_header_uses_minimal_length_encoding() {
        for (len, expect) in [(0usize, 2usize), (125, 2), (126, 4), (65535, 4), (65536, 10)] {
            let mut out = Vec::new();
            write_server_header(&mut out, Opcode::Binary, len);
            assert_eq!(out.len(), expect, "len {len}");
            assert_eq!(out[0], 0x82);
        }
    }
}
