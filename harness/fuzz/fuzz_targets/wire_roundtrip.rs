//! Frames built by `FrameSpec` read back identically by `FrameReader`, in any
//! reads, and the assembler turns them into the messages RFC 6455 §5.4 defines.
//!
//! Input: `[n][n × u16 LE cut][frame descriptions]` (see `FrameDesc` in
//! `src/lib.rs`): structured frames (any FIN, RSV, opcode, mask, forced length
//! field), so that the fuzzer spends its time on sequences, not on framing.
//! Checked:
//! - a spec fails to encode exactly when its forced length field cannot hold the payload;
//! - the reader returns each frame as built (every field, unmasked payload) and
//!   its wire bytes are the encoded bytes;
//! - the assembler's messages and sequence violations equal a small model of
//!   §5.4 (fragments, interleaved control frames, continuation without a start,
//!   a new message inside one, data after close) and §8.1 (UTF-8 of text, left to the caller
//!   for a message whose first frame has RSV1: compressed, RFC 7692 §6).
#![no_main]

use fuzz_input::{cuts_for, pieces, raw_cuts, FrameDesc};
use libfuzzer_sys::fuzz_target;
use wsharness::wire::{
    FrameReader, FrameSpec, LengthEncoding, Message, MessageAssembler, ObservedFrame, ViolationKind, RSV1,
};

fuzz_target!(|input: &[u8]| {
    let (raw, rest) = raw_cuts(input);
    let mut specs = Vec::new();
    let mut bytes = Vec::new();
    for FrameDesc { spec } in FrameDesc::parse_all(rest) {
        let fits = match spec.length {
            LengthEncoding::Bits7 => spec.payload.len() <= 125,
            LengthEncoding::Bits16 => spec.payload.len() <= 0xFFFF,
            LengthEncoding::Minimal | LengthEncoding::Bits64 => true,
        };
        match spec.encode() {
            Ok(b) => {
                assert!(fits, "encoded a length its field cannot hold: {spec:?}");
                bytes.extend(b);
                specs.push(spec);
            }
            Err(e) => assert!(!fits, "{e} for {spec:?}"),
        }
    }
    let cuts = cuts_for(&raw, bytes.len());
    let mut reader = FrameReader::new();
    let mut frames = Vec::new();
    for piece in pieces(&bytes, &cuts) {
        reader.push(piece);
        // ok: the frames are far below the default 64 MiB limit
        while let Some(f) = reader.next_frame().expect("within the limit") {
            frames.push(f);
        }
    }
    assert!(reader.buffered().is_empty(), "bytes left over");
    assert_eq!(frames.len(), specs.len());
    let rebuilt: Vec<u8> = frames.iter().flat_map(ObservedFrame::wire_bytes).collect();
    assert_eq!(rebuilt, bytes);
    for (spec, f) in specs.iter().zip(&frames) {
        assert_eq!(f.header, spec.header());
        assert_eq!(f.payload, spec.payload);
    }
    let mut assembler = MessageAssembler::new();
    let mut got = (Vec::new(), Vec::new());
    for f in &frames {
        // ok: messages are far below the default 64 MiB limit
        let step = assembler.push(f).expect("within the limit");
        got.0.extend(step.message);
        got.1.extend(step.violations.into_iter().map(|v| v.kind));
    }
    assert_eq!(got, model(&specs));
});

/// RFC 6455 §5.4, §5.5.1 and §8.1 as the assembler documents them.
fn model(specs: &[FrameSpec]) -> (Vec<Message>, Vec<ViolationKind>) {
    let (mut messages, mut kinds) = (Vec::new(), Vec::new());
    // (text, compressed: RSV1 on the first frame, whose UTF-8 the caller judges after inflating; RFC 7692 §6)
    let mut partial: Option<(bool, bool, Vec<u8>)> = None;
    let mut close_seen = false;
    for s in specs {
        match s.opcode {
            0x8 => close_seen = true,
            0x0..=0x2 => {
                if close_seen {
                    kinds.push(ViolationKind::DataAfterClose);
                }
                let (text, compressed, mut payload) = match (s.opcode, partial.take()) {
                    (0x0, None) => {
                        kinds.push(ViolationKind::ContinuationWithoutStart);
                        continue;
                    }
                    (0x0, Some(p)) => p,
                    (op, previous) => {
                        if previous.is_some() {
                            kinds.push(ViolationKind::DataFrameInsideMessage);
                        }
                        (op == 0x1, s.rsv & RSV1 != 0, Vec::new())
                    }
                };
                payload.extend_from_slice(&s.payload);
                if !s.fin {
                    partial = Some((text, compressed, payload));
                } else if text {
                    if !compressed && std::str::from_utf8(&payload).is_err() {
                        kinds.push(ViolationKind::TextNotUtf8);
                    }
                    messages.push(Message::Text(payload));
                } else {
                    messages.push(Message::Binary(payload));
                }
            }
            // other control frames and reserved opcodes leave the message alone
            _ => {}
        }
    }
    (messages, kinds)
}
