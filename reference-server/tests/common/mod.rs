//! Shared helpers for the loopback tests: start a server, build masked client frames, read server frames as events.
//!
//! Nothing here comes from the server's `src`: the frame builder and the frame reader are written from RFC 6455 §5
//! so that a bug in the server's codec cannot hide behind the same bug in the test.

#![allow(dead_code)] // each test file uses a different part of this module

use std::fmt;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use reference_server::{Config, RunningServer, Server};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The bound for any single wait that should succeed promptly.
pub const WAIT: Duration = Duration::from_secs(5);

/// The `Sec-WebSocket-Key` of RFC 6455 §1.3 and the accept value it must produce.
pub const RFC_KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
pub const RFC_ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

/// A valid opening handshake request (RFC 6455 §4.1), the base every handshake case edits.
pub const GOOD_REQUEST: &str = "GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

pub const CONTINUATION: u8 = 0x0;
pub const TEXT: u8 = 0x1;
pub const BINARY: u8 = 0x2;
pub const CLOSE: u8 = 0x8;
pub const PING: u8 = 0x9;
pub const PONG: u8 = 0xA;

/// Awaits `fut` for at most `limit`, panicking with `what` was awaited.
pub async fn within<F: Future>(limit: Duration, what: &str, fut: F) -> F::Output {
    match tokio::time::timeout(limit, fut).await {
        Ok(v) => v,
        Err(_) => panic!("timed out after {limit:?} waiting for {what}"),
    }
}

/// The server under test: the tokio server, or with `REFERENCE_SERVER_IO=evloop` the event loop (the
/// binary's default), so that every test of this binary runs against both (`.ci/run` runs it twice).
pub enum TestServer {
    /// [`Server`] on the test's runtime.
    Tokio(RunningServer),
    /// [`reference_server::evloop::EventLoop`] on threads of its own.
    Evloop(reference_server::evloop::EventLoop),
}

impl TestServer {
    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        match self {
            TestServer::Tokio(s) => s.local_addr(),
            TestServer::Evloop(e) => e.local_addr(),
        }
    }

    /// `ws://ADDR/`.
    pub fn url(&self) -> String {
        format!("ws://{}/", self.local_addr())
    }

    /// Stops it gracefully (close 1001 to every connection) and waits.
    pub async fn shutdown(self) -> std::io::Result<()> {
        match self {
            TestServer::Tokio(s) => s.shutdown().await,
            TestServer::Evloop(e) => {
                e.shutdown();
                tokio::task::spawn_blocking(move || e.join()).await.map_err(std::io::Error::other)?
            }
        }
    }
}

/// Starts a server on `127.0.0.1:0` (see [`TestServer`]).
pub async fn start(config: Config) -> TestServer {
    let addr: SocketAddr = "127.0.0.1:0".parse().expect("literal address");
    if std::env::var("REFERENCE_SERVER_IO").as_deref() == Ok("evloop") {
        let e = reference_server::evloop::EventLoop::start(addr, config, 2).expect("bind 127.0.0.1:0");
        return TestServer::Evloop(e);
    }
    let server = Server::bind(addr, config).await.expect("bind 127.0.0.1:0");
    TestServer::Tokio(server.spawn())
}

/// Starts a server with `Config::default()`.
pub async fn start_default() -> TestServer {
    start(Config::default()).await
}

/// [`GOOD_REQUEST`] with the first `from` replaced by `to` (panics if `from` is absent, so a typo cannot pass).
pub fn request_with(from: &str, to: &str) -> String {
    assert!(GOOD_REQUEST.contains(from), "the base request has no {from:?}");
    GOOD_REQUEST.replacen(from, to, 1)
}

/// [`GOOD_REQUEST`] with `lines` (each ending in CRLF) added before the blank line.
pub fn request_adding(lines: &str) -> String {
    request_with("Sec-WebSocket-Version: 13\r\n", &format!("Sec-WebSocket-Version: 13\r\n{lines}"))
}

// ---------------------------------------------------------------------------------------------------------------
// Client frames (RFC 6455 §5.2), masked (§5.3)
// ---------------------------------------------------------------------------------------------------------------

/// How a client frame encodes its payload length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Length {
    /// The payload length, in the fewest bytes (§5.2).
    Minimal,
    /// The payload length in the 16-bit extended field, whatever the length.
    Ext16,
    /// The payload length in the 64-bit extended field, whatever the length.
    Ext64,
    /// This value in the 64-bit extended field, whatever payload follows.
    Declared64(u64),
}

