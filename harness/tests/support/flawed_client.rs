//! A flawed-client fixture: a strict RFC 6455 WebSocket client with one switchable flaw per rule.
//!
//! [`FlawedClient::run`] with no flaws plays the client side of Autobahn|Testsuite's fuzzingserver runner
//! contract against a `ws://host:port/path?query` URL: it connects, sends the opening request (GET, HTTP/1.1,
//! Host, `Upgrade: websocket`, `Connection: Upgrade`, a fresh random 16-byte `Sec-WebSocket-Key`, version 13,
//! and the subprotocols and extensions of its [`Settings`], none by default), checks the 101 strictly (RFC 6455
//! §4.1: status, Upgrade, Connection, `Sec-WebSocket-Accept`, nothing it did not offer; otherwise it closes TCP
//! without sending a frame), then echoes every text and binary message as one frame of the same type
//! (reassembling fragments, with control frames between them), answers every ping with a pong of the same
//! payload, and answers the server's close with a close of the same code before waiting for the server to close
//! TCP (§7.1.1). Every frame it sends is masked with a fresh key from `/dev/urandom`.
//!
//! It is strict about what it reads: it fails the connection (a close with 1002, or 1007 for invalid UTF-8,
//! then it waits for the server to close TCP) on a masked server frame, RSV bits no extension defines, a
//! reserved opcode, a fragmented or long control frame, a continuation with no message or a new message inside
//! a fragmented one, invalid UTF-8 (as soon as the first invalid sequence arrives, however the frames are cut),
//! an invalid close code, a one-byte close body or a close reason that is not UTF-8. Messages are capped at
//! 16 MiB (1009). Frames may arrive cut anywhere across reads. Each [`Flaw`] breaks exactly one of those rules,
//! the way hand-written clients do; a test runs the client with one flaw and shows that a client case fails.
//!
//! [`conn`] is the sans-IO core (bytes in, [`conn::Action`]s out), [`handshake`] the request and the checks of
//! the response, [`frame`] the header parser and the frames it sends; this file owns the socket and the clocks.
//! Every wait is bounded by a [`Settings`] timer and the whole run by [`Settings::run_timeout`].
//!
//! # As a separate process
//!
//! `client-conformance --exec` launches a client as a command. The test binary is one: the test
//! `flawed_client_fixture::flawed_client_as_a_process` does nothing unless `WSHARNESS_FLAWED_CLIENT_URL` is set,
//! and then runs the client once against that URL, with the flaws named (comma-separated variant names, see
//! [`Flaw::from_name`]) in `WSHARNESS_FLAWED_CLIENT_FLAWS`, prints its [`RunLog`] and returns:
//!
//! ```text
//! WSHARNESS_FLAWED_CLIENT_URL='ws://127.0.0.1:9001/runCase?case=1&agent=flawed' \
//! WSHARNESS_FLAWED_CLIENT_FLAWS=UnmaskedFrames,NoPong \
//!     <test-binary> --exact flawed_client_fixture::flawed_client_as_a_process --nocapture
//! ```
//!
//! Inside a test, `std::env::current_exe()` is the test binary.

mod conn;
mod deflate;
mod frame;
mod handshake;
mod url;

use std::io::ErrorKind;
use std::time::Duration;

use thiserror::Error;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::task::JoinHandle;
use tokio::time::{timeout_at, Instant};

pub use self::conn::Fault;
use self::conn::{Action, Conn};
use self::frame::Entropy;
pub use self::handshake::Refusal;
use self::handshake::Verdict;

