//! Our DEFLATE decoder (`wire::deflate::StreamAnalyzer`) against flate2 (zlib-rs, `wire::deflate::Inflater`)
//! on any bytes, as one connection's compressed messages.
//!
//! Input: a `Split` (see `src/lib.rs`); its pieces are successive messages' payloads
//! (context takeover, 32 KiB window, 64 KiB per message). Checked, message by message:
//! - data that decodes to the end (flushed or a final block) decodes the same in both;
//! - data cut short inside a block: one output is a prefix of the other;
//! - an error in ours is an error in flate2 (over the limit in both when ours is over it);
//! - the report is within bounds: no distance over 32 KiB, none into earlier messages in the
//!   first, the counts match the data, and the smallest window it names holds every distance.
//!
//! After a final block, data cut short inside a block (flate2 carries the partial block into the next
//! message, ours starts each message at a block boundary) or an error, the two decoders' states differ,
//! so the rest is not compared.
#![no_main]

use fuzz_input::{pieces, Split};
use libfuzzer_sys::fuzz_target;
use wsharness::wire::deflate::{AnalyzeError, Ending, InflateError, Inflater, StreamAnalyzer, MAX_DISTANCE};

const LIMIT: usize = 64 * 1024;

fuzz_target!(|input: &[u8]| {
    let split = Split::parse(input);
    let mut ours = StreamAnalyzer::new(LIMIT);
    let mut theirs = Inflater::new(15, false, LIMIT);
    for (i, message) in pieces(split.data, &split.cuts).into_iter().enumerate() {
        let (a, b) = (ours.message(message), theirs.inflate(message));
        let analyzed = match (a, b) {
            (Ok(analyzed), Ok(data)) => {
                if analyzed.report.ending == Ending::Truncated {
                    let n = analyzed.data.len().min(data.len());
                    assert_eq!(analyzed.data[..n], data[..n], "message {i}: truncated outputs diverge");
                } else {
                    assert_eq!(analyzed.data, data, "message {i}");
                }
                analyzed
            }
            (Ok(analyzed), Err(e)) => {
                // ours may stop at the truncation before flate2 sees an invalid code in the partial block
                assert_eq!(analyzed.report.ending, Ending::Truncated, "message {i}: ours decoded, flate2: {e}");
                return;
            }
            (Err(AnalyzeError::OverLimit { limit, .. }), b) => {
                assert!(
                    matches!(b, Err(InflateError::OverLimit { .. })),
                    "message {i}: over {limit} in ours only: {b:?}"
                );
                return;
            }
            (Err(e), b) => {
                assert!(matches!(b, Err(InflateError::Corrupt { .. })), "message {i}: ours {e}, flate2 {b:?}");
                return;
            }
        };
        let report = &analyzed.report;
        assert!(report.max_distance <= MAX_DISTANCE);
        assert!(i > 0 || !report.reaches_before_message);
        assert_eq!((report.inflated_len, report.compressed_len), (analyzed.data.len(), message.len()));
        assert!(report.max_distance <= 1 << report.window_bits_needed());
        assert!(report.inflated_len <= LIMIT);
        if report.ending != Ending::Flushed {
            return;
        }
    }
});
