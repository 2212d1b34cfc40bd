//! The harness's frame reader and message assembler on any server bytes, in any reads.
//!
//! Input: `[config][Split]` (see `src/lib.rs`); the config byte picks the
//! reader's payload limit and the assembler's message limit. Checked:
//! - the same frames, error and leftover bytes whatever the cuts;
//! - exactness: each frame's header re-encodes to its raw bytes, and the frames'
//!   wire bytes followed by the leftover are the input (up to a limit error,
//!   whose header is the one at that offset);
//! - the violations of each frame are exactly the ones its bits break (derived
//!   here from the raw bytes, independently of `server_violations`);
//! - the assembler never panics, never holds a message over its limit, and
//!   returns at most the data bytes it was given.
#![no_main]

use fuzz_input::{ReaderConfig, Split};
use libfuzzer_sys::fuzz_target;
use wsharness::wire::{FrameHeader, FrameReader, MessageAssembler, ObservedFrame, ReadError, ViolationKind as V};

fuzz_target!(|input: &[u8]| {
    let Some((&config, rest)) = input.split_first() else { return };
    let config = ReaderConfig::from_byte(config);
    let split = Split::parse(rest);
    let whole = read(config, &[split.data]);
    let cut = read(config, &split.pieces());
    assert_eq!(whole, cut, "cuts {:?}", split.cuts);
    let (frames, error, leftover) = whole;
    exact(split.data, &frames, error.as_ref(), &leftover);
    for f in &frames {
        assert_eq!(kinds(f), expected_kinds(f), "{f:?}");
    }
    assemble(config, &frames);
});

type Read = (Vec<ObservedFrame>, Option<ReadError>, Vec<u8>);

fn read(config: ReaderConfig, pieces: &[&[u8]]) -> Read {
    let mut reader = FrameReader::with_max_payload(config.max_payload);
    let mut frames = Vec::new();
    for piece in pieces {
        reader.push(piece);
        loop {
            match reader.next_frame() {
                Ok(Some(frame)) => {
                    assert!(frame.payload.len() as u64 <= config.max_payload);
                    frames.push(frame);
                }
                Ok(None) => break,
                Err(e) => {
                    assert!(reader.is_failed() && reader.buffered().is_empty());
                    // the error stays
                    assert_eq!(reader.next_frame(), Err(e.clone()));
                    return (frames, Some(e), Vec::new());
                }
            }
        }
        if let Some(h) = reader.pending_header() {
            assert!(h.declared_len <= config.max_payload, "a pending frame over the limit");
        }
    }
    (frames, None, reader.buffered().to_vec())
}

fn exact(data: &[u8], frames: &[ObservedFrame], error: Option<&ReadError>, leftover: &[u8]) {
    let mut rebuilt = Vec::new();
    for f in frames {
        assert_eq!(f.header.encode().as_deref(), Ok(&f.raw_header[..]), "header re-encodes to its bytes");
        assert_eq!(f.wire_len(), f.raw_header.len() + f.header.declared_len as usize);
        rebuilt.extend(f.wire_bytes());
    }
    assert_eq!(&data[..rebuilt.len()], rebuilt, "frames are the input's bytes");
    let rest = &data[rebuilt.len()..];
    match error {
        None => assert_eq!(rest, leftover),
        Some(ReadError::PayloadTooLarge { declared, limit, header }) => {
            assert!(declared > limit);
            assert_eq!(FrameHeader::parse(rest).map(|(h, _)| h), Some(*header));
        }
        Some(e) => panic!("unexpected error {e:?}"),
    }
}

fn kinds(f: &ObservedFrame) -> Vec<V> {
    let mut k: Vec<V> = f.violations().into_iter().map(|v| v.kind).collect();
    k.sort_by_key(|v| format!("{v:?}"));
    k
}

/// The violations a server frame has, from its raw bytes (RFC 6455 §5.1, §5.2, §5.5, §5.5.1, §7.4).
fn expected_kinds(f: &ObservedFrame) -> Vec<V> {
    let (b0, b1) = (f.raw_header[0], f.raw_header[1]);
    let opcode = b0 & 0x0F;
    let control = opcode >= 0x8;
    let len = f.payload.len() as u64;
    let mut k = Vec::new();
    if b1 & 0x80 != 0 {
        k.push(V::MaskedServerFrame);
    }
    if matches!(opcode, 0x3..=0x7 | 0xB..=0xF) {
        k.push(V::ReservedOpcode);
    }
    if b0 & 0x70 != 0 {
        k.push(V::ReservedBitsSet);
    }
    if control && b0 & 0x80 == 0 {
        k.push(V::FragmentedControlFrame);
    }
    if control && len > 125 {
        k.push(V::ControlFrameTooLong);
    }
    let minimal = match b1 & 0x7F {
        126 => (126..=0xFFFF).contains(&len),
        127 => len > 0xFFFF,
        _ => true,
    };
    if !minimal {
        k.push(V::NonMinimalLength);
    }
    if opcode == 0x8 {
        match f.payload.as_slice() {
            [] => {}
            [_] => k.push(V::CloseCodeTruncated),
            [hi, lo, reason @ ..] => {
                let code = u16::from_be_bytes([*hi, *lo]);
                match code {
                    1000..=1003 | 1007..=1011 | 3000..=4999 => {}
                    1004..=1006 | 1015 => k.push(V::CloseCodeNotForWire),
                    1012..=1014 => k.push(V::CloseCodeRegisteredAfterRfc),
                    _ => k.push(V::CloseCodeOutOfRange),
                }
                if std::str::from_utf8(reason).is_err() {
                    k.push(V::CloseReasonNotUtf8);
                }
            }
        }
    }
    k.sort_by_key(|v| format!("{v:?}"));
    k
}

fn assemble(config: ReaderConfig, frames: &[ObservedFrame]) {
    let mut assembler = MessageAssembler::with_max_message(config.max_message);
    let (mut given, mut returned) = (0u64, 0u64);
    for f in frames {
        if matches!(f.opcode(), 0x0..=0x2) {
            given += f.payload.len() as u64;
        }
        match assembler.push(f) {
            Ok(step) => {
                if let Some(m) = step.message {
                    assert!(m.payload().len() as u64 <= config.max_message);
                    returned += m.payload().len() as u64;
                }
            }
            Err(e) => {
                // failed for good
                assert_eq!(assembler.push(f), Err(e));
                break;
            }
        }
    }
    assert!(returned <= given, "assembled {returned} bytes from {given}");
}
