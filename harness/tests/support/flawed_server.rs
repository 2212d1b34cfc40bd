//! A flawed-server fixture: a strict RFC 6455 echo server with one switchable flaw per rule.
//!
//! [`FlawedServer::start`] with no flaws runs a correct, strict echo server on
//! `127.0.0.1:0`: it validates the opening handshake (RFC 6455 §4.2.1, with the
//! HTTP/1.1 grammar of RFC 7230 and a Host value of the form host[:port]: 101,
//! else 400, 426 or 431), requires masked client frames, zero RSV bits, defined
//! opcodes, minimal lengths, short unfragmented control frames and a valid
//! fragmentation sequence (1002), validates UTF-8 incrementally and fails fast
//! (1007), validates close codes and reasons (1002, 1007), limits messages to
//! 16 MiB (1009), answers pings, echoes each message as one frame of the same
//! type, and answers a close with the same code before closing TCP. Frames may
//! arrive cut anywhere across reads.
//!
//! Each [`Flaw`] switches off or breaks exactly one of those rules, the way
//! hand-written servers do (the PHP servers in `shared/seeds/` answer a close by
//! dropping TCP, accept unmasked frames and assume one frame per `recv()`). A
//! test starts the server with one flaw and shows that a conformance case fails.
//! A crash flaw takes the whole server down (the listener closes, every
//! connection ends), as a dying process would; [`Flaw::ServesOneConnectionAtATime`]
//! replaces the accept loop with a blocking one.
//!
//! The server is simple rather than fast: one task per connection, whole frames
//! buffered. [`conn`] is the sans-IO core (bytes in, [`conn::Action`]s out); this
//! file owns the sockets and the clocks. Every wait of the server is bounded by a
//! [`Settings`] timer or by the server being stopped (dropping it stops it too).

mod conn;
mod deflate;
mod frame;
mod handshake;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{oneshot, watch};
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::{timeout, timeout_at, Instant};

use self::conn::{Action, Conn};
use self::handshake::Answer;

