//! The flawed-server fixture is a strict echo server without flaws, and each flaw visibly breaks the rule it names.

use std::io::ErrorKind;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::task::JoinSet;
use tokio::time::error::Elapsed;
use tokio::time::{sleep, timeout_at, Instant};
use wsharness::wire::{
    fresh_key, parse_response, ClientRequest, CloseCode, ClosePayload, FrameReader, FrameSpec, LengthEncoding,
    ObservedFrame, Opcode, ServerResponse,
};

use crate::support::flawed_server::{Flaw, FlawedServer, Settings};

/// Pause between two writes of a probe.
const PAUSE: Duration = Duration::from_millis(5);
/// How long a probe reads after its last write before it notes `timeout`.
const WAIT: Duration = Duration::from_secs(2);
/// Frames a probe reads before it notes `flooded` and stops.
const MAX_FRAMES: usize = 50;
/// When a probe's second connection starts, after the first.
const SECOND_AFTER: Duration = Duration::from_millis(200);
/// The key of the raw requests of the probes (the RFC's sample key).
const RAW_KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

/// A client script: bytes to write (one write each, [`PAUSE`] apart), then read until the
/// server closes TCP or `wait` passes. `expect` is what a correct server makes of it.
#[derive(Debug, Clone)]
struct Probe {
    /// The request the response is checked against.
    request: ClientRequest,
    writes: Vec<Vec<u8>>,
    expect: Vec<String>,
    /// The servers' settings ([`quick_settings`] unless a probe needs others).
    settings: Settings,
    /// How long reading waits after the last write ([`WAIT`]).
    wait: Duration,
    /// Reading starts this long after the connection opens: a client that reads late.
    read_delay: Duration,
    /// After the writes, send TCP FIN (keep reading).
    half_close: bool,
    /// Another probe on a second connection, [`SECOND_AFTER`] after this one opened; its lines are added
    /// after this one's, each starting with `second: `.
    second: Option<Box<Probe>>,
}

impl Probe {
    /// This request in one write.
    fn request(request: ClientRequest) -> Probe {
        let bytes = request.encode();
        Probe {
            request,
            writes: vec![bytes],
            expect: Vec::new(),
            settings: quick_settings(),
            wait: WAIT,
            read_delay: Duration::ZERO,
            half_close: false,
            second: None,
        }
    }

    /// The default request, then these frames in one write.
    fn frames(frames: &[FrameSpec]) -> Probe {
        Probe::request(default_request()).then(frames)
    }

    /// Raw bytes in place of the request (the default request with [`RAW_KEY`] is what the response is
    /// checked against).
    fn raw(bytes: &[u8]) -> Probe {
        let mut probe = Probe::request(default_request().key(RAW_KEY));
        probe.writes = vec![bytes.to_vec()];
        probe
    }

    /// These frames in one more write.
    fn then(mut self, frames: &[FrameSpec]) -> Probe {
        self.writes.push(encode(frames));
        self
    }

    /// These frames in the same write as what came before (e.g. pipelined after the request).
    fn with(mut self, frames: &[FrameSpec]) -> Probe {
        self.writes.last_mut().expect("a probe starts with a write").extend(encode(frames));
        self
    }

    /// These frames one byte per write.
    fn bytewise(mut self, frames: &[FrameSpec]) -> Probe {
        self.writes.extend(encode(frames).into_iter().map(|b| vec![b]));
        self
    }

    fn expect(mut self, lines: &[&str]) -> Probe {
        self.expect = lines.iter().map(|l| l.to_string()).collect();
        self
    }

    /// Half-closes TCP after the writes.
    fn half_close(mut self) -> Probe {
        self.half_close = true;
        self
    }

    /// Runs `second` on another connection meanwhile.
    fn second(mut self, second: Probe) -> Probe {
        self.second = Some(Box::new(second));
        self
    }
}

/// A request written by hand, field lines as given, with [`RAW_KEY`] wherever `{key}` is.
fn raw_request(fields: &[&str]) -> Vec<u8> {
    let mut head = String::from("GET / HTTP/1.1\r\n");
    for field in fields {
        head.push_str(&field.replace("{key}", RAW_KEY));
        head.push_str("\r\n");
    }
    head.push_str("\r\n");
    head.into_bytes()
}

/// The field lines of the default request, in its order, for [`raw_request`].
const DEFAULT_FIELDS: [&str; 5] = [
    "Host: 127.0.0.1",
    "Upgrade: websocket",
    "Connection: Upgrade",
    "Sec-WebSocket-Key: {key}",
    "Sec-WebSocket-Version: 13",
];

/// What a probe saw: one line per event (see [`describe_frame`]) and the frames themselves.
#[derive(Debug)]
struct Transcript {
    lines: Vec<String>,
    frames: Vec<ObservedFrame>,
}

fn default_request() -> ClientRequest {
    ClientRequest::new("127.0.0.1", "/")
}

fn encode(frames: &[FrameSpec]) -> Vec<u8> {
    frames.iter().flat_map(|f| f.encode().expect("encodable frame")).collect()
}

fn close_1000() -> FrameSpec {
    FrameSpec::close(CloseCode::NORMAL, "")
}

/// The default request offering permessage-deflate as `offer`.
fn deflate_request(offer: &str) -> ClientRequest {
    default_request().extensions(&[offer])
}

