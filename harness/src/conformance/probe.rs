//! Fresh connections outside a case's own: the `alive` probe (a server
//! survived what a case did to it) and the preflight (the target speaks
//! WebSocket at all, before any case runs).

use std::time::Duration;

use tokio::time::Instant;

use super::connect::{connect, ConnectError, TlsHint};
use super::event::Event;
use super::judge::{Actual, Mismatch, NoResponse};
use super::observe::{Conn, DeliveryState};
use super::runner::{read_response, send_frame, RunOptions};
use super::send::MIN_READ_LIMIT;
use super::target::Target;
use crate::case::Delivery;
use crate::wire::{ClientRequest, CloseCode, FrameSpec, Opcode, ServerResponse};

/// The payload of the probe's ping.
const PROBE_PING: &[u8] = b"wsharness: still alive?";

/// A fresh connection to the target: it must answer the opening handshake
/// with a valid 101 and a ping with its pong. Shows a server survived what a
/// case did to it (a crash, a hang or exhausted resources fail here).
pub async fn probe_alive(target: &Target, options: &RunOptions, deadline: Instant) -> Result<String, Mismatch> {
    let expected = "a fresh connection to get a 101 and a pong (the server survived)";
    let miss = |observed: String| Mismatch::rated(expected, Actual::Saw(observed));
    let (mut conn, response, key) = match handshake(target, options.tls.as_ref(), deadline).await {
        Ok(opened) => opened,
        Err(HandshakeFailure::Connect(e)) => return Err(miss(format!("no new connection: {e}"))),
        Err(HandshakeFailure::Response(e)) => {
            return Err(miss(format!("a new connection got no handshake answer: {e}")))
        }
    };
    // RFC 6455 §4.1: the client checks the 101 before it sends frames
    if let Some(problem) = response.check_upgrade(&key, &[], &[]).first() {
        return Err(miss(format!("a new connection was refused: {problem}")));
    }
    send_frame(&mut conn, &FrameSpec::ping(PROBE_PING.to_vec())).await;
    loop {
        match conn.next_event(deadline).await {
            Event::Timeout => return Err(miss("a new connection got no pong".into())),
            e if e.frame_of(Opcode::Pong).is_some_and(|f| f.payload == PROBE_PING) => break,
            Event::Frame(_) => continue,
            e => return Err(miss(format!("a new connection: {}", e.describe()))),
        }
    }
    send_frame(&mut conn, &FrameSpec::close(CloseCode::NORMAL, b"")).await;
    conn.shutdown().await;
    Ok("the server still answers new connections".into())
}

/// Why a fresh connection got no handshake response.
enum HandshakeFailure {
    Connect(ConnectError),
    Response(NoResponse),
}

/// Connects and sends the default valid request; the connection, the response and the key sent.
async fn handshake(
    target: &Target,
    tls: Option<&tokio_rustls::TlsConnector>,
    deadline: Instant,
) -> Result<(Conn, ServerResponse, String), HandshakeFailure> {
    let began = Instant::now();
    let stream = connect(target, tls, deadline).await.map_err(HandshakeFailure::Connect)?;
    let mut conn = Conn::new(stream, began, deadline, MIN_READ_LIMIT);
    let request = ClientRequest::new(target.host_header(), target.path.clone());
    let key = request.websocket_key().unwrap_or_default().to_string();
    conn.send(&request.encode(), &Delivery::default(), &mut DeliveryState::default()).await;
    let budget = deadline.saturating_duration_since(began);
    let response = read_response(&mut conn, deadline, budget, &[]).await.map_err(HandshakeFailure::Response)?;
    Ok((conn, response, key))
}

/// How long the preflight waits for the target's answer.
pub const PREFLIGHT_TIMEOUT: Duration = Duration::from_secs(3);

