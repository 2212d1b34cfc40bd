//! The lazy encoder gives the bytes the runner's `encode_send` gave, chunk by chunk, with their cost up front.

use super::*;
use crate::wire::{FrameReader, LengthEncoding};

/// A reproducible key source: the n-th key drawn is the same for both encoders.
fn keys() -> impl FnMut() -> MaskingKey + Send {
    let mut n: u32 = 0;
    move || {
        n += 1;
        MaskingKey(n.wrapping_mul(0x9E37_79B9).to_le_bytes())
    }
}

/// The runner's `encode_send` as it was when the encoder was written (harness/src/conformance/runner.rs), with the
/// key source made a parameter and the summaries replaced by the frames themselves.
fn reference(
    frame: &FrameSpec,
    fill: Option<&Fill>,
    fragment: Option<usize>,
    fresh_mask: bool,
    repeat: usize,
    mut fresh_key: impl FnMut() -> MaskingKey,
) -> Result<(Vec<u8>, Vec<FrameSpec>), EncodeError> {
    let generated = fill.map(Fill::bytes);
    let payload = generated.as_deref().unwrap_or(&frame.payload);
    let mut bytes = Vec::with_capacity((payload.len() + 14) * repeat);
    let mut frames = Vec::new();
    let mut put = |spec: FrameSpec, bytes: &mut Vec<u8>| -> Result<(), EncodeError> {
        let spec = if fresh_mask { spec.mask_key(fresh_key().0) } else { spec };
        bytes.extend_from_slice(&spec.encode()?);
        frames.push(spec);
        Ok(())
    };
    for _ in 0..repeat {
        match fragment {
            None => {
                let mut spec = frame.clone();
                if generated.is_some() {
                    spec.payload = payload.to_vec();
                }
                put(spec, &mut bytes)?;
            }
            Some(size) => {
                let pieces: Vec<&[u8]> =
                    if payload.is_empty() { vec![&[][..]] } else { payload.chunks(size).collect() };
                let last = pieces.len() - 1;
                for (i, piece) in pieces.into_iter().enumerate() {
                    let mut spec = frame.clone();
                    spec.payload = piece.to_vec();
                    spec.declared_len = None;
                    if i > 0 {
                        spec.opcode = 0;
                        spec.rsv = 0;
                    }
                    spec.fin = i == last && frame.fin;
                    put(spec, &mut bytes)?;
                }
            }
        }
    }
    Ok((bytes, frames))
}

/// A step's fields.
struct SendStep {
    frame: FrameSpec,
    fill: Option<Fill>,
    fragment: Option<usize>,
    fresh_mask: bool,
    repeat: usize,
}

fn fill(len: usize, pattern: &[u8]) -> Option<Fill> {
    Some(Fill { len, pattern: pattern.to_vec() })
}