/// On a connection offering `permessage-deflate{params}`: `frames`, a close 1000; the echoes expected in between.
fn deflate_probe(params: &str, frames: &[FrameSpec], echoes: &[&str]) -> Probe {
    let offer = format!("permessage-deflate{params}");
    let accepted = format!("extensions {offer}");
    let mut expect = vec!["status 101", &accepted];
    expect.extend_from_slice(echoes);
    expect.extend(["close 1000", "eof"]);
    Probe::request(deflate_request(&offer)).then(frames).then(&[close_1000()]).expect(&expect)
}

/// On a permessage-deflate connection, `frame` fails the connection with `code`.
fn deflate_failure(frame: FrameSpec, code: &str) -> Probe {
    Probe::request(deflate_request("permessage-deflate")).then(&[frame, close_1000()]).expect(&[
        "status 101",
        "extensions permessage-deflate",
        &format!("close {code}"),
        "eof",
    ])
}

/// RFC 7692 §7.2.3.1: "Hello" compressed, RSV1 set.
fn hello_compressed() -> FrameSpec {
    FrameSpec::text(vec![0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]).rsv(0b100)
}

/// `n` bytes a compressor finds nothing in.
fn noise(n: usize) -> Vec<u8> {
    let mut x: u32 = 0x2545_f491;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x.to_le_bytes()[0]
        })
        .collect()
}

/// The compressed sizes of `messages` as a correct server sends them: zlib level 6, a `bits` window, the tail
/// removed, context taken over unless `reset`.
fn deflated(messages: &[&[u8]], bits: u8, reset: bool) -> Vec<usize> {
    use flate2::{Compress, Compression, FlushCompress};
    let mut c = Compress::new_with_window_bits(Compression::new(6), false, bits);
    messages
        .iter()
        .map(|m| {
            if reset {
                c.reset();
            }
            let mut out = Vec::with_capacity(m.len() + 64);
            c.compress_vec(m, &mut out, FlushCompress::Sync).expect("zlib");
            out.len() - 4
        })
        .collect()
}

/// Settings that keep the probe table fast: short timers, a 64 KiB message limit.
fn quick_settings() -> Settings {
    Settings {
        handshake_timeout: Duration::from_millis(400),
        max_message: 64 * 1024,
        close_linger: Duration::from_millis(500),
        flood_for: Duration::from_secs(3),
        ..Settings::default()
    }
}

/// Runs a probe against `addr`, and its second connection if it has one.
async fn run(addr: SocketAddr, probe: &Probe) -> Transcript {
    let second = probe.second.clone().map(|second| {
        tokio::spawn(async move {
            sleep(SECOND_AFTER).await;
            run_one(addr, &second).await
        })
    });
    let mut t = run_one(addr, probe).await;
    if let Some(second) = second {
        let lines = second.await.expect("the second connection's task").lines;
        t.lines.extend(lines.into_iter().map(|l| format!("second: {l}")));
    }
    t
}

/// Runs a probe (without its second connection) against `addr`.
async fn run_one(addr: SocketAddr, probe: &Probe) -> Transcript {
    let mut t = Transcript { lines: Vec::new(), frames: Vec::new() };
    let deadline = Instant::now() + probe.read_delay + probe.wait + PAUSE * probe.writes.len() as u32;
    let stream = match timeout_at(deadline, TcpStream::connect(addr)).await {
        Ok(Ok(stream)) => stream,
        other => {
            t.lines.push(format!("connect failed: {other:?}"));
            return t;
        }
    };
    let (mut rd, mut wr) = stream.into_split();
    let (writes, half_close) = (probe.writes.clone(), probe.half_close);
    // the writer hands its half back, so that TCP stays open until the probe ends
    let writer = tokio::spawn(async move {
        for bytes in writes {
            if wr.write_all(&bytes).await.is_err() {
                return wr;
            }
            sleep(PAUSE).await;
        }
        if half_close {
            let _ = wr.shutdown().await;
        }
        wr
    });
    sleep(probe.read_delay).await;
    let mut head = Vec::new();
    let mut upgraded = None::<FrameReader>;
    let mut discard = false;
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        let n = match timeout_at(deadline, rd.read(&mut chunk)).await {
            Ok(Ok(n)) if n > 0 => n,
            ended => {
                t.lines.push(describe_end(ended));
                break;
            }
        };
        let bytes = &chunk[..n];
        if discard {
            continue;
        }
        let reader = match &mut upgraded {
            Some(reader) => {
                reader.push(bytes);
                reader
            }
            None => {
                head.extend_from_slice(bytes);
                match parse_response(&head) {
                    Ok(None) => continue,
                    Err(e) => {
                        t.lines.push(format!("bad response: {e}"));
                        discard = true;
                        continue;
                    }
                    Ok(Some((response, head_len))) => {
                        t.lines.extend(describe_response(&probe.request, &response));
                        if response.status != 101 {
                            // the body of a refusal is not frames
                            discard = true;
                            continue;
                        }
                        let mut reader = FrameReader::new();
                        reader.push(&head[head_len..]);
                        upgraded.insert(reader)
                    }
                }
            }
        };
        loop {
            match reader.next_frame() {
                Ok(Some(frame)) => {
                    t.lines.push(describe_frame(&frame));
                    t.frames.push(frame);
                }
                Ok(None) => break,
                Err(e) => {
                    t.lines.push(format!("unreadable frame: {e}"));
                    discard = true;
                    break;
                }
            }
        }
        if t.frames.len() >= MAX_FRAMES {
            t.lines.push("flooded".into());
            break;
        }
    }
    writer.abort();
    t
}