flaws! {
    // The opening handshake (RFC 6455 §4).

    /// Breaks RFC 6455 §4.2.2 item 5.4: answers with a Sec-WebSocket-Accept computed without the GUID.
    WrongAcceptKey,
    /// Breaks RFC 6455 §4.2.2 item 5.2: the 101 response has no `Upgrade: websocket` field.
    NoUpgradeHeader,
    /// Breaks RFC 6455 §4.2.2 item 5.3: the 101 response has no `Connection: Upgrade` field.
    NoConnectionHeader,
    /// Breaks RFC 6455 §4.2.2 item 5.1: answers an acceptable request with 200 instead of 101.
    Status200Instead101,
    /// Breaks RFC 6455 §4.2.2 item 5.1: the 101 status line says HTTP/1.0, not HTTP/1.1.
    RespondsWithHttp10,
    /// Breaks RFC 6455 §11.3.3: sends the Sec-WebSocket-Accept field twice.
    RepeatsAcceptHeader,
    /// Breaks RFC 6455 §4.2.1 item 6 and §4.4: accepts any Sec-WebSocket-Version instead of answering 426.
    AcceptsAnyVersion,
    /// Breaks RFC 6455 §4.4: answers an unsupported version with 426 but no Sec-WebSocket-Version field.
    Version426WithoutVersionHeader,
    /// Breaks RFC 6455 §4.2.1 item 5: accepts a request with no Sec-WebSocket-Key (accept of the empty key).
    AcceptsMissingKey,
    /// Breaks RFC 6455 §4.2.1 item 5: accepts a key that is not base64 of 16 bytes.
    AcceptsInvalidKey,
    /// Breaks RFC 6455 §11.3.1: accepts a request with two Sec-WebSocket-Key fields.
    AcceptsDuplicateKey,
    /// Breaks RFC 6455 §4.2.1 item 1: accepts any method, not only GET.
    AcceptsBadMethod,
    /// Breaks RFC 6455 §4.2.1 item 1: accepts an HTTP/1.0 request.
    AcceptsHttp10,
    /// Breaks RFC 6455 §4.2.1 item 2: accepts a request without exactly one non-empty Host field.
    AcceptsMissingHost,
    /// Breaks RFC 6455 §4.2.1 item 3: accepts a request whose Upgrade field does not name websocket.
    AcceptsMissingUpgrade,
    /// Breaks RFC 6455 §4.2.1 item 4: accepts a request whose Connection field lacks the Upgrade token.
    AcceptsMissingConnection,
    /// Breaks RFC 6455 §4.2.2 item 5.5: selects its subprotocol even when the client did not offer it.
    PicksUnofferedSubprotocol,
    /// Breaks RFC 6455 §11.3.4: sends the selected Sec-WebSocket-Protocol field twice.
    RepeatsProtocolHeader,
    /// Breaks RFC 6455 §4.2.2 item 5.6: answers with `Sec-WebSocket-Extensions: permessage-deflate` unoffered.
    SendsUnofferedExtension,
    /// Breaks RFC 6455 §4.2.2 (frames follow the head on the same stream): drops bytes read with the request head.
    ExtraBytesLost,
    /// Breaks RFC 6455 §10.4 (limits against denial of service): waits forever for a request head to end.
    NoHandshakeTimeout,
    /// Breaks RFC 6455 §10.4 (limits against denial of service): buffers a request head of any size (no 431).
    NoHeadSizeLimit,
    /// Breaks RFC 6455 §4.2.1 item 2 (RFC 7230 §5.4): accepts a Host value that is not host[:port].
    AcceptsInvalidHostValue,
    /// Breaks RFC 6455 §4.2.1 item 1 (RFC 7231 §4.1: methods are case-sensitive): takes `get` for GET.
    MethodCaseInsensitive,
    /// Breaks RFC 6455 §4.2.1 (RFC 7230 §3.2.4: 400 for whitespace before the colon): reads `Name : value` as `Name`.
    TrimsSpaceBeforeColon,
    /// Breaks RFC 6455 §4.2.1 (RFC 7230 §3.2.4: obs-fold continues the field before it): reads a folded line
    /// as a field of its own.
    ObsFoldAsNewField,
    /// Breaks RFC 6455 §4.2.1 (an invalid request gets an HTTP error response): closes TCP without a response
    /// when the head does not parse.
    ClosesWithoutResponseOnMalformedRequest,
    /// Breaks RFC 6455 §4.2.1 (RFC 7230 §3.2: field names are case-insensitive): finds fields only under their
    /// canonical spelling.
    CaseSensitiveFieldNames,
    /// Breaks RFC 6455 §4.2.1 item 3: requires the Upgrade value to be exactly `websocket` (it is case-insensitive).
    CaseSensitiveUpgradeValue,
    /// Breaks RFC 6455 §4.2.1 item 4: requires the first Connection field to be exactly `Upgrade` instead of
    /// containing the token.
    ConnectionMustBeUpgrade,
    /// Breaks RFC 6455 §4.2.1 (RFC 7230 §3.2: whitespace after the colon is optional): finds only fields
    /// written `Name: value`.
    RequiresSpaceAfterColon,
    /// Breaks RFC 6455 §4.2.1 item 5 (RFC 7230 §3.2: trailing whitespace is not part of a value): keeps it, so
    /// a key sent with it is refused.
    KeepsTrailingWhitespace,
    /// Breaks RFC 6455 §4.2.1 ("the order of the header fields is not important"): refuses a request whose
    /// first field is not Host.
    ExpectsFixedFieldOrder,
    /// Breaks RFC 6455 §4.2.1 item 10 (other fields are allowed): refuses a request with more than 8 fields
    /// (a fixed table).
    FixedFieldTable,
    /// Breaks RFC 6455 §3 (the resource name includes the query): answers 404 when the request target has a query.
    RejectsQueryString,
    /// Breaks RFC 6455 §4.2.1 item 1 (RFC 7230 §5.3.2: absolute-form MUST be accepted): refuses a target that
    /// does not start with `/`.
    RejectsAbsoluteForm,
    /// Breaks RFC 6455 §4.2.1 (RFC 7230 §3.5 SHOULD: ignore an empty line before the request line): refuses
    /// such a request.
    RejectsLeadingEmptyLine,
    /// Breaks RFC 6455 §4.2.1 (the head arrives as a byte stream): takes the first read as the whole head and
    /// answers 400 if it is incomplete.
    NoPartialHeadBuffering,
    /// Breaks RFC 6455 §10.4 (survive any input): crashes (stops serving everyone) on a request head over the
    /// limit instead of answering 431.
    CrashesOnOversizedHead,
    /// Breaks RFC 6455 §4.2.2 item 4: copies the client's Sec-WebSocket-Protocol value into the 101 instead of
    /// selecting one.
    EchoesOfferedSubprotocols,
    /// Breaks RFC 6455 §9.1: copies the client's Sec-WebSocket-Extensions offer into the 101 without implementing it.
    EchoesOfferedExtensions,
    /// Breaks RFC 7692 §7 (decline an offer with an unknown, repeated or invalid parameter) and §7.1.1.1, §7.1.2.1
    /// (answer server_no_context_takeover and server_max_window_bits when offered): accepts the first
    /// permessage-deflate offer as a bare `permessage-deflate`, whatever its parameters say.
    DeflateIgnoresParameters,
    /// Breaks RFC 7692 §7.1.2.2: answers `client_max_window_bits=15` whether or not it was offered, and whatever
    /// smaller value was offered.
    DeflateAlwaysClientWindow15,
    /// Breaks RFC 7692 §7.1.2.1: answers `server_max_window_bits=15` to an offer of a smaller window.
    DeflateServerWindow15,
    /// Breaks RFC 7692 §7 (one permessage-deflate element in a response): lists one for every offer.
    DeflateAcceptsEveryOffer,
    /// Breaks RFC 7692 §7 (decline what it cannot support) and RFC 6455 §4.2.2: answers an offer of
    /// `server_max_window_bits=8` with 500, as python-websockets did until 2026 (zlib refuses a window of 8).
    DeflateRefusesWindow8,
    /// Breaks RFC 7692 §7.2.1: leaves the 4 octets 00 00 ff ff at the end of each compressed echo.
    DeflateLeavesTail,
    /// Breaks RFC 7692 §7.1.2.1: compresses with a 32 KiB window after accepting a smaller server_max_window_bits.
    DeflateIgnoresServerWindow,
    /// Breaks RFC 7692 §7.1.1.1: keeps its compression context after accepting server_no_context_takeover.
    DeflateKeepsContext,
    /// Breaks RFC 7692 §7.2.2 (context takeover is the client's right unless asked otherwise): resets its
    /// inflater for every message, so a message that refers to the previous one does not inflate (1007).
    DeflateResetsClientContext,
    /// Breaks RFC 7692 §6.1: accepts RSV1 on continuation and control frames.
    DeflateAcceptsRsv1Anywhere,
    /// Breaks RFC 7692 §6: inflates every data message, RSV1 or not.
    DeflateInflatesUncompressed,
    /// Breaks RFC 7692 §6 with RFC 6455 §8.1: validates the UTF-8 of the compressed bytes of a text message.
    DeflateUtf8BeforeInflating,
    /// Breaks RFC 6455 §8.1 with RFC 7692 §6: never checks the UTF-8 of an inflated text message.
    DeflateSkipsUtf8AfterInflating,
    /// Breaks RFC 7692 §7.2.2: echoes what it inflated before corrupt data instead of failing with 1007.
    DeflateIgnoresCorruptData,
    /// Breaks RFC 7692 §8 with RFC 6455 §10.4: inflates without a bound and dies (the whole server) when a
    /// message inflates past its limit.
    DeflateBombCrashes,
    /// Breaks RFC 6455 §10.4 (one client must not deny service to others): serves one connection at a time,
    /// reading its request head with no time limit (a blocking accept loop).
    ServesOneConnectionAtATime,

    // Frames and messages (RFC 6455 §5, §8).

    /// Breaks RFC 6455 §5.1: accepts unmasked client frames.
    AcceptsUnmasked,
    /// Breaks RFC 6455 §5.2: ignores RSV bits no extension defines instead of failing with 1002.
    IgnoresRsv,
    /// Breaks RFC 6455 §5.2: silently skips frames with reserved opcodes instead of failing with 1002.
    IgnoresReservedOpcodes,
    /// Breaks RFC 6455 §5.2: accepts a length field longer than needed (non-minimal encoding).
    AcceptsNonMinimalLength,
    /// Breaks RFC 6455 §5.2: clears the most significant bit of a 64-bit length instead of failing with 1002.
    IgnoresLengthMsb,
    /// Breaks RFC 6455 §5.5: accepts a fragmented (FIN = 0) control frame.
    AcceptsFragmentedControl,
    /// Breaks RFC 6455 §5.5: accepts a control frame with more than 125 payload bytes.
    AcceptsLongControl,
    /// Breaks RFC 6455 §5.4: handles only the first frame of each read and discards the rest (the seed bug).
    OneFramePerRead,
    /// Breaks RFC 6455 §5.4 (frames are a byte stream): decodes each read alone, truncating frames split across reads.
    NoPartialFrameBuffering,
    /// Breaks RFC 6455 §5.5 (control frames cross the stream like any frame): ignores a control frame that did
    /// not arrive whole in one read.
    IgnoresSplitControlFrames,
    /// Breaks RFC 6455 §5.2: reads and writes the 16-bit extended length little-endian.
    Mangles16BitLength,
    /// Breaks RFC 6455 §5.2: reads and writes the 64-bit extended length little-endian.
    Mangles64BitLength,
    /// Breaks RFC 6455 §5.2: writes every length in the 64-bit field, even where a shorter one fits.
    SendsNonMinimalLength,
    /// Breaks RFC 6455 §5.1: masks the frames it sends.
    MasksServerFrames,
    /// Breaks RFC 6455 §5.2: sets RSV1 on the frames it sends, with no extension negotiated.
    SetsRsvOnServerFrames,
    /// Breaks RFC 6455 §5.6: echoes a text message as a binary message.
    EchoesAsBinary,
    /// Breaks RFC 6455 §5.4: sends the echo as two continuation frames, with no starting data frame.
    FragmentsEchoWrongly,
    /// Breaks RFC 6455 §5.5.2: never answers a ping.
    NoPong,
    /// Breaks RFC 6455 §5.5.3: answers a ping with a pong whose payload differs from the ping's.
    PongWrongPayload,
    /// Breaks RFC 6455 §5.5.3: answers an unsolicited pong with a pong.
    PongsUnsolicitedPongs,
    /// Breaks RFC 6455 §5.4: takes a continuation frame with no message to continue as a binary message.
    AcceptsContinuationWithoutStart,
    /// Breaks RFC 6455 §5.4: takes a new data frame inside a fragmented message as its continuation.
    AcceptsInterleavedDataFrames,
    /// Breaks RFC 6455 §5.4: fails with 1002 when a control frame arrives between the fragments of a message.
    RejectsInterleavedControl,
    /// Breaks RFC 6455 §8.1: echoes text messages that are not valid UTF-8.
    NoUtf8Validation,
    /// Breaks RFC 6455 §8.1 (fail fast): checks UTF-8 only once the whole message has arrived.
    LateUtf8Failure,
    /// Breaks RFC 6455 §7.4.1: closes with 1002 instead of 1007 on invalid UTF-8.
    Utf8WrongCode,
    /// Breaks RFC 6455 §10.4: buffers messages of any size instead of closing with 1009.
    NoMessageLimit,
    /// Breaks RFC 6455 §7.4.1: fails the connection with close code 1000 instead of the code of the error.
    ClosesWith1000OnErrors,
    /// Breaks RFC 6455 §5.4 (a fragmented message is one message): echoes each fragment as a message of its
    /// own.
    EchoesEachFragment,
    /// Breaks RFC 6455 §10.4 (survive any input): crashes (stops serving everyone) on a message over the limit
    /// instead of closing with 1009.
    CrashesOnOversizedMessage,
    /// Breaks RFC 6455 §10.4 (survive any input): keeps the frames of a read in a table of 1024 and crashes
    /// (stops serving everyone) when one read holds more.
    CrashesOnManyFramesPerRead,
    /// Breaks RFC 6455 §6.1 (the whole message is sent; RFC 793 §3.7: writes may block): drops whatever a
    /// write could not send at once.
    DropsUnsentBytes,

    // The closing handshake (RFC 6455 §5.5.1, §7).

    /// Breaks RFC 6455 §5.5.1: closes TCP where it should send a close frame (seed 004: browsers see 1006).
    DropsTcpWithoutClose,
    /// Breaks RFC 6455 §5.5.1: never answers a close frame and keeps TCP open.
    NoCloseReplyKeepsOpen,
    /// Breaks RFC 6455 §5.5.1: answers a close with another code than the one received.
    WrongCloseEchoCode,
    /// Breaks RFC 6455 §7.4: accepts close codes that are not valid on the wire (e.g. 999, 1005, 5000).
    AcceptsInvalidCloseCodes,
    /// Breaks RFC 6455 §7.4: rejects valid close codes other than 1000 (e.g. 1003, 3000, 4999) with 1002.
    RejectsValidCloseCodes,
    /// Breaks RFC 6455 §5.5.1: accepts a close frame with a one-byte body.
    AcceptsOneByteClose,
    /// Breaks RFC 6455 §5.5.1: accepts a close reason that is not valid UTF-8.
    AcceptsInvalidCloseReason,
    /// Breaks RFC 6455 §5.5.1: keeps echoing data frames received after the close it answered.
    SendsAfterClose,
    /// Breaks RFC 6455 §7.1.1: sends its close frame but never closes TCP.
    NeverClosesTcp,
    /// Breaks RFC 6455 §7.4.1: answers an empty close with code 1005, which must never be sent.
    SendsReservedCloseCode,
    /// Breaks RFC 6455 §5.5.1 (RFC 793 §3.5: a FIN ends only the client's sending): on a FIN, drops the
    /// replies it has not written yet.
    DropsRepliesOnFin,
    /// Breaks RFC 6455 §7.1.1 (RFC 793 §3.5: the client's FIN ends the connection): keeps TCP open after a FIN
    /// that came without a close frame.
    IgnoresFin,

    // Robustness (what a client must survive).

    /// Breaks RFC 6455 §4.2.2: accepts TCP connections and never answers the request.
    StallsBeforeHandshake,
    /// Breaks RFC 6455 §5.5.1 and §5.5.2: answers the handshake, then never answers a frame.
    StallsAfterHandshake,
    /// Breaks RFC 6455 §4.2.2: answers the request with random bytes, not an HTTP response.
    SendsGarbage,
    /// Breaks no MUST (RFC 6455 §10.4: a client needs limits): floods binary messages for `Settings::flood_for`.
    Floods,
}

