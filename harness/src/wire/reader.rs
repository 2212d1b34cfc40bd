//! An exact, sans-IO reader of the frames a server sends.
//!
//! [`FrameReader`] is fed bytes as they arrive ([`FrameReader::push`]) and
//! hands back each complete frame exactly as sent ([`FrameReader::next_frame`]).
//! It rejects nothing: a masked server frame, a reserved opcode, a non-minimal
//! length are all returned, and [`ObservedFrame::violations`] lists the rules
//! they break. Until a whole frame is buffered it answers "need more" and
//! consumes nothing, so any segmentation of the same bytes gives the same frames.
//!
//! The one thing it refuses is to buffer a payload longer than its limit
//! ([`FrameReader::with_max_payload`], [`DEFAULT_MAX_PAYLOAD`] by default): as
//! soon as such a header is complete it fails with
//! [`ReadError::PayloadTooLarge`], which carries the header (so it can still be
//! logged and judged), drops its buffer and ignores further input. A hostile
//! server therefore cannot make it allocate more than the limit plus what the
//! caller pushes between two calls to `next_frame`.

use std::fmt;

use thiserror::Error;

use super::close::ClosePayload;
use super::header::FrameHeader;
use super::mask::apply_mask;
use super::opcode::Opcode;
use super::violation::Violation;

/// Default largest payload the reader buffers: 64 MiB.
pub const DEFAULT_MAX_PAYLOAD: u64 = 64 * 1024 * 1024;

/// Buffer capacity kept once the buffer is empty; a larger one (left by a large frame) is freed.
const KEEP_CAPACITY: usize = 256 * 1024;

/// The stream cannot be read further.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ReadError {
    /// A header declares a payload longer than the reader's limit.
    #[error("frame declares a payload of {declared} bytes, over the {limit}-byte limit")]
    PayloadTooLarge {
        /// The length the header declares.
        declared: u64,
        /// The reader's limit.
        limit: u64,
        /// The header, complete and exact.
        header: FrameHeader,
    },
}

/// One frame as a server sent it.
#[derive(Clone, PartialEq, Eq)]
pub struct ObservedFrame {
    /// The header, every field as sent.
    pub header: FrameHeader,
    /// The header's bytes as received (2 to 14 bytes).
    pub raw_header: Vec<u8>,
    /// The payload, unmasked if the frame was masked; `header.declared_len` bytes.
    pub payload: Vec<u8>,
}

impl ObservedFrame {
    /// FIN bit.
    pub fn fin(&self) -> bool {
        self.header.fin
    }

    /// RSV bits as a 3-bit value.
    pub fn rsv(&self) -> u8 {
        self.header.rsv
    }

    /// Raw 4-bit opcode.
    pub fn opcode(&self) -> u8 {
        self.header.opcode
    }

    /// Whether the frame was masked (which a server MUST NOT do).
    pub fn masked(&self) -> bool {
        self.header.masked()
    }

    /// The body of a close frame, split into code and reason; `None` for other opcodes.
    pub fn close_payload(&self) -> Option<ClosePayload<'_>> {
        (self.header.opcode == Opcode::Close.as_u8()).then(|| ClosePayload::parse(&self.payload))
    }

    /// The rules this frame breaks when a server sends it, no extension negotiated.
    pub fn violations(&self) -> Vec<Violation> {
        self.violations_allowing_rsv(0)
    }

    /// The rules this frame breaks when a server sends it, with the RSV bits
    /// that negotiated extensions define (e.g. `0b100` for permessage-deflate).
    pub fn violations_allowing_rsv(&self, allowed_rsv: u8) -> Vec<Violation> {
        let mut found = self.header.server_violations(allowed_rsv);
        if let Some(close) = self.close_payload() {
            found.extend(close.violations());
        }
        found
    }

    /// How many bytes the frame took on the wire.
    pub fn wire_len(&self) -> usize {
        self.raw_header.len() + self.payload.len()
    }

    /// The frame's bytes exactly as received (payload masked again if it was masked).
    pub fn wire_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.wire_len());
        out.extend_from_slice(&self.raw_header);
        out.extend_from_slice(&self.payload);
        if let Some(key) = self.header.masking_key {
            apply_mask(&mut out[self.raw_header.len()..], key);
        }
        out
    }
}

