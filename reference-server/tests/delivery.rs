//! However TCP slices the client's bytes (one byte per write, many frames per write, any split point, frames behind
//! the handshake), the server answers exactly as if each frame had arrived whole.

use std::time::Duration;

use crate::common::*;

/// Lets the server read what was written so far before more arrives, so that each piece is a separate read.
async fn pause() {
    tokio::time::sleep(Duration::from_millis(2)).await;
}

/// The frames every delivery test sends, with the replies they must produce, in order.
fn exchange() -> (Vec<Frame>, Vec<(u8, Vec<u8>)>) {
    let frames = vec![
        Frame::text("Hello"),
        Frame::binary(pattern(300, 1)),
        Frame::ping("are you there"),
        // a code point split across two fragments (§5.6: validity is of the whole message)
        Frame::text(&b"\xce\xba\xe1"[..]).fin(false),
        Frame::cont(&b"\xbd\xb9"[..]).fin(true),
        Frame::text(""),
        Frame::close(1000, b"bye"),
    ];
    let replies = vec![
        (TEXT, b"Hello".to_vec()),
        (BINARY, pattern(300, 1)),
        (PONG, b"are you there".to_vec()),
        (TEXT, "κό".as_bytes().to_vec()),
        (TEXT, Vec::new()),
    ];
    (frames, replies)
}

async fn expect_replies(c: &mut RawClient, replies: &[(u8, Vec<u8>)]) {
    for (opcode, payload) in replies {
        c.expect_frame(*opcode, payload).await;
    }
}

#[tokio::test]
async fn handshake_and_frames_delivered_one_byte_per_write_are_answered() {
    let server = start_default().await;
    let mut c = RawClient::tcp(server.local_addr()).await;
    c.send_bytewise(GOOD_REQUEST.as_bytes()).await;
    let resp = c.read_head().await;
    assert_eq!(resp.status, 101, "{resp:?}");
    assert_eq!(resp.header("Sec-WebSocket-Accept"), Some(RFC_ACCEPT));
    let (frames, replies) = exchange();
    c.send_bytewise(&encode_all(&frames)).await;
    expect_replies(&mut c, &replies).await;
    c.expect_close_then_eof(1000).await;
}

#[tokio::test]
async fn a_64_bit_length_frame_delivered_one_byte_per_write_is_echoed() {
    let server = start_default().await;
    let mut c = RawClient::connect(server.local_addr()).await;
    let payload = pattern(65_536, 4);
    c.send_bytewise(&Frame::binary(payload.clone()).encode()).await;
    c.expect_frame(BINARY, &payload).await;
}

#[tokio::test]
async fn answers_a_thousand_frames_from_one_write_in_order() {
    let server = start_default().await;
    let mut c = RawClient::connect(server.local_addr()).await;
    let frames: Vec<Frame> = (0..1000)
        .map(|i| match i % 4 {
            0 => Frame::text(format!("message {i}")),
            1 => Frame::binary([&(i as u32).to_be_bytes()[..], &pattern(i % 200, i as u8)].concat()),
            2 => Frame::ping(format!("ping {i}")),
            _ => Frame::text(ascii(126 + i % 300, i as u8)),
        })
        .collect();
    c.send_frames(&frames).await;
    for (i, f) in frames.iter().enumerate() {
        let expected = if f.opcode == PING { PONG } else { f.opcode };
        let got = c.read_frame().await;
        assert_eq!(
            (opcode_name(got.opcode), got.payload.len()),
            (opcode_name(expected), f.payload.len()),
            "reply {i} of 1000: {got:?}"
        );
        assert_payload_eq(&got.payload, &f.payload);
    }
    c.send_frames(&[Frame::close(1000, b"")]).await;
    c.expect_close_then_eof(1000).await;
}

