//! A scripted server for the flawed client's tests: it answers one request (the valid 101, or one changed), writes
//! frames as a script says, and describes on one line per event what the client sends: its request's broken §4.1
//! rules, each frame (judged as a client's, with its masking key against the keys before it), whether it waits
//! for the server to close TCP after its close frame (RFC 6455 §7.1.1), and how the connection ended.
//!
//! Each [`Exchange`] also holds the lines expected of the flawless client and, in the table of flaws, of a
//! flawed one. [`run`] runs the client against it.

use std::io::ErrorKind;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::time::error::Elapsed;
use tokio::time::{sleep, timeout, timeout_at, Instant};
use wsharness::wire::{
    parse_request, CloseCode, ClosePayload, Endpoint, FrameReader, FrameSpec, KeyFreshness, ObservedFrame, Opcode,
    ReceivedRequest, ServerReply,
};

use super::flawed_client::{Flaw, FlawedClient, RunLog, Settings};

/// Pause between two writes of the server.
pub const PAUSE: Duration = Duration::from_millis(5);
/// How long the server reads after its last write before it notes `timeout` and drops the connection.
pub const WAIT: Duration = Duration::from_secs(1);
/// After the client's close frame, how long the server waits to see whether the client closes TCP first.
pub const CLOSE_CHECK: Duration = Duration::from_millis(150);
/// Frames the server reads before it notes `flooded` and stops.
pub const MAX_FRAMES: usize = 50;
/// The request target of every URL the client is given (a fuzzingserver's).
pub const TARGET: &str = "/runCase?case=1&agent=flawed";

/// What the server does on a connection: answer the request with `reply` (applied to the valid 101) followed by
/// `pipelined` in the same write, then `writes` (one write each, [`PAUSE`] apart), reading the client's frames
/// throughout. `expect` is what the flawless client makes of it, as [`serve_one`] describes it.
#[derive(Clone)]
pub struct Exchange {
    pub reply: fn(ServerReply) -> ServerReply,
    pub pipelined: Vec<u8>,
    pub writes: Vec<Vec<u8>>,
    /// Clients run one after the other against the same server (lines of the second start with `second: `).
    pub connections: usize,
    /// The client's settings.
    pub settings: Settings,
    pub expect: Vec<String>,
    /// What a flawed client makes of it (in the table of flaws); a line `eof|reset` matches either.
    pub flawed: Vec<String>,
}

impl Exchange {
    /// The valid 101, then these frames in one write.
    pub fn frames(frames: &[FrameSpec]) -> Exchange {
        Exchange {
            reply: |reply| reply,
            pipelined: Vec::new(),
            writes: vec![encode(frames)],
            connections: 1,
            settings: quick_settings(),
            expect: Vec::new(),
            flawed: Vec::new(),
        }
    }

    /// This 101 (the valid one changed by `reply`) and nothing after it.
    pub fn reply(reply: fn(ServerReply) -> ServerReply) -> Exchange {
        Exchange { reply, writes: Vec::new(), ..Exchange::frames(&[]) }
    }

    /// These frames in one more write.
    pub fn then(mut self, frames: &[FrameSpec]) -> Exchange {
        self.writes.push(encode(frames));
        self
    }

    /// These frames one byte per write.
    pub fn bytewise(mut self, frames: &[FrameSpec]) -> Exchange {
        self.writes.extend(encode(frames).into_iter().map(|b| vec![b]));
        self
    }

    /// These frames in the write of the 101.
    pub fn pipelined(mut self, frames: &[FrameSpec]) -> Exchange {
        self.pipelined = encode(frames);
        self
    }

    pub fn twice(mut self) -> Exchange {
        self.connections = 2;
        self
    }

    pub fn expect(mut self, lines: &[&str]) -> Exchange {
        self.expect = lines.iter().map(|l| l.to_string()).collect();
        self
    }

    pub fn flawed(mut self, lines: &[&str]) -> Exchange {
        self.flawed = lines.iter().map(|l| l.to_string()).collect();
        self
    }

    /// Whether the script sends a close frame (then the client's close is its answer, not to be answered).
    pub fn server_closes(&self) -> bool {
        let mut reader = FrameReader::new();
        reader.push(&self.pipelined);
        self.writes.iter().for_each(|w| reader.push(w));
        std::iter::from_fn(|| reader.next_frame().ok().flatten()).any(|f| f.opcode() == Opcode::Close.as_u8())
    }
}

/// Client settings that keep the tests fast; the client's waits outlast the server's.
pub fn quick_settings() -> Settings {
    Settings {
        handshake_timeout: Duration::from_secs(3),
        close_wait: Duration::from_secs(2),
        idle_timeout: Duration::from_secs(5),
        run_timeout: Duration::from_secs(20),
        ..Settings::default()
    }
}