/// A client frame to encode; masked with a fresh key unless `.unmasked()`.
#[derive(Clone)]
pub struct Frame {
    pub fin: bool,
    pub rsv: u8,
    pub opcode: u8,
    pub mask: Option<[u8; 4]>,
    pub length: Length,
    pub payload: Vec<u8>,
}

static NEXT_KEY: AtomicU32 = AtomicU32::new(0x9E37_79B9);

/// A different, never all-zero masking key on each call (a zero key would make masking invisible).
fn fresh_key() -> [u8; 4] {
    let n = NEXT_KEY.fetch_add(0x6D2B_79F5, Ordering::Relaxed);
    let mut x = n ^ (n >> 15);
    x = x.wrapping_mul(0x2C1B_3C6D);
    x ^= x >> 12;
    (x | 0x0101_0101).to_be_bytes()
}

impl Frame {
    pub fn new(opcode: u8, payload: impl Into<Vec<u8>>) -> Frame {
        Frame { fin: true, rsv: 0, opcode, mask: Some(fresh_key()), length: Length::Minimal, payload: payload.into() }
    }
    pub fn text(payload: impl Into<Vec<u8>>) -> Frame {
        Frame::new(TEXT, payload)
    }
    pub fn binary(payload: impl Into<Vec<u8>>) -> Frame {
        Frame::new(BINARY, payload)
    }
    pub fn cont(payload: impl Into<Vec<u8>>) -> Frame {
        Frame::new(CONTINUATION, payload)
    }
    pub fn ping(payload: impl Into<Vec<u8>>) -> Frame {
        Frame::new(PING, payload)
    }
    pub fn pong(payload: impl Into<Vec<u8>>) -> Frame {
        Frame::new(PONG, payload)
    }
    /// A close frame with a status code and a reason (§5.5.1).
    pub fn close(code: u16, reason: &[u8]) -> Frame {
        Frame::new(CLOSE, [&code.to_be_bytes()[..], reason].concat())
    }
    /// A close frame with no body.
    pub fn close_empty() -> Frame {
        Frame::new(CLOSE, Vec::new())
    }
    pub fn fin(mut self, fin: bool) -> Frame {
        self.fin = fin;
        self
    }
    /// Sets RSV1-3 as the low three bits of `rsv` (RSV1 = 0b100).
    pub fn rsv(mut self, rsv: u8) -> Frame {
        self.rsv = rsv;
        self
    }
    pub fn unmasked(mut self) -> Frame {
        self.mask = None;
        self
    }
    pub fn length(mut self, length: Length) -> Frame {
        self.length = length;
        self
    }

    /// The frame's bytes on the wire.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(14 + self.payload.len());
        out.push(if self.fin { 0x80 } else { 0 } | (self.rsv & 0x07) << 4 | (self.opcode & 0x0F));
        let mask_bit = if self.mask.is_some() { 0x80 } else { 0 };
        let len = self.payload.len() as u64;
        match self.length {
            Length::Minimal if len < 126 => out.push(mask_bit | len as u8),
            Length::Minimal if len <= 0xFFFF => {
                out.push(mask_bit | 126);
                out.extend_from_slice(&(len as u16).to_be_bytes());
            }
            Length::Minimal | Length::Ext64 => {
                out.push(mask_bit | 127);
                out.extend_from_slice(&len.to_be_bytes());
            }
            Length::Ext16 => {
                out.push(mask_bit | 126);
                out.extend_from_slice(&u16::try_from(len).expect("Ext16 payload fits 16 bits").to_be_bytes());
            }
            Length::Declared64(declared) => {
                out.push(mask_bit | 127);
                out.extend_from_slice(&declared.to_be_bytes());
            }
        }
        if let Some(key) = self.mask {
            out.extend_from_slice(&key);
            // RFC 6455 §5.3: octet i of the payload is XORed with octet i mod 4 of the key
            out.extend(self.payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
        } else {
            out.extend_from_slice(&self.payload);
        }
        out
    }

    /// The length of the header (everything before the payload).
    pub fn header_len(&self) -> usize {
        self.encode().len() - self.payload.len()
    }
}

impl fmt::Debug for Frame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Frame({} fin={} rsv={:#05b} masked={} {:?} {} bytes)",
            opcode_name(self.opcode),
            self.fin,
            self.rsv,
            self.mask.is_some(),
            self.length,
            self.payload.len()
        )
    }
}

