//! Compressed messages as wire bytes, through our decoder and flate2.

use proptest::prelude::*;

use crate::wire::deflate::craft::*;
use crate::wire::deflate::{
    AnalyzeError, Analyzed, CompressError, Compressor, Ending, InflateError, Inflater, Negotiated, StreamAnalyzer, TAIL,
};
use crate::wire::ViolationKind;

const LIMIT: usize = 1 << 20;

fn analyze(messages: &[&[u8]]) -> Vec<Analyzed> {
    let mut a = StreamAnalyzer::new(LIMIT);
    messages.iter().map(|m| a.message(m).expect("valid DEFLATE")).collect()
}

fn inflate(messages: &[&[u8]]) -> Vec<Vec<u8>> {
    let mut i = Inflater::new(15, false, LIMIT);
    messages.iter().map(|m| i.inflate(m).expect("valid DEFLATE")).collect()
}

#[test]
fn rfc_7692_examples_decode_exactly() {
    let joined = [RFC_HELLO_FRAGMENTS[0], RFC_HELLO_FRAGMENTS[1]].concat();
    for payload in [&RFC_HELLO[..], &joined, &RFC_HELLO_STORED, &RFC_HELLO_BFINAL, &RFC_HELLO_TWO_BLOCKS] {
        let [ours] = &analyze(&[payload])[..] else { unreachable!() };
        assert_eq!(ours.data, b"Hello", "{payload:02x?}");
        assert_eq!(inflate(&[payload]), [b"Hello"], "{payload:02x?}");
        assert_eq!(ours.report.max_distance, 0);
        assert!(ours.report.violations(&Negotiated::default()).is_empty());
    }
    let fixed = &analyze(&[&RFC_HELLO])[0].report;
    assert_eq!((fixed.fixed_blocks, fixed.stored_blocks, fixed.ending), (1, 1, Ending::Flushed));
    let bfinal = &analyze(&[&RFC_HELLO_BFINAL])[0].report;
    // the final block, then the empty stored block's first byte and the appended tail, unused
    assert_eq!((bfinal.final_block, bfinal.ending), (true, Ending::Final { unused: 5 }));
    assert_eq!(analyze(&[&RFC_HELLO_TWO_BLOCKS])[0].report.fixed_blocks, 2);
    for empty in [&EMPTY_STORED[..], &EMPTY_FIXED] {
        assert_eq!(analyze(&[empty])[0].data, b"");
        assert_eq!(inflate(&[empty]), [b""]);
    }
}

#[test]
fn shared_window_is_reported_as_context_takeover() {
    let messages: [&[u8]; 2] = [&RFC_HELLO, &RFC_HELLO_SHARED_WINDOW];
    let ours = analyze(&messages);
    assert_eq!(inflate(&messages), [b"Hello", b"Hello"]);
    assert_eq!(ours[1].data, b"Hello");
    assert!(ours[1].report.reaches_before_message && ours[1].report.max_distance == 5);
    assert!(ours[1].report.violations(&Negotiated::default()).is_empty());
    let no_takeover = Negotiated { server_no_context_takeover: true, ..Negotiated::default() };
    let kinds: Vec<_> = ours[1].report.violations(&no_takeover).into_iter().map(|v| v.kind).collect();
    assert_eq!(kinds, [ViolationKind::DeflateContextTakeover]);
    // flate2 with a reset window cannot inflate it
    let mut reset = Inflater::for_server(&no_takeover, LIMIT);
    assert!(reset.inflate(&RFC_HELLO).is_ok());
    assert!(matches!(reset.inflate(&RFC_HELLO_SHARED_WINDOW), Err(InflateError::Corrupt { .. })));
}

#[test]
fn window_agnostic_encoders_make_the_rfc_bytes() {
    assert_eq!(literal_message(b"Hello"), RFC_HELLO);
    assert_eq!(stored_message(b"Hello"), RFC_HELLO_STORED);
    assert_eq!(stored_message(b""), EMPTY_STORED);
    let big: Vec<u8> = (0..200_000u32).map(|i| (i * 7) as u8).collect();
    assert_eq!(inflate(&[&stored_message(&big)]), std::slice::from_ref(&big));
    assert_eq!(analyze(&[&literal_message(&big)])[0].data, big);
}