/// How the reading ended: `eof` (the server closed TCP), `reset`, `timeout`, or another read error.
fn describe_end(ended: Result<std::io::Result<usize>, Elapsed>) -> String {
    match ended {
        Ok(Ok(_)) => "eof".to_owned(),
        Ok(Err(e)) if e.kind() == ErrorKind::ConnectionReset => "reset".to_owned(),
        Ok(Err(e)) => format!("read error {:?}", e.kind()),
        Err(_) => "timeout".to_owned(),
    }
}

/// `status N`, then for a 101 every rule it breaks and the subprotocol, for a refusal the version it names.
fn describe_response(request: &ClientRequest, response: &ServerResponse) -> Vec<String> {
    let mut lines = vec![format!("status {}", response.status)];
    if response.status == 101 {
        lines.extend(request.check_response(response).iter().map(|v| format!("handshake: {:?}", v.kind)));
        lines.extend(response.header("Sec-WebSocket-Protocol").map(|p| format!("protocol {p}")));
        lines.extend(response.header("Sec-WebSocket-Extensions").map(|e| format!("extensions {e}")));
    } else {
        lines.extend(response.header("Sec-WebSocket-Version").map(|v| format!("Sec-WebSocket-Version: {v}")));
    }
    lines
}

/// `text "Hello"`, `binary 65536 bytes`, `close 1000`, ... with ` fin=0` and `[Violation, ...]` when they apply.
fn describe_frame(frame: &ObservedFrame) -> String {
    let name = Opcode::name_of(frame.opcode());
    let mut line = match frame.close_payload() {
        Some(ClosePayload::Empty) => "close".to_owned(),
        Some(ClosePayload::Truncated(_)) => "close truncated".to_owned(),
        Some(ClosePayload::Code { code, reason: [] }) => format!("close {}", code.0),
        Some(ClosePayload::Code { code, reason }) => format!("close {} {}", code.0, describe_payload(reason)),
        None => format!("{name} {}", describe_payload(&frame.payload)),
    };
    if !frame.fin() {
        line.push_str(" fin=0");
    }
    let violations: Vec<String> = frame.violations().iter().map(|v| format!("{:?}", v.kind)).collect();
    if !violations.is_empty() {
        line.push_str(&format!(" [{}]", violations.join(", ")));
    }
    line
}

fn describe_payload(payload: &[u8]) -> String {
    match std::str::from_utf8(payload) {
        Ok(text) if payload.len() <= 32 => format!("{text:?}"),
        _ => format!("{} bytes", payload.len()),
    }
}

fn lines(expected: &[&str]) -> Vec<String> {
    expected.iter().map(|l| l.to_string()).collect()
}

// (a) Without flaws the fixture is a correct, strict echo server.

#[tokio::test]
async fn flawless_server_echoes_text_and_binary_of_0_125_126_and_65536_bytes() {
    let _turn = crate::support::turn(module_path!());
    let server = FlawedServer::start(&[]).await;
    let mut sent = Vec::new();
    for size in [0, 125, 126, 65536] {
        sent.push(FrameSpec::text("é".repeat(size / 2) + &"a".repeat(size % 2)));
        sent.push(FrameSpec::binary((0..size).map(|i| (i % 251) as u8).collect::<Vec<u8>>()));
    }
    let t = run(server.addr(), &Probe::frames(&sent).then(&[close_1000()])).await;

    assert_eq!(t.lines.first().map(String::as_str), Some("status 101"), "{:#?}", t.lines);
    assert_eq!(t.lines[t.lines.len() - 2..], lines(&["close 1000", "eof"]), "{:#?}", t.lines);
    let echoes: Vec<(u8, &[u8])> = t.frames.iter().map(|f| (f.opcode(), &f.payload[..])).collect();
    let mut expected: Vec<(u8, &[u8])> = sent.iter().map(|f| (f.opcode, &f.payload[..])).collect();
    expected.push((Opcode::Close.as_u8(), &[0x03, 0xE8]));
    assert_eq!(echoes, expected);
    assert!(t.frames.iter().all(|f| f.fin() && f.violations().is_empty()), "{:#?}", t.lines);
}

#[tokio::test]
async fn flawless_server_answers_a_ping_with_a_pong_of_the_same_payload() {
    let _turn = crate::support::turn(module_path!());
    let server = FlawedServer::start(&[]).await;
    let long = "p".repeat(125);
    let t = run(server.addr(), &Probe::frames(&[FrameSpec::ping("hello?"), FrameSpec::ping(long), close_1000()])).await;
    assert_eq!(t.lines, lines(&["status 101", "pong \"hello?\"", "pong 125 bytes", "close 1000", "eof"]));
    assert_eq!(t.frames[1].payload, "p".repeat(125).as_bytes());
}

#[tokio::test]
async fn flawless_server_replies_to_a_close_with_the_same_code_then_closes_tcp() {
    let _turn = crate::support::turn(module_path!());
    let server = FlawedServer::start(&[]).await;
    for code in [1000, 1001, 1003, 1011, 3000, 4999] {
        let t = run(server.addr(), &Probe::frames(&[FrameSpec::close(CloseCode(code), "bye")])).await;
        assert_eq!(t.lines, ["status 101".to_owned(), format!("close {code}"), "eof".to_owned()], "code {code}");
    }
    let t = run(server.addr(), &Probe::frames(&[FrameSpec::close_empty()])).await;
    assert_eq!(t.lines, lines(&["status 101", "close", "eof"]));
}