flaws! {
    // The opening request (RFC 6455 §4.1, the client's requirements).

    /// Breaks RFC 6455 §4.1 item 7: sends the same Sec-WebSocket-Key (the RFC's sample nonce) on every connection.
    FixedKey,
    /// Breaks RFC 6455 §4.1 item 7: sends a Sec-WebSocket-Key that is base64 of 8 bytes, not of a 16-byte nonce.
    ShortKey,
    /// Breaks RFC 6455 §4.1 item 4: sends no Host field.
    NoHostHeader,
    /// Breaks RFC 6455 §4.1 item 5: sends no Upgrade field.
    NoUpgradeHeader,
    /// Breaks RFC 6455 §4.1 item 6: sends no Connection field.
    NoConnectionHeader,
    /// Breaks RFC 6455 §4.1 item 9: sends Sec-WebSocket-Version 8 instead of 13.
    Version8,
    /// Breaks RFC 6455 §4.1 item 2: sends the request with the POST method.
    PostMethod,
    /// Breaks RFC 6455 §4.1 item 2: sends an HTTP/1.0 request.
    Http10,
    /// Breaks RFC 6455 §4.1 item 3 (the resource name includes the query, §3): leaves the query out of the target.
    DropsQuery,

    // The server's response (RFC 6455 §4.1, the client's checks of the response).

    /// Breaks RFC 6455 §4.1 (check 4 of the response): takes any Sec-WebSocket-Accept value, or none.
    IgnoresAccept,
    /// Breaks RFC 6455 §4.1 (check 1 of the response): takes a status other than 101 (e.g. 200) as an upgrade.
    AcceptsAnyStatus,
    /// Breaks RFC 6455 §4.1 (check 2 of the response): goes on without `Upgrade: websocket` in the response.
    IgnoresUpgradeHeader,
    /// Breaks RFC 6455 §4.1 (check 3 of the response): goes on without the Upgrade token in Connection.
    IgnoresConnectionHeader,
    /// Breaks RFC 6455 §4.1 (check 5 of the response): goes on when the server selects an extension not offered.
    AcceptsUnofferedExtension,
    /// Breaks RFC 6455 §4.1 (check 6 of the response): goes on when the server selects a subprotocol not offered.
    AcceptsUnofferedSubprotocol,
    /// Breaks RFC 6455 §4.1 (field names and the Upgrade and Connection values are case-insensitive, Connection
    /// is a list, the reason phrase is free, other fields may follow: RFC 7230 §3.1.2, §3.2): takes a 101 only as
    /// `101 Switching Protocols` with `Upgrade: websocket`, `Connection: Upgrade`, `Sec-WebSocket-Accept` and
    /// nothing else.
    ExactResponseHead,
    /// Breaks RFC 6455 §4.1 (frames follow the head on the same stream): drops bytes read with the response head.
    DropsBytesAfterHead,

    // The server's frames (RFC 6455 §5, §8).

    /// Breaks RFC 6455 §5.1: handles masked server frames instead of failing the connection.
    AcceptsMaskedFrames,
    /// Breaks RFC 6455 §5.2: accepts nonzero RSV bits with no extension negotiated.
    IgnoresRsv,
    /// Breaks RFC 6455 §5.2: skips frames with a reserved opcode instead of failing the connection.
    AcceptsReservedOpcodes,
    /// Breaks RFC 6455 §5.5: takes a control frame with FIN clear for a whole one.
    AcceptsFragmentedControl,
    /// Breaks RFC 6455 §5.5: accepts control frames with more than 125 payload bytes.
    AcceptsLongControl,
    /// Breaks RFC 6455 §5.4: takes a continuation with no message to continue as a binary message, and a new
    /// data frame inside a fragmented message as its continuation.
    AcceptsBadContinuation,
    /// Breaks RFC 6455 §5.4: fails with 1002 when a control frame arrives between the fragments of a message.
    RejectsInterleavedControl,
    /// Breaks RFC 6455 §8.1: echoes text messages that are not valid UTF-8.
    SkipsUtf8Validation,
    /// Breaks RFC 6455 §8.1 (fail fast): checks UTF-8 only once the whole message has arrived.
    Utf8CheckedOnlyAtMessageEnd,
    /// Breaks RFC 6455 §7.4.1: fails the connection with 1002 instead of 1007 on invalid UTF-8.
    Utf8WrongCode,
    /// Breaks RFC 6455 §7.4: accepts close codes that are not valid on the wire (e.g. 1005, 999) and echoes them.
    AcceptsInvalidCloseCode,
    /// Breaks RFC 6455 §5.5.1: accepts a close frame with a one-byte body (answers with an empty close).
    AcceptsOneByteClose,
    /// Breaks RFC 6455 §5.5.1: accepts a close reason that is not valid UTF-8.
    AcceptsInvalidCloseReason,
    /// Breaks RFC 6455 §5.5.2: never answers a ping.
    NoPong,
    /// Breaks RFC 6455 §5.5.3 (an unsolicited pong expects no answer): answers a pong as if it were a ping.
    PongsUnsolicitedPongs,
    /// Breaks RFC 6455 §5.5.3: answers a ping with a pong without the ping's payload.
    PongWithEmptyPayload,
    /// Breaks RFC 6455 §5.2 (frames are a byte stream; RFC 793: reads have no boundaries): takes each read for
    /// exactly one frame and loses whatever follows the first frame, as the seed PHP code does.
    OneFramePerRead,
    /// Breaks RFC 6455 §5.2 (frames are a byte stream; RFC 793: reads have no boundaries): drops the bytes of a
    /// frame that a read leaves unfinished.
    DropsPartialFrames,
    /// Breaks RFC 6455 §10.4 (survive any input): drops TCP at once on a frame over 64 KiB.
    CrashesOnLargeFrame,
    /// Breaks RFC 6455 §5.6: delivers a text message as binary and a binary message as text.
    SwapsMessageType,
    /// Breaks RFC 6455 §5.4: delivers each fragment of a message as a message of its own.
    EchoesEachFragment,
    /// Breaks RFC 6455 §5.2 (64-bit lengths): keeps only the first 65535 bytes of a message.
    TruncatesLargeMessages,

    // Its own frames (RFC 6455 §5.1, §5.3).

    /// Breaks RFC 6455 §5.1: sends its frames unmasked.
    UnmaskedFrames,
    /// Breaks RFC 6455 §5.3: masks every frame with the key 00000000.
    ZeroMaskKey,
    /// Breaks RFC 6455 §5.3: draws one masking key per connection and reuses it for every frame.
    RepeatedMaskKey,

    // The closing handshake (RFC 6455 §5.5.1, §7).

    /// Breaks RFC 6455 §5.5.1: answers the server's close by dropping TCP, with no close frame.
    NoCloseReply,
    /// Breaks RFC 6455 §7.1.1 (the server closes TCP first): answers a close, then closes TCP at once.
    ClosesTcpFirst,
    /// Breaks RFC 6455 §5.5.1 (echo the status code received): answers every close with 1002.
    WrongCloseCodeInReply,
    /// Breaks RFC 6455 §5.5.1 and §7.1.1: ignores the server's close and keeps TCP open until the server drops it.
    NeverCloses,
    /// Breaks RFC 6455 §5.5.1 (no data frames after a close): keeps echoing messages after its close reply.
    EchoesAfterClose,

    // permessage-deflate (RFC 7692), once the server accepted the client's offer.

    /// Breaks RFC 7692 §7.2.1: leaves the 4 octets 00 00 ff ff at the end of its compressed messages.
    DeflateLeavesTail,
    /// Breaks RFC 7692 §7.1.1.2: keeps its LZ77 context from message to message although the server's response
    /// had client_no_context_takeover.
    DeflateKeepsContext,
    /// Breaks RFC 7692 §7.1.2.2: compresses with a 32 KiB window whatever client_max_window_bits the server set.
    DeflateIgnoresClientWindow,
    /// Breaks RFC 7692 §7.1.1.1 (the server keeps its context unless server_no_context_takeover): inflates each
    /// server message on its own, so a message that refers back to an earlier one does not inflate.
    DeflateInflatesWithoutContext,
    /// Breaks RFC 7692 §6 (text is UTF-8 once inflated): checks the UTF-8 of a compressed text message's
    /// compressed bytes.
    DeflateUtf8BeforeInflating,
    /// Breaks RFC 7692 §6.1: sets RSV1 on its close frame.
    DeflateRsv1OnClose,
}