#[test]
fn a_reference_beyond_the_window_is_reported() {
    let (payload, plain) = reference_message(513);
    let ours = &analyze(&[&payload])[0];
    assert_eq!(ours.data, plain);
    assert_eq!((ours.report.max_distance, ours.report.window_bits_needed()), (513, 10));
    let nine = Negotiated { server_max_window_bits: 9, ..Negotiated::default() };
    let kinds: Vec<_> = ours.report.violations(&nine).into_iter().map(|v| v.kind).collect();
    assert_eq!(kinds, [ViolationKind::DeflateWindowExceeded]);
    assert!(ours.report.violations(&Negotiated { server_max_window_bits: 10, ..nine }).is_empty());
    let (longest, longest_plain) = reference_message(32_768);
    let ours = &analyze(&[&longest])[0];
    assert!(ours.data == longest_plain, "{} bytes, expected {}", ours.data.len(), longest_plain.len());
    assert_eq!((ours.report.max_distance, ours.report.window_bits_needed()), (32_768, 15));
    // zlib with a 9-bit window inflates it all the same (the bytes are in its output buffer):
    // only our decoder sees the rule broken
    assert_eq!(Inflater::new(9, false, LIMIT).inflate(&payload), Ok(plain));
}

#[test]
fn a_bomb_stops_at_the_limit() {
    let payload = bomb_message(64 << 20);
    assert!(payload.len() < 64 << 20 >> 7, "ratio over 128: {} bytes", payload.len());
    let limit = 1 << 20;
    let ours = StreamAnalyzer::new(limit).message(&payload);
    let Err(AnalyzeError::OverLimit { limit: l, input_consumed }) = ours else { panic!("{ours:?}") };
    assert!(l == limit && input_consumed < limit / 100, "{input_consumed}");
    let theirs = Inflater::new(15, false, limit).inflate(&payload);
    assert!(matches!(theirs, Err(InflateError::OverLimit { limit: l, .. }) if l == limit), "{theirs:?}");
    // exactly at the limit is not over it
    assert_eq!(StreamAnalyzer::new(limit).message(&bomb_message(limit)).map(|a| a.data.len()), Ok(limit));
    assert_eq!(Inflater::new(15, false, limit).inflate(&bomb_message(limit)).map(|d| d.len()), Ok(limit));
}

#[test]
fn data_over_the_limit_is_over_it_even_when_corrupt_data_follows() {
    // 50,000 bytes in a stored block, then a corrupt one: past a 40,000-byte limit the rest is never read
    // (found by the `inflate` fuzz target: flate2 was given more output room than the limit left)
    let mut payload = BlockWriter::new().stored(&vec![b'a'; 50_000], false).finish();
    payload.extend_from_slice(&CORRUPT_STORED_LENGTH);
    let theirs = Inflater::new(15, false, 40_000).inflate(&payload);
    assert!(matches!(theirs, Err(InflateError::OverLimit { limit: 40_000, .. })), "{theirs:?}");
    let ours = StreamAnalyzer::new(40_000).message(&payload);
    assert!(matches!(ours, Err(AnalyzeError::OverLimit { limit: 40_000, .. })), "{ours:?}");
}

#[test]
fn a_corrupt_code_right_after_the_byte_over_the_limit_is_over_the_limit_in_both_decoders() {
    // found by the `inflate` fuzz target (its input layout: a count of cuts, 255 % 17 = 0 here, then the message): 65,537
    // bytes, then an invalid distance code; zlib decodes that code before it notices its output is full
    let seed = include_bytes!("../../../../fuzz/seeds/inflate/regression-corrupt-code-after-the-limit");
    let message = &seed[1..];
    let theirs = Inflater::new(15, false, 65_536).inflate(message);
    assert!(matches!(theirs, Err(InflateError::OverLimit { limit: 65_536, .. })), "{theirs:?}");
    let ours = StreamAnalyzer::new(65_536).message(message);
    assert!(matches!(ours, Err(AnalyzeError::OverLimit { limit: 65_536, .. })), "{ours:?}");
    // with room for it, both read on to the corrupt code
    assert!(matches!(Inflater::new(15, false, 65_537).inflate(message), Err(InflateError::Corrupt { .. })));
    assert!(matches!(StreamAnalyzer::new(65_537).message(message), Err(AnalyzeError::InvalidCode { .. })));
}