#[tokio::test]
async fn flawless_server_closes_with_1002_on_an_unmasked_frame() {
    let _turn = crate::support::turn(module_path!());
    let server = FlawedServer::start(&[]).await;
    let t = run(server.addr(), &Probe::frames(&[FrameSpec::text("Hello").unmasked(), close_1000()])).await;
    assert_eq!(t.lines, lines(&["status 101", "close 1002", "eof"]));
}

#[tokio::test]
async fn flawless_server_echoes_frames_delivered_one_byte_per_write() {
    let _turn = crate::support::turn(module_path!());
    let server = FlawedServer::start(&[]).await;
    let probe = Probe::request(default_request()).bytewise(&[FrameSpec::text("Hello"), close_1000()]);
    let t = run(server.addr(), &probe).await;
    assert_eq!(t.lines, lines(&["status 101", "text \"Hello\"", "close 1000", "eof"]));
}

#[tokio::test]
async fn flawless_server_answers_version_8_with_426_naming_version_13() {
    let _turn = crate::support::turn(module_path!());
    let server = FlawedServer::start(&[]).await;
    let t = run(server.addr(), &Probe::request(default_request().header("Sec-WebSocket-Version", "8"))).await;
    assert_eq!(t.lines, lines(&["status 426", "Sec-WebSocket-Version: 13", "eof"]));
}

#[tokio::test]
async fn flawless_server_selects_an_offered_subprotocol_it_speaks_and_no_other() {
    let _turn = crate::support::turn(module_path!());
    let server = FlawedServer::start(&[]).await;
    let offered = Probe::request(default_request().protocols(&["superchat", "chat"])).then(&[close_1000()]);
    let t = run(server.addr(), &offered).await;
    assert_eq!(t.lines, lines(&["status 101", "protocol chat", "close 1000", "eof"]));
    let unknown = Probe::request(default_request().protocols(&["superchat"])).then(&[close_1000()]);
    let t = run(server.addr(), &unknown).await;
    assert_eq!(t.lines, lines(&["status 101", "close 1000", "eof"]));
}

#[tokio::test]
async fn flawless_server_closes_with_1009_as_soon_as_a_frame_declares_more_than_16_mib() {
    let _turn = crate::support::turn(module_path!());
    let server = FlawedServer::start(&[]).await;
    let header_only = FrameSpec::binary([]).declared_len(16 * 1024 * 1024 + 1);
    let t = run(server.addr(), &Probe::frames(&[header_only])).await;
    assert_eq!(t.lines, lines(&["status 101", "close 1009", "eof"]));
}

#[tokio::test]
async fn flawless_server_fails_invalid_utf8_before_the_message_ends() {
    let _turn = crate::support::turn(module_path!());
    let server = FlawedServer::start(&[]).await;
    // the first fragment ends in a byte no UTF-8 sequence can continue with; the message never ends
    let fragment = FrameSpec::text([b'a', 0xF4, 0x90]).fin(false);
    let t = run(server.addr(), &Probe::frames(&[fragment])).await;
    assert_eq!(t.lines, lines(&["status 101", "close 1007", "eof"]));
}

// (b) A few flaws, described by what they do.

#[tokio::test]
async fn accepts_unmasked_echoes_an_unmasked_text_frame() {
    let _turn = crate::support::turn(module_path!());
    let server = FlawedServer::start(&[Flaw::AcceptsUnmasked]).await;
    let t = run(server.addr(), &Probe::frames(&[FrameSpec::text("Hello").unmasked(), close_1000()])).await;
    assert_eq!(t.lines, lines(&["status 101", "text \"Hello\"", "close 1000", "eof"]));
}

#[tokio::test]
async fn drops_tcp_without_close_answers_a_close_by_closing_tcp_with_no_close_frame() {
    let _turn = crate::support::turn(module_path!());
    let server = FlawedServer::start(&[Flaw::DropsTcpWithoutClose]).await;
    let t = run(server.addr(), &Probe::frames(&[close_1000()])).await;
    assert!(t.lines == ["status 101", "eof"] || t.lines == ["status 101", "reset"], "{:#?}", t.lines);
}

#[tokio::test]
async fn one_frame_per_read_echoes_only_the_first_of_two_frames_written_together() {
    let _turn = crate::support::turn(module_path!());
    let server = FlawedServer::start(&[Flaw::OneFramePerRead]).await;
    let t = run(server.addr(), &Probe::frames(&[FrameSpec::text("one"), FrameSpec::text("two"), close_1000()])).await;
    assert_eq!(t.lines, lines(&["status 101", "text \"one\"", "timeout"]));
}

#[tokio::test]
async fn wrong_accept_key_answers_101_with_an_accept_value_that_does_not_match_the_key() {
    let _turn = crate::support::turn(module_path!());
    let server = FlawedServer::start(&[Flaw::WrongAcceptKey]).await;
    let t = run(server.addr(), &Probe::frames(&[close_1000()])).await;
    assert_eq!(t.lines, lines(&["status 101", "handshake: AcceptMismatch", "close 1000", "eof"]));
}

