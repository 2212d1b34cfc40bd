//! permessage-deflate over loopback (RFC 7692): what the 101 agrees to, compressed echoes a real inflater reads,
//! the limits while inflating, and offers the server declines without refusing the connection.

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress};
use reference_server::Config;

use crate::common::*;

/// A client half of permessage-deflate written with flate2 (RFC 7692 §7.2), independent of the server's codec.
struct DeflateClient {
    raw: RawClient,
    compress: Compress,
    decompress: Decompress,
}

impl DeflateClient {
    /// Connects offering `offer`, asserting 101 and that the response lists `expect`.
    async fn connect(server: &crate::common::TestServer, offer: &str, expect: &str) -> DeflateClient {
        let mut raw = RawClient::tcp(server.local_addr()).await;
        raw.send(request_adding(&format!("Sec-WebSocket-Extensions: {offer}\r\n")).as_bytes()).await;
        let resp = raw.read_head().await;
        assert_eq!(resp.status, 101, "{resp:?}");
        assert_eq!(resp.header("Sec-WebSocket-Extensions"), Some(expect), "offer {offer:?}");
        DeflateClient {
            raw,
            compress: Compress::new(Compression::default(), false),
            decompress: Decompress::new(false),
        }
    }

    /// The compressed payload of `message`, trailer removed (§7.2.1).
    fn deflate(&mut self, message: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(message.len() + 64);
        self.compress.compress_vec(message, &mut out, FlushCompress::Sync).expect("deflate");
        assert!(out.ends_with(&[0, 0, 0xff, 0xff]));
        out.truncate(out.len() - 4);
        out
    }

    /// Reads one frame, asserts RSV1 and `opcode`, and returns the inflated payload (§7.2.2).
    async fn read_compressed(&mut self, opcode: u8) -> Vec<u8> {
        let frame = match self.raw.next_event().await {
            Event::Frame(f) => f,
            other => panic!("expected a frame, got {other:?}"),
        };
        assert_eq!((frame.rsv, frame.opcode, frame.fin, frame.masked), (0b100, opcode, true, false), "{frame:?}");
        let mut out = Vec::with_capacity(1 << 20);
        let input = [&frame.payload[..], &[0, 0, 0xff, 0xff]].concat();
        self.decompress.decompress_vec(&input, &mut out, FlushDecompress::Sync).expect("inflate the echo");
        out
    }
}

#[tokio::test]
async fn compressed_messages_are_echoed_compressed_with_context_takeover_both_ways() {
    let server = start_default().await;
    let mut c =
        DeflateClient::connect(&server, "permessage-deflate; client_max_window_bits", "permessage-deflate").await;
    let text = ascii(200_100, 3);
    for (i, len) in [0usize, 5, 5, 1000, 70_000, 200_000, 17].into_iter().enumerate() {
        let message = &text.as_bytes()[i..i + len];
        let payload = c.deflate(message);
        // one frame, or the compressed bytes split over three frames (RSV1 on the first only)
        let frames = if i % 2 == 0 {
            vec![Frame::text(payload).rsv(0b100)]
        } else {
            let third = payload.len() / 3;
            vec![
                Frame::text(&payload[..third]).rsv(0b100).fin(false),
                Frame::cont(&payload[third..2 * third]).fin(false),
                Frame::cont(&payload[2 * third..]),
            ]
        };
        c.raw.send_frames(&frames).await;
        assert_payload_eq(&c.read_compressed(TEXT).await, message);
    }
    // a plain message on the same connection is echoed plain
    c.raw.send_frames(&[Frame::binary(b"plain".to_vec())]).await;
    c.raw.expect_frame(BINARY, b"plain").await;
    c.raw.send_frames(&[Frame::close(1000, b"")]).await;
    c.raw.expect_close_then_eof(1000).await;
}

#[tokio::test]
async fn no_context_takeover_and_small_windows_are_honoured() {
    let server = start_default().await;
    for (offer, expect, server_bits) in [
        (
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover",
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover",
            15,
        ),
        ("permessage-deflate; server_max_window_bits=9", "permessage-deflate; server_max_window_bits=9", 9),
        ("permessage-deflate; server_max_window_bits=8", "permessage-deflate; server_max_window_bits=8", 9),
    ] {
        let mut c = DeflateClient::connect(&server, offer, expect).await;
        c.decompress = Decompress::new_with_window_bits(false, server_bits);
        let no_context = offer.contains("server_no_context_takeover");
        for message in [b"Hello, Hello, Hello".to_vec(), ascii(5000, 1).into_bytes(), b"Hello, Hello, Hello".to_vec()] {
            if no_context {
                c.compress.reset();
            }
            let payload = c.deflate(&message);
            c.raw.send_frames(&[Frame::binary(payload).rsv(0b100)]).await;
            if no_context {
                // the echo must inflate with a fresh window
                c.decompress = Decompress::new_with_window_bits(false, server_bits);
            }
            assert_payload_eq(&c.read_compressed(BINARY).await, &message);
        }
    }
}