impl Flaw {
    /// The flaw with this variant name (`"NoPong"`), if there is one.
    pub fn from_name(name: &str) -> Option<Flaw> {
        Flaw::ALL.iter().copied().find(|flaw| flaw.name() == name)
    }
}

/// The flaws a client runs with.
#[derive(Debug, Clone, Default)]
pub(crate) struct Flaws(Vec<Flaw>);

impl Flaws {
    /// Whether this flaw is switched on.
    pub(crate) fn has(&self, flaw: Flaw) -> bool {
        self.0.contains(&flaw)
    }
}

/// Limits, timers and offers of the client.
#[derive(Debug, Clone)]
pub struct Settings {
    /// From the connect to the whole response head (5 s).
    pub handshake_timeout: Duration,
    /// How long the client waits for the server to close TCP after a close frame was sent (2 s), then closes it.
    pub close_wait: Duration,
    /// How long the open connection may go without a byte from the server, or a write may block (10 s).
    pub idle_timeout: Duration,
    /// The whole run, connect to end (60 s).
    pub run_timeout: Duration,
    /// Largest response head in bytes (16 KiB).
    pub max_head: usize,
    /// Largest message in bytes (16 MiB); a frame that would make it larger fails the connection with 1009.
    pub max_message: u64,
    /// Subprotocols offered in `Sec-WebSocket-Protocol` (none).
    pub protocols: Vec<String>,
    /// Extensions offered in `Sec-WebSocket-Extensions` (none). A `permessage-deflate` offer is negotiated for
    /// real (RFC 7692: compressed messages inflated, echoes compressed); of any other extension only the name
    /// counts: once one is accepted the RSV bits are allowed and payloads are echoed as they came.
    pub extensions: Vec<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            handshake_timeout: Duration::from_secs(5),
            close_wait: Duration::from_secs(2),
            idle_timeout: Duration::from_secs(10),
            run_timeout: Duration::from_secs(60),
            max_head: 16 * 1024,
            max_message: 16 * 1024 * 1024,
            protocols: Vec::new(),
            extensions: Vec::new(),
        }
    }
}

