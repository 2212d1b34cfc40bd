//! The frame header, exactly as it is on the wire (RFC 6455 §5.2).
//!
//! [`FrameHeader`] holds every bit of a header, including the ones a valid
//! frame cannot have: any RSV bits, any 4-bit opcode, a key on a server frame,
//! a 16- or 64-bit length field for a length that would fit a shorter one.
//! Parsing it never fails (any bytes are a header) and encoding a parsed header
//! gives back the same bytes.

use std::fmt;

use thiserror::Error;

use super::mask::MaskingKey;
use super::opcode::Opcode;
use super::violation::{Violation, ViolationKind};

/// Largest payload length the 7-bit length field can hold (126 and 127 select the longer fields).
pub const MAX_LEN_7: u64 = 125;
/// Largest payload length of a control frame.
pub const MAX_CONTROL_PAYLOAD: u64 = 125;
/// The RSV1 bit of [`FrameHeader::rsv`] (RSV1 RSV2 RSV3, high to low): permessage-deflate's
/// "Per-Message Compressed" bit (RFC 7692 §6).
pub const RSV1: u8 = 0b100;

/// Which payload length field a header uses (RFC 6455 §5.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LengthField {
    /// The length is in the 7 bits of the second byte (0-125).
    Bits7,
    /// The 7 bits say 126; the length is in the next 2 bytes.
    Bits16,
    /// The 7 bits say 127; the length is in the next 8 bytes.
    Bits64,
}

impl LengthField {
    /// The shortest field that holds `len`: the one a valid frame must use.
    pub const fn minimal_for(len: u64) -> LengthField {
        // RFC 6455 §5.2: the minimal number of bytes MUST be used to encode the length
        if len <= MAX_LEN_7 {
            LengthField::Bits7
        } else if len <= u16::MAX as u64 {
            LengthField::Bits16
        } else {
            LengthField::Bits64
        }
    }

    /// Whether this field can express `len` at all.
    pub const fn can_hold(self, len: u64) -> bool {
        match self {
            LengthField::Bits7 => len <= MAX_LEN_7,
            LengthField::Bits16 => len <= u16::MAX as u64,
            LengthField::Bits64 => true,
        }
    }

    /// Bytes the field adds after the first two header bytes (0, 2 or 8).
    pub const fn extension_len(self) -> usize {
        match self {
            LengthField::Bits7 => 0,
            LengthField::Bits16 => 2,
            LengthField::Bits64 => 8,
        }
    }
}

impl fmt::Display for LengthField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LengthField::Bits7 => "7-bit",
            LengthField::Bits16 => "16-bit",
            LengthField::Bits64 => "64-bit",
        })
    }
}

/// A header that cannot be put on the wire as asked.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// RSV is three bits; the value has a higher bit set.
    #[error("rsv value {0:#b} does not fit in three bits")]
    RsvTooWide(u8),
    /// The opcode is four bits; the value has a higher bit set.
    #[error("opcode {0:#x} does not fit in four bits")]
    OpcodeTooWide(u8),
    /// The chosen length field cannot express the declared length.
    #[error("declared length {declared} does not fit in the {field} length field")]
    LengthDoesNotFit {
        /// The length to declare.
        declared: u64,
        /// The field that was forced.
        field: LengthField,
    },
}

/// The endpoint that sent a frame: the rules differ in masking (RFC 6455 §5.1).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Endpoint {
    /// A client: it masks every frame.
    Client,
    /// A server: it masks none.
    #[default]
    Server,
}

impl Endpoint {
    /// The endpoint at the other end of the connection.
    pub fn other(self) -> Endpoint {
        match self {
            Endpoint::Client => Endpoint::Server,
            Endpoint::Server => Endpoint::Client,
        }
    }

    /// `client` or `server`, as reports and reasons spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Endpoint::Client => "client",
            Endpoint::Server => "server",
        }
    }
}

