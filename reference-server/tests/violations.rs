//! Every protocol violation fails the connection with the exact close code RFC 6455 prescribes, then the server
//! closes TCP and sends nothing more.

use std::time::{Duration, Instant};

use crate::common::*;
use reference_server::Config;

/// Sends `bytes` on a fresh connection to a default server; the server must answer with close `code`, then EOF.
async fn assert_fails_with(bytes: &[u8], code: u16, case: &str) {
    let server = start_default().await;
    assert_fails_with_on(&server, bytes, code, case).await;
}

async fn assert_fails_with_on(server: &crate::common::TestServer, bytes: &[u8], code: u16, case: &str) {
    let mut c = RawClient::connect(server.local_addr()).await;
    c.send(bytes).await;
    let close = match c.next_event().await {
        Event::Frame(f) => f,
        other => panic!("{case}: expected a close frame with code {code}, got {other:?}"),
    };
    assert_eq!(
        (opcode_name(close.opcode), close.close_code()),
        (opcode_name(CLOSE), Some(code)),
        "{case}: expected close {code}, got {close:?}"
    );
    assert!(!close.masked, "{case}: the server masked its close frame");
    let after = c.next_event().await;
    assert_eq!(after, Event::Eof, "{case}: after close {code} the server must close TCP and send nothing more");
}

// --- §5.1, §5.2: the frame header ---------------------------------------------------------------------------------

#[tokio::test]
async fn closes_with_1002_on_unmasked_frame() {
    assert_fails_with(&Frame::text("Hello").unmasked().encode(), 1002, "unmasked text").await;
    assert_fails_with(&Frame::ping("").unmasked().encode(), 1002, "unmasked empty ping").await;
}

#[tokio::test]
async fn closes_with_1002_on_each_rsv_bit() {
    let server = start_default().await;
    for rsv in [0b100, 0b010, 0b001, 0b111] {
        let case = format!("text with RSV bits {rsv:#05b}");
        assert_fails_with_on(&server, &Frame::text("Hello").rsv(rsv).encode(), 1002, &case).await;
    }
    assert_fails_with_on(&server, &Frame::ping("x").rsv(0b100).encode(), 1002, "ping with RSV1").await;
}

#[tokio::test]
async fn closes_with_1002_on_each_reserved_opcode() {
    let server = start_default().await;
    for opcode in (0x3..=0x7).chain(0xB..=0xF) {
        let case = format!("reserved opcode {opcode:#x}");
        assert_fails_with_on(&server, &Frame::new(opcode, "x").encode(), 1002, &case).await;
    }
}

#[tokio::test]
async fn closes_with_1002_on_control_frame_without_fin() {
    let server = start_default().await;
    for frame in [Frame::ping("x"), Frame::pong("x"), Frame::close(1000, b"")] {
        let case = format!("{frame:?} without FIN");
        assert_fails_with_on(&server, &frame.fin(false).encode(), 1002, &case).await;
    }
}

#[tokio::test]
async fn closes_with_1002_on_control_frame_with_126_byte_payload() {
    let server = start_default().await;
    for frame in [Frame::ping(pattern(126, 0)), Frame::pong(pattern(126, 0)), Frame::close(1000, &pattern(124, 0))] {
        let case = format!("{frame:?}");
        assert_fails_with_on(&server, &frame.encode(), 1002, &case).await;
    }
    // only the header: the length alone is the violation, no payload needs to arrive
    let header = &Frame::ping(pattern(126, 0)).encode()[..4];
    assert_fails_with_on(&server, header, 1002, "ping header declaring 126 bytes").await;
}

#[tokio::test]
async fn closes_with_1002_on_64_bit_length_with_msb_set() {
    let server = start_default().await;
    let frame = Frame::binary("").length(Length::Declared64(1 << 63 | 5)).encode();
    assert_fails_with_on(&server, &frame, 1002, "64-bit length 2^63+5").await;
    // the first length byte is enough to know
    assert_fails_with_on(&server, &frame[..3], 1002, "first byte of a 64-bit length with MSB set").await;
}

