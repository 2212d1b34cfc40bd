//! The client frame header parser (RFC 6455 §5.2) on any bytes.
//!
//! Input: the raw bytes. "Need more, consume nothing": every prefix answers
//! `Ok(None)` until, at some length, it answers exactly what the whole input
//! does, and keeps answering that. A parsed header uses the minimal length
//! encoding (anything else is refused), carries the bits of the first byte and
//! the key of the last four, and keeps the rules of §5.5 for control frames.
#![no_main]

use libfuzzer_sys::fuzz_target;
use reference_server::frame::{FrameHeader, Rsv, MAX_HEADER_LEN};

fuzz_target!(|data: &[u8]| {
    for allowed in [Rsv(0), Rsv(0b100), Rsv(0b111)] {
        let whole = FrameHeader::parse(data, allowed);
        let mut decided = false;
        for k in 0..=data.len().min(MAX_HEADER_LEN) {
            let r = FrameHeader::parse(&data[..k], allowed);
            if decided || r != Ok(None) {
                assert_eq!(r, whole, "prefix of {k} bytes");
                decided = true;
            }
        }
        if !decided {
            assert!(data.len() < MAX_HEADER_LEN, "{} bytes and still need more", data.len());
        }
        let Ok(Some((h, n))) = whole else { continue };
        let ext = match h.payload_len {
            0..=125 => 0,
            126..=0xFFFF => 2,
            _ => 8,
        };
        assert_eq!(n, 2 + ext + 4, "minimal length encoding of {}", h.payload_len);
        assert!(h.payload_len >> 63 == 0);
        assert_eq!(h.fin, data[0] & 0x80 != 0);
        assert_eq!(h.rsv.0, (data[0] >> 4) & 0x07);
        assert_eq!(h.rsv.0 & !allowed.0, 0);
        assert_eq!(h.opcode.as_nibble(), data[0] & 0x0F);
        assert_eq!(h.mask.0, data[n - 4..n]);
        if h.opcode.is_control() {
            assert!(h.fin && h.payload_len <= 125);
        }
    }
});
