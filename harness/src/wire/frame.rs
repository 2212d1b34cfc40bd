//! A permissive frame builder: puts any frame on the wire, valid or not.
//!
//! [`FrameSpec`] starts from a valid client frame (FIN set, no RSV, masked with
//! a fresh key, minimal length) and lets a case change any field: FIN, RSV,
//! any 4-bit opcode, no mask or a chosen key, a forced (possibly non-minimal)
//! length field, a declared length that differs from the payload. Only what the
//! wire format cannot express is refused, as an [`EncodeError`].

use std::fmt;

use super::close::{encode_close_payload, CloseCode};
use super::header::{EncodeError, FrameHeader, LengthField};
use super::mask::{apply_mask, Mask, MaskingKey};
use super::opcode::Opcode;

/// How to encode the payload length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum LengthEncoding {
    /// The shortest field that holds the declared length (what a valid frame uses).
    #[default]
    Minimal,
    /// Force the 7-bit field (fails for lengths above 125).
    Bits7,
    /// Force the 16-bit field, even for lengths below 126 (fails above 65535).
    Bits16,
    /// Force the 64-bit field, even for lengths below 65536.
    Bits64,
}

impl LengthEncoding {
    /// The field this encoding uses for a declared length.
    pub const fn field_for(self, declared_len: u64) -> LengthField {
        match self {
            LengthEncoding::Minimal => LengthField::minimal_for(declared_len),
            LengthEncoding::Bits7 => LengthField::Bits7,
            LengthEncoding::Bits16 => LengthField::Bits16,
            LengthEncoding::Bits64 => LengthField::Bits64,
        }
    }
}

/// A frame to send, field by field.
#[derive(Clone, PartialEq, Eq)]
pub struct FrameSpec {
    /// FIN bit.
    pub fin: bool,
    /// RSV1-3 as a 3-bit value (RSV1 is `0b100`).
    pub rsv: u8,
    /// Raw 4-bit opcode, reserved values allowed.
    pub opcode: u8,
    /// Masking: none, or a key.
    pub mask: Mask,
    /// Which length field to use.
    pub length: LengthEncoding,
    /// Length to write in the header; `None` writes `payload.len()`.
    pub declared_len: Option<u64>,
    /// Payload bytes, before masking.
    pub payload: Vec<u8>,
}

impl FrameSpec {
    /// A final, masked frame with this raw opcode and payload.
    pub fn new(opcode: u8, payload: impl Into<Vec<u8>>) -> FrameSpec {
        FrameSpec {
            fin: true,
            rsv: 0,
            opcode,
            mask: Mask::Key(MaskingKey::random()),
            length: LengthEncoding::Minimal,
            declared_len: None,
            payload: payload.into(),
        }
    }

    /// A text frame; the payload may be any bytes, including invalid UTF-8.
    pub fn text(payload: impl Into<Vec<u8>>) -> FrameSpec {
        FrameSpec::new(Opcode::Text.as_u8(), payload)
    }

    /// A binary frame.
    pub fn binary(payload: impl Into<Vec<u8>>) -> FrameSpec {
        FrameSpec::new(Opcode::Binary.as_u8(), payload)
    }

    /// A continuation frame.
    pub fn continuation(payload: impl Into<Vec<u8>>) -> FrameSpec {
        FrameSpec::new(Opcode::Continuation.as_u8(), payload)
    }

    /// A ping frame.
    pub fn ping(payload: impl Into<Vec<u8>>) -> FrameSpec {
        FrameSpec::new(Opcode::Ping.as_u8(), payload)
    }

    /// A pong frame.
    pub fn pong(payload: impl Into<Vec<u8>>) -> FrameSpec {
        FrameSpec::new(Opcode::Pong.as_u8(), payload)
    }

    /// A close frame with a status code and a reason (any bytes, including invalid UTF-8).
    pub fn close(code: CloseCode, reason: impl AsRef<[u8]>) -> FrameSpec {
        FrameSpec::new(Opcode::Close.as_u8(), encode_close_payload(code, reason.as_ref()))
    }