#[tokio::test]
async fn closes_with_1002_on_non_minimal_length_encoding() {
    let server = start_default().await;
    let cases = [
        (Frame::text("x").length(Length::Ext16), "1 byte in the 16-bit field"),
        (Frame::binary(pattern(125, 0)).length(Length::Ext16), "125 bytes in the 16-bit field"),
        (Frame::text("x").length(Length::Ext64), "1 byte in the 64-bit field"),
        (Frame::binary(pattern(65_535, 0)).length(Length::Ext64), "65535 bytes in the 64-bit field"),
    ];
    for (frame, case) in cases {
        assert_fails_with_on(&server, &frame.encode(), 1002, case).await;
    }
}

// --- §5.4: fragmentation -------------------------------------------------------------------------------------------

#[tokio::test]
async fn closes_with_1002_on_continuation_without_a_started_message() {
    let server = start_default().await;
    assert_fails_with_on(&server, &Frame::cont("x").encode(), 1002, "final continuation first").await;
    assert_fails_with_on(&server, &Frame::cont("x").fin(false).encode(), 1002, "non-final continuation first").await;
    // after a complete fragmented message there is nothing to continue either
    let bytes = encode_all(&[Frame::text("a").fin(false), Frame::cont("b"), Frame::cont("c")]);
    let mut c = RawClient::connect(server.local_addr()).await;
    c.send(&bytes).await;
    c.expect_frame(TEXT, b"ab").await;
    c.expect_close_then_eof(1002).await;
}

#[tokio::test]
async fn closes_with_1002_on_new_data_frame_inside_a_fragmented_message() {
    let server = start_default().await;
    for (second, case) in [
        (Frame::text("b"), "text inside text"),
        (Frame::binary("b"), "binary inside text"),
        (Frame::text("b").fin(false), "non-final text inside text"),
    ] {
        let bytes = encode_all(&[Frame::text("a").fin(false), second]);
        assert_fails_with_on(&server, &bytes, 1002, case).await;
    }
    let bytes = encode_all(&[Frame::binary("a").fin(false), Frame::cont("b").fin(false), Frame::binary("c")]);
    assert_fails_with_on(&server, &bytes, 1002, "binary inside binary after a continuation").await;
}

// --- §8.1: UTF-8 ---------------------------------------------------------------------------------------------------

#[tokio::test]
async fn closes_with_1007_on_invalid_utf8_in_a_single_frame() {
    let server = start_default().await;
    let cases: [(&[u8], &str); 5] = [
        (b"\xff", "a 0xFF byte"),
        (b"Hello \xc0\xaf", "an overlong encoding"),
        (b"\xed\xa0\x80", "a UTF-16 surrogate"),
        (b"\xf4\x90\x80\x80", "a code point above U+10FFFF"),
        (b"truncated \xe2\x82", "a message ending inside a code point"),
    ];
    for (payload, case) in cases {
        assert_fails_with_on(&server, &Frame::text(payload).encode(), 1007, case).await;
    }
}

#[tokio::test]
async fn closes_with_1007_on_invalid_utf8_in_a_message_ending_inside_a_code_point_across_fragments() {
    let bytes = encode_all(&[Frame::text(&b"ok \xe2\x82"[..]).fin(false), Frame::cont("")]);
    assert_fails_with(&bytes, 1007, "text ending inside a code point, completed by an empty continuation").await;
}

