//! The opening handshake over loopback: the exact HTTP status for each request (RFC 6455 §4.2), and the limits that
//! protect the server (head size, handshake timeout, connection count).

use std::time::{Duration, Instant};

use crate::common::TestServer;
use crate::common::*;
use reference_server::Config;

/// Sends `request` on a fresh connection and reads the refusal (which must end with the server closing TCP).
async fn refusal(server: &TestServer, request: &str) -> HttpResponse {
    let mut c = RawClient::tcp(server.local_addr()).await;
    c.send(request.as_bytes()).await;
    c.read_refusal().await
}

/// Asserts a default server refuses `request` with `status`.
async fn assert_refused(request: &str, status: u16) -> HttpResponse {
    let server = start_default().await;
    let resp = refusal(&server, request).await;
    assert_eq!(resp.status, status, "request:\n{request}\nresponse: {resp:?}");
    assert_eq!(resp.header("Connection").map(str::to_ascii_lowercase).as_deref(), Some("close"), "{resp:?}");
    assert!(resp.header("Sec-WebSocket-Accept").is_none(), "a refusal carries no accept value: {resp:?}");
    resp
}

/// Sends `request` to `server` and returns the 101 response, asserting the connection then echoes.
async fn accepted_by(server: &TestServer, request: &str) -> HttpResponse {
    let mut c = RawClient::tcp(server.local_addr()).await;
    c.send(request.as_bytes()).await;
    let resp = c.read_head().await;
    assert_eq!(resp.status, 101, "request:\n{request}\nresponse: {resp:?}");
    c.send_frames(&[Frame::text("after the handshake")]).await;
    c.expect_frame(TEXT, b"after the handshake").await;
    resp
}

async fn assert_accepted(request: &str) -> HttpResponse {
    accepted_by(&start_default().await, request).await
}

#[tokio::test]
async fn accepts_a_valid_request_with_the_rfc_accept_value() {
    let resp = assert_accepted(GOOD_REQUEST).await;
    assert_eq!(resp.status_line, "HTTP/1.1 101 Switching Protocols");
    // RFC 6455 §1.3: the worked example
    assert_eq!(resp.header("Sec-WebSocket-Accept"), Some(RFC_ACCEPT), "{resp:?}");
    assert_eq!(resp.header("Upgrade").map(str::to_ascii_lowercase).as_deref(), Some("websocket"), "{resp:?}");
    assert_eq!(resp.header("Connection").map(str::to_ascii_lowercase).as_deref(), Some("upgrade"), "{resp:?}");
    assert_eq!(resp.header("Sec-WebSocket-Protocol"), None, "no subprotocol was offered: {resp:?}");
}

#[tokio::test]
async fn accepts_header_names_and_tokens_in_any_case() {
    let req = request_with("Upgrade: websocket", "upgrade: WebSocket")
        .replace("Connection: Upgrade", "CONNECTION: upgrade")
        .replace("Sec-WebSocket-Key", "sec-websocket-key");
    assert_accepted(&req).await;
}

#[tokio::test]
async fn refuses_post_with_400() {
    assert_refused(&request_with("GET", "POST"), 400).await;
}

#[tokio::test]
async fn refuses_http_1_0_with_400() {
    assert_refused(&request_with("HTTP/1.1", "HTTP/1.0"), 400).await;
}

#[tokio::test]
async fn refuses_a_request_without_host_with_400() {
    assert_refused(&request_with("Host: server.example.com\r\n", ""), 400).await;
}

#[tokio::test]
async fn refuses_a_duplicate_host_with_400() {
    assert_refused(&request_with("Host: server.example.com\r\n", "Host: a.example\r\nHost: b.example\r\n"), 400).await;
}

#[tokio::test]
async fn refuses_a_missing_upgrade_with_400() {
    assert_refused(&request_with("Upgrade: websocket\r\n", ""), 400).await;
}

#[tokio::test]
async fn refuses_an_upgrade_to_another_protocol_with_400() {
    assert_refused(&request_with("Upgrade: websocket", "Upgrade: h2c"), 400).await;
}

#[tokio::test]
async fn refuses_connection_without_the_upgrade_token_with_400() {
    assert_refused(&request_with("Connection: Upgrade", "Connection: keep-alive"), 400).await;
    assert_refused(&request_with("Connection: Upgrade\r\n", ""), 400).await;
}