/// Why the target is no WebSocket endpoint the cases can run against, with the likely cause.
#[derive(Debug, thiserror::Error)]
pub enum PreflightError {
    /// Nothing listens there.
    #[error("nothing accepts connections at {url} ({error}): is the server running, on this host and port?")]
    Unreachable {
        /// The target URL.
        url: String,
        /// The connect error.
        error: ConnectError,
    },
    /// The TLS handshake failed.
    #[error("{error}")]
    Tls {
        /// The connect error, with its hint.
        error: ConnectError,
    },
    /// The server answered with something other than 101.
    #[error("{url} answered the opening handshake with {status} {reason} instead of 101 Switching Protocols{hint}")]
    NotUpgraded {
        /// The target URL.
        url: String,
        /// The status.
        status: u16,
        /// The reason phrase.
        reason: String,
        /// The likely cause.
        hint: String,
    },
    /// No usable answer.
    #[error("{url}: {error}{hint}")]
    NoAnswer {
        /// The target URL.
        url: String,
        /// What went wrong.
        error: NoResponse,
        /// The likely cause.
        hint: &'static str,
    },
}

/// One valid opening handshake against the target before the suite: a 101 (valid or not: the cases
/// judge it) lets the run go on; anything else names the likely cause. Returns the `Server` field.
pub async fn preflight(
    target: &Target,
    tls: Option<&tokio_rustls::TlsConnector>,
) -> Result<Option<String>, PreflightError> {
    let deadline = Instant::now() + PREFLIGHT_TIMEOUT;
    let url = target.url.clone();
    let (mut conn, response, _key) = match handshake(target, tls, deadline).await {
        Ok(opened) => opened,
        Err(HandshakeFailure::Connect(error @ ConnectError::Tls { .. })) => return Err(PreflightError::Tls { error }),
        Err(HandshakeFailure::Connect(error)) => return Err(PreflightError::Unreachable { url, error }),
        Err(HandshakeFailure::Response(error)) => {
            let hint = no_answer_hint(&error, target.secure);
            return Err(PreflightError::NoAnswer { url, error, hint });
        }
    };
    if response.status != 101 {
        let hint = status_hint(&response, target);
        return Err(PreflightError::NotUpgraded { url, status: response.status, reason: response.reason, hint });
    }
    send_frame(&mut conn, &FrameSpec::close(CloseCode::NORMAL, b"")).await;
    conn.shutdown().await;
    Ok(response.header("server").map(str::to_string))
}

/// What a status other than 101 most likely means.
fn status_hint(response: &ServerResponse, target: &Target) -> String {
    match response.status {
        404 => format!(": is the path right? (the URL asks for {})", target.path),
        300..=399 => match response.header("location") {
            Some(to) => format!(": it redirects to {to} (give wsharness that URL)"),
            None => ": it redirects (give wsharness the URL it redirects to)".to_string(),
        },
        401 | 403 => ": it wants credentials or refuses this client (test an endpoint that accepts any client)".into(),
        200 => ": an HTTP server, but no WebSocket endpoint at this path".into(),
        _ => format!(": is {} a WebSocket endpoint?", target.url),
    }
}

/// What no usable answer most likely means.
fn no_answer_hint(why: &NoResponse, secure: bool) -> &'static str {
    match why {
        NoResponse::NotHttp { looks_like_tls: true, .. } => ": the server answered with TLS (use a wss:// URL)",
        NoResponse::NotHttp { .. } => ": is it a WebSocket server?",
        NoResponse::Closed | NoResponse::Broken(_) if !secure => {
            ": is it a WebSocket server? (a TLS server closes a plain request like this: then use a wss:// URL)"
        }
        NoResponse::Timeout { .. } => ": is it a WebSocket server, and is it answering?",
        _ => "",
    }
}

impl PreflightError {
    /// The likely cause of a TLS failure (for tests and messages).
    pub fn tls_hint(&self) -> Option<TlsHint> {
        match self {
            PreflightError::Tls { error: ConnectError::Tls { hint, .. } } => Some(*hint),
            _ => None,
        }
    }
}