/// The flaws a server runs with.
#[derive(Debug, Clone, Default)]
pub(crate) struct Flaws(Vec<Flaw>);

impl Flaws {
    /// Whether this flaw is switched on.
    pub(crate) fn has(&self, flaw: Flaw) -> bool {
        self.0.contains(&flaw)
    }
}

/// What every connection of a server shares: its flaws, its settings, and the crash switch.
#[derive(Debug)]
struct Shared {
    flaws: Flaws,
    settings: Settings,
    /// Set to `true` by a crash flaw: the accept loop stops and every connection ends, as if the process died.
    crashed: watch::Sender<bool>,
}

impl Shared {
    /// The whole server goes down (a crash flaw hit its trigger).
    fn crash(&self) {
        self.crashed.send_replace(true);
    }
}

/// Limits and timers of the server.
#[derive(Debug, Clone)]
pub struct Settings {
    /// How long a client has to send the whole request head before TCP is closed (5 s).
    pub handshake_timeout: Duration,
    /// Largest request head in bytes (16 KiB); a larger one gets 431.
    pub max_head: usize,
    /// Largest message in bytes (16 MiB); a frame that would make it larger gets 1009.
    pub max_message: u64,
    /// How long the server reads and discards after closing its side of TCP (1 s); also how
    /// long [`Flaw::SendsAfterClose`] keeps serving after its close.
    pub close_linger: Duration,
    /// How long [`Flaw::Floods`] floods before it closes (5 s).
    pub flood_for: Duration,
    /// Subprotocols the server speaks; it selects the first one the client offers (`chat`).
    pub subprotocols: Vec<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            handshake_timeout: Duration::from_secs(5),
            max_head: 16 * 1024,
            max_message: 16 * 1024 * 1024,
            close_linger: Duration::from_secs(1),
            flood_for: Duration::from_secs(5),
            subprotocols: vec!["chat".to_owned()],
        }
    }
}