#[tokio::test]
async fn accepts_connection_keep_alive_upgrade() {
    assert_accepted(&request_with("Connection: Upgrade", "Connection: keep-alive, Upgrade")).await;
}

#[tokio::test]
async fn refuses_a_missing_key_with_400() {
    assert_refused(&request_with("Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n", ""), 400).await;
}

#[tokio::test]
async fn refuses_a_key_of_15_bytes_with_400() {
    // "dGhlIHNhbXBsZSBub25j" is base64 of the 15 bytes "the sample nonc"
    assert_refused(&request_with("dGhlIHNhbXBsZSBub25jZQ==", "dGhlIHNhbXBsZSBub25j"), 400).await;
}

#[tokio::test]
async fn refuses_a_key_that_is_not_base64_with_400() {
    assert_refused(&request_with("dGhlIHNhbXBsZSBub25jZQ==", "not base64 at all!!!!!=="), 400).await;
}

#[tokio::test]
async fn refuses_a_duplicate_key_with_400() {
    let key = "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";
    assert_refused(&request_with(key, &format!("{key}Sec-WebSocket-Key: AQIDBAUGBwgJCgsMDQ4PEA==\r\n")), 400).await;
}

/// RFC 6455 §4.4: an unsupported version gets 426 naming the version the server speaks.
async fn assert_version_refused(request: &str) {
    let resp = assert_refused(request, 426).await;
    assert_eq!(resp.header("Sec-WebSocket-Version"), Some("13"), "{resp:?}");
}

#[tokio::test]
async fn refuses_version_8_with_426_naming_version_13() {
    assert_version_refused(&request_with("Version: 13", "Version: 8")).await;
}

#[tokio::test]
async fn refuses_version_14_with_426_naming_version_13() {
    assert_version_refused(&request_with("Version: 13", "Version: 14")).await;
}

#[tokio::test]
async fn refuses_a_missing_version_with_426_naming_version_13() {
    assert_version_refused(&request_with("Sec-WebSocket-Version: 13\r\n", "")).await;
}

#[tokio::test]
async fn refuses_a_disallowed_origin_with_403() {
    let config = Config { allowed_origins: vec!["https://good.example".into()], ..Config::default() };
    let server = start(config).await;
    let resp = refusal(&server, &request_adding("Origin: https://evil.example\r\n")).await;
    assert_eq!(resp.status, 403, "{resp:?}");
    let resp = refusal(&server, GOOD_REQUEST).await;
    assert_eq!(resp.status, 403, "a request without Origin is not from an allowed origin: {resp:?}");
    accepted_by(&server, &request_adding("Origin: https://good.example\r\n")).await;
}

#[tokio::test]
async fn refuses_a_request_head_over_16_kib_with_431() {
    let padding = format!("X-Padding: {}\r\n", "a".repeat(17 * 1024));
    let resp = assert_refused(&request_adding(&padding), 431).await;
    assert!(resp.status_line.starts_with("HTTP/1.1 431"), "{resp:?}");
}

#[tokio::test]
async fn refuses_a_never_ending_request_head_with_431() {
    // no blank line ever comes: the server must not buffer without bound
    let server = start_default().await;
    let mut c = RawClient::tcp(server.local_addr()).await;
    let head = format!("GET / HTTP/1.1\r\nHost: x\r\nX-Padding: {}", "a".repeat(20 * 1024));
    c.send(head.as_bytes()).await;
    let resp = c.read_refusal().await;
    assert_eq!(resp.status, 431, "{resp:?}");
}

/// A valid request of exactly `len` bytes (padded with an extension header).
fn request_of_len(len: usize) -> String {
    let base = request_adding("X-Padding: \r\n").len();
    let req = request_adding(&format!("X-Padding: {}\r\n", "a".repeat(len - base)));
    assert_eq!(req.len(), len);
    req
}

#[tokio::test]
async fn accepts_a_request_head_of_exactly_16_kib() {
    assert_accepted(&request_of_len(16 * 1024)).await;
}

#[tokio::test]
async fn refuses_a_request_head_of_16_kib_plus_one_byte_with_431() {
    assert_refused(&request_of_len(16 * 1024 + 1), 431).await;
}

#[tokio::test]
async fn refuses_a_request_that_is_not_http_with_400() {
    assert_refused("GARBAGE\r\n\r\n", 400).await;
}