pub fn encode(frames: &[FrameSpec]) -> Vec<u8> {
    frames.iter().flat_map(|f| f.encode().expect("encodable frame")).collect()
}

// Server frames: unmasked (FrameSpec masks by default, as a client does).
pub fn text(payload: impl Into<Vec<u8>>) -> FrameSpec {
    FrameSpec::text(payload).unmasked()
}
pub fn binary(payload: impl Into<Vec<u8>>) -> FrameSpec {
    FrameSpec::binary(payload).unmasked()
}
pub fn continuation(payload: impl Into<Vec<u8>>) -> FrameSpec {
    FrameSpec::continuation(payload).unmasked()
}
pub fn ping(payload: impl Into<Vec<u8>>) -> FrameSpec {
    FrameSpec::ping(payload).unmasked()
}
pub fn pong(payload: impl Into<Vec<u8>>) -> FrameSpec {
    FrameSpec::pong(payload).unmasked()
}
pub fn close(code: u16, reason: impl AsRef<[u8]>) -> FrameSpec {
    FrameSpec::close(CloseCode(code), reason).unmasked()
}
pub fn close_1000() -> FrameSpec {
    close(1000, "")
}

/// Runs the exchange's server and its clients (with these flaws) one after the other; the server's lines and the
/// clients' logs.
pub async fn run(exchange: &Exchange, flaws: &[Flaw]) -> (Vec<String>, Vec<RunLog>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1:0");
    let url = format!("ws://{}{TARGET}", listener.local_addr().expect("local address"));
    let server = tokio::spawn(serve(listener, Arc::new(exchange.clone())));
    let mut logs = Vec::new();
    for _ in 0..exchange.connections {
        logs.push(FlawedClient::run(&url, flaws, &exchange.settings).await.expect("the client runs"));
    }
    (server.await.expect("the server task"), logs)
}

/// Serves the exchange's connections, one after the other.
pub async fn serve(listener: TcpListener, exchange: Arc<Exchange>) -> Vec<String> {
    let mut lines = Vec::new();
    let mut previous_key = None;
    for i in 0..exchange.connections {
        let prefix = if i == 0 { "" } else { "second: " };
        let served = match timeout(WAIT * 5, listener.accept()).await {
            Ok(Ok((stream, _))) => serve_one(stream, &exchange, &mut previous_key).await,
            _ => vec!["no connection".to_owned()],
        };
        lines.extend(served.into_iter().map(|l| format!("{prefix}{l}")));
    }
    lines
}

/// One connection: the request, our 101 and writes, and a line per event: `request` and what it breaks, each
/// client frame (with what it breaks), `waits` (the client did not close TCP within [`CLOSE_CHECK`] of its close
/// frame, so we closed TCP), and how reading ended (`eof`, `reset`, `timeout`).
async fn serve_one(mut stream: TcpStream, exchange: &Exchange, previous_key: &mut Option<String>) -> Vec<String> {
    let (request, mut lines) = match read_request(&mut stream).await {
        Ok(request) => request,
        Err(line) => return vec![line],
    };
    lines.extend(describe_request(&request, previous_key));
    let mut first = (exchange.reply)(ServerReply::accepting(&request)).encode();
    first.extend_from_slice(&exchange.pipelined);
    let (mut rd, mut wr) = stream.into_split();
    let (more, mut commands) = mpsc::unbounded_channel::<Option<Vec<u8>>>();
    let writes = exchange.writes.clone();
    // the writer keeps its half until told to close it (`None`) or the connection ends
    let writer = tokio::spawn(async move {
        for bytes in std::iter::once(first).chain(writes) {
            if wr.write_all(&bytes).await.is_err() {
                return;
            }
            sleep(PAUSE).await;
        }
        while let Some(command) = commands.recv().await {
            let Some(bytes) = command else { return drop(wr.shutdown().await) };
            if wr.write_all(&bytes).await.is_err() {
                return;
            }
        }
    });
    let (mut reader, mut keys, mut frames) = (FrameReader::new(), KeyFreshness::new(), 0);
    let mut deadline = Instant::now() + PAUSE * (exchange.writes.len() as u32 + 1) + WAIT;
    let (mut client_closed, mut we_closed) = (false, false);
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        let n = match timeout_at(deadline, rd.read(&mut chunk)).await {
            Ok(Ok(n)) if n > 0 => n,
            Err(_) if client_closed && !we_closed => {
                // the client waits for us, as it should (RFC 6455 §7.1.1): we close TCP
                lines.push("waits".to_owned());
                let _ = more.send(None);
                (we_closed, deadline) = (true, Instant::now() + WAIT);
                continue;
            }
            ended => {
                lines.push(describe_end(ended));
                break;
            }
        };
        reader.push(&chunk[..n]);
        while let Ok(Some(frame)) = reader.next_frame() {
            frames += 1;
            lines.push(describe_frame(&frame, &mut keys));
            if frame.opcode() == Opcode::Close.as_u8() && !client_closed {
                if !exchange.server_closes() {
                    let _ = more.send(Some(close(close_code(&frame).unwrap_or(1000), "").encode().expect("close")));
                }
                (client_closed, deadline) = (true, Instant::now() + CLOSE_CHECK);
            }
        }
        if frames >= MAX_FRAMES {
            lines.push("flooded".to_owned());
            break;
        }
    }
    writer.abort();
    lines
}