#[tokio::test]
async fn offers_the_server_cannot_honour_are_declined_and_the_connection_opens_plain() {
    let server = start_default().await;
    for offer in [
        "permessage-deflate; x-unknown",
        "permessage-deflate; server_max_window_bits",
        "permessage-deflate; server_max_window_bits=16",
        "permessage-deflate; client_no_context_takeover; client_no_context_takeover",
        "permessage-deflate; server_max_window_bits=\"1",
        "x-wsharness-unknown",
    ] {
        let mut raw = RawClient::tcp(server.local_addr()).await;
        raw.send(request_adding(&format!("Sec-WebSocket-Extensions: {offer}\r\n")).as_bytes()).await;
        let resp = raw.read_head().await;
        assert_eq!(resp.status, 101, "{offer}: {resp:?}");
        assert_eq!(resp.header("Sec-WebSocket-Extensions"), None, "{offer}");
        raw.send_frames(&[Frame::text(b"Hello".to_vec())]).await;
        raw.expect_frame(TEXT, b"Hello").await;
        // without the extension RSV1 fails the connection (RFC 6455 §5.2)
        raw.send_frames(&[Frame::text(b"Hello".to_vec()).rsv(0b100)]).await;
        raw.expect_close_then_eof(1002).await;
    }
    // several header fields: the first acceptable offer wins
    let mut raw = RawClient::tcp(server.local_addr()).await;
    let fields = "Sec-WebSocket-Extensions: permessage-deflate; bogus\r\nSec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover\r\n";
    raw.send(request_adding(fields).as_bytes()).await;
    let resp = raw.read_head().await;
    assert_eq!(resp.header("Sec-WebSocket-Extensions"), Some("permessage-deflate; server_no_context_takeover"));
}

#[tokio::test]
async fn a_server_configured_without_deflate_never_lists_it() {
    let server = start(Config { deflate: None, ..Config::default() }).await;
    let mut raw = RawClient::tcp(server.local_addr()).await;
    raw.send(request_adding("Sec-WebSocket-Extensions: permessage-deflate\r\n").as_bytes()).await;
    let resp = raw.read_head().await;
    assert_eq!((resp.status, resp.header("Sec-WebSocket-Extensions")), (101, None));
}

#[tokio::test]
async fn rsv1_on_a_continuation_or_control_frame_fails_with_1002() {
    let server = start_default().await;
    for frames in [
        vec![Frame::text(b"Hel".to_vec()).fin(false), Frame::cont(b"lo".to_vec()).rsv(0b100)],
        vec![Frame::ping(b"p".to_vec()).rsv(0b100)],
    ] {
        let mut c = DeflateClient::connect(&server, "permessage-deflate", "permessage-deflate").await;
        c.raw.send_frames(&frames).await;
        c.raw.expect_close_then_eof(1002).await;
    }
}

#[tokio::test]
async fn a_bomb_closes_with_1009_and_corrupt_data_with_1007() {
    let server = start(Config { max_message_size: 1 << 20, max_frame_size: 1 << 20, ..Config::default() }).await;
    // 1000:1 and more: 16 MiB of one byte deflates to about 16 KiB
    let mut c = DeflateClient::connect(&server, "permessage-deflate", "permessage-deflate").await;
    let bomb = c.deflate(&vec![b'a'; 16 << 20]);
    assert!(bomb.len() * 1000 < 16 << 20, "{}", bomb.len());
    c.raw.send_frames(&[Frame::binary(bomb).rsv(0b100)]).await;
    c.raw.expect_close_then_eof(1009).await;
    // data that does not inflate
    let mut c = DeflateClient::connect(&server, "permessage-deflate", "permessage-deflate").await;
    c.raw.send_frames(&[Frame::binary(vec![0xff; 8]).rsv(0b100)]).await;
    c.raw.expect_close_then_eof(1007).await;
    // text whose inflated bytes are not UTF-8 (a stored block holding 0xff)
    let mut c = DeflateClient::connect(&server, "permessage-deflate", "permessage-deflate").await;
    c.raw.send_frames(&[Frame::text(vec![0x00, 0x01, 0x00, 0xfe, 0xff, 0xff, 0x00]).rsv(0b100)]).await;
    c.raw.expect_close_then_eof(1007).await;
}