#[tokio::test]
async fn no_pong_echoes_messages_but_never_answers_a_ping() {
    let _turn = crate::support::turn(module_path!());
    let server = FlawedServer::start(&[Flaw::NoPong]).await;
    let t = run(server.addr(), &Probe::frames(&[FrameSpec::ping("p"), FrameSpec::text("t"), close_1000()])).await;
    assert_eq!(t.lines, lines(&["status 101", "text \"t\"", "close 1000", "eof"]));
}

#[tokio::test]
async fn stalls_after_handshake_answers_101_then_nothing_while_tcp_stays_open() {
    let _turn = crate::support::turn(module_path!());
    let server = FlawedServer::start(&[Flaw::StallsAfterHandshake]).await;
    let t = run(server.addr(), &Probe::frames(&[FrameSpec::ping("p"), close_1000()])).await;
    assert_eq!(t.lines, lines(&["status 101", "timeout"]));
}

#[tokio::test]
async fn stopping_the_server_closes_its_connections_and_refuses_new_ones() {
    let _turn = crate::support::turn(module_path!());
    let server = FlawedServer::start(&[Flaw::StallsBeforeHandshake]).await;
    let addr = server.addr();
    assert_eq!(server.url(), format!("ws://{addr}/"));
    let mut held = TcpStream::connect(addr).await.expect("connect");
    sleep(Duration::from_millis(50)).await;
    server.stop().await;
    let mut byte = [0u8; 1];
    let read = tokio::time::timeout(WAIT, held.read(&mut byte)).await.expect("the held connection ends");
    assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
    assert!(TcpStream::connect(addr).await.is_err());
}

// (c) Every flaw: a probe the flawless server passes and the flawed server fails.