    /// A close frame with no body (no status code).
    pub fn close_empty() -> FrameSpec {
        FrameSpec::new(Opcode::Close.as_u8(), Vec::new())
    }

    /// Sets the FIN bit.
    pub fn fin(mut self, fin: bool) -> FrameSpec {
        self.fin = fin;
        self
    }

    /// Sets the RSV bits (3-bit value, RSV1 is `0b100`).
    pub fn rsv(mut self, rsv: u8) -> FrameSpec {
        self.rsv = rsv;
        self
    }

    /// Sets the raw opcode.
    pub fn opcode(mut self, opcode: u8) -> FrameSpec {
        self.opcode = opcode;
        self
    }

    /// Sends the frame unmasked (a client MUST mask: this builds an invalid client frame).
    pub fn unmasked(mut self) -> FrameSpec {
        self.mask = Mask::None;
        self
    }

    /// Masks with this key (e.g. all zeros, or the RFC example key).
    pub fn mask_key(mut self, key: [u8; 4]) -> FrameSpec {
        self.mask = Mask::Key(MaskingKey(key));
        self
    }

    /// Forces a length field.
    pub fn length(mut self, length: LengthEncoding) -> FrameSpec {
        self.length = length;
        self
    }

    /// Declares this payload length in the header, whatever the real payload length.
    pub fn declared_len(mut self, len: u64) -> FrameSpec {
        self.declared_len = Some(len);
        self
    }

    /// Replaces the payload.
    pub fn payload(mut self, payload: impl Into<Vec<u8>>) -> FrameSpec {
        self.payload = payload.into();
        self
    }

    /// The header this spec puts on the wire.
    pub fn header(&self) -> FrameHeader {
        let declared_len = self.declared_len.unwrap_or(self.payload.len() as u64);
        FrameHeader {
            fin: self.fin,
            rsv: self.rsv,
            opcode: self.opcode,
            masking_key: self.mask.key(),
            length_field: self.length.field_for(declared_len),
            declared_len,
        }
    }

    /// The frame's bytes: header, then the (masked) payload.
    ///
    /// Fails only for what the wire cannot express: RSV wider than 3 bits, an
    /// opcode wider than 4 bits, or a declared length the forced field cannot hold.
    pub fn encode(&self) -> Result<Vec<u8>, EncodeError> {
        let header = self.header();
        let mut out = Vec::with_capacity(header.encoded_len() + self.payload.len());
        header.encode_into(&mut out)?;
        let start = out.len();
        out.extend_from_slice(&self.payload);
        if let Some(key) = header.masking_key {
            // RFC 6455 §5.3: the payload of a masked frame is masked with its key
            apply_mask(&mut out[start..], key);
        }
        Ok(out)
    }
}