#[test]
fn corrupt_data_is_a_typed_error() {
    let mut a = StreamAnalyzer::new(LIMIT);
    assert!(matches!(a.message(&CORRUPT_RESERVED_BLOCK), Err(AnalyzeError::ReservedBlockType { at: 0 })));
    assert!(matches!(a.message(&CORRUPT_STORED_LENGTH), Err(AnalyzeError::StoredLengthMismatch { len: 5, .. })));
    let far = a.message(&CORRUPT_DISTANCE_AT_START);
    assert!(matches!(far, Err(AnalyzeError::DistanceTooFar { distance: 1, available: 0, .. })), "{far:?}");
    assert_eq!(far.map_err(|e| e.violation().map(|v| v.kind)), Err(Some(ViolationKind::DeflateInvalidData)));
    for corrupt in [&CORRUPT_RESERVED_BLOCK[..], &CORRUPT_STORED_LENGTH, &CORRUPT_DISTANCE_AT_START] {
        let theirs = Inflater::new(15, true, LIMIT).inflate(corrupt);
        assert!(matches!(theirs, Err(InflateError::Corrupt { .. })), "{corrupt:02x?}: {theirs:?}");
    }
}

#[test]
fn tail_left_in_and_data_cut_short_are_reported() {
    let kinds = |payload: &[u8]| -> Vec<ViolationKind> {
        let report = StreamAnalyzer::new(LIMIT).message(payload).expect("decodes").report;
        report.violations(&Negotiated::default()).into_iter().map(|v| v.kind).collect()
    };
    let with_tail = [&RFC_HELLO[..], &TAIL].concat();
    assert_eq!(kinds(&with_tail), [ViolationKind::DeflateTailNotRemoved]);
    assert_eq!(kinds(&RFC_HELLO[..3]), [ViolationKind::DeflateUnterminated]);
    assert_eq!(StreamAnalyzer::new(LIMIT).message(&RFC_HELLO[..3]).map(|a| a.report.ending), Ok(Ending::Truncated));
}

#[test]
fn zlib_cannot_compress_with_an_8_bit_window() {
    assert_eq!(Compressor::new(8, 6, false).err(), Some(CompressError::WindowUnsupported(8)));
    assert_eq!(Compressor::new(15, 10, false).err(), Some(CompressError::LevelUnsupported(10)));
}

#[test]
fn compressor_output_has_its_tail_removed_and_takes_over_context_unless_told() {
    let mut c = Compressor::new(15, 6, false).expect("valid");
    let first = c.compress(b"Hello").expect("compresses");
    assert_eq!(first, RFC_HELLO);
    let second = c.compress(b"Hello").expect("compresses");
    assert_eq!(second, RFC_HELLO_SHARED_WINDOW);
    let mut reset = Compressor::new(15, 6, true).expect("valid");
    assert_eq!(reset.compress(b"Hello").ok(), Some(RFC_HELLO.to_vec()));
    assert_eq!(reset.compress(b"Hello").ok(), Some(RFC_HELLO.to_vec()));
    // zlib flushes nothing for an empty message after a flush: an empty stored block is sent instead
    assert_eq!(c.compress(b"").ok(), Some(EMPTY_STORED.to_vec()));
    assert_eq!(c.compress(b"").ok(), Some(EMPTY_STORED.to_vec()));
}

/// Random messages with repetition, so that back-references occur at many distances.
fn messages() -> impl Strategy<Value = Vec<Vec<u8>>> {
    let message = prop::collection::vec((any::<u8>(), 0usize..40, 1usize..2000), 0..60).prop_map(|runs| {
        let mut out: Vec<u8> = Vec::new();
        for (byte, run, back) in runs {
            if back < out.len() && run > 3 {
                let start = out.len() - back;
                for i in 0..run {
                    out.push(out[start + i % back]);
                }
            } else {
                out.extend(std::iter::repeat_n(byte, run % 5 + 1));
            }
        }
        out
    });
    prop::collection::vec(message, 1..4)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]
    #[test]
    fn our_decoder_agrees_with_flate2(msgs in messages(), bits in 9u8..=15, level in 0u32..=9, reset: bool) {
        let mut c = Compressor::new(bits, level, reset).expect("valid");
        let mut ours = StreamAnalyzer::new(LIMIT);
        let mut theirs = Inflater::new(bits, reset, LIMIT);
        let negotiated = Negotiated { server_no_context_takeover: reset, server_max_window_bits: bits, ..Negotiated::default() };
        for m in &msgs {
            let payload = c.compress(m).expect("compresses");
            let analyzed = ours.message(&payload).expect("our decoder");
            prop_assert_eq!(&analyzed.data, m);
            prop_assert_eq!(&theirs.inflate(&payload).expect("flate2"), m);
            prop_assert!(analyzed.report.max_distance <= 1 << bits);
            prop_assert_eq!(analyzed.report.ending, Ending::Flushed);
            prop_assert!(analyzed.report.violations(&negotiated).is_empty(), "{:?}", analyzed.report);
        }
    }
}

