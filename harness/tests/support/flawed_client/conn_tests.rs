//! The sans-IO core alone: the same server bytes get the same answers however they are cut, invalid UTF-8 fails
//! before its frame is complete, and no input makes the core panic, buffer past its limit or send after its close.

use wsharness::wire::{CloseCode, ClosePayload, FrameReader, FrameSpec, Opcode};

use super::super::frame::Entropy;
use super::super::{Flaw, Flaws};
use super::{Action, Conn};

/// The message limit of these tests.
const LIMIT: u64 = 1 << 20;

fn conn(flaws: &[Flaw]) -> Conn {
    Conn::new(Flaws(flaws.to_vec()), LIMIT, false, Entropy::open().expect("/dev/urandom"))
}

fn server_frames(frames: &[FrameSpec]) -> Vec<u8> {
    frames.iter().flat_map(|f| f.clone().unmasked().encode().expect("encodable frame")).collect()
}

/// The actions, the client's frames decoded (their keys are random): `text "Hello"`, `close 1000`, `await`, ...
fn describe(actions: &[Action]) -> Vec<String> {
    let mut reader = FrameReader::new();
    let mut lines = Vec::new();
    for action in actions {
        match action {
            Action::Write(bytes) => {
                reader.push(bytes);
                while let Ok(Some(frame)) = reader.next_frame() {
                    lines.push(match frame.close_payload() {
                        Some(ClosePayload::Code { code, .. }) => format!("close {}", code.0),
                        Some(_) => "close".to_owned(),
                        None => match std::str::from_utf8(&frame.payload) {
                            Ok(text) if text.len() <= 32 => format!("{} {text:?}", Opcode::name_of(frame.opcode())),
                            _ => format!("{} {} bytes", Opcode::name_of(frame.opcode()), frame.payload.len()),
                        },
                    });
                }
            }
            other => lines.push(format!("{other:?}")),
        }
    }
    lines
}

/// Feeds the reads in order; everything the core did.
fn feed<'a>(conn: &mut Conn, reads: impl IntoIterator<Item = &'a [u8]>) -> Vec<String> {
    let actions: Vec<Action> = reads.into_iter().flat_map(|read| conn.on_read(read)).collect();
    describe(&actions)
}

#[test]
fn flawed_client_core_answers_the_same_however_the_bytes_are_cut() {
    let fragmented = [
        FrameSpec::text("H\u{e9}").fin(false),
        FrameSpec::ping("p"),
        FrameSpec::continuation("llo"),
        FrameSpec::binary(vec![7; 300]),
        FrameSpec::ping(""),
        FrameSpec::close(CloseCode(1001), "bye"),
    ];
    // an invalid sequence (e2 82 28) inside the second fragment of a text message
    let invalid = [FrameSpec::text("ab").fin(false), FrameSpec::continuation([b'c', 0xE2, 0x82, 0x28, b'd'])];
    let cases: [(&[FrameSpec], Vec<&str>); 2] = [
        (
            &fragmented,
            vec!["pong \"p\"", "text \"Héllo\"", "binary 300 bytes", "pong \"\"", "close 1001", "AwaitServerClose"],
        ),
        (&invalid, vec!["close 1007", "AwaitServerClose"]),
    ];
    for (frames, expected) in cases {
        let stream = server_frames(frames);
        let whole = feed(&mut conn(&[]), [&stream[..]]);
        assert_eq!(whole, expected);
        for cut in 0..=stream.len() {
            let (a, b) = stream.split_at(cut);
            assert_eq!(feed(&mut conn(&[]), [a, b]), whole, "cut at {cut}");
        }
        assert_eq!(feed(&mut conn(&[]), stream.chunks(1)), whole, "byte by byte");
    }
}

#[test]
fn flawed_client_core_fails_invalid_utf8_before_its_frame_is_complete() {
    let frame = server_frames(&[FrameSpec::text([b'a', 0xC3, 0x28]).declared_len(100)]);
    assert_eq!(feed(&mut conn(&[]), [&frame[..]]), ["close 1007", "AwaitServerClose"]);
    assert_eq!(feed(&mut conn(&[Flaw::Utf8CheckedOnlyAtMessageEnd]), [&frame[..]]), Vec::<String>::new());
}

/// xorshift64: a fixed sequence, so a failure replays.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }

    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.below(256) as u8).collect()
    }
}

/// A frame a hostile server might send: mostly valid, sometimes masked, reserved, oversized or cut short.
fn random_frame(rng: &mut Rng) -> Vec<u8> {
    let opcode = [0x0, 0x1, 0x1, 0x2, 0x8, 0x9, 0xA, 0x3, 0xB][rng.below(9) as usize];
    let len = match rng.below(20) {
        0 => 0,
        1..=14 => rng.below(20),
        15..=17 => 124 + rng.below(4),
        18 => rng.below(70_000),
        _ => 1,
    } as usize;
    let payload = match rng.below(3) {
        0 => "é-a".repeat(len / 4 + 1).into_bytes()[..len].to_vec(),
        1 if opcode == 0x8 => [&[0x03, 0xE8 + rng.below(2) as u8][..], &rng.bytes(len)].concat(),
        _ => rng.bytes(len),
    };
    let mut frame = FrameSpec::new(opcode, payload).fin(rng.below(4) != 0).unmasked();
    if rng.below(15) == 0 {
        frame = frame.rsv(rng.below(8) as u8);
    }
    if rng.below(15) == 0 {
        frame = frame.mask_key([1, 2, 3, 4]);
    }
    if rng.below(30) == 0 {
        frame = frame.declared_len([1 << 40, 1 << 63, LIMIT + 1, 200][rng.below(4) as usize]);
    }
    frame.encode().unwrap_or_default()
}

#[test]
fn flawed_client_core_survives_hostile_frames_with_every_flaw() {
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let configs: Vec<Vec<Flaw>> = std::iter::once(Vec::new()).chain(Flaw::ALL.iter().map(|&f| vec![f])).collect();
    for _ in 0..150 {
        let stream: Vec<u8> = (0..1 + rng.below(8)).flat_map(|_| random_frame(&mut rng)).collect();
        let mut cuts: Vec<usize> = (0..rng.below(6)).map(|_| rng.below(stream.len() as u64 + 1) as usize).collect();
        cuts.push(stream.len());
        cuts.sort_unstable();
        for flaws in &configs {
            let mut conn = conn(flaws);
            let mut ended = false;
            let mut at = 0;
            for &cut in &cuts {
                let read = &stream[at..cut];
                at = cut;
                for action in conn.on_read(read) {
                    let late = ended && matches!(action, Action::Write(_));
                    assert!(!late || flaws == &[Flaw::EchoesAfterClose], "{flaws:?} wrote after its close or crash");
                    ended |= !matches!(action, Action::Write(_));
                }
                let bound = LIMIT as usize + 14 + read.len();
                assert!(conn.buf.len() <= bound, "{flaws:?} buffers {} bytes", conn.buf.len());
            }
        }
    }
}