/// A probe for each flaw, with what the flawless server answers; the flawed server must answer differently.
fn probe_for(flaw: Flaw) -> Probe {
    use Flaw::*;
    let clean_close = || Probe::frames(&[close_1000()]).expect(&["status 101", "close 1000", "eof"]);
    let echo_hello = || {
        Probe::frames(&[FrameSpec::text("Hello"), close_1000()]).expect(&[
            "status 101",
            "text \"Hello\"",
            "close 1000",
            "eof",
        ])
    };
    let refused = |request: ClientRequest| Probe::request(request).then(&[close_1000()]).expect(&["status 400", "eof"]);
    // the first frame breaks a rule; the close after it makes a flawed server that accepts the frame answer at once
    let fails = |frame: FrameSpec, close: &str| {
        Probe::frames(&[frame, close_1000()]).expect(&["status 101", &format!("close {close}"), "eof"])
    };
    let accepted = |probe: Probe| probe.then(&[close_1000()]).expect(&["status 101", "close 1000", "eof"]);
    let invalid_utf8 = || FrameSpec::text([b'a', 0xC3, 0x28]);
    let over_limit = quick_settings().max_message as usize + 1;
    match flaw {
        WrongAcceptKey
        | NoUpgradeHeader
        | NoConnectionHeader
        | Status200Instead101
        | RespondsWithHttp10
        | RepeatsAcceptHeader
        | SendsUnofferedExtension
        | DropsTcpWithoutClose
        | NoCloseReplyKeepsOpen
        | WrongCloseEchoCode
        | NeverClosesTcp
        | StallsBeforeHandshake
        | StallsAfterHandshake
        | SendsGarbage
        | Floods => clean_close(),
        AcceptsAnyVersion | Version426WithoutVersionHeader => {
            Probe::request(default_request().header("Sec-WebSocket-Version", "8")).then(&[close_1000()]).expect(&[
                "status 426",
                "Sec-WebSocket-Version: 13",
                "eof",
            ])
        }
        AcceptsMissingKey => refused(default_request().remove_header("Sec-WebSocket-Key")),
        AcceptsInvalidKey => refused(default_request().key("AAAA")),
        AcceptsDuplicateKey => refused(default_request().append_header("Sec-WebSocket-Key", fresh_key())),
        AcceptsBadMethod => refused(default_request().method("POST")),
        AcceptsHttp10 => refused(default_request().http_version("HTTP/1.0")),
        AcceptsMissingHost => refused(default_request().remove_header("Host")),
        AcceptsMissingUpgrade => refused(default_request().remove_header("Upgrade")),
        AcceptsMissingConnection => refused(default_request().header("Connection", "keep-alive")),
        PicksUnofferedSubprotocol => Probe::request(default_request().protocols(&["superchat"]))
            .then(&[close_1000()])
            .expect(&["status 101", "close 1000", "eof"]),
        RepeatsProtocolHeader => Probe::request(default_request().protocols(&["chat"]))
            .then(&[close_1000()])
            .expect(&["status 101", "protocol chat", "close 1000", "eof"]),
        ExtraBytesLost => Probe::request(default_request()).with(&[FrameSpec::text("Hello"), close_1000()]).expect(&[
            "status 101",
            "text \"Hello\"",
            "close 1000",
            "eof",
        ]),
        NoHandshakeTimeout => Probe::raw(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n").expect(&["eof"]),
        NoHeadSizeLimit => Probe::request(default_request().header("X-Padding", "a".repeat(20_000)))
            .then(&[close_1000()])
            .expect(&["status 431", "eof"]),
        AcceptsUnmasked | ClosesWith1000OnErrors => fails(FrameSpec::text("Hello").unmasked(), "1002"),
        IgnoresRsv => fails(FrameSpec::text("Hello").rsv(0b100), "1002"),
        IgnoresReservedOpcodes => fails(FrameSpec::new(0x3, "Hello"), "1002"),
        AcceptsNonMinimalLength => fails(FrameSpec::text("Hello").length(LengthEncoding::Bits16), "1002"),
        IgnoresLengthMsb => {
            fails(FrameSpec::binary("Hello").length(LengthEncoding::Bits64).declared_len(1 << 63 | 5), "1002")
        }
        AcceptsFragmentedControl => fails(FrameSpec::ping("p").fin(false), "1002"),
        AcceptsLongControl => fails(FrameSpec::ping(vec![b'p'; 126]), "1002"),
        AcceptsContinuationWithoutStart => fails(FrameSpec::continuation("Hello"), "1002"),
        AcceptsInterleavedDataFrames => Probe::frames(&[FrameSpec::text("a").fin(false), FrameSpec::text("b")])
            .then(&[close_1000()])
            .expect(&["status 101", "close 1002", "eof"]),
        NoUtf8Validation | Utf8WrongCode => fails(invalid_utf8(), "1007"),
        NoMessageLimit => fails(FrameSpec::binary(vec![b'*'; over_limit]), "1009"),
        OneFramePerRead => Probe::frames(&[FrameSpec::text("one"), FrameSpec::text("two"), close_1000()]).expect(&[
            "status 101",
            "text \"one\"",
            "text \"two\"",
            "close 1000",
            "eof",
        ]),
        NoPartialFrameBuffering => Probe::request(default_request())
            .bytewise(&[FrameSpec::text("Hello")])
            .then(&[close_1000()])
            .expect(&["status 101", "text \"Hello\"", "close 1000", "eof"]),
        Mangles16BitLength => Probe::frames(&[FrameSpec::binary(vec![b'*'; 200]), close_1000()]).expect(&[
            "status 101",
            "binary 200 bytes",
            "close 1000",
            "eof",
        ]),
        Mangles64BitLength => Probe::frames(&[FrameSpec::binary(vec![b'*'; 65536]), close_1000()]).expect(&[
            "status 101",
            "binary 65536 bytes",
            "close 1000",
            "eof",
        ]),
        SendsNonMinimalLength | MasksServerFrames | SetsRsvOnServerFrames | EchoesAsBinary | FragmentsEchoWrongly => {
            echo_hello()
        }
        NoPong | PongWrongPayload => Probe::frames(&[FrameSpec::ping("hi"), close_1000()]).expect(&[
            "status 101",
            "pong \"hi\"",
            "close 1000",
            "eof",
        ]),
        PongsUnsolicitedPongs => {
            Probe::frames(&[FrameSpec::pong("hi"), close_1000()]).expect(&["status 101", "close 1000", "eof"])
        }
        RejectsInterleavedControl => Probe::frames(&[
            FrameSpec::text("Hel").fin(false),
            FrameSpec::ping("p"),
            FrameSpec::continuation("lo"),
            close_1000(),
        ])
        .expect(&["status 101", "pong \"p\"", "text \"Hello\"", "close 1000", "eof"]),
        // the message never ends: only a fail-fast server answers
        LateUtf8Failure => Probe::frames(&[invalid_utf8().fin(false)]).expect(&["status 101", "close 1007", "eof"]),
        AcceptsInvalidCloseCodes => {
            Probe::frames(&[FrameSpec::close(CloseCode(1005), "")]).expect(&["status 101", "close 1002", "eof"])
        }
        RejectsValidCloseCodes => {
            Probe::frames(&[FrameSpec::close(CloseCode(3000), "")]).expect(&["status 101", "close 3000", "eof"])
        }
        AcceptsOneByteClose => {
            Probe::frames(&[FrameSpec::new(0x8, [0x03])]).expect(&["status 101", "close 1002", "eof"])
        }
        AcceptsInvalidCloseReason => Probe::frames(&[FrameSpec::close(CloseCode::NORMAL, [0xC3, 0x28])]).expect(&[
            "status 101",
            "close 1007",
            "eof",
        ]),
        SendsAfterClose => {
            Probe::frames(&[close_1000(), FrameSpec::text("late")]).expect(&["status 101", "close 1000", "eof"])
        }
        SendsReservedCloseCode => Probe::frames(&[FrameSpec::close_empty()]).expect(&["status 101", "close", "eof"]),
        // request forms a correct server refuses or accepts
        AcceptsInvalidHostValue => refused(default_request().header("Host", "127.0.0.1 other.example")),
        MethodCaseInsensitive => refused(default_request().method("get")),
        TrimsSpaceBeforeColon | ClosesWithoutResponseOnMalformedRequest => {
            let mut fields = DEFAULT_FIELDS;
            fields[3] = "Sec-WebSocket-Key : {key}";
            Probe::raw(&raw_request(&fields)).then(&[close_1000()]).expect(&["status 400", "eof"])
        }
        ObsFoldAsNewField => {
            let fields = &DEFAULT_FIELDS[..4];
            let folded = [fields, &["X-Note: folded", " Sec-WebSocket-Version: 13"]].concat();
            Probe::raw(&raw_request(&folded)).then(&[close_1000()]).expect(&["status 400", "eof"])
        }
        CaseSensitiveFieldNames => {
            let lower =
                DEFAULT_FIELDS.map(|f| f.split_once(':').map_or(f.to_owned(), |(n, v)| n.to_lowercase() + ":" + v));
            let lower: Vec<&str> = lower.iter().map(String::as_str).collect();
            accepted(Probe::raw(&raw_request(&lower)))
        }
        CaseSensitiveUpgradeValue => accepted(Probe::request(default_request().header("Upgrade", "WebSocket"))),
        ConnectionMustBeUpgrade => {
            accepted(Probe::request(default_request().header("Connection", "keep-alive, Upgrade")))
        }
        RequiresSpaceAfterColon => {
            let tight = DEFAULT_FIELDS.map(|f| f.replacen(": ", ":", 1));
            let tight: Vec<&str> = tight.iter().map(String::as_str).collect();
            accepted(Probe::raw(&raw_request(&tight)))
        }
        KeepsTrailingWhitespace => {
            let mut fields = DEFAULT_FIELDS;
            fields[3] = "Sec-WebSocket-Key: {key}  \t";
            accepted(Probe::raw(&raw_request(&fields)))
        }
        ExpectsFixedFieldOrder => {
            accepted(Probe::request(default_request().remove_header("Host").append_header("Host", "127.0.0.1")))
        }
        FixedFieldTable => {
            let browser = ["User-Agent", "Accept", "Accept-Language", "Cache-Control", "Pragma"]
                .iter()
                .fold(default_request(), |r, name| r.header(*name, "x"));
            accepted(Probe::request(browser))
        }
        RejectsQueryString => accepted(Probe::request(ClientRequest::new("127.0.0.1", "/?room=lobby"))),
        RejectsAbsoluteForm => accepted(Probe::request(ClientRequest::new("127.0.0.1", "http://127.0.0.1/"))),
        RejectsLeadingEmptyLine => {
            let request = [b"\r\n".as_slice(), &raw_request(&DEFAULT_FIELDS)].concat();
            accepted(Probe::raw(&request))
        }
        NoPartialHeadBuffering => {
            let mut probe = Probe::request(default_request());
            probe.writes = probe.writes[0].chunks(16).map(<[u8]>::to_vec).collect();
            accepted(probe)
        }
        CrashesOnOversizedHead => {
            // the server survives a refusal: a second connection is still answered
            Probe::request(default_request().header("X-Padding", "a".repeat(20_000)))
                .second(Probe::frames(&[close_1000()]))
                .expect(&["status 431", "eof", "second: status 101", "second: close 1000", "second: eof"])
        }
        EchoesOfferedSubprotocols => accepted(Probe::request(default_request().protocols(&["superchat"]))),
        EchoesOfferedExtensions => accepted(Probe::request(default_request().extensions(&["x-unknown; p=1"]))),
        DeflateIgnoresParameters => {
            accepted(Probe::request(default_request().extensions(&["permessage-deflate; x-unknown"])))
        }
        DeflateAlwaysClientWindow15 | DeflateAcceptsEveryOffer => {
            Probe::request(default_request().extensions(&["permessage-deflate, permessage-deflate"]))
                .then(&[close_1000()])
                .expect(&["status 101", "extensions permessage-deflate", "close 1000", "eof"])
        }
        DeflateServerWindow15 => Probe::request(deflate_request("permessage-deflate; server_max_window_bits=10"))
            .then(&[close_1000()])
            .expect(&["status 101", "extensions permessage-deflate; server_max_window_bits=10", "close 1000", "eof"]),
        DeflateLeavesTail | DeflateInflatesUncompressed | DeflateUtf8BeforeInflating => {
            // a compressed "Hello", and the same uncompressed: both echoed compressed, the second with context
            let lens = deflated(&[b"Hello", b"Hello"], 15, false);
            let echoes: Vec<String> = lens.iter().map(|n| format!("text {n} bytes [ReservedBitsSet]")).collect();
            deflate_probe("", &[hello_compressed(), FrameSpec::text("Hello")], &[&echoes[0], &echoes[1]])
        }
        DeflateIgnoresServerWindow => {
            // a block, then its start again 600 bytes later: a 512-byte window cannot refer back to it
            let block = noise(600);
            let message = [&block[..], &block[..400]].concat();
            let echo = format!("binary {} bytes [ReservedBitsSet]", deflated(&[&message], 9, false)[0]);
            deflate_probe("; server_max_window_bits=9", &[FrameSpec::binary(message)], &[&echo])
        }
        DeflateKeepsContext => {
            let message = noise(100);
            let lens = deflated(&[&message, &message], 15, true);
            let echoes: Vec<String> = lens.iter().map(|n| format!("binary {n} bytes [ReservedBitsSet]")).collect();
            let frames = [FrameSpec::binary(message.clone()), FrameSpec::binary(message)];
            deflate_probe("; server_no_context_takeover", &frames, &[&echoes[0], &echoes[1]])
        }
        DeflateResetsClientContext => {
            // RFC 7692 §7.2.3.2: the second "Hello" refers back to the first
            let lens = deflated(&[b"Hello", b"Hello"], 15, false);
            let echoes: Vec<String> = lens.iter().map(|n| format!("text {n} bytes [ReservedBitsSet]")).collect();
            let second = FrameSpec::text(vec![0xf2, 0x00, 0x11, 0x00, 0x00]).rsv(0b100);
            deflate_probe("", &[hello_compressed(), second], &[&echoes[0], &echoes[1]])
        }
        DeflateAcceptsRsv1Anywhere => deflate_failure(FrameSpec::ping("p").rsv(0b100), "1002"),
        // a stored block holding c0 80, an overlong NUL
        DeflateSkipsUtf8AfterInflating => {
            let stored = vec![0x00, 0x04, 0x00, 0xfb, 0xff, 0x48, 0xc0, 0x80, 0x21, 0x00];
            deflate_failure(FrameSpec::text(stored).rsv(0b100), "1007")
        }
        DeflateIgnoresCorruptData => deflate_failure(FrameSpec::binary(vec![0x06, 0x00]).rsv(0b100), "1007"),
        DeflateBombCrashes => {
            let bomb = wsharness::wire::deflate::craft::bomb_message(quick_settings().max_message as usize * 4);
            deflate_failure(FrameSpec::binary(bomb).rsv(0b100), "1009")
        }
        DeflateRefusesWindow8 => {
            accepted(Probe::request(default_request().extensions(&["permessage-deflate; server_max_window_bits=8"])))
        }
        ServesOneConnectionAtATime => {
            // the first connection stays open; the second is answered meanwhile
            let mut second = Probe::frames(&[close_1000()]);
            second.wait = Duration::from_secs(1);
            Probe::request(default_request()).second(second).expect(&[
                "status 101",
                "timeout",
                "second: status 101",
                "second: close 1000",
                "second: eof",
            ])
        }
        // messages, limits and TCP
        EchoesEachFragment => Probe::frames(&[
            FrameSpec::text("Hel").fin(false),
            FrameSpec::continuation("lo"),
            close_1000(),
        ])
        .expect(&["status 101", "text \"Hello\"", "close 1000", "eof"]),
        CrashesOnOversizedMessage => {
            let header_only = FrameSpec::binary([]).declared_len(over_limit as u64);
            Probe::frames(&[header_only]).second(Probe::frames(&[close_1000()])).expect(&[
                "status 101",
                "close 1009",
                "eof",
                "second: status 101",
                "second: close 1000",
                "second: eof",
            ])
        }
        CrashesOnManyFramesPerRead => {
            // 3000 unsolicited pongs in one write: nothing to answer, but more frames than the table holds
            let pongs = vec![FrameSpec::pong([]); 3000];
            Probe::frames(&pongs).then(&[close_1000()]).second(Probe::frames(&[close_1000()])).expect(&[
                "status 101",
                "close 1000",
                "eof",
                "second: status 101",
                "second: close 1000",
                "second: eof",
            ])
        }
        DropsUnsentBytes => {
            // an 8 MiB echo to a client that starts reading only after 500 ms: more than the socket buffers hold
            let mut probe = Probe::frames(&[FrameSpec::binary(vec![b'*'; 8 << 20]), close_1000()]).expect(&[
                "status 101",
                "binary 8388608 bytes",
                "close 1000",
                "eof",
            ]);
            probe.settings.max_message = 16 << 20;
            probe.read_delay = Duration::from_millis(500);
            probe
        }
        IgnoresSplitControlFrames => Probe::request(default_request())
            .bytewise(&[FrameSpec::ping("hi")])
            .then(&[close_1000()])
            .expect(&["status 101", "pong \"hi\"", "close 1000", "eof"]),
        DropsRepliesOnFin => Probe::frames(&[close_1000()]).half_close().expect(&["status 101", "close 1000", "eof"]),
        IgnoresFin => {
            Probe::frames(&[FrameSpec::text("Hello")]).half_close().expect(&["status 101", "text \"Hello\"", "eof"])
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_flaw_fails_a_probe_that_the_flawless_server_passes() {
    let _turn = crate::support::turn(module_path!());
    let mut runs = JoinSet::new();
    for &flaw in Flaw::ALL {
        runs.spawn(async move {
            let probe = probe_for(flaw);
            let flawless = FlawedServer::start_with(&[], probe.settings.clone()).await;
            let flawed = FlawedServer::start_with(&[flaw], probe.settings.clone()).await;
            let (good, bad) = tokio::join!(run(flawless.addr(), &probe), run(flawed.addr(), &probe));
            (flaw, probe.expect, good.lines, bad.lines)
        });
    }
    let mut problems = Vec::new();
    while let Some(run) = runs.join_next().await {
        let (flaw, expected, good, bad) = run.expect("probe task");
        if good != expected {
            problems.push(format!("{flaw:?}: the flawless server\nexpected: {expected:#?}\nactual:   {good:#?}"));
        }
        if bad == expected {
            problems.push(format!("{flaw:?}: the flawed server passed the probe: {bad:#?}\n({})", flaw.rule()));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}

#[test]
fn every_flaw_names_the_rfc_rule_it_breaks() {
    let _turn = crate::support::turn(module_path!());
    let mut rules = Vec::new();
    for &flaw in Flaw::ALL {
        let rule = flaw.rule();
        assert!(
            rule.starts_with("Breaks ")
                && (rule.contains("RFC 6455 §") || rule.contains("RFC 7692 §"))
                && rule.ends_with('.'),
            "{flaw:?}: {rule}"
        );
        assert!(!rules.contains(&rule), "{flaw:?} repeats {rule}");
        rules.push(rule);
    }
    assert_eq!(Flaw::AcceptsUnmasked.rule(), "Breaks RFC 6455 §5.1: accepts unmasked client frames.");
}