/// What a run did: fixed-size facts, whatever the server sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunLog {
    /// The client took the response for an upgrade (a flawed client may take a bad one).
    pub upgraded: bool,
    /// Messages echoed.
    pub echoed: u64,
    /// Pongs sent.
    pub pongs: u64,
    /// The server's close frame, when one arrived on the open connection: its code (`None`: no code).
    pub server_close: Option<Option<u16>>,
    /// The client's close frame, when it sent one: its code (`None`: an empty body).
    pub sent_close: Option<Option<u16>>,
    /// The rule the server broke, when the client failed the connection on it.
    pub fault: Option<Fault>,
    /// How the connection ended.
    pub end: End,
}

/// How a connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// The client failed the opening handshake: it closed TCP without sending a frame (RFC 6455 §4.1).
    Refused(Refusal),
    /// A close frame was sent, then the server closed TCP (the clean end, §7.1.1).
    ServerClosedTcp,
    /// A close frame was sent and the server kept TCP open for [`Settings::close_wait`]: the client closed it.
    CloseWaitExpired,
    /// The server closed TCP while the client had sent no close frame.
    ServerDropped,
    /// The client closed TCP at once (a flaw: no close reply, or not waiting for the server).
    ClientClosedTcp,
    /// The client dropped TCP abruptly (a crash flaw).
    Crashed,
    /// Nothing from the server for [`Settings::idle_timeout`], or the run's time ran out: the client closed TCP.
    TimedOut,
    /// TCP failed (e.g. a reset).
    Io(ErrorKind),
}