#[tokio::test]
async fn reassembles_frames_split_in_two_at_every_header_offset() {
    let server = start_default().await;
    let mut c = RawClient::connect(server.local_addr()).await;
    let frames = [
        // 7-bit length: header | key | payload
        Frame::text("split me"),
        // 16-bit length: header | extended length | key | payload
        Frame::binary(pattern(300, 2)),
        // 64-bit length: header | extended length | key | payload
        Frame::binary(pattern(70_000, 3)),
        // control frames take the same path
        Frame::ping(pattern(125, 4)),
        // a code point cut between reads inside one text frame
        Frame::text("κόσμε 🦀 κόσμε"),
    ];
    for frame in &frames {
        let bytes = frame.encode();
        let header = frame.header_len();
        let payload = frame.payload.len();
        // every cut inside the header and the masking key, then at the start, middle and end of the payload
        let mut cuts: Vec<usize> = (1..=header).collect();
        cuts.extend([header + 1, header + payload / 2, header + payload.saturating_sub(1)]);
        cuts.retain(|&cut| cut > 0 && cut < bytes.len());
        cuts.dedup();
        for cut in cuts {
            c.send(&bytes[..cut]).await;
            pause().await;
            c.send(&bytes[cut..]).await;
            let expected = if frame.opcode == PING { PONG } else { frame.opcode };
            let got = c.read_frame().await;
            assert_eq!(
                opcode_name(got.opcode),
                opcode_name(expected),
                "{frame:?} cut at byte {cut} (header is {header} bytes): got {got:?}"
            );
            assert_payload_eq(&got.payload, &frame.payload);
        }
    }
}

#[tokio::test]
async fn reassembles_a_text_frame_cut_at_every_byte() {
    let server = start_default().await;
    let mut c = RawClient::connect(server.local_addr()).await;
    // multibyte code points: some cuts fall inside a character (UTF-8 is validated across reads)
    let frame = Frame::text("aκ🦀€z");
    let bytes = frame.encode();
    for cut in 1..bytes.len() {
        c.send(&bytes[..cut]).await;
        pause().await;
        c.send(&bytes[cut..]).await;
        c.expect_frame(TEXT, "aκ🦀€z".as_bytes()).await;
    }
}

#[tokio::test]
async fn reassembles_a_frame_split_at_every_boundary_at_once() {
    let server = start_default().await;
    let mut c = RawClient::connect(server.local_addr()).await;
    for frame in [Frame::text(ascii(100, 1)), Frame::binary(pattern(1000, 2)), Frame::binary(pattern(65_537, 3))] {
        let bytes = frame.encode();
        let header = frame.header_len();
        let ext_end = header - 4;
        // first byte | second byte | extended length in halves | masking key in halves | payload in thirds
        let mut bounds = vec![0, 1, 2];
        if ext_end > 2 {
            bounds.push(2 + (ext_end - 2) / 2);
            bounds.push(ext_end);
        }
        let payload = frame.payload.len();
        bounds.extend([ext_end + 2, header, header + payload / 3, header + 2 * payload / 3, bytes.len()]);
        for piece in bounds.windows(2) {
            c.send(&bytes[piece[0]..piece[1]]).await;
            pause().await;
        }
        c.expect_frame(frame.opcode, &frame.payload).await;
    }
}

#[tokio::test]
async fn processes_frames_pipelined_in_the_same_write_as_the_handshake() {
    let server = start_default().await;
    let mut c = RawClient::tcp(server.local_addr()).await;
    let (frames, replies) = exchange();
    c.send(&[GOOD_REQUEST.as_bytes(), &encode_all(&frames)].concat()).await;
    let resp = c.read_head().await;
    assert_eq!(resp.status, 101, "{resp:?}");
    expect_replies(&mut c, &replies).await;
    c.expect_close_then_eof(1000).await;
}

#[tokio::test]
async fn completes_a_frame_whose_start_was_pipelined_behind_the_handshake() {
    let server = start_default().await;
    let mut c = RawClient::tcp(server.local_addr()).await;
    let frame = Frame::binary(pattern(1000, 5)).encode();
    // the handshake, one whole frame and three bytes of the next (inside its extended length)
    c.send(&[GOOD_REQUEST.as_bytes(), &Frame::text("first").encode(), &frame[..3]].concat()).await;
    let resp = c.read_head().await;
    assert_eq!(resp.status, 101, "{resp:?}");
    c.expect_frame(TEXT, b"first").await;
    pause().await;
    c.send(&frame[3..]).await;
    c.expect_frame(BINARY, &pattern(1000, 5)).await;
}

#[tokio::test]
async fn a_frame_completed_by_a_later_write_follows_whole_frames_of_the_same_write() {
    let server = start_default().await;
    let mut c = RawClient::connect(server.local_addr()).await;
    let last = Frame::text(ascii(500, 6)).encode();
    let mut batch = encode_all(&(0..50).map(|i| Frame::text(format!("#{i}"))).collect::<Vec<_>>());
    batch.extend_from_slice(&last[..last.len() - 100]);
    c.send(&batch).await;
    for i in 0..50 {
        c.expect_frame(TEXT, format!("#{i}").as_bytes()).await;
    }
    pause().await;
    c.send(&last[last.len() - 100..]).await;
    c.expect_frame(TEXT, ascii(500, 6).as_bytes()).await;
}