/// Every field of a frame header, valid or not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FrameHeader {
    /// FIN bit: this is the final fragment of a message.
    pub fin: bool,
    /// RSV1, RSV2, RSV3 as a 3-bit value (RSV1 is `0b100`).
    pub rsv: u8,
    /// Raw 4-bit opcode, reserved values included.
    pub opcode: u8,
    /// The masking key, present exactly when the MASK bit is set.
    pub masking_key: Option<MaskingKey>,
    /// Which length field carries the payload length.
    pub length_field: LengthField,
    /// The payload length the header declares.
    pub declared_len: u64,
}

impl FrameHeader {
    /// Longest possible header: 2 bytes, 8 of extended length, 4 of key.
    pub const MAX_LEN: usize = 14;

    /// Parses a header from the start of `buf`.
    ///
    /// Returns the header and its length in bytes, or `None` when `buf` does not
    /// hold the whole header yet: nothing is consumed, call again with more bytes.
    pub fn parse(buf: &[u8]) -> Option<(FrameHeader, usize)> {
        let (&b0, &b1) = (buf.first()?, buf.get(1)?);
        let fin = b0 & 0x80 != 0;
        let rsv = (b0 >> 4) & 0x07;
        let opcode = b0 & 0x0F;
        let masked = b1 & 0x80 != 0;
        let len7 = b1 & 0x7F;
        // RFC 6455 §5.2: 126 selects a 16-bit length, 127 a 64-bit length
        let length_field = match len7 {
            126 => LengthField::Bits16,
            127 => LengthField::Bits64,
            _ => LengthField::Bits7,
        };
        let mut pos = 2;
        let declared_len = match length_field {
            LengthField::Bits7 => u64::from(len7),
            LengthField::Bits16 => {
                let bytes: [u8; 2] = buf.get(pos..pos + 2)?.try_into().ok()?;
                pos += 2;
                u64::from(u16::from_be_bytes(bytes))
            }
            LengthField::Bits64 => {
                let bytes: [u8; 8] = buf.get(pos..pos + 8)?.try_into().ok()?;
                pos += 8;
                u64::from_be_bytes(bytes)
            }
        };
        let masking_key = if masked {
            let key: [u8; 4] = buf.get(pos..pos + 4)?.try_into().ok()?;
            pos += 4;
            Some(MaskingKey(key))
        } else {
            None
        };
        Some((FrameHeader { fin, rsv, opcode, masking_key, length_field, declared_len }, pos))
    }

    /// Appends the header's bytes to `out`.
    pub fn encode_into(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        if self.rsv > 0b111 {
            return Err(EncodeError::RsvTooWide(self.rsv));
        }
        if self.opcode > 0xF {
            return Err(EncodeError::OpcodeTooWide(self.opcode));
        }
        if !self.length_field.can_hold(self.declared_len) {
            return Err(EncodeError::LengthDoesNotFit { declared: self.declared_len, field: self.length_field });
        }
        out.push(u8::from(self.fin) << 7 | self.rsv << 4 | self.opcode);
        let mask_bit = if self.masking_key.is_some() { 0x80 } else { 0 };
        match self.length_field {
            LengthField::Bits7 => out.push(mask_bit | self.declared_len as u8),
            LengthField::Bits16 => {
                out.push(mask_bit | 126);
                out.extend_from_slice(&(self.declared_len as u16).to_be_bytes());
            }
            LengthField::Bits64 => {
                out.push(mask_bit | 127);
                out.extend_from_slice(&self.declared_len.to_be_bytes());
            }
        }
        if let Some(key) = self.masking_key {
            out.extend_from_slice(&key.0);
        }
        Ok(())
    }

    /// The header's bytes.
    pub fn encode(&self) -> Result<Vec<u8>, EncodeError> {
        let mut out = Vec::with_capacity(self.encoded_len());
        self.encode_into(&mut out)?;
        Ok(out)
    }