/// The request head, and the line `request`; or the line saying why there is none.
async fn read_request(stream: &mut TcpStream) -> Result<(ReceivedRequest, Vec<String>), String> {
    let (mut head, mut chunk) = (Vec::new(), vec![0u8; 16 * 1024]);
    let deadline = Instant::now() + WAIT;
    loop {
        match parse_request(&head) {
            Ok(Some((request, _))) => return Ok((request, vec!["request".to_owned()])),
            Ok(None) => {}
            Err(e) => return Err(format!("bad request: {e}")),
        }
        match timeout_at(deadline, stream.read(&mut chunk)).await {
            Ok(Ok(n)) if n > 0 => head.extend_from_slice(&chunk[..n]),
            ended => return Err(describe_end(ended)),
        }
    }
}

/// `request: <ViolationKind>` for each §4.1 rule the request breaks, its target when not the URL's, and a key
/// repeated from the connection before.
fn describe_request(request: &ReceivedRequest, previous_key: &mut Option<String>) -> Vec<String> {
    let mut lines: Vec<String> = request.check().iter().map(|v| format!("request: {:?}", v.kind)).collect();
    if request.target != TARGET {
        lines.push(format!("request: target {}", request.target));
    }
    let key = request.websocket_key().map(str::to_owned);
    if key.is_some() && *previous_key == key {
        lines.push("request: the key of the connection before".to_owned());
    }
    *previous_key = key;
    lines
}

/// `text "Hello"`, `binary 65536 bytes`, `close 1000`, ... with ` fin=0` and `[Violation, ...]` when they apply
/// (the frame's header judged as a client's, and its masking key against the keys before it).
fn describe_frame(frame: &ObservedFrame, keys: &mut KeyFreshness) -> String {
    let mut line = match frame.close_payload() {
        Some(ClosePayload::Empty) => "close".to_owned(),
        Some(ClosePayload::Truncated(_)) => "close truncated".to_owned(),
        Some(ClosePayload::Code { code, .. }) => format!("close {}", code.0),
        None => format!("{} {}", Opcode::name_of(frame.opcode()), describe_payload(&frame.payload)),
    };
    if !frame.fin() {
        line.push_str(" fin=0");
    }
    let mut broken = frame.header.violations(Endpoint::Client, 0);
    broken.extend(keys.observe(frame.header.masking_key));
    if !broken.is_empty() {
        let kinds: Vec<String> = broken.iter().map(|v| format!("{:?}", v.kind)).collect();
        line.push_str(&format!(" [{}]", kinds.join(", ")));
    }
    line
}

fn describe_payload(payload: &[u8]) -> String {
    match std::str::from_utf8(payload) {
        Ok(text) if payload.len() <= 32 => format!("{text:?}"),
        _ => format!("{} bytes", payload.len()),
    }
}

/// How reading ended: `eof` (the client closed TCP), `reset`, `timeout`, or another read error.
pub fn describe_end(ended: Result<std::io::Result<usize>, Elapsed>) -> String {
    match ended {
        Ok(Ok(_)) => "eof".to_owned(),
        Ok(Err(e)) if e.kind() == ErrorKind::ConnectionReset => "reset".to_owned(),
        Ok(Err(e)) => format!("read error {:?}", e.kind()),
        Err(_) => "timeout".to_owned(),
    }
}

/// The code of a close frame, if it has one.
fn close_code(frame: &ObservedFrame) -> Option<u16> {
    match frame.close_payload() {
        Some(ClosePayload::Code { code, .. }) => Some(code.0),
        _ => None,
    }
}

/// The lines of a clean close after these: the request, the lines, the client's close 1000, it waits for us to
/// close TCP, it closes.
pub fn after<'a>(lines: &[&'a str]) -> Vec<&'a str> {
    [&["request"], lines, &["close 1000", "waits", "eof"]].concat()
}

/// Whether the lines are the expected ones, where an expected `a|b` matches `a` or `b`.
pub fn lines_match(expected: &[String], actual: &[String]) -> bool {
    expected.len() == actual.len() && expected.iter().zip(actual).all(|(e, a)| e.split('|').any(|e| e == a))
}