/// A running fixture server on `127.0.0.1`. Dropping it (or [`FlawedServer::stop`])
/// stops accepting and ends every connection.
#[derive(Debug)]
pub struct FlawedServer {
    addr: SocketAddr,
    flaws: Vec<Flaw>,
    /// Dropping the sender tells the accept task to stop.
    shutdown: Option<oneshot::Sender<()>>,
    accept_task: JoinHandle<()>,
}

impl FlawedServer {
    /// Starts a server with these flaws (none: a correct server) and default [`Settings`],
    /// on the current tokio runtime.
    pub async fn start(flaws: &[Flaw]) -> FlawedServer {
        FlawedServer::start_with(flaws, Settings::default()).await
    }

    /// Starts a server with these flaws and settings, on the current tokio runtime.
    pub async fn start_with(flaws: &[Flaw], settings: Settings) -> FlawedServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local address of a bound listener");
        let (shutdown, stop) = oneshot::channel();
        let (crashed, _) = watch::channel(false);
        let shared = Arc::new(Shared { flaws: Flaws(flaws.to_vec()), settings, crashed });
        let accept_task = tokio::spawn(accept_loop(listener, shared, stop));
        FlawedServer { addr, flaws: flaws.to_vec(), shutdown: Some(shutdown), accept_task }
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `ws://127.0.0.1:PORT/`.
    pub fn url(&self) -> String {
        format!("ws://{}/", self.addr)
    }