/// The run could not start.
#[derive(Debug, Error)]
pub enum ClientError {
    /// The URL is not a `ws://` URL the client can use.
    #[error("invalid URL: {0}")]
    Url(&'static str),
    /// The masking keys and nonces come from `/dev/urandom`.
    #[error("cannot read /dev/urandom")]
    Entropy(#[source] std::io::Error),
    /// TCP connect failed.
    #[error("cannot connect to {0}")]
    Connect(String, #[source] std::io::Error),
    /// TCP connect did not complete within the handshake timeout.
    #[error("connecting to {0} timed out")]
    ConnectTimeout(String),
}

/// The client. It holds nothing: each run is one connection.
pub struct FlawedClient;

impl FlawedClient {
    /// Connects to `url` (`ws://host[:port][/path][?query]`) once, plays the runner contract with these flaws and
    /// settings, and says what happened. Returns within [`Settings::run_timeout`] (plus the connect's bound).
    pub async fn run(url: &str, flaws: &[Flaw], settings: &Settings) -> Result<RunLog, ClientError> {
        let target = url::parse(url)?;
        let mut entropy = Entropy::open().map_err(ClientError::Entropy)?;
        let started = Instant::now();
        let connect = TcpStream::connect((target.host.as_str(), target.port));
        let stream = match timeout_at(started + settings.handshake_timeout, connect).await {
            Ok(Ok(stream)) => stream,
            Ok(Err(e)) => return Err(ClientError::Connect(target.authority.clone(), e)),
            Err(_) => return Err(ClientError::ConnectTimeout(target.authority.clone())),
        };
        let flaws = Flaws(flaws.to_vec());
        let key = handshake::key(&flaws, &mut entropy);
        let request = handshake::request(&target, &key, &flaws, settings);
        let run = Run { stream, flaws, settings, deadline: started + settings.run_timeout };
        Ok(run.go(&request, &key, entropy, started + settings.handshake_timeout).await)
    }
}

/// Runs [`FlawedClient::run`] on a task of the current tokio runtime.
pub fn spawn(url: &str, flaws: &[Flaw], settings: Settings) -> JoinHandle<Result<RunLog, ClientError>> {
    let (url, flaws) = (url.to_owned(), flaws.to_vec());
    tokio::spawn(async move { FlawedClient::run(&url, &flaws, &settings).await })
}

/// A response head the client took for an upgrade.
struct Upgraded {
    /// The bytes read: the head, and any frames after it.
    head: Vec<u8>,
    head_len: usize,
    /// An extension other than permessage-deflate was accepted.
    extension: bool,
    /// What was accepted of permessage-deflate.
    deflate: Option<wsharness::wire::deflate::Negotiated>,
}

/// One connection, after the TCP connect.
struct Run<'a> {
    stream: TcpStream,
    flaws: Flaws,
    settings: &'a Settings,
    /// The end of the whole run.
    deadline: Instant,
}

impl Run<'_> {
    /// The handshake, then frames through the sans-IO core until the connection ends.
    async fn go(mut self, request: &[u8], key: &str, entropy: Entropy, handshake_by: Instant) -> RunLog {
        let mut log = RunLog {
            upgraded: false,
            echoed: 0,
            pongs: 0,
            server_close: None,
            sent_close: None,
            fault: None,
            end: End::TimedOut,
        };
        let Upgraded { head, head_len, extension, deflate } =
            match self.handshake(request, key, handshake_by.min(self.deadline)).await {
                Ok(upgraded) => upgraded,
                Err(end) => {
                    log.end = end;
                    return log;
                }
            };
        log.upgraded = true;
        let max_message = self.settings.max_message;
        let mut conn = Conn::with_deflate(self.flaws.clone(), max_message, extension, deflate, entropy);
        let pipelined = &head[head_len..];
        let actions = if self.flaws.has(Flaw::DropsBytesAfterHead) { Vec::new() } else { conn.on_read(pipelined) };
        log.end = self.frames(&mut conn, actions).await;
        conn.tally().fill(&mut log);
        log
    }

    /// Sends the request and reads the response head: the bytes read, where the frames start and whether an
    /// extension was accepted; or how the handshake ended.
    async fn handshake(&mut self, request: &[u8], key: &str, by: Instant) -> Result<Upgraded, End> {
        match timeout_at(by, self.stream.write_all(request)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(End::Io(e.kind())),
            Err(_) => return Err(End::Refused(Refusal::Timeout)),
        }
        let mut head = Vec::new();
        let mut chunk = vec![0u8; 16 * 1024];
        loop {
            match handshake::check_response(&head, key, &self.flaws, self.settings) {
                Verdict::NeedMore => {}
                Verdict::Upgrade { head_len, extension, deflate } => {
                    return Ok(Upgraded { head, head_len, extension, deflate })
                }
                // RFC 6455 §4.1: the client MUST _Fail the WebSocket Connection_: TCP closed, no frame sent
                Verdict::Refuse(refusal) => return Err(End::Refused(refusal)),
            }
            match timeout_at(by, self.stream.read(&mut chunk)).await {
                Ok(Ok(0)) => return Err(End::Refused(Refusal::ClosedBeforeResponse)),
                Ok(Ok(n)) => head.extend_from_slice(&chunk[..n]),
                Ok(Err(e)) => return Err(End::Io(e.kind())),
                Err(_) => return Err(End::Refused(Refusal::Timeout)),
            }
        }
    }

    /// Performs the core's actions and feeds it every read, until the connection ends.
    async fn frames(&mut self, conn: &mut Conn, mut actions: Vec<Action>) -> End {
        let mut chunk = vec![0u8; 64 * 1024];
        // set once a close frame was sent: the server is to close TCP by then
        let mut close_by = None;
        loop {
            for action in actions.drain(..) {
                match action {
                    Action::Write(bytes) => {
                        let by = (Instant::now() + self.settings.idle_timeout).min(self.deadline);
                        match timeout_at(by, self.stream.write_all(&bytes)).await {
                            Ok(Ok(())) => {}
                            Ok(Err(e)) => return End::Io(e.kind()),
                            Err(_) => return End::TimedOut,
                        }
                    }
                    Action::AwaitServerClose => {
                        close_by.get_or_insert((Instant::now() + self.settings.close_wait).min(self.deadline));
                    }
                    Action::CloseTcp => {
                        let _ = self.stream.shutdown().await;
                        return End::ClientClosedTcp;
                    }
                    // dropping the socket with unread input resets the connection, as a dying process does
                    Action::Abort => return End::Crashed,
                }
            }
            let by = close_by.unwrap_or_else(|| (Instant::now() + self.settings.idle_timeout).min(self.deadline));
            match timeout_at(by, self.stream.read(&mut chunk)).await {
                Ok(Ok(0)) if close_by.is_some() => return End::ServerClosedTcp,
                Ok(Ok(0)) => return End::ServerDropped,
                Ok(Ok(n)) => actions = conn.on_read(&chunk[..n]),
                Ok(Err(e)) => return End::Io(e.kind()),
                Err(_) if close_by.is_some() => return End::CloseWaitExpired,
                Err(_) => return End::TimedOut,
            }
        }
    }
}
