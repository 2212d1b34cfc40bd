//! The conformance connection's frame scanner on any server bytes, in any reads.
//!
//! Input: `[config][Split]` (see `src/lib.rs`; the config byte picks the payload limit, as for `frame_reader`).
//! The scanner sees each frame as its bytes arrive and keeps only its start; the reader keeps the frames whole
//! until asked. Checked: whatever the cuts, the scanner reports exactly the frames the reader reads (the same
//! headers, the first `KEPT` payload bytes unmasked), and stops at the same frame over the limit.
#![no_main]

use fuzz_input::{ReaderConfig, Split};
use libfuzzer_sys::fuzz_target;
use wsharness::conformance::scan::{FrameScanner, Scanned, KEPT};
use wsharness::wire::{FrameReader, ReadError};

fuzz_target!(|input: &[u8]| {
    let Some((&config, rest)) = input.split_first() else { return };
    let config = ReaderConfig::from_byte(config);
    let split = Split::parse(rest);
    let expected = read_all(config.max_payload, split.data);
    let mut scanner = FrameScanner::new(config.max_payload);
    let mut seen = Vec::new();
    for piece in split.pieces() {
        scanner.push(piece, |s| seen.push(s));
    }
    assert_eq!(seen, expected, "cuts {:?}", split.cuts);
});

/// What the scanner should report: the reader's frames, each cut to its first `KEPT` payload bytes, then its error.
fn read_all(limit: u64, data: &[u8]) -> Vec<Scanned> {
    let mut reader = FrameReader::with_max_payload(limit);
    reader.push(data);
    let mut out = Vec::new();
    loop {
        match reader.next_frame() {
            Ok(Some(f)) => {
                let first = f.payload[..f.payload.len().min(KEPT)].to_vec();
                out.push(Scanned::Frame { header: f.header, first });
            }
            Ok(None) => return out,
            Err(e @ ReadError::PayloadTooLarge { .. }) => {
                out.push(Scanned::TooLarge(e));
                return out;
            }
            Err(_) => return out,
        }
    }
}
