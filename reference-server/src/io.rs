//! Drives one connection over a TCP socket: the handshake, then the
//! [`Connection`] core, then the TCP close.
//!
//! Reads and writes go through buffers borrowed from a small per-thread pool
//! for the duration of one read, so an idle connection holds no buffer at all;
//! all replies to one read (echoes, pongs, closes) leave in one write.

use std::cell::RefCell;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{sleep_until, timeout, timeout_at, Instant};
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::conn::{Connection, State};
use crate::error::HandshakeError;
use crate::frame::CloseCode;
use crate::handshake::{parse_request, response_101, response_error, Accepted};

/// Size of a pooled buffer: one read, or the replies to one read.
const BUF_SIZE: usize = 64 * 1024;
/// Pooled buffers kept per thread.
const POOL_MAX: usize = 64;

thread_local! {
    static POOL: RefCell<Vec<Vec<u8>>> = const { RefCell::new(Vec::new()) };
}

fn take_buf() -> Vec<u8> {
    POOL.with(|p| p.borrow_mut().pop()).unwrap_or_else(|| Vec::with_capacity(BUF_SIZE))
}

fn give_buf(mut buf: Vec<u8>) {
    // a buffer that grew for a big message is freed, not pooled; an unallocated one is not worth pooling
    if buf.capacity() > 4 * BUF_SIZE || buf.capacity() < BUF_SIZE {
        return;
    }
    buf.clear();
    POOL.with(|p| {
        let mut p = p.borrow_mut();
        if p.len() < POOL_MAX {
            p.push(buf);
        }
    });
}

/// Serves one accepted TCP connection to its end. `refuse` answers a
/// well-formed request with that error instead of 101 (the connection limit).
pub(crate) async fn serve(
    mut stream: TcpStream,
    peer: SocketAddr,
    config: Arc<Config>,
    shutdown: CancellationToken,
    refuse: Option<HandshakeError>,
) {
    let _ = stream.set_nodelay(true);
    let opened = tokio::select! {
        r = timeout(config.handshake_timeout, handshake(&mut stream, &config, refuse)) => r,
        _ = shutdown.cancelled() => return,
    };
    let (leftover, deflate) = match opened {
        Ok(Ok(Some((accepted, leftover)))) => {
            tracing::debug!(%peer, path = %accepted.path, deflate = ?accepted.deflate, "opening handshake complete");
            (leftover, accepted.deflate)
        }
        Ok(Ok(None)) => return,
        Ok(Err(e)) => {
            tracing::debug!(%peer, error = %e, "handshake i/o failed");
            return;
        }
        Err(_) => {
            // RFC 6455 §4.2.1 leaves slow clients to the server: drop them (slowloris)
            tracing::debug!(%peer, "handshake timed out");
            return;
        }
    };
    let conn = Connection::with_deflate(config.limits(), deflate);
    if let Err(e) = run_open(&mut stream, peer, &config, &shutdown, conn, leftover).await {
        tracing::debug!(%peer, error = %e, "connection i/o failed");
        return;
    }
    close_tcp(&mut stream, &config).await;
}

/// Reads and answers the opening handshake. `Ok(None)`: the client was refused
/// or went away; `Ok(Some)`: the 101 was sent, with the bytes after the head.
async fn handshake(
    stream: &mut TcpStream,
    config: &Config,
    refuse: Option<HandshakeError>,
) -> io::Result<Option<(Accepted, Vec<u8>)>> {
    let policy = config.handshake_policy();
    let mut buf: Vec<u8> = Vec::new();
    let verdict = loop {
        buf.reserve(4096);
        if stream.read_buf(&mut buf).await? == 0 {
            return Ok(None);
        }
        match parse_request(&buf, &policy) {
            Ok(None) => continue,
            Ok(Some(done)) => break Ok(done),
            Err(e) => break Err(e),
        }
    };
    let verdict = match (verdict, refuse) {
        (Ok(_), Some(refusal)) => Err(refusal),
        (v, _) => v,
    };
    match verdict {
        Ok((accepted, head_len)) => {
            stream.write_all(&response_101(&accepted)).await?;
            buf.drain(..head_len);
            Ok(Some((accepted, buf)))
        }
        Err(e) => {
            tracing::debug!(error = %e, "handshake refused");
            stream.write_all(&response_error(&e)).await?;
            close_tcp(stream, config).await;
            Ok(None)
        }
    }
}