impl fmt::Debug for ObservedFrame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ObservedFrame")
            .field("header", &self.header)
            .field("raw_header", &format_args!("{:02x?}", self.raw_header))
            .field("payload", &format_args!("{} bytes", self.payload.len()))
            .finish()
    }
}

/// Splits a byte stream from a server into frames, exactly as sent.
#[derive(Debug, Clone)]
pub struct FrameReader {
    buf: Vec<u8>,
    /// Bytes of `buf` before this offset belong to frames already returned.
    start: usize,
    max_payload: u64,
    failed: Option<ReadError>,
}

impl Default for FrameReader {
    fn default() -> Self {
        FrameReader::new()
    }
}

impl FrameReader {
    /// A reader with the default payload limit ([`DEFAULT_MAX_PAYLOAD`]).
    pub fn new() -> FrameReader {
        FrameReader::with_max_payload(DEFAULT_MAX_PAYLOAD)
    }

    /// A reader that fails on any frame declaring more than `max_payload` bytes.
    pub fn with_max_payload(max_payload: u64) -> FrameReader {
        FrameReader { buf: Vec::new(), start: 0, max_payload, failed: None }
    }

    /// Appends bytes received from the server. Ignored once the reader has failed.
    pub fn push(&mut self, bytes: &[u8]) {
        if self.failed.is_some() {
            return;
        }
        if self.start > 0 {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        // a large frame in progress gets exactly its room, not the doubling of a growing buffer
        if let Some((header, header_len)) = FrameHeader::parse(&self.buf) {
            let whole = usize::try_from(header.declared_len).ok().filter(|_| header.declared_len <= self.max_payload);
            if let Some(need) = whole.and_then(|len| len.checked_add(header_len)) {
                if need > self.buf.len() + bytes.len() && need > self.buf.capacity() {
                    self.buf.reserve_exact(need - self.buf.len());
                }
            }
        }
        self.buf.extend_from_slice(bytes);
    }

    /// The next complete frame, `Ok(None)` if more bytes are needed, or the
    /// error that stopped the reader (returned again on every later call).
    pub fn next_frame(&mut self) -> Result<Option<ObservedFrame>, ReadError> {
        if let Some(err) = &self.failed {
            return Err(err.clone());
        }
        let pending = &self.buf[self.start..];
        let Some((header, header_len)) = FrameHeader::parse(pending) else {
            return Ok(None);
        };
        let within_limit =
            usize::try_from(header.declared_len).ok().filter(|_| header.declared_len <= self.max_payload);
        let frame_len = match within_limit.and_then(|len| len.checked_add(header_len)) {
            Some(frame_len) => frame_len,
            None => {
                let err = ReadError::PayloadTooLarge { declared: header.declared_len, limit: self.max_payload, header };
                self.failed = Some(err.clone());
                self.buf = Vec::new();
                self.start = 0;
                return Err(err);
            }
        };
        let Some(frame) = pending.get(header_len..frame_len).map(|body| {
            let mut payload = body.to_vec();
            if let Some(key) = header.masking_key {
                // RFC 6455 §5.3: unmask with the frame's key (the frame is still reported as masked)
                apply_mask(&mut payload, key);
            }
            ObservedFrame { header, raw_header: pending[..header_len].to_vec(), payload }
        }) else {
            return Ok(None);
        };
        self.start += frame_len;
        if self.start == self.buf.len() {
            self.start = 0;
            if self.buf.capacity() > KEEP_CAPACITY {
                // a large frame is gone: do not hold its room for the rest of the connection
                self.buf = Vec::new();
            } else {
                self.buf.clear();
            }
        }
        Ok(Some(frame))
    }

    /// Bytes received but not yet returned as part of a frame.
    pub fn buffered(&self) -> &[u8] {
        &self.buf[self.start..]
    }

    /// The header of the frame in progress, once its header is complete; lets a
    /// caller describe a frame the connection closed in the middle of.
    pub fn pending_header(&self) -> Option<FrameHeader> {
        FrameHeader::parse(self.buffered()).map(|(header, _)| header)
    }

    /// Whether the reader has failed and ignores further input.
    pub fn is_failed(&self) -> bool {
        self.failed.is_some()
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::wire::close::CloseCode;
    use crate::wire::frame::{FrameSpec, LengthEncoding};
    use crate::wire::header::LengthField;
    use crate::wire::mask::Mask;
    use crate::wire::violation::ViolationKind;

    fn read_all(reader: &mut FrameReader) -> Vec<ObservedFrame> {
        let mut frames = Vec::new();
        while let Some(frame) = reader.next_frame().expect("readable stream") {
            frames.push(frame);
        }
        frames
    }

    fn read_whole(bytes: &[u8]) -> Vec<ObservedFrame> {
        let mut reader = FrameReader::new();
        reader.push(bytes);
        read_all(&mut reader)
    }

    fn read_byte_by_byte(bytes: &[u8]) -> Vec<ObservedFrame> {
        let mut reader = FrameReader::new();
        let mut frames = Vec::new();
        for b in bytes {
            reader.push(std::slice::from_ref(b));
            frames.extend(read_all(&mut reader));
        }
        frames
    }

    fn kinds(frame: &ObservedFrame) -> Vec<ViolationKind> {
        frame.violations().into_iter().map(|v| v.kind).collect()
    }

    #[test]
    fn reads_rfc_unmasked_hello() {
        let frames = read_whole(&[0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]);
        assert_eq!(frames.len(), 1);
        let f = &frames[0];
        assert!(f.fin() && !f.masked());
        assert_eq!((f.opcode(), f.payload.as_slice()), (0x1, &b"Hello"[..]));
        assert_eq!(f.raw_header, [0x81, 0x05]);
        assert!(f.violations().is_empty());
    }

    #[test]
    fn reads_and_unmasks_rfc_masked_hello_and_flags_it() {
        let bytes = [0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58];
        let frames = read_whole(&bytes);
        assert_eq!(frames[0].payload, b"Hello");
        assert_eq!(frames[0].wire_bytes(), bytes);
        assert_eq!(kinds(&frames[0]), [ViolationKind::MaskedServerFrame]);
    }

    #[test]
    fn reads_rfc_fragments_and_ping() {
        let bytes = [0x01, 0x03, 0x48, 0x65, 0x6c, 0x89, 0x00, 0x80, 0x02, 0x6c, 0x6f];
        let frames = read_whole(&bytes);
        let summary: Vec<(bool, u8, &[u8])> = frames.iter().map(|f| (f.fin(), f.opcode(), &f.payload[..])).collect();
        assert_eq!(summary, [(false, 0x1, &b"Hel"[..]), (true, 0x9, &b""[..]), (true, 0x0, &b"lo"[..])]);
    }

    #[test]
    fn byte_by_byte_delivery_equals_whole_delivery() {
        let mut bytes = Vec::new();
        for spec in [
            FrameSpec::text("Hello").unmasked(),
            FrameSpec::binary(vec![9; 300]).mask_key([1, 2, 3, 4]),
            FrameSpec::ping("").unmasked(),
            FrameSpec::binary(vec![5; 70_000]).unmasked(),
            FrameSpec::close(CloseCode::NORMAL, "bye").unmasked().length(LengthEncoding::Bits64),
        ] {
            bytes.extend(spec.encode().expect("encodable"));
        }
        let whole = read_whole(&bytes);
        assert_eq!(whole.len(), 5);
        assert_eq!(read_byte_by_byte(&bytes), whole);
    }

    #[test]
    fn incomplete_frame_consumes_nothing() {
        let mut reader = FrameReader::new();
        reader.push(&[0x82, 0x7E, 0x01]);
        assert_eq!(reader.next_frame(), Ok(None));
        assert_eq!(reader.pending_header(), None);
        reader.push(&[0x00, 0xAA]);
        assert_eq!(reader.next_frame(), Ok(None));
        assert_eq!(reader.pending_header().map(|h| h.declared_len), Some(256));
        assert_eq!(reader.buffered(), [0x82, 0x7E, 0x01, 0x00, 0xAA]);
    }

    #[test]
    fn bytes_after_a_frame_stay_buffered() {
        let mut reader = FrameReader::new();
        reader.push(&[0x8A, 0x00, 0x81]);
        assert_eq!(reader.next_frame().expect("readable").map(|f| f.opcode()), Some(0xA));
        assert_eq!(reader.next_frame(), Ok(None));
        assert_eq!(reader.buffered(), [0x81]);
    }

    #[test]
    fn oversized_declared_length_fails_before_buffering_the_payload() {
        let mut reader = FrameReader::with_max_payload(1024);
        reader.push(&[0x82, 0x7F, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]);
        let err = reader.next_frame().expect_err("over the limit");
        let ReadError::PayloadTooLarge { declared, limit, header } = err.clone();
        assert_eq!((declared, limit, header.length_field), (i64::MAX as u64, 1024, LengthField::Bits64));
        assert_eq!(err.to_string(), "frame declares a payload of 9223372036854775807 bytes, over the 1024-byte limit");
        reader.push(&[0; 4096]);
        assert!(reader.is_failed());
        assert!(reader.buffered().is_empty());
        assert_eq!(reader.next_frame(), Err(err));
    }

    #[test]
    fn payload_at_the_limit_is_read() {
        let mut reader = FrameReader::with_max_payload(3);
        reader.push(&[0x82, 0x03, 1, 2, 3]);
        assert_eq!(reader.next_frame().expect("at the limit").map(|f| f.payload), Some(vec![1, 2, 3]));
    }

    #[test]
    fn invalid_server_frames_are_described_not_rejected() {
        let bytes = [
            0x83, 0x00, // reserved opcode
            0xC1, 0x00, // rsv1
            0x09, 0x00, // fragmented ping
            0x82, 0x7E, 0x00, 0x01, 0xFF, // non-minimal 16-bit length
            0x88, 0x01, 0x03, // close with a one-byte body
            0x88, 0x02, 0x03, 0xED, // close code 1005
            0x88, 0x04, 0x03, 0xE8, 0xC3, 0x28, // close reason not UTF-8
        ];
        let frames = read_whole(&bytes);
        let all: Vec<Vec<ViolationKind>> = frames.iter().map(kinds).collect();
        assert_eq!(
            all,
            [
                vec![ViolationKind::ReservedOpcode],
                vec![ViolationKind::ReservedBitsSet],
                vec![ViolationKind::FragmentedControlFrame],
                vec![ViolationKind::NonMinimalLength],
                vec![ViolationKind::CloseCodeTruncated],
                vec![ViolationKind::CloseCodeNotForWire],
                vec![ViolationKind::CloseReasonNotUtf8],
            ]
        );
    }

    #[test]
    fn long_close_frame_is_flagged_and_its_body_checked() {
        let mut bytes = vec![0x88, 0x7E, 0x00, 0x80, 0x03, 0xE8];
        bytes.extend([b'x'; 126]);
        let frames = read_whole(&bytes);
        assert_eq!(kinds(&frames[0]), [ViolationKind::ControlFrameTooLong]);
        assert_eq!(
            frames[0].close_payload(),
            Some(ClosePayload::Code { code: CloseCode::NORMAL, reason: &[b'x'; 126] })
        );
    }

    #[test]
    fn declared_length_decides_where_the_frame_ends() {
        let mut reader = FrameReader::new();
        reader.push(&FrameSpec::text("Hi").unmasked().declared_len(4).encode().expect("encodable"));
        assert_eq!(reader.next_frame(), Ok(None));
        reader.push(&[0x89, 0x00, 0x8A]);
        let frame = reader.next_frame().expect("readable").expect("complete frame");
        assert_eq!(frame.payload, [b'H', b'i', 0x89, 0x00]);
        assert_eq!(reader.buffered(), [0x8A]);
    }

    #[test]
    fn rsv_allowed_by_an_extension_is_not_flagged() {
        let frames = read_whole(&[0xC1, 0x00]);
        assert!(frames[0].violations_allowing_rsv(0b100).is_empty());
    }

    #[test]
    fn debug_shows_payload_length_not_bytes() {
        let frames = read_whole(&FrameSpec::binary(vec![7; 500]).unmasked().encode().expect("encodable"));
        let text = format!("{:?}", frames[0]);
        assert!(text.contains("500 bytes"), "{text}");
    }

    fn frame_spec() -> impl Strategy<Value = FrameSpec> {
        (
            any::<bool>(),
            0u8..8,
            0u8..16,
            proptest::option::of(any::<[u8; 4]>()),
            0usize..4,
            prop_oneof![
                4 => proptest::collection::vec(any::<u8>(), 0..300),
                1 => proptest::collection::vec(any::<u8>(), 65_530..65_540),
            ],
        )
            .prop_map(|(fin, rsv, opcode, key, length, payload)| {
                let length = match length {
                    1 if payload.len() <= 125 => LengthEncoding::Bits7,
                    2 if payload.len() <= 65535 => LengthEncoding::Bits16,
                    3 => LengthEncoding::Bits64,
                    _ => LengthEncoding::Minimal,
                };
                let spec = FrameSpec::new(opcode, payload).fin(fin).rsv(rsv).length(length);
                match key {
                    Some(key) => spec.mask_key(key),
                    None => spec.unmasked(),
                }
            })
    }

    fn read_in_pieces(bytes: &[u8], mut cuts: Vec<usize>) -> Vec<ObservedFrame> {
        cuts.iter_mut().for_each(|c| *c %= bytes.len() + 1);
        cuts.sort_unstable();
        let mut reader = FrameReader::new();
        let mut frames = Vec::new();
        let mut from = 0;
        for cut in cuts.into_iter().chain([bytes.len()]) {
            reader.push(&bytes[from..cut]);
            from = cut;
            frames.extend(read_all(&mut reader));
        }
        frames
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn built_frames_read_back_identically_for_any_split(
            specs in proptest::collection::vec(frame_spec(), 1..4),
            cuts in proptest::collection::vec(any::<usize>(), 0..12),
        ) {
            let mut bytes = Vec::new();
            for spec in &specs {
                bytes.extend(spec.encode().expect("valid field widths"));
            }
            let frames = read_in_pieces(&bytes, cuts);
            prop_assert_eq!(frames.len(), specs.len());
            for (spec, frame) in specs.iter().zip(&frames) {
                prop_assert_eq!(frame.fin(), spec.fin);
                prop_assert_eq!(frame.rsv(), spec.rsv);
                prop_assert_eq!(frame.opcode(), spec.opcode);
                prop_assert_eq!(frame.masked(), spec.mask != Mask::None);
                prop_assert_eq!(frame.header.masking_key, spec.mask.key());
                prop_assert_eq!(frame.header.length_field, spec.length.field_for(spec.payload.len() as u64));
                prop_assert_eq!(&frame.payload, &spec.payload);
            }
            let rebuilt: Vec<u8> = frames.iter().flat_map(ObservedFrame::wire_bytes).collect();
            prop_assert_eq!(rebuilt, bytes);
        }

        #[test]
        fn arbitrary_bytes_read_the_same_in_any_split(
            bytes in proptest::collection::vec(any::<u8>(), 0..200),
            cuts in proptest::collection::vec(any::<usize>(), 0..12),
        ) {
            let run = |pieces: &[&[u8]]| {
                let mut reader = FrameReader::with_max_payload(64);
                let mut out = Vec::new();
                for piece in pieces {
                    reader.push(piece);
                    loop {
                        match reader.next_frame() {
                            Ok(Some(frame)) => out.push(Ok(frame)),
                            Ok(None) => break,
                            Err(e) => { out.push(Err(e)); break; }
                        }
                    }
                    if reader.is_failed() { break; }
                }
                (out, reader.buffered().to_vec())
            };
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c % (bytes.len() + 1)).collect();
            cuts.sort_unstable();
            let mut pieces = Vec::new();
            let mut from = 0;
            for cut in cuts.into_iter().chain([bytes.len()]) {
                pieces.push(&bytes[from..cut]);
                from = cut;
            }
            prop_assert_eq!(run(&pieces), run(&[&bytes]));
        }

        #[test]
        fn parsed_headers_encode_to_their_raw_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..16)) {
            if let Some((header, len)) = FrameHeader::parse(&bytes) {
                prop_assert_eq!(header.encode().expect("parsed headers are encodable"), &bytes[..len]);
            }
        }
    }
}