impl fmt::Debug for FrameSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FrameSpec")
            .field("fin", &self.fin)
            .field("rsv", &format_args!("{:03b}", self.rsv))
            .field("opcode", &format_args!("{:#x} ({})", self.opcode, Opcode::name_of(self.opcode)))
            .field("mask", &self.mask)
            .field("length", &self.length)
            .field("declared_len", &self.declared_len)
            .field("payload", &format_args!("{} bytes", self.payload.len()))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RFC_KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

    fn encode(spec: &FrameSpec) -> Vec<u8> {
        spec.encode().expect("encodable frame")
    }

    #[test]
    fn rfc_single_frame_unmasked_text() {
        // RFC 6455 §5.7
        assert_eq!(encode(&FrameSpec::text("Hello").unmasked()), [0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]);
    }

    #[test]
    fn rfc_single_frame_masked_text() {
        // RFC 6455 §5.7
        assert_eq!(
            encode(&FrameSpec::text("Hello").mask_key(RFC_KEY)),
            [0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58]
        );
    }

    #[test]
    fn rfc_fragmented_unmasked_text() {
        // RFC 6455 §5.7
        assert_eq!(encode(&FrameSpec::text("Hel").fin(false).unmasked()), [0x01, 0x03, 0x48, 0x65, 0x6c]);
        assert_eq!(encode(&FrameSpec::continuation("lo").unmasked()), [0x80, 0x02, 0x6c, 0x6f]);
    }

    #[test]
    fn rfc_unmasked_ping_and_masked_pong() {
        // RFC 6455 §5.7
        assert_eq!(encode(&FrameSpec::ping("Hello").unmasked()), [0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]);
        assert_eq!(
            encode(&FrameSpec::pong("Hello").mask_key(RFC_KEY)),
            [0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58]
        );
    }

    #[test]
    fn rfc_256_byte_binary_uses_16_bit_length() {
        // RFC 6455 §5.7
        let bytes = encode(&FrameSpec::binary(vec![0xAB; 256]).unmasked());
        assert_eq!(&bytes[..4], [0x82, 0x7E, 0x01, 0x00]);
        assert_eq!(bytes.len(), 4 + 256);
    }

    #[test]
    fn rfc_64_kib_binary_uses_64_bit_length() {
        // RFC 6455 §5.7
        let bytes = encode(&FrameSpec::binary(vec![0; 65536]).unmasked());
        assert_eq!(&bytes[..10], [0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0]);
        assert_eq!(bytes.len(), 10 + 65536);
    }

    #[test]
    fn default_frames_are_final_masked_and_minimal() {
        let spec = FrameSpec::binary(vec![1, 2, 3]);
        let bytes = encode(&spec);
        assert_eq!(bytes[0], 0x82);
        assert_eq!(bytes[1], 0x83);
        assert_eq!(bytes.len(), 2 + 4 + 3);
        let Mask::Key(key) = spec.mask else { panic!("default frame is masked") };
        let mut payload = bytes[6..].to_vec();
        key.apply(&mut payload);
        assert_eq!(payload, [1, 2, 3]);
    }

    #[test]
    fn fresh_frames_get_different_keys() {
        assert_ne!(FrameSpec::text("a").mask, FrameSpec::text("a").mask);
    }

    #[test]
    fn forced_non_minimal_lengths_are_encoded() {
        assert_eq!(
            encode(&FrameSpec::text("Hi").unmasked().length(LengthEncoding::Bits16)),
            [0x81, 0x7E, 0, 2, b'H', b'i']
        );
        assert_eq!(
            encode(&FrameSpec::text("Hi").unmasked().length(LengthEncoding::Bits64)),
            [0x81, 0x7F, 0, 0, 0, 0, 0, 0, 0, 2, b'H', b'i']
        );
    }

    #[test]
    fn seven_bit_length_above_125_is_an_error() {
        let spec = FrameSpec::binary(vec![0; 126]).length(LengthEncoding::Bits7);
        assert_eq!(spec.encode(), Err(EncodeError::LengthDoesNotFit { declared: 126, field: LengthField::Bits7 }));
    }

    #[test]
    fn declared_length_may_differ_from_payload() {
        assert_eq!(encode(&FrameSpec::text("Hi").unmasked().declared_len(10)), [0x81, 0x0A, b'H', b'i']);
        assert_eq!(
            encode(&FrameSpec::binary([]).unmasked().declared_len(1 << 63)),
            [0x82, 0x7F, 0x80, 0, 0, 0, 0, 0, 0, 0]
        );
    }

    #[test]
    fn rsv_and_reserved_opcodes_are_encoded() {
        assert_eq!(encode(&FrameSpec::new(0xB, []).rsv(0b101).unmasked()), [0xDB, 0x00]);
        assert_eq!(encode(&FrameSpec::text("").opcode(0x3).fin(false).unmasked()), [0x03, 0x00]);
    }

    #[test]
    fn close_frame_carries_code_and_reason() {
        assert_eq!(
            encode(&FrameSpec::close(CloseCode::NORMAL, "bye").unmasked()),
            [0x88, 0x05, 0x03, 0xE8, b'b', b'y', b'e']
        );
        assert_eq!(encode(&FrameSpec::close_empty().unmasked()), [0x88, 0x00]);
    }

    #[test]
    fn debug_shows_payload_length_not_bytes() {
        let text = format!("{:?}", FrameSpec::binary(vec![7; 1000]));
        assert!(text.contains("1000 bytes"), "{text}");
        assert!(!text.contains("7, 7"), "{text}");
    }
}