    /// How many bytes the header takes on the wire.
    pub const fn encoded_len(&self) -> usize {
        2 + self.length_field.extension_len() + if self.masking_key.is_some() { 4 } else { 0 }
    }

    /// Whether the MASK bit is set.
    pub const fn masked(&self) -> bool {
        self.masking_key.is_some()
    }

    /// The opcode, if it is one of the six defined ones.
    pub const fn defined_opcode(&self) -> Option<Opcode> {
        Opcode::from_u8(self.opcode)
    }

    /// Whether the opcode is in the control range (defined or reserved).
    pub const fn is_control(&self) -> bool {
        Opcode::is_control_raw(self.opcode)
    }

    /// RSV1 bit.
    pub const fn rsv1(&self) -> bool {
        self.rsv & 0b100 != 0
    }

    /// RSV2 bit.
    pub const fn rsv2(&self) -> bool {
        self.rsv & 0b010 != 0
    }

    /// RSV3 bit.
    pub const fn rsv3(&self) -> bool {
        self.rsv & 0b001 != 0
    }

    /// The rules this header breaks when a server sends it.
    ///
    /// `allowed_rsv` holds the RSV bits that negotiated extensions define
    /// (`0` when none was negotiated; `0b100` for permessage-deflate's RSV1).
    pub fn server_violations(&self, allowed_rsv: u8) -> Vec<Violation> {
        self.violations(Endpoint::Server, allowed_rsv)
    }

