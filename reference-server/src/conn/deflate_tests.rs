//! The connection core with permessage-deflate (RFC 7692 §6): wire exchanges as data.

use super::tests::client_frame as frame;
use super::*;
use crate::deflate::{negotiate, DeflateConfig};

const LIMITS: Limits = Limits { max_message_size: 1 << 20, max_frame_size: 1 << 20 };

fn connection(offer: Option<&str>, limits: Limits) -> Connection {
    // zlib's default level 6, with which RFC 7692 §7.2.3 made its examples: the server's bytes are compared exactly
    let config = DeflateConfig { level: 6, ..DeflateConfig::default() };
    let agreed = offer.map(|o| negotiate([o], &config).expect("acceptable offer")); // ok: test
    Connection::with_deflate(limits, agreed)
}

/// Feeds `input` in pieces of `chunk` bytes, carrying unconsumed bytes as the I/O layer does.
fn exchange(offer: Option<&str>, limits: Limits, input: &[u8], chunk: usize) -> (Connection, Vec<u8>) {
    let mut conn = connection(offer, limits);
    let (mut out, mut carry) = (Vec::new(), Vec::new());
    for piece in input.chunks(chunk.max(1)) {
        carry.extend_from_slice(piece);
        let n = conn.process(&carry, &mut out);
        carry.drain(..n);
    }
    (conn, out)
}

const HELLO: &[u8] = &[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];
const DEFLATE: Option<&str> = Some("permessage-deflate");

/// A close frame the server sends, with `code` and any reason.
fn is_close(out: &[u8], code: u16) -> bool {
    out.len() >= 4 && out[0] == 0x88 && u16::from_be_bytes([out[2], out[3]]) == code
}

/// What is shown, the offer accepted (if any), the client's bytes, the server's bytes exactly.
type Exchange = (&'static str, Option<&'static str>, Vec<u8>, Vec<u8>);

#[test]
fn the_wire_exchanges() {
    let cases: Vec<Exchange> = vec![
        // §7.2.3.1: "Hello" compressed in, "Hello" compressed out (RSV1 on the frame)
        ("hello", DEFLATE, frame(0xc1, HELLO), [&[0xc1, 0x07][..], HELLO].concat()),
        // §7.2.3.2: the second "Hello" shares the window, both ways
        (
            "two hellos",
            DEFLATE,
            [frame(0xc1, HELLO), frame(0xc1, &[0xf2, 0x00, 0x11, 0x00, 0x00])].concat(),
            [&[0xc1, 0x07][..], HELLO, &[0xc1, 0x05, 0xf2, 0x00, 0x11, 0x00, 0x00]].concat(),
        ),
        // §7.2.3.3: a stored block in, compressed out
        (
            "stored",
            DEFLATE,
            frame(0xc2, &[0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00]),
            [&[0xc2, 0x07][..], HELLO].concat(),
        ),
        // §7.2.3.6: an empty message, both forms, echoed as 0x00
        ("empty 00", DEFLATE, frame(0xc1, &[0x00]), vec![0xc1, 0x01, 0x00]),
        ("empty 02 00", DEFLATE, frame(0xc2, &[0x02, 0x00]), vec![0xc2, 0x01, 0x00]),
        // a compressed message in fragments: RSV1 on the first only; "Hel" + "lo" of the compressed bytes
        (
            "fragmented",
            DEFLATE,
            [frame(0x41, &HELLO[..3]), frame(0x80, &HELLO[3..])].concat(),
            [&[0xc1, 0x07][..], HELLO].concat(),
        ),
        // a plain message on a deflate connection is echoed plain
        ("plain", DEFLATE, frame(0x81, b"Hello"), [&[0x81, 0x05][..], b"Hello"].concat()),
        // a ping between fragments of a compressed message
        (
            "ping inside",
            DEFLATE,
            [frame(0x41, &HELLO[..3]), frame(0x89, b"p"), frame(0x80, &HELLO[3..])].concat(),
            [&[0x8a, 0x01, b'p', 0xc1, 0x07][..], HELLO].concat(),
        ),
    ];
    for (what, offer, input, expected) in &cases {
        for chunk in [input.len(), 1, 3] {
            let (conn, out) = exchange(*offer, LIMITS, input, chunk);
            assert_eq!(out, *expected, "{what}, reads of {chunk}");
            assert_eq!(conn.state(), State::Open, "{what}");
        }
    }
}