/// The bytes of several frames, back to back.
pub fn encode_all(frames: &[Frame]) -> Vec<u8> {
    frames.iter().flat_map(Frame::encode).collect()
}

pub fn opcode_name(op: u8) -> String {
    match op {
        CONTINUATION => "Continuation".into(),
        TEXT => "Text".into(),
        BINARY => "Binary".into(),
        CLOSE => "Close".into(),
        PING => "Ping".into(),
        PONG => "Pong".into(),
        other => format!("Reserved({other:#x})"),
    }
}

/// Deterministic, non-repeating-looking payload bytes.
pub fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len).map(|i| (i as u32).wrapping_mul(31).wrapping_add(u32::from(seed)) as u8).collect()
}

/// ASCII text of exactly `len` bytes.
pub fn ascii(len: usize, seed: u8) -> String {
    (0..len).map(|i| char::from(b' ' + ((i + usize::from(seed)) % 95) as u8)).collect()
}

// ---------------------------------------------------------------------------------------------------------------
// Server frames and events
// ---------------------------------------------------------------------------------------------------------------

/// A frame the server sent.
#[derive(Clone, PartialEq, Eq)]
pub struct ServerFrame {
    pub fin: bool,
    pub rsv: u8,
    pub opcode: u8,
    pub masked: bool,
    /// The length field used the fewest bytes (§5.2).
    pub minimal_length: bool,
    pub payload: Vec<u8>,
}

impl ServerFrame {
    /// The status code of a close frame, if it has one.
    pub fn close_code(&self) -> Option<u16> {
        match self.payload.as_slice() {
            [hi, lo, ..] => Some(u16::from_be_bytes([*hi, *lo])),
            _ => None,
        }
    }
    /// The reason of a close frame (after the code).
    pub fn close_reason(&self) -> String {
        String::from_utf8_lossy(self.payload.get(2..).unwrap_or_default()).into_owned()
    }
}

impl fmt::Debug for ServerFrame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}(", opcode_name(self.opcode))?;
        if !self.fin {
            write!(f, "fin=0 ")?;
        }
        if self.rsv != 0 {
            write!(f, "rsv={:#05b} ", self.rsv)?;
        }
        if self.masked {
            write!(f, "MASKED ")?;
        }
        if self.opcode == CLOSE {
            match self.close_code() {
                Some(code) => write!(f, "code={code} reason={:?}", self.close_reason())?,
                None => write!(f, "{} bytes", self.payload.len())?,
            }
        } else {
            // payloads can be megabytes: print the length and a short prefix only
            let head = &self.payload[..self.payload.len().min(24)];
            write!(f, "{} bytes {:?}", self.payload.len(), String::from_utf8_lossy(head))?;
            if self.payload.len() > head.len() {
                write!(f, "...")?;
            }
        }
        write!(f, ")")
    }
}

/// What one read from the server produced: a timeout is data, not a panic.
#[derive(Debug, PartialEq, Eq)]
pub enum Event {
    Frame(ServerFrame),
    /// The server closed TCP cleanly with no bytes pending.
    Eof,
    /// The server closed TCP in the middle of a frame; the bytes pending.
    Truncated(usize),
    /// Reading failed (e.g. a reset).
    Error(io::ErrorKind),
    /// Nothing arrived in time.
    Timeout,
}

/// Parses one server frame at the start of `buf`: `None` if more bytes are needed.
pub fn parse_server_frame(buf: &[u8]) -> Option<(ServerFrame, usize)> {
    let [b0, b1, rest @ ..] = buf else { return None };
    let masked = b1 & 0x80 != 0;
    let (len, ext, minimal) = match b1 & 0x7F {
        126 => {
            let len = u64::from(u16::from_be_bytes(rest.get(..2)?.try_into().ok()?));
            (len, 2, len >= 126)
        }
        127 => {
            let len = u64::from_be_bytes(rest.get(..8)?.try_into().ok()?);
            (len, 8, len > 0xFFFF)
        }
        n => (u64::from(n), 0, true),
    };
    let key_len = if masked { 4 } else { 0 };
    let header = 2 + ext + key_len;
    let total = header + usize::try_from(len).ok()?;
    if buf.len() < total {
        return None;
    }
    let mut payload = buf[header..total].to_vec();
    if masked {
        let key = &buf[2 + ext..header];
        payload.iter_mut().enumerate().for_each(|(i, b)| *b ^= key[i % 4]);
    }
    let frame = ServerFrame {
        fin: b0 & 0x80 != 0,
        rsv: (b0 >> 4) & 0x07,
        opcode: b0 & 0x0F,
        masked,
        minimal_length: minimal,
        payload,
    };
    Some((frame, total))
}

