//! An independent client (tokio-tungstenite) gets every message echoed, and both close handshakes complete cleanly.

use std::time::{Duration, Instant};

use crate::common::*;
use futures_util::{SinkExt, StreamExt};
use reference_server::Config;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{connect_async, MaybeTlsStream, WebSocketStream};

type Client = WebSocketStream<MaybeTlsStream<TcpStream>>;

async fn connect(url: &str) -> Client {
    let (ws, resp) = within(WAIT, "the tungstenite handshake", connect_async(url)).await.expect("tungstenite connects");
    assert_eq!(resp.status().as_u16(), 101);
    ws
}

/// A message, described without dumping megabytes.
fn describe(m: &Message) -> String {
    match m {
        Message::Text(t) => format!("Text({} bytes)", t.len()),
        Message::Binary(b) => format!("Binary({} bytes)", b.len()),
        Message::Ping(p) => format!("Ping({p:?})"),
        Message::Pong(p) => format!("Pong({p:?})"),
        Message::Close(c) => format!("Close({c:?})"),
        Message::Frame(f) => format!("Frame({} bytes)", f.len()),
    }
}

/// The next message, which must arrive within `limit`.
async fn next_message(ws: &mut Client, limit: Duration) -> Message {
    match within(limit, "a message from the server", ws.next()).await {
        Some(Ok(m)) => m,
        Some(Err(e)) => panic!("the client failed reading: {e}"),
        None => panic!("the server ended the stream instead of sending a message"),
    }
}

async fn assert_echoed(ws: &mut Client, sent: Message) {
    let limit = Duration::from_secs(20);
    within(limit, "sending a message", ws.send(sent.clone())).await.expect("send");
    let got = next_message(ws, limit).await;
    match (&sent, &got) {
        (Message::Text(a), Message::Text(b)) => assert_payload_eq(b.as_bytes(), a.as_bytes()),
        (Message::Binary(a), Message::Binary(b)) => assert_payload_eq(b, a),
        _ => panic!("sent {} and got {} back", describe(&sent), describe(&got)),
    }
}

/// The close frame the server sent, then the stream must end (the server closed TCP).
async fn expect_close_then_end(ws: &mut Client, code: u16) {
    match next_message(ws, WAIT).await {
        Message::Close(Some(CloseFrame { code: got, reason })) => {
            assert_eq!(u16::from(got), code, "close code (reason {reason:?})")
        }
        other => panic!("expected close {code}, got {}", describe(&other)),
    }
    // polling again sends the client's reply (if any) and reads on to the server's FIN
    match within(WAIT, "the server to close TCP", ws.next()).await {
        None => {}
        Some(Ok(m)) => panic!("expected the end of the stream after close, got {}", describe(&m)),
        Some(Err(e)) => panic!("expected a clean end of the stream after close, got error {e}"),
    }
}

#[tokio::test]
async fn echoes_text_and_binary_at_every_length_encoding_boundary() {
    let server = start_default().await;
    let mut ws = connect(&server.url()).await;
    for (i, len) in [0usize, 1, 125, 126, 127, 65535, 65536].into_iter().enumerate() {
        assert_echoed(&mut ws, Message::Text(ascii(len, i as u8))).await;
        assert_echoed(&mut ws, Message::Binary(pattern(len, i as u8))).await;
    }
}

#[tokio::test]
async fn echoes_multibyte_utf8_text() {
    let server = start_default().await;
    let mut ws = connect(&server.url()).await;
    assert_echoed(&mut ws, Message::Text("κόσμε ∮ E⋅da = Q 🦀 \u{10FFFF}".repeat(50))).await;
}

#[tokio::test]
async fn accepts_and_echoes_messages_of_exactly_the_default_16_mib_limit() {
    let server = start_default().await;
    assert_eq!(Config::default().max_message_size, 16 * 1024 * 1024, "the default this test relies on");
    let mut ws = connect(&server.url()).await;
    assert_echoed(&mut ws, Message::Binary(pattern(16 * 1024 * 1024, 7))).await;
    assert_echoed(&mut ws, Message::Text(ascii(16 * 1024 * 1024, 3))).await;
}