#[tokio::test]
async fn fails_fast_with_1007_inside_a_fragment_before_the_message_completes() {
    let server = start_default().await;
    // the first fragment is already invalid; the message never finishes
    let bytes = Frame::text(&b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xf4\x90\x80\x80"[..]).fin(false).encode();
    assert_fails_with_on(&server, &bytes, 1007, "invalid first fragment of an unfinished message").await;
    // a valid first fragment, then an invalid byte in a non-final continuation
    let bytes = encode_all(&[Frame::text("valid").fin(false), Frame::cont(&b"still \xff"[..]).fin(false)]);
    assert_fails_with_on(&server, &bytes, 1007, "invalid second fragment of an unfinished message").await;
    // a code point cut across fragments whose continuation cannot be valid (0xF4 0x90: above U+10FFFF)
    let bytes = encode_all(&[Frame::text(&b"a\xf4"[..]).fin(false), Frame::cont(&b"\x90"[..]).fin(false)]);
    assert_fails_with_on(&server, &bytes, 1007, "an impossible code point across fragments").await;
    // inside one frame: 10 bytes of a declared 100, the invalid byte among them
    let frame = Frame::text([&b"abc\xff"[..], &[b'a'; 96]].concat()).encode();
    assert_fails_with_on(&server, &frame[..2 + 4 + 10], 1007, "invalid bytes in the first part of a frame").await;
}

// --- §5.5.1, §7.4: close frames ------------------------------------------------------------------------------------

#[tokio::test]
async fn closes_with_1002_on_close_frame_with_1_byte_payload() {
    assert_fails_with(&Frame::new(CLOSE, vec![0x03]).encode(), 1002, "a 1-byte close body").await;
}

#[tokio::test]
async fn closes_with_1002_on_invalid_close_codes() {
    let server = start_default().await;
    for code in [0u16, 999, 1004, 1005, 1006, 1012, 1013, 1014, 1015, 1016, 1100, 2000, 2999, 5000, 65535] {
        let case = format!("close code {code}");
        assert_fails_with_on(&server, &Frame::close(code, b"").encode(), 1002, &case).await;
    }
}

#[tokio::test]
async fn echoes_valid_close_codes() {
    let server = start_default().await;
    for code in [1000u16, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999] {
        let mut c = RawClient::connect(server.local_addr()).await;
        c.send_frames(&[Frame::close(code, "a reason, ünïcödé".as_bytes())]).await;
        let reply = c.expect_close(code).await;
        assert!(reply.fin, "close {code}: the reply must be a final frame: {reply:?}");
        c.expect_eof().await;
    }
}

#[tokio::test]
async fn closes_with_1007_on_close_reason_not_utf8() {
    let server = start_default().await;
    for (reason, case) in
        [(&b"\xff"[..], "0xFF"), (&b"ok \xe2\x82"[..], "a cut code point"), (&b"\xed\xa0\x80"[..], "a surrogate")]
    {
        let case = format!("close 1000 with a reason holding {case}");
        assert_fails_with_on(&server, &Frame::close(1000, reason).encode(), 1007, &case).await;
    }
}

#[tokio::test]
async fn answers_an_empty_close_with_an_empty_close() {
    let server = start_default().await;
    let mut c = RawClient::connect(server.local_addr()).await;
    c.send_frames(&[Frame::close_empty()]).await;
    let reply = c.read_frame().await;
    assert_eq!((opcode_name(reply.opcode), reply.payload.len()), (opcode_name(CLOSE), 0), "got {reply:?}");
    c.expect_eof().await;
}

// --- §10.4: size limits --------------------------------------------------------------------------------------------

#[tokio::test]
async fn closes_with_1009_on_message_over_max_message_size() {
    let server = start(Config { max_message_size: 1000, ..Config::default() }).await;
    // exactly the limit passes, in one frame and in fragments
    let mut c = RawClient::connect(server.local_addr()).await;
    c.send_frames(&[Frame::binary(pattern(1000, 1))]).await;
    c.expect_frame(BINARY, &pattern(1000, 1)).await;
    c.send_frames(&[Frame::text(ascii(600, 1)).fin(false), Frame::cont(ascii(400, 2))]).await;
    c.expect_frame(TEXT, format!("{}{}", ascii(600, 1), ascii(400, 2)).as_bytes()).await;
    drop(c);

    assert_fails_with_on(&server, &Frame::binary(pattern(1001, 0)).encode(), 1009, "one 1001-byte frame").await;
    let bytes = encode_all(&[Frame::text(ascii(600, 1)).fin(false), Frame::cont(ascii(401, 2))]);
    assert_fails_with_on(&server, &bytes, 1009, "600 + 401 bytes in two fragments").await;
    // the header of the fragment that goes over is enough: its payload need not arrive
    let first = Frame::binary(pattern(900, 1)).fin(false).encode();
    let second = Frame::cont(pattern(200, 2)).encode();
    let bytes = [&first[..], &second[..8]].concat();
    assert_fails_with_on(&server, &bytes, 1009, "900 bytes, then the header of a 200-byte continuation").await;
}

#[tokio::test]
async fn closes_with_1009_on_frame_over_max_frame_size() {
    let server = start(Config { max_frame_size: 100, max_message_size: 1000, ..Config::default() }).await;
    // frames at the limit make a message larger than one frame
    let mut c = RawClient::connect(server.local_addr()).await;
    let frames = [Frame::binary(pattern(100, 1)).fin(false), Frame::cont(pattern(100, 2)).fin(false), Frame::cont("")];
    c.send_frames(&frames).await;
    c.expect_frame(BINARY, &[pattern(100, 1), pattern(100, 2)].concat()).await;
    drop(c);

    assert_fails_with_on(&server, &Frame::binary(pattern(101, 0)).encode(), 1009, "a 101-byte frame").await;
    let bytes = encode_all(&[Frame::text("a").fin(false), Frame::cont(ascii(101, 0))]);
    assert_fails_with_on(&server, &bytes, 1009, "a 101-byte continuation").await;
    // control frames are limited by §5.5 (125 bytes), not by max_frame_size
    let mut c = RawClient::connect(server.local_addr()).await;
    c.send_frames(&[Frame::ping(pattern(125, 3))]).await;
    c.expect_frame(PONG, &pattern(125, 3)).await;
}

#[tokio::test]
async fn closes_with_1009_promptly_on_a_declared_length_of_2_pow_63_minus_1() {
    let server = start_default().await;
    let header = Frame::binary("").length(Length::Declared64(i64::MAX as u64)).encode();
    assert_eq!(header.len(), 2 + 8 + 4);
    let started = Instant::now();
    assert_fails_with_on(&server, &header, 1009, "a header declaring 2^63-1 bytes and no payload").await;
    assert!(started.elapsed() < Duration::from_secs(1), "took {:?}", started.elapsed());
}

// --- §7.1.7: nothing after the close ------------------------------------------------------------------------------

#[tokio::test]
async fn sends_nothing_but_the_close_frame_after_a_violation() {
    let server = start_default().await;
    let mut c = RawClient::connect(server.local_addr()).await;
    let bytes = encode_all(&[
        Frame::text("before"),
        Frame::text("bad").rsv(0b010),
        Frame::ping("no pong for this"),
        Frame::text("no echo for this"),
    ]);
    c.send(&bytes).await;
    c.expect_frame(TEXT, b"before").await;
    c.expect_close_then_eof(1002).await;
}

#[tokio::test]
async fn sends_nothing_after_echoing_a_close() {
    let server = start_default().await;
    let mut c = RawClient::connect(server.local_addr()).await;
    let bytes = encode_all(&[Frame::close(1000, b""), Frame::ping("too late"), Frame::text("too late")]);
    c.send(&bytes).await;
    c.expect_close_then_eof(1000).await;
}

#[tokio::test]
async fn the_close_reason_of_a_failure_is_valid_utf8_of_at_most_123_bytes() {
    let server = start_default().await;
    let mut c = RawClient::connect(server.local_addr()).await;
    c.send_frames(&[Frame::text("x").unmasked()]).await;
    let close = c.expect_close(1002).await;
    assert!(close.payload.len() <= 125, "{close:?}");
    c.expect_eof().await;
}