#[tokio::test]
async fn refuses_a_folded_header_line_with_400() {
    // RFC 7230 §3.2.4: obs-fold is rejected in requests
    assert_refused(&request_with("Upgrade: websocket\r\n", "Upgrade:\r\n websocket\r\n"), 400).await;
}

#[tokio::test]
async fn shutdown_drops_a_connection_still_in_its_handshake() {
    let server = start_default().await;
    let mut c = RawClient::tcp(server.local_addr()).await;
    c.send(&GOOD_REQUEST.as_bytes()[..20]).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    within(Duration::from_secs(2), "RunningServer::shutdown", server.shutdown()).await.expect("shutdown");
    let event = c.next_event().await;
    assert!(matches!(event, Event::Eof | Event::Error(std::io::ErrorKind::ConnectionReset)), "got {event:?}");
}

#[tokio::test]
async fn picks_the_subprotocol_the_server_speaks_among_those_offered() {
    let server = start(Config { subprotocols: vec!["chat".into()], ..Config::default() }).await;
    let resp = accepted_by(&server, &request_adding("Sec-WebSocket-Protocol: mqtt, chat\r\n")).await;
    assert_eq!(resp.header("Sec-WebSocket-Protocol"), Some("chat"), "{resp:?}");
}

#[tokio::test]
async fn sends_no_subprotocol_when_none_offered_is_spoken() {
    let server = start(Config { subprotocols: vec!["chat".into()], ..Config::default() }).await;
    let resp = accepted_by(&server, &request_adding("Sec-WebSocket-Protocol: mqtt\r\n")).await;
    assert_eq!(resp.header("Sec-WebSocket-Protocol"), None, "{resp:?}");
}

#[tokio::test]
async fn drops_a_client_that_stalls_mid_request_after_the_handshake_timeout() {
    let timeout = Duration::from_millis(300);
    let server = start(Config { handshake_timeout: timeout, ..Config::default() }).await;
    let mut c = RawClient::tcp(server.local_addr()).await;
    let half = &GOOD_REQUEST[..GOOD_REQUEST.len() / 2];
    let sent = Instant::now();
    c.send(half.as_bytes()).await;
    let event = c.next_event_within(Duration::from_secs(3)).await;
    let took = sent.elapsed();
    assert!(
        matches!(event, Event::Eof | Event::Error(std::io::ErrorKind::ConnectionReset)),
        "expected the server to drop the stalled connection, got {event:?} after {took:?}"
    );
    assert!(took >= timeout - Duration::from_millis(20), "dropped after {took:?}, before the timeout of {timeout:?}");
    assert!(took < Duration::from_secs(2), "dropped only after {took:?}");
}

#[tokio::test]
async fn drops_a_client_that_sends_nothing_after_the_handshake_timeout() {
    let timeout = Duration::from_millis(300);
    let server = start(Config { handshake_timeout: timeout, ..Config::default() }).await;
    let mut c = RawClient::tcp(server.local_addr()).await;
    let event = c.next_event_within(Duration::from_secs(3)).await;
    assert!(matches!(event, Event::Eof | Event::Error(std::io::ErrorKind::ConnectionReset)), "got {event:?}");
}

#[tokio::test]
async fn refuses_a_connection_beyond_max_connections_with_503() {
    let server = start(Config { max_connections: Some(1), ..Config::default() }).await;
    let mut first = RawClient::connect(server.local_addr()).await;
    let resp = refusal(&server, GOOD_REQUEST).await;
    assert_eq!(resp.status, 503, "{resp:?}");
    // the first connection is unaffected
    first.send_frames(&[Frame::text("still here")]).await;
    first.expect_frame(TEXT, b"still here").await;
}

#[tokio::test]
async fn frees_the_connection_slot_when_a_connection_ends() {
    let server = start(Config { max_connections: Some(1), ..Config::default() }).await;
    let mut first = RawClient::connect(server.local_addr()).await;
    first.send_frames(&[Frame::close(1000, b"")]).await;
    first.expect_close_then_eof(1000).await;
    drop(first);
    // the server releases the slot when it has finished with the socket: retry briefly
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        let mut c = RawClient::tcp(server.local_addr()).await;
        c.send(GOOD_REQUEST.as_bytes()).await;
        let resp = c.read_head().await;
        if resp.status == 101 {
            break;
        }
        assert_eq!(resp.status, 503, "{resp:?}");
        assert!(Instant::now() < deadline, "the slot of a closed connection was not freed within 2 s");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