#[tokio::test]
async fn echoes_many_messages_in_flight_in_order() {
    const COUNT: usize = 2000;
    let server = start_default().await;
    let ws = connect(&server.url()).await;
    let (mut tx, mut rx) = ws.split();
    // the writer never waits for an echo: thousands of messages are in flight at once
    let writer = tokio::spawn(async move {
        for i in 0..COUNT {
            let m = if i % 2 == 0 {
                Message::Text(format!("{i}:{}", ascii(i % 300, i as u8)))
            } else {
                Message::Binary([&(i as u32).to_be_bytes()[..], &pattern(i % 1500, i as u8)].concat())
            };
            tx.feed(m).await.expect("feed");
        }
        tx.flush().await.expect("flush");
    });
    for i in 0..COUNT {
        let got = match within(WAIT, "an echo", rx.next()).await {
            Some(Ok(m)) => m,
            other => panic!("echo {i}: expected a message, got {other:?}"),
        };
        match got {
            Message::Text(t) if i % 2 == 0 => assert_eq!(t, format!("{i}:{}", ascii(i % 300, i as u8)), "echo {i}"),
            Message::Binary(b) if i % 2 == 1 => {
                assert_payload_eq(&b, &[&(i as u32).to_be_bytes()[..], &pattern(i % 1500, i as u8)].concat())
            }
            other => panic!("echo {i} out of order or of the wrong type: {}", describe(&other)),
        }
    }
    within(WAIT, "the writer task", writer).await.expect("writer task");
}

#[tokio::test]
async fn echoes_fragmented_messages_as_one_frame_answering_pings_in_between() {
    let server = start_default().await;
    let mut c = RawClient::connect(server.local_addr()).await;
    // RFC 6455 §5.4: control frames MAY be injected in the middle of a fragmented message
    c.send_frames(&[
        Frame::text("Hello, ").fin(false),
        Frame::ping("p1"),
        Frame::cont("frag").fin(false),
        Frame::cont("").fin(false),
        Frame::ping("p2"),
        Frame::pong("unsolicited"),
        Frame::cont("mented world").fin(true),
    ])
    .await;
    c.expect_frame(PONG, b"p1").await;
    c.expect_frame(PONG, b"p2").await;
    c.expect_frame(TEXT, b"Hello, fragmented world").await;

    let big = pattern(200_000, 9);
    c.send_frames(&[
        Frame::binary(&big[..70_000]).fin(false),
        Frame::ping(pattern(125, 1)),
        Frame::cont(&big[70_000..70_001]).fin(false),
        Frame::cont(&big[70_001..]).fin(true),
    ])
    .await;
    c.expect_frame(PONG, &pattern(125, 1)).await;
    c.expect_frame(BINARY, &big).await;
}

#[tokio::test]
async fn client_initiated_close_is_echoed_then_the_server_closes_tcp() {
    let server = start_default().await;
    let mut ws = connect(&server.url()).await;
    assert_echoed(&mut ws, Message::Text("before close".into())).await;
    let bye = CloseFrame { code: CloseCode::Normal, reason: "bye".into() };
    within(WAIT, "sending close", ws.close(Some(bye))).await.expect("close");
    expect_close_then_end(&mut ws, 1000).await;
}

#[tokio::test]
async fn client_initiated_close_over_raw_tcp_gets_1000_then_eof() {
    let server = start_default().await;
    let mut c = RawClient::connect(server.local_addr()).await;
    c.send_frames(&[Frame::close(1000, b"done")]).await;
    c.expect_close_then_eof(1000).await;
}

#[tokio::test]
async fn shutdown_sends_1001_and_completes_once_the_client_replies() {
    let server = start_default().await;
    let mut ws = connect(&server.url()).await;
    // an echo proves the connection is past its handshake
    assert_echoed(&mut ws, Message::Text("hi".into())).await;
    let shutdown = tokio::spawn(server.shutdown());
    expect_close_then_end(&mut ws, 1001).await;
    drop(ws);
    let replied = Instant::now();
    // the default close timeout is 2 s: finishing well before it shows the server did not just time out
    within(Duration::from_secs(5), "RunningServer::shutdown to complete", shutdown)
        .await
        .expect("shutdown task")
        .expect("shutdown result");
    let took = replied.elapsed();
    assert!(took < Duration::from_secs(1), "shutdown took {took:?} after the client's close reply");
}