    /// The flaws it runs with.
    pub fn flaws(&self) -> &[Flaw] {
        &self.flaws
    }

    /// Stops the server and waits until every connection is closed.
    pub async fn stop(mut self) {
        drop(self.shutdown.take());
        let _ = (&mut self.accept_task).await;
    }
}

/// Accepts connections until stopped or crashed; a crash also ends every connection and closes the listener.
async fn accept_loop(listener: TcpListener, shared: Arc<Shared>, mut stop: oneshot::Receiver<()>) {
    let mut conns = JoinSet::new();
    let mut crashed = shared.crashed.subscribe();
    let serial = shared.flaws.has(Flaw::ServesOneConnectionAtATime);
    loop {
        let accepted = tokio::select! {
            _ = &mut stop => break,
            _ = crashed.wait_for(|c| *c) => break,
            accepted = listener.accept() => accepted,
            Some(_) = conns.join_next(), if !conns.is_empty() => continue,
        };
        match accepted {
            // the blocking accept loop: nothing else is accepted until this connection ends
            Ok((stream, _)) if serial => {
                tokio::select! {
                    _ = &mut stop => break,
                    _ = crashed.wait_for(|c| *c) => break,
                    _ = serve(stream, Arc::clone(&shared)) => {}
                }
            }
            Ok((stream, _)) => {
                conns.spawn(serve(stream, Arc::clone(&shared)));
            }
            // e.g. out of file descriptors: try again a little later
            Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
        }
    }
    drop(listener);
    conns.shutdown().await;
}