/// Representative steps: every rule of the encoder is exercised by one of them.
fn steps() -> Vec<(&'static str, SendStep)> {
    let masked = |f: FrameSpec| f.mask_key([0x37, 0xfa, 0x21, 0x3d]);
    vec![
        (
            "one masked text frame",
            SendStep {
                frame: masked(FrameSpec::text("Hello")),
                fill: None,
                fragment: None,
                fresh_mask: false,
                repeat: 1,
            },
        ),
        (
            "unmasked, forced 64-bit length, declared length differs",
            SendStep {
                frame: FrameSpec::binary(vec![1, 2, 3]).unmasked().length(LengthEncoding::Bits64).declared_len(10),
                fill: None,
                fragment: None,
                fresh_mask: false,
                repeat: 2,
            },
        ),
        (
            "fill fragmented with fresh keys, repeated",
            SendStep {
                frame: FrameSpec::binary(Vec::new()).declared_len(10),
                fill: fill(10, &[0xfe, 0xff]),
                fragment: Some(4),
                fresh_mask: true,
                repeat: 3,
            },
        ),
        (
            "rsv and opcode on the first fragment only, fin = false kept off",
            SendStep {
                frame: FrameSpec::text("fragmented text").rsv(4).fin(false),
                fill: None,
                fragment: Some(4),
                fresh_mask: true,
                repeat: 2,
            },
        ),
        (
            "fragment size dividing the payload",
            SendStep {
                frame: FrameSpec::text("abcdefgh").unmasked(),
                fill: None,
                fragment: Some(4),
                fresh_mask: false,
                repeat: 1,
            },
        ),
        (
            "empty payload fragmented: one empty frame",
            SendStep {
                frame: FrameSpec::binary(Vec::new()).fin(false),
                fill: None,
                fragment: Some(3),
                fresh_mask: true,
                repeat: 2,
            },
        ),
        (
            "close frame with a body, repeated",
            SendStep {
                frame: FrameSpec::close(crate::wire::CloseCode::NORMAL, "bye"),
                fill: None,
                fragment: None,
                fresh_mask: true,
                repeat: 3,
            },
        ),
        (
            "large fill in one frame, 5-byte pattern, fresh keys",
            SendStep {
                frame: FrameSpec::binary(Vec::new()).declared_len(70_000),
                fill: fill(70_000, &[0x00, 0xfe, 0x23, 0xfa, 0xf0]),
                fragment: None,
                fresh_mask: true,
                repeat: 3,
            },
        ),
        (
            "large fill in odd fragments with a fixed key",
            SendStep {
                frame: masked(FrameSpec::text(Vec::new())).declared_len(300_001),
                fill: fill(300_001, b"BAsd7&jh23"),
                fragment: Some(65_537),
                fresh_mask: false,
                repeat: 2,
            },
        ),
        (
            "many small frames",
            SendStep { frame: FrameSpec::ping("flood"), fill: None, fragment: None, fresh_mask: true, repeat: 1000 },
        ),
        (
            "an empty fill pattern generates nothing",
            SendStep {
                frame: FrameSpec::binary(Vec::new()).declared_len(5),
                fill: fill(5, &[]),
                fragment: None,
                fresh_mask: false,
                repeat: 1,
            },
        ),
    ]
}

fn stream(s: &SendStep) -> FrameStream<'_> {
    FrameStream::new(&s.frame, s.fill.as_ref(), s.fragment, s.fresh_mask, s.repeat)
        .expect("encodable")
        .with_keys(keys())
}

fn drain(stream: &mut FrameStream<'_>, max: usize) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(chunk) = stream.next_chunk(max) {
        assert!(
            !chunk.is_empty() && chunk.len() <= max.clamp(1, MAX_CHUNK),
            "chunk of {} bytes for max {max}",
            chunk.len()
        );
        out.extend_from_slice(chunk);
    }
    out
}

#[test]
fn the_bytes_are_those_of_encode_send_whatever_the_chunk_size() {
    for (name, s) in steps() {
        let (expected, frames) =
            reference(&s.frame, s.fill.as_ref(), s.fragment, s.fresh_mask, s.repeat, keys()).unwrap();
        for max in [1, 3, 7, 64, 4096, 100_000, MAX_CHUNK, usize::MAX] {
            let got = drain(&mut stream(&s), max);
            assert!(got == expected, "{name}, chunks of {max}: {} bytes, expected {}", got.len(), expected.len());
        }
        let mut st = stream(&s);
        assert_eq!(st.cost(), SendCost { frames: frames.len() as u64, bytes: expected.len() as u64 }, "{name}");
        assert_eq!(
            SendCost::of_frames(&s.frame, s.fill.as_ref(), s.fragment, s.fresh_mask, s.repeat),
            st.cost(),
            "{name}: the loader's cost is the encoder's"
        );
        assert!(st.next_chunk(0).is_some_and(|c| c.len() == 1), "{name}: a zero-byte chunk is asked as one byte");
    }
}