#[test]
fn rsv1_where_it_may_not_be_fails_with_1002() {
    let cases: Vec<(&str, Option<&str>, Vec<u8>, ProtocolError)> = vec![
        ("without negotiation", None, frame(0xc1, HELLO), ProtocolError::ReservedBits(0b100)),
        (
            "on a continuation",
            DEFLATE,
            [frame(0x41, &HELLO[..3]), frame(0xc0, &HELLO[3..])].concat(),
            ProtocolError::CompressedContinuation,
        ),
        (
            "on a continuation of a plain message",
            DEFLATE,
            [frame(0x01, b"Hel"), frame(0xc0, b"lo")].concat(),
            ProtocolError::CompressedContinuation,
        ),
        ("on a ping", DEFLATE, frame(0xc9, b"p"), ProtocolError::CompressedControlFrame),
        ("on a close", DEFLATE, frame(0xc8, &[0x03, 0xe8]), ProtocolError::CompressedControlFrame),
        ("RSV2 with deflate", DEFLATE, frame(0xa1, b"Hello"), ProtocolError::ReservedBits(0b010)),
    ];
    for (what, offer, input, error) in cases {
        let (conn, out) = exchange(offer, LIMITS, &input, input.len());
        assert_eq!(conn.failure(), Some(&error), "{what}");
        assert!(is_close(&out, 1002), "{what}: {out:02x?}");
        assert!(!out.windows(2).any(|w| w == [0xc1, 0x07]), "{what}: nothing echoed");
    }
}

#[test]
fn invalid_utf8_seen_only_after_inflating_fails_with_1007() {
    // a stored block holding 0xff: valid DEFLATE, invalid UTF-8 once inflated
    let stored_ff = [0x00, 0x01, 0x00, 0xfe, 0xff, 0xff, 0x00];
    let (conn, out) = exchange(DEFLATE, LIMITS, &frame(0xc1, &stored_ff), 64);
    assert_eq!(conn.failure(), Some(&ProtocolError::InvalidUtf8));
    assert!(is_close(&out, 1007), "{out:02x?}");
    // the same bytes as binary are echoed
    let (conn, out) = exchange(DEFLATE, LIMITS, &frame(0xc2, &stored_ff), 64);
    assert_eq!(conn.state(), State::Open);
    assert_eq!(out[0], 0xc2);
}

#[test]
fn corrupt_deflate_data_fails_with_1007() {
    for bad in [&[0x07][..], &[0xff, 0xff, 0xff, 0xff], &[0xf2, 0x00, 0x11, 0x00, 0x00]] {
        let (conn, out) = exchange(DEFLATE, LIMITS, &frame(0xc2, bad), 64);
        assert_eq!(conn.failure(), Some(&ProtocolError::InvalidCompressedData), "{bad:02x?}");
        assert!(is_close(&out, 1007), "{out:02x?}");
    }
}

#[test]
fn a_bomb_fails_with_1009_while_inflating() {
    let limit = 64 * 1024;
    let limits = Limits { max_message_size: limit, max_frame_size: limit };
    let mut c = flate2::Compress::new(flate2::Compression::best(), false);
    let mut bomb = Vec::with_capacity(4096);
    c.compress_vec(&vec![b'a'; 64 * limit as usize], &mut bomb, flate2::FlushCompress::Sync).unwrap(); // ok: test
    bomb.truncate(bomb.len() - 4);
    assert!(bomb.len() * 500 < 64 * limit as usize, "{}", bomb.len());
    let (conn, out) = exchange(DEFLATE, limits, &frame(0xc1, &bomb), 1000);
    assert!(matches!(conn.failure(), Some(ProtocolError::MessageTooBig { .. })), "{:?}", conn.failure());
    assert!(is_close(&out, 1009), "{out:02x?}");
    assert_eq!(conn.buffered_capacity(), 0);
}

#[test]
fn an_idle_connection_holds_no_zlib_state() {
    let input = [frame(0xc1, HELLO), frame(0xc1, &[0xf2, 0x00, 0x11, 0x00, 0x00])].concat();
    let (conn, _) = exchange(DEFLATE, LIMITS, &input, input.len());
    assert_eq!(conn.deflate().map(|c| c.holds_state()), Some((false, false, 1 << 15)));
    let offer = Some("permessage-deflate; server_no_context_takeover; client_no_context_takeover");
    let (conn, _) = exchange(offer, LIMITS, &input[..frame(0xc1, HELLO).len()], 5);
    assert_eq!(conn.deflate().map(|c| c.holds_state()), Some((false, false, 0)));
    // half a compressed message keeps its inflater, and only that
    let (conn, _) = exchange(DEFLATE, LIMITS, &frame(0x41, &HELLO[..3]), 64);
    assert_eq!(conn.deflate().map(|c| c.holds_state()), Some((true, false, 0)));
}