/// A parsed HTTP response head (and the body if one was read).
#[derive(Debug, Clone)]
pub struct HttpResponse {
    pub status: u16,
    pub status_line: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// Every value of header `name` (case-insensitive).
    pub fn header_values(&self, name: &str) -> Vec<&str> {
        self.headers.iter().filter(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str()).collect()
    }
    /// The single value of header `name`; panics if it appears more than once.
    pub fn header(&self, name: &str) -> Option<&str> {
        let values = self.header_values(name);
        assert!(values.len() <= 1, "header {name} appears {} times in {self:?}", values.len());
        values.first().copied()
    }
}

/// A client speaking raw bytes over TCP, with a read buffer.
pub struct RawClient {
    pub stream: TcpStream,
    buf: Vec<u8>,
}

impl RawClient {
    /// Connects TCP only.
    pub async fn tcp(addr: SocketAddr) -> RawClient {
        let stream = within(WAIT, "TCP connect", TcpStream::connect(addr)).await.expect("TCP connect");
        stream.set_nodelay(true).expect("set_nodelay");
        RawClient { stream, buf: Vec::new() }
    }

    /// Connects and completes the opening handshake with [`GOOD_REQUEST`], asserting 101.
    pub async fn connect(addr: SocketAddr) -> RawClient {
        let mut c = RawClient::tcp(addr).await;
        c.send(GOOD_REQUEST.as_bytes()).await;
        let resp = c.read_head().await;
        assert_eq!(resp.status, 101, "expected 101 to a valid request, got {resp:?}");
        assert_eq!(resp.header("Sec-WebSocket-Accept"), Some(RFC_ACCEPT), "in {resp:?}");
        c
    }

    /// Writes `bytes` in one `write_all` and flushes.
    pub async fn send(&mut self, bytes: &[u8]) {
        within(WAIT, "a write to the server", async {
            self.stream.write_all(bytes).await.expect("write to server");
            self.stream.flush().await.expect("flush");
        })
        .await
    }

    /// Encodes `frames` and writes them in one `write_all`.
    pub async fn send_frames(&mut self, frames: &[Frame]) {
        self.send(&encode_all(frames)).await;
    }

    /// Writes `bytes` one byte per write, flushing after each.
    pub async fn send_bytewise(&mut self, bytes: &[u8]) {
        within(WAIT * 4, "a byte-by-byte write to the server", async {
            for b in bytes {
                self.stream.write_all(std::slice::from_ref(b)).await.expect("write to server");
                self.stream.flush().await.expect("flush");
            }
        })
        .await
    }

    /// Reads more bytes into the buffer; `Ok(0)` at EOF.
    async fn fill(&mut self, limit: Duration) -> Result<usize, Event> {
        let mut chunk = vec![0u8; 64 * 1024];
        match tokio::time::timeout(limit, self.stream.read(&mut chunk)).await {
            Err(_) => Err(Event::Timeout),
            Ok(Err(e)) => Err(Event::Error(e.kind())),
            Ok(Ok(n)) => {
                self.buf.extend_from_slice(&chunk[..n]);
                Ok(n)
            }
        }
    }