/// A message inflated through the streaming calls, its payload cut at `cuts`, with a scratch buffer of `scratch` bytes.
fn streamed(
    i: &mut Inflater,
    payload: &[u8],
    cuts: &[usize],
    scratch: usize,
    limit: usize,
) -> Result<Vec<u8>, InflateError> {
    let mut out = Vec::new();
    let mut buf = vec![0u8; scratch];
    let mut sink = |piece: &[u8]| {
        assert!(piece.len() <= scratch);
        out.extend_from_slice(piece)
    };
    i.begin(limit);
    let mut at = 0;
    for &cut in cuts.iter().chain([&payload.len()]) {
        let cut = cut.clamp(at, payload.len());
        i.feed(&payload[at..cut], &mut buf, &mut sink)?;
        at = cut;
    }
    i.end(&mut buf, &mut sink)?;
    Ok(out)
}

#[test]
fn streaming_inflation_hands_out_what_whole_inflation_returns_and_stops_at_the_limit() {
    let (bomb, plain_bomb) = (bomb_message(100_000), vec![0u8; 100_000]);
    for (payload, plain) in
        [(&RFC_HELLO_TWO_BLOCKS[..], &b"Hello"[..]), (&RFC_HELLO_BFINAL, b"Hello"), (&bomb, &plain_bomb)]
    {
        for cuts in [vec![], vec![1], vec![1, 2, 3], vec![payload.len() / 2]] {
            for scratch in [1, 7, 16 * 1024] {
                let mut i = Inflater::new(15, false, 0);
                assert_eq!(streamed(&mut i, payload, &cuts, scratch, plain.len()).as_deref(), Ok(plain));
                // one byte short of the message: over the limit, exactly the limit handed out
                let short = streamed(&mut Inflater::new(15, false, 0), payload, &cuts, scratch, plain.len() - 1);
                assert!(matches!(short, Err(InflateError::OverLimit { .. })), "{short:?}");
            }
        }
    }
    // context carries over from message to message, as in whole inflation
    let mut i = Inflater::new(15, false, 0);
    assert_eq!(streamed(&mut i, &RFC_HELLO, &[2], 3, 5).as_deref(), Ok(&b"Hello"[..]));
    assert_eq!(streamed(&mut i, &RFC_HELLO_SHARED_WINDOW, &[1], 3, 5).as_deref(), Ok(&b"Hello"[..]));
    let corrupt = streamed(&mut Inflater::new(15, true, 0), &CORRUPT_RESERVED_BLOCK, &[], 64, 100);
    assert!(matches!(corrupt, Err(InflateError::Corrupt { .. })));
}

#[test]
fn a_message_compressed_from_parts_is_the_message_compressed_whole() {
    let message: Vec<u8> = (0..5000u32).map(|i| b"abcdefgh"[(i % 8) as usize] ^ (i / 700) as u8).collect();
    for reset in [false, true] {
        let (mut whole, mut parts) = (Compressor::new(12, 1, reset).unwrap(), Compressor::new(12, 1, reset).unwrap());
        let mut i = Inflater::new(12, reset, LIMIT);
        for cut in [0, 8, 1, 5000] {
            let mut out = b"kept".to_vec();
            let n = parts.compress_into(&[&message[..cut], &message[cut..]], &mut out).unwrap();
            assert_eq!(&out[..4], b"kept");
            assert_eq!(n, out.len() - 4);
            assert_eq!(i.inflate(&out[4..]).unwrap(), message);
            if reset {
                // without context takeover a message always compresses to the same bytes, however it was given
                assert_eq!(out[4..], whole.compress(&message).unwrap());
            }
        }
        assert_eq!(parts.compress_into(&[], &mut Vec::new()), Ok(1), "an empty message is one empty stored block");
    }
}