/// One connection: the handshake, then frames through the sans-IO core.
async fn serve(mut stream: TcpStream, shared: Arc<Shared>) {
    let (flaws, settings) = (&shared.flaws, &shared.settings);
    if flaws.has(Flaw::StallsBeforeHandshake) {
        return hold(stream).await;
    }
    let mut chunk = vec![0u8; 64 * 1024];
    let mut head = Vec::new();
    let deadline = Instant::now() + settings.handshake_timeout;
    let no_timeout = flaws.has(Flaw::NoHandshakeTimeout) || flaws.has(Flaw::ServesOneConnectionAtATime);
    let (response, head_len, deflate) = loop {
        let answer = match handshake::answer(&head, flaws, settings) {
            // the first read taken for the whole head
            Answer::NeedMore if !head.is_empty() && flaws.has(Flaw::NoPartialHeadBuffering) => {
                handshake::bad_request("incomplete request head")
            }
            answer => answer,
        };
        match answer {
            Answer::NeedMore => {}
            // whatever the answer would be
            Answer::Upgrade { .. } | Answer::Refuse { .. } if flaws.has(Flaw::SendsGarbage) => {
                if stream.write_all(&frame::random_bytes(256)).await.is_ok() {
                    close_gracefully(stream, settings).await;
                }
                return;
            }
            Answer::Upgrade { response, head_len, deflate } => break (response, head_len, deflate),
            Answer::Refuse { response } => {
                if stream.write_all(&response).await.is_ok() {
                    close_gracefully(stream, settings).await;
                }
                return;
            }
            Answer::Drop => return,
            Answer::Crash => return shared.crash(),
        }
        let read = stream.read(&mut chunk);
        let read = if no_timeout {
            read.await
        } else {
            match timeout_at(deadline, read).await {
                Ok(read) => read,
                // RFC 6455 §10.4: a head that does not arrive in time is dropped
                Err(_) => return close_gracefully(stream, settings).await,
            }
        };
        match read {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&chunk[..n]),
        }
    };
    if stream.write_all(&response).await.is_err() {
        return;
    }
    if flaws.has(Flaw::StallsAfterHandshake) {
        return hold(stream).await;
    }
    if flaws.has(Flaw::Floods) {
        return flood(stream, flaws, settings).await;
    }
    let mut conn = Conn::new(flaws.clone(), settings.max_message, deflate);
    let pipelined = &head[head_len..];
    let mut actions =
        if pipelined.is_empty() || flaws.has(Flaw::ExtraBytesLost) { Vec::new() } else { conn.on_read(pipelined) };
    let mut close_at = None;
    loop {
        if !actions.is_empty() && flaws.has(Flaw::DropsRepliesOnFin) && fin_follows(&stream).await {
            // the replies were queued behind the read that found the FIN: the connection is torn down unsent
            return;
        }
        for action in actions.drain(..) {
            match action {
                Action::Write(bytes) if flaws.has(Flaw::DropsUnsentBytes) => {
                    // one non-blocking write; whatever the socket did not take is lost
                    if let Err(e) = stream.try_write(&bytes) {
                        if e.kind() != std::io::ErrorKind::WouldBlock {
                            return;
                        }
                    }
                }
                Action::Write(bytes) => {
                    if stream.write_all(&bytes).await.is_err() {
                        return;
                    }
                }
                Action::Close => return close_gracefully(stream, settings).await,
                Action::Drop => return,
                Action::Hold => return hold(stream).await,
                Action::CloseLater => close_at = Some(Instant::now() + settings.close_linger),
                Action::Crash => return shared.crash(),
            }
        }
        let read = stream.read(&mut chunk);
        let read = match close_at {
            None => read.await,
            Some(at) => match timeout_at(at, read).await {
                Ok(read) => read,
                Err(_) => return close_gracefully(stream, settings).await,
            },
        };
        match read {
            // a FIN with no close frame: the connection is over, but this server keeps its side open
            Ok(0) if flaws.has(Flaw::IgnoresFin) => return std::future::pending().await,
            Ok(0) | Err(_) => return,
            Ok(n) => actions = conn.on_read(&chunk[..n]),
        }
    }
}