    /// The rules this header breaks when `sender` sends it (`allowed_rsv` as for
    /// [`FrameHeader::server_violations`]). Whether a client's key is fresh is judged over
    /// its frames, by [`crate::wire::KeyFreshness`].
    pub fn violations(&self, sender: Endpoint, allowed_rsv: u8) -> Vec<Violation> {
        let mut found = Vec::new();
        match (sender, self.masking_key) {
            // RFC 6455 §5.1: a server MUST NOT mask any frames that it sends
            (Endpoint::Server, Some(key)) => {
                found.push(Violation::new(ViolationKind::MaskedServerFrame, format!("frame is masked with key {key}")))
            }
            // RFC 6455 §5.1: a client MUST mask all frames that it sends
            (Endpoint::Client, None) => found.push(Violation::new(
                ViolationKind::UnmaskedClientFrame,
                format!("{} frame without a masking key", Opcode::name_of(self.opcode)),
            )),
            _ => {}
        }
        if self.defined_opcode().is_none() {
            // RFC 6455 §5.2: opcodes 0x3-0x7 and 0xB-0xF are reserved
            found.push(Violation::new(
                ViolationKind::ReservedOpcode,
                format!("opcode {:#x} ({})", self.opcode, Opcode::name_of(self.opcode)),
            ));
        }
        if self.rsv & !allowed_rsv != 0 {
            // RFC 6455 §5.2: RSV bits MUST be 0 unless an extension defines them
            found.push(Violation::new(
                ViolationKind::ReservedBitsSet,
                format!("rsv bits {:03b} set, negotiated extensions allow {:03b}", self.rsv, allowed_rsv & 0b111),
            ));
        }
        if self.is_control() && !self.fin {
            // RFC 6455 §5.5: control frames MUST NOT be fragmented
            found.push(Violation::new(
                ViolationKind::FragmentedControlFrame,
                format!("{} frame with FIN clear", Opcode::name_of(self.opcode)),
            ));
        }
        if self.is_control() && self.declared_len > MAX_CONTROL_PAYLOAD {
            // RFC 6455 §5.5: control frame payloads are 125 bytes or less
            found.push(Violation::new(
                ViolationKind::ControlFrameTooLong,
                format!("{} frame declares {} payload bytes", Opcode::name_of(self.opcode), self.declared_len),
            ));
        }
        let minimal = LengthField::minimal_for(self.declared_len);
        if self.length_field != minimal {
            // RFC 6455 §5.2: the minimal number of bytes MUST be used to encode the length
            found.push(Violation::new(
                ViolationKind::NonMinimalLength,
                format!(
                    "length {} in the {} field instead of the {} field",
                    self.declared_len, self.length_field, minimal
                ),
            ));
        }
        if self.length_field == LengthField::Bits64 && self.declared_len >> 63 != 0 {
            // RFC 6455 §5.2: the most significant bit of a 64-bit length MUST be 0
            found.push(Violation::new(
                ViolationKind::LengthHighBitSet,
                format!("64-bit length {:#018x} has its most significant bit set", self.declared_len),
            ));
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(bytes: &[u8]) -> FrameHeader {
        let (h, len) = FrameHeader::parse(bytes).expect("complete header");
        assert_eq!(len, bytes.len());
        h
    }

    fn kinds(h: &FrameHeader) -> Vec<ViolationKind> {
        h.server_violations(0).into_iter().map(|v| v.kind).collect()
    }

    #[test]
    fn parses_rfc_unmasked_hello_header() {
        // RFC 6455 §5.7: 0x81 0x05
        let h = header(&[0x81, 0x05]);
        assert!(h.fin);
        assert_eq!((h.rsv, h.opcode, h.declared_len, h.masking_key), (0, 1, 5, None));
        assert_eq!(h.length_field, LengthField::Bits7);
    }

    #[test]
    fn parses_masked_header_with_key() {
        let h = header(&[0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d]);
        assert_eq!(h.masking_key, Some(MaskingKey([0x37, 0xfa, 0x21, 0x3d])));
        assert_eq!(h.declared_len, 5);
    }

    #[test]
    fn parses_16_and_64_bit_lengths() {
        // RFC 6455 §5.7: 256 bytes and 64 KiB binary messages
        let h = header(&[0x82, 0x7E, 0x01, 0x00]);
        assert_eq!((h.length_field, h.declared_len), (LengthField::Bits16, 256));
        let h = header(&[0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0]);
        assert_eq!((h.length_field, h.declared_len), (LengthField::Bits64, 65536));
    }

    #[test]
    fn parse_asks_for_more_until_the_header_is_complete() {
        let full = [0x82, 0xFF, 0, 0, 0, 0, 0, 1, 0, 0, 1, 2, 3, 4];
        for cut in 0..full.len() {
            assert_eq!(FrameHeader::parse(&full[..cut]), None, "cut at {cut}");
        }
        assert_eq!(FrameHeader::parse(&full).map(|(_, n)| n), Some(14));
    }

    #[test]
    fn parse_ignores_bytes_after_the_header() {
        let (h, len) = FrameHeader::parse(&[0x89, 0x00, 0xAA, 0xBB]).expect("complete header");
        assert_eq!((h.opcode, len), (0x9, 2));
    }

    #[test]
    fn encode_reproduces_parsed_bytes() {
        for bytes in
            [&[0x81u8, 0x05][..], &[0xF3, 0x7E, 0x00, 0x05], &[0x02, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 0, 9, 8, 7, 6]]
        {
            assert_eq!(header(bytes).encode().expect("encodable"), bytes);
        }
    }

    #[test]
    fn encode_rejects_length_too_long_for_forced_field() {
        let mut h = header(&[0x82, 0x05]);
        h.declared_len = 126;
        assert_eq!(h.encode(), Err(EncodeError::LengthDoesNotFit { declared: 126, field: LengthField::Bits7 }));
        h.length_field = LengthField::Bits16;
        h.declared_len = 65536;
        assert!(matches!(h.encode(), Err(EncodeError::LengthDoesNotFit { .. })));
    }

    #[test]
    fn encode_rejects_rsv_and_opcode_wider_than_their_fields() {
        let h = header(&[0x82, 0x00]);
        assert_eq!(FrameHeader { rsv: 8, ..h }.encode(), Err(EncodeError::RsvTooWide(8)));
        assert_eq!(FrameHeader { opcode: 16, ..h }.encode(), Err(EncodeError::OpcodeTooWide(16)));
    }

    #[test]
    fn minimal_field_follows_the_length() {
        assert_eq!(LengthField::minimal_for(125), LengthField::Bits7);
        assert_eq!(LengthField::minimal_for(126), LengthField::Bits16);
        assert_eq!(LengthField::minimal_for(65535), LengthField::Bits16);
        assert_eq!(LengthField::minimal_for(65536), LengthField::Bits64);
    }

    #[test]
    fn valid_server_header_has_no_violations() {
        assert!(kinds(&header(&[0x81, 0x05])).is_empty());
        assert!(kinds(&header(&[0x82, 0x7E, 0x01, 0x00])).is_empty());
        assert!(kinds(&header(&[0x8A, 0x7D])).is_empty());
    }

    #[test]
    fn masked_server_header_is_a_violation() {
        assert_eq!(kinds(&header(&[0x81, 0x85, 1, 2, 3, 4])), [ViolationKind::MaskedServerFrame]);
    }

    #[test]
    fn reserved_opcodes_are_violations() {
        assert_eq!(kinds(&header(&[0x83, 0x00])), [ViolationKind::ReservedOpcode]);
        assert_eq!(kinds(&header(&[0x8F, 0x00])), [ViolationKind::ReservedOpcode]);
    }

    #[test]
    fn rsv_bits_are_violations_unless_allowed() {
        let h = header(&[0xC1, 0x00]);
        assert_eq!(kinds(&h), [ViolationKind::ReservedBitsSet]);
        assert!(h.server_violations(0b100).is_empty());
        assert_eq!(header(&[0xE1, 0x00]).server_violations(0b100).len(), 1);
    }

    #[test]
    fn fragmented_and_long_control_frames_are_violations() {
        assert_eq!(kinds(&header(&[0x09, 0x00])), [ViolationKind::FragmentedControlFrame]);
        assert_eq!(kinds(&header(&[0x89, 0x7E, 0x00, 0x7E])), [ViolationKind::ControlFrameTooLong]);
    }

    #[test]
    fn non_minimal_lengths_are_violations() {
        assert_eq!(kinds(&header(&[0x82, 0x7E, 0x00, 0x05])), [ViolationKind::NonMinimalLength]);
        assert_eq!(kinds(&header(&[0x82, 0x7F, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF])), [ViolationKind::NonMinimalLength]);
    }

    #[test]
    fn length_with_high_bit_set_is_a_violation() {
        assert_eq!(kinds(&header(&[0x82, 0x7F, 0x80, 0, 0, 0, 0, 0, 0, 0])), [ViolationKind::LengthHighBitSet]);
    }
    #[test]
    fn masking_rules_depend_on_who_sent_the_frame() {
        let masked = header(&[0x81, 0x80, 1, 2, 3, 4]);
        let unmasked = header(&[0x81, 0x00]);
        let kinds = |h: &FrameHeader, sender| h.violations(sender, 0).into_iter().map(|v| v.kind).collect::<Vec<_>>();
        assert_eq!(kinds(&masked, Endpoint::Client), []);
        assert_eq!(kinds(&unmasked, Endpoint::Server), []);
        assert_eq!(kinds(&masked, Endpoint::Server), [ViolationKind::MaskedServerFrame]);
        // RFC 6455 §5.1: a client MUST mask all frames, control frames too
        assert_eq!(kinds(&unmasked, Endpoint::Client), [ViolationKind::UnmaskedClientFrame]);
        let ping = header(&[0x89, 0x00]);
        let v = ping.violations(Endpoint::Client, 0);
        assert_eq!(v[0].observed, "ping frame without a masking key");
        // the other rules hold for both
        let reserved = header(&[0x83, 0x80, 1, 2, 3, 4]);
        assert_eq!(kinds(&reserved, Endpoint::Client), [ViolationKind::ReservedOpcode]);
    }
}