#[tokio::test]
async fn shutdown_with_no_connections_completes_promptly() {
    let server = start_default().await;
    within(Duration::from_secs(2), "RunningServer::shutdown", server.shutdown()).await.expect("shutdown result");
}

#[tokio::test]
async fn idle_connection_is_closed_with_1001() {
    let idle = Duration::from_millis(300);
    let server = start(Config { idle_timeout: Some(idle), ..Config::default() }).await;
    let mut ws = connect(&server.url()).await;
    let opened = Instant::now();
    expect_close_then_end(&mut ws, 1001).await;
    let took = opened.elapsed();
    assert!(took >= idle - Duration::from_millis(20), "closed after {took:?}, before the idle timeout of {idle:?}");
}

#[tokio::test]
async fn traffic_restarts_the_idle_timer() {
    let idle = Duration::from_millis(300);
    let server = start(Config { idle_timeout: Some(idle), ..Config::default() }).await;
    let mut ws = connect(&server.url()).await;
    let opened = Instant::now();
    // an echo every 100 ms for 900 ms: three idle periods, none of them idle
    for i in 0..9 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_echoed(&mut ws, Message::Text(format!("keepalive {i}"))).await;
    }
    assert!(opened.elapsed() > idle * 2);
    expect_close_then_end(&mut ws, 1001).await;
}

#[tokio::test]
async fn answers_pings_with_pongs_of_the_same_payload_and_ignores_pongs() {
    let server = start_default().await;
    let mut c = RawClient::connect(server.local_addr()).await;
    // RFC 6455 §5.5.2: the pong carries the ping's application data; §5.5.3: an unsolicited pong gets no reply
    c.send_frames(&[Frame::ping(""), Frame::pong("unsolicited"), Frame::ping(pattern(125, 8)), Frame::text("end")])
        .await;
    c.expect_frame(PONG, b"").await;
    c.expect_frame(PONG, &pattern(125, 8)).await;
    c.expect_frame(TEXT, b"end").await;
}

#[tokio::test]
async fn after_its_own_close_the_server_answers_no_data_or_ping_until_the_close_reply() {
    let server = start(Config { idle_timeout: Some(Duration::from_millis(200)), ..Config::default() }).await;
    let mut c = RawClient::connect(server.local_addr()).await;
    c.expect_close(1001).await;
    // RFC 6455 §5.5.1: after sending a close frame the endpoint sends no more data
    c.send_frames(&[Frame::text("late"), Frame::ping("late"), Frame::binary(pattern(70_000, 1))]).await;
    c.send_frames(&[Frame::close(1001, b"")]).await;
    c.expect_eof().await;
}

#[tokio::test]
async fn an_unanswered_server_close_is_followed_by_a_tcp_close_after_the_close_timeout() {
    let close_timeout = Duration::from_millis(300);
    let config = Config { idle_timeout: Some(Duration::from_millis(200)), close_timeout, ..Config::default() };
    let server = start(config).await;
    let mut c = RawClient::connect(server.local_addr()).await;
    c.expect_close(1001).await;
    let sent = Instant::now();
    // the client never answers: the server gives up after its close timeout
    let event = c.next_event_within(Duration::from_secs(3)).await;
    let took = sent.elapsed();
    assert_eq!(event, Event::Eof, "after {took:?}");
    assert!(took >= close_timeout - Duration::from_millis(50), "TCP closed after {took:?}, before the close timeout");
    assert!(took < Duration::from_millis(1500), "TCP closed only after {took:?}");
}

#[tokio::test]
async fn shutdown_completes_even_if_a_client_never_replies() {
    let server = start(Config { close_timeout: Duration::from_millis(300), ..Config::default() }).await;
    let mut c = RawClient::connect(server.local_addr()).await;
    c.send_frames(&[Frame::text("hi")]).await;
    c.expect_frame(TEXT, b"hi").await;
    let started = Instant::now();
    let shutdown = tokio::spawn(server.shutdown());
    c.expect_close(1001).await;
    // no reply, and the socket stays open
    within(Duration::from_secs(3), "RunningServer::shutdown", shutdown).await.expect("task").expect("shutdown");
    let took = started.elapsed();
    assert!(took < Duration::from_millis(1500), "shutdown took {took:?} with close_timeout 300ms");
    c.expect_eof().await;
}