    /// The next event from the server, waiting at most `limit`.
    pub async fn next_event_within(&mut self, limit: Duration) -> Event {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            if let Some((frame, n)) = parse_server_frame(&self.buf) {
                self.buf.drain(..n);
                return Event::Frame(frame);
            }
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.fill(left).await {
                Ok(0) if self.buf.is_empty() => return Event::Eof,
                Ok(0) => return Event::Truncated(self.buf.len()),
                Ok(_) => {}
                Err(event) => return event,
            }
        }
    }

    /// The next event, waiting at most [`WAIT`].
    pub async fn next_event(&mut self) -> Event {
        self.next_event_within(WAIT).await
    }

    /// The next frame, checked to be a well-formed server frame (unmasked, no RSV, minimal length).
    pub async fn read_frame(&mut self) -> ServerFrame {
        match self.next_event().await {
            Event::Frame(f) => {
                assert!(!f.masked, "RFC 6455 §5.1: a server MUST NOT mask its frames, got {f:?}");
                assert_eq!(f.rsv, 0, "the server set RSV bits without an extension: {f:?}");
                assert!(f.minimal_length, "RFC 6455 §5.2: the server used a non-minimal length: {f:?}");
                f
            }
            other => panic!("expected a frame from the server, got {other:?}"),
        }
    }

    /// Reads one frame and asserts its opcode and payload.
    pub async fn expect_frame(&mut self, opcode: u8, payload: &[u8]) {
        let f = self.read_frame().await;
        assert_eq!(
            (opcode_name(f.opcode), f.fin),
            (opcode_name(opcode), true),
            "expected a final {} frame of {} bytes, got {f:?}",
            opcode_name(opcode),
            payload.len()
        );
        assert_payload_eq(&f.payload, payload);
    }

    /// Reads one frame and asserts it is a close frame with `code`.
    pub async fn expect_close(&mut self, code: u16) -> ServerFrame {
        let f = self.read_frame().await;
        assert_eq!(
            (opcode_name(f.opcode), f.close_code()),
            (opcode_name(CLOSE), Some(code)),
            "expected a close frame with code {code}, got {f:?}"
        );
        assert!(std::str::from_utf8(&f.payload[2..]).is_ok(), "the close reason the server sent is not UTF-8: {f:?}");
        f
    }

    /// Asserts the server closes TCP next, with nothing else sent first.
    pub async fn expect_eof(&mut self) {
        let event = self.next_event().await;
        assert_eq!(event, Event::Eof, "expected the server to close TCP with nothing more sent");
    }

    /// A close frame with `code`, then the server closes TCP (RFC 6455 §7.1.7: fail the connection).
    pub async fn expect_close_then_eof(&mut self, code: u16) {
        self.expect_close(code).await;
        self.expect_eof().await;
    }

    /// Reads an HTTP response head, leaving any bytes after it in the buffer (frames may follow a 101).
    pub async fn read_head(&mut self) -> HttpResponse {
        loop {
            if let Some(end) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8(self.buf[..end].to_vec()).expect("response head is UTF-8");
                self.buf.drain(..end + 4);
                return parse_head(&head);
            }
            match self.fill(WAIT).await {
                Ok(0) => panic!(
                    "the server closed TCP before a complete response head; got {:?}",
                    String::from_utf8_lossy(&self.buf)
                ),
                Ok(_) => {}
                Err(event) => {
                    panic!("no complete response head ({event:?}); got so far {:?}", String::from_utf8_lossy(&self.buf))
                }
            }
        }
    }

    /// Reads a refusal: head, `Content-Length` body, then the server closes TCP.
    pub async fn read_refusal(&mut self) -> HttpResponse {
        let mut resp = self.read_head().await;
        let len: usize = resp
            .header("Content-Length")
            .unwrap_or_else(|| panic!("a refusal has a Content-Length: {resp:?}"))
            .parse()
            .expect("Content-Length is a number");
        while self.buf.len() < len {
            match self.fill(WAIT).await {
                Ok(0) => panic!("the server closed TCP inside the body of {resp:?}"),
                Ok(_) => {}
                Err(event) => panic!("no complete body ({event:?}) for {resp:?}"),
            }
        }
        resp.body = self.buf.drain(..len).collect();
        let after = self.next_event().await;
        assert!(
            matches!(after, Event::Eof | Event::Error(io::ErrorKind::ConnectionReset)),
            "after a refusal the server must close the connection, got {after:?} for {resp:?}"
        );
        resp
    }
}

fn parse_head(head: &str) -> HttpResponse {
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default().to_string();
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or_default();
    assert_eq!(version, "HTTP/1.1", "status line {status_line:?}");
    let status = parts.next().and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("status line {status_line:?}"));
    let headers = lines
        .map(|l| {
            let (name, value) = l.split_once(':').unwrap_or_else(|| panic!("header line {l:?} has no colon"));
            (name.to_string(), value.trim().to_string())
        })
        .collect();
    HttpResponse { status, status_line, headers, body: Vec::new() }
}

/// Compares payloads without printing megabytes: lengths, then the first differing offset.
#[track_caller]
pub fn assert_payload_eq(actual: &[u8], expected: &[u8]) {
    if actual == expected {
        return;
    }
    assert_eq!(actual.len(), expected.len(), "payload lengths differ");
    let at = actual.iter().zip(expected).position(|(a, b)| a != b).unwrap_or(0);
    panic!(
        "payloads of {} bytes differ first at offset {at}: actual {:02x?} expected {:02x?}",
        actual.len(),
        &actual[at..(at + 16).min(actual.len())],
        &expected[at..(at + 16).min(expected.len())]
    );
}