#[test]
fn notes_describe_the_frames_as_sent() {
    for (name, s) in steps() {
        let (_, frames) = reference(&s.frame, s.fill.as_ref(), s.fragment, s.fresh_mask, s.repeat, keys()).unwrap();
        let mut st = stream(&s);
        let notes = st.notes(40);
        assert_eq!(notes.len(), frames.len().min(40), "{name}");
        for (note, spec) in notes.iter().zip(&frames) {
            assert_eq!(note.header, spec.header(), "{name}");
            assert_eq!(note.payload_len, spec.payload.len(), "{name}");
            assert_eq!(note.head, spec.payload[..spec.payload.len().min(NOTE_HEAD)], "{name}");
        }
        // notes drawn before sending do not change the bytes: the keys are the same
        let (expected, _) = reference(&s.frame, s.fill.as_ref(), s.fragment, s.fresh_mask, s.repeat, keys()).unwrap();
        assert!(drain(&mut st, 1000) == expected, "{name}");
        assert_eq!(st.notes(MAX_NOTES + 10).len(), frames.len().min(MAX_NOTES), "{name}");
    }
}

#[test]
fn fresh_keys_differ_from_frame_to_frame_and_the_frames_read_back() {
    let frame = FrameSpec::text(Vec::new()).declared_len(1000);
    let pattern = fill(1000, b"xyz");
    let mut st = FrameStream::new(&frame, pattern.as_ref(), Some(100), true, 3).unwrap();
    let wire = drain(&mut st, 333);
    let mut reader = FrameReader::new();
    reader.push(&wire);
    let mut keys = Vec::new();
    let mut payload = Vec::new();
    while let Ok(Some(f)) = reader.next_frame() {
        keys.push(f.header.masking_key.expect("masked"));
        payload.extend_from_slice(&f.payload);
    }
    assert_eq!(keys.len(), 30);
    keys.sort_by_key(|k| k.bytes());
    keys.dedup();
    assert_eq!(keys.len(), 30, "every frame has its own key");
    assert_eq!(payload, b"xyz".repeat(1000).into_iter().take(1000).collect::<Vec<_>>().repeat(3));
}

#[test]
fn frames_that_cannot_be_encoded_are_refused_before_any_byte() {
    let too_wide = FrameSpec::text("x").rsv(8);
    assert!(matches!(FrameStream::new(&too_wide, None, None, true, 1), Err(FrameStreamError::Encode(_))));
    let seven_bits = FrameSpec::binary(vec![0; 300]).length(LengthEncoding::Bits7);
    let e = FrameStream::new(&seven_bits, None, Some(200), true, 1).unwrap_err();
    assert_eq!(e.to_string(), "declared length 200 does not fit in the 7-bit length field");
    assert!(FrameStream::new(&seven_bits, None, Some(100), true, 1).is_ok(), "fragments of 100 bytes fit 7 bits");
    assert_eq!(FrameStream::new(&seven_bits, None, Some(0), true, 1).unwrap_err(), FrameStreamError::ZeroFragment);
}

#[test]
fn a_huge_step_costs_nothing_until_its_chunks_are_taken() {
    // the repeat bomb: 64 MiB, a million times; its cost is known and one chunk is built, never the whole
    let frame = FrameSpec::binary(Vec::new()).declared_len(64 << 20);
    let payload = fill(64 << 20, b"*");
    let mut st = FrameStream::new(&frame, payload.as_ref(), None, true, 1_000_000).unwrap();
    assert_eq!(st.cost(), SendCost { frames: 1_000_000, bytes: ((64 << 20) + 14) * 1_000_000 });
    let chunk = st.next_chunk(usize::MAX).unwrap();
    assert_eq!(chunk.len(), MAX_CHUNK);
    assert_eq!(&chunk[..2], [0x82, 0xFF]);
    let st = FrameStream::new(&frame, payload.as_ref(), Some(1), true, 1).unwrap();
    assert_eq!(st.cost(), SendCost { frames: 64 << 20, bytes: 7 * (64 << 20) }, "fragment = 1: 7 bytes a byte");
}

#[test]
fn raw_steps_cost_their_bytes_times_repeat() {
    let step = Step::Raw { bytes: vec![0x81, 0x80, 0, 0, 0, 0], repeat: 10, delivery: Default::default() };
    assert_eq!(SendCost::of_step(&step), SendCost { frames: 10, bytes: 60 });
    assert!(FrameStream::of_step(&step).is_none());
    assert_eq!(SendCost::of_step(&Step::ShutdownWrite), SendCost::default());
}