/// The open connection: read, process, write, until the core is closed.
async fn run_open(
    stream: &mut TcpStream,
    peer: SocketAddr,
    config: &Config,
    shutdown: &CancellationToken,
    mut conn: Connection,
    leftover: Vec<u8>,
) -> io::Result<()> {
    // bytes of an unfinished frame header, presented again with the next read
    let mut carry: Vec<u8> = Vec::new();
    // when the close we sent must be answered by
    let mut close_deadline: Option<Instant> = None;

    let mut input = leftover;
    loop {
        if !input.is_empty() {
            let mut out = take_buf();
            let n = conn.process(&input, &mut out);
            carry.extend_from_slice(&input[n..]);
            give_buf(input);
            if !out.is_empty() {
                stream.write_all(&out).await?;
            }
            give_buf(out);
        } else {
            give_buf(input);
        }
        if carry.is_empty() && carry.capacity() > 64 {
            carry = Vec::new();
        }
        if conn.state() == State::Closed {
            break;
        }
        let deadline = close_deadline.or_else(|| config.idle_timeout.map(|t| Instant::now() + t));
        let initiate: Option<(CloseCode, &str)> = tokio::select! {
            biased;
            _ = shutdown.cancelled(), if close_deadline.is_none() => Some((CloseCode::GOING_AWAY, "server shutting down")),
            ready = stream.readable() => { ready?; None }
            _ = sleep_until(deadline.unwrap_or_else(Instant::now)), if deadline.is_some() => {
                if close_deadline.is_some() {
                    tracing::debug!(%peer, "no close reply in time");
                    break;
                }
                Some((CloseCode::GOING_AWAY, "idle timeout"))
            }
        };
        if let Some((code, reason)) = initiate {
            // RFC 6455 §7.1.2: start the closing handshake, then wait for the reply
            let mut out = Vec::new();
            conn.initiate_close(code, reason, &mut out);
            stream.write_all(&out).await?;
            close_deadline = Some(Instant::now() + config.close_timeout);
            input = Vec::new();
            continue;
        }
        input = take_buf();
        input.extend_from_slice(&carry);
        carry.clear();
        match stream.try_read_buf(&mut input) {
            Ok(0) => {
                tracing::debug!(%peer, "client closed TCP");
                give_buf(input);
                break;
            }
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                carry.extend_from_slice(&input);
                give_buf(input);
                input = Vec::new();
            }
            Err(e) => {
                give_buf(input);
                return Err(e);
            }
        }
    }
    if let Some(e) = conn.failure() {
        tracing::debug!(%peer, error = %e, rfc = e.rfc_section(), code = e.close_code().0, "connection failed");
    }
    Ok(())
}

/// Closes TCP from the server side first (RFC 6455 §7.1.1): send FIN, then read
/// and discard until the client closes too, so that unread data does not turn
/// the close into a reset that could destroy the close frame in flight.
async fn close_tcp(stream: &mut TcpStream, config: &Config) {
    let _ = stream.shutdown().await;
    let deadline = Instant::now() + config.close_timeout;
    let mut scratch = take_buf();
    loop {
        scratch.clear();
        match timeout_at(deadline, stream.read_buf(&mut scratch)).await {
            Ok(Ok(0)) | Ok(Err(_)) | Err(_) => break,
            Ok(Ok(_)) => {}
        }
    }
    give_buf(scratch);
}