/// Whether the client's FIN arrives within a moment, with no data before it (for [`Flaw::DropsRepliesOnFin`]).
async fn fin_follows(stream: &TcpStream) -> bool {
    let mut byte = [0u8; 1];
    matches!(timeout(Duration::from_millis(50), stream.peek(&mut byte)).await, Ok(Ok(0)))
}

/// Closes our side of TCP (FIN), then reads and discards for `close_linger` so that
/// unread input does not turn the close into a reset, then drops the socket.
async fn close_gracefully(mut stream: TcpStream, settings: &Settings) {
    let _ = stream.shutdown().await;
    let mut sink = vec![0u8; 16 * 1024];
    let _ = timeout(settings.close_linger, async { while let Ok(1..) = stream.read(&mut sink).await {} }).await;
}

/// Keeps TCP open and never answers: reads and discards until the client closes
/// (or the server is stopped).
async fn hold(mut stream: TcpStream) {
    let mut sink = vec![0u8; 16 * 1024];
    while let Ok(1..) = stream.read(&mut sink).await {}
}

/// Sends 16 KiB binary messages as fast as the client takes them, for `flood_for`.
async fn flood(mut stream: TcpStream, flaws: &Flaws, settings: &Settings) {
    let message = frame::encode(true, frame::BINARY, &[b'*'; 16 * 1024], flaws);
    let until = Instant::now() + settings.flood_for;
    while let Ok(Ok(())) = timeout_at(until, stream.write_all(&message)).await {}
    close_gracefully(stream, settings).await;
}
