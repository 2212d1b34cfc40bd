//! Opening one load connection: TCP connect (from a chosen source address if any) and the opening
//! handshake, timed from the connect call to the parsed 101.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

use super::errors::{LoadError, Waiting};
use super::stats::Clock;
use crate::conformance::Target;
use crate::wire::{ClientRequest, ResponseParser};

/// One server to load, resolved.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// The URL as given.
    pub url: String,
    /// Where to connect.
    pub addr: SocketAddr,
    /// `Host` header value.
    pub host_header: String,
    /// Request target.
    pub path: String,
}

impl Endpoint {
    /// Resolves a parsed target (the first address the name resolves to).
    pub async fn resolve(target: &Target) -> std::io::Result<Endpoint> {
        let addr = tokio::net::lookup_host(target.authority())
            .await?
            .next()
            .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, "the name resolves to no address"))?;
        Ok(Endpoint { url: target.url.clone(), addr, host_header: target.host_header(), path: target.path.clone() })
    }
}

/// A connection past its handshake.
#[derive(Debug)]
pub struct Opened {
    /// The socket.
    pub stream: TcpStream,
    /// Bytes the server sent after its 101 head (already frames).
    pub leftover: Vec<u8>,
    /// TCP connect to 101, in nanoseconds.
    pub handshake_ns: u64,
}

/// Connects and completes the opening handshake within `timeout`.
pub async fn open(
    ep: &Endpoint,
    source: Option<IpAddr>,
    clock: &Clock,
    timeout: Duration,
) -> Result<Opened, LoadError> {
    let started = clock.now_ns();
    let deadline = tokio::time::Instant::now() + timeout;
    let socket = if ep.addr.is_ipv4() { TcpSocket::new_v4() } else { TcpSocket::new_v6() }
        .map_err(|e| LoadError::Connect(e.kind()))?;
    if let Some(ip) = source {
        socket.bind(SocketAddr::new(ip, 0)).map_err(|e| LoadError::Connect(e.kind()))?;
    }
    let stream = match tokio::time::timeout_at(deadline, socket.connect(ep.addr)).await {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => return Err(LoadError::from_connect(&e)),
        Err(_) => return Err(LoadError::Timeout(Waiting::Connect)),
    };
    let _ = stream.set_nodelay(true);
    match tokio::time::timeout_at(deadline, handshake(stream, ep)).await {
        Ok(Ok((stream, leftover))) => Ok(Opened { stream, leftover, handshake_ns: clock.now_ns() - started }),
        Ok(Err(e)) => Err(e),
        Err(_) => Err(LoadError::Timeout(Waiting::Handshake)),
    }
}

async fn handshake(mut stream: TcpStream, ep: &Endpoint) -> Result<(TcpStream, Vec<u8>), LoadError> {
    // RFC 6455 §4.1: the client's opening handshake
    let request = ClientRequest::new(ep.host_header.clone(), ep.path.clone());
    stream.write_all(&request.encode()).await.map_err(|e| LoadError::from_io(&e))?;
    let parser = ResponseParser::default();
    let mut buf = Vec::with_capacity(512);
    loop {
        let n = stream.read_buf(&mut buf).await.map_err(|e| LoadError::from_io(&e))?;
        if n == 0 {
            return Err(LoadError::UnexpectedClose(Some(1006)));
        }
        match parser.parse(&buf) {
            Ok(None) => continue,
            Ok(Some((response, head_len))) => {
                // RFC 6455 §4.2.2: anything but 101 means the server refused the upgrade
                if response.status != 101 {
                    return Err(LoadError::HandshakeStatus(response.status));
                }
                if !request.check_response(&response).is_empty() {
                    return Err(LoadError::HandshakeInvalid);
                }
                buf.drain(..head_len);
                return Ok((stream, buf));
            }
            Err(_) => return Err(LoadError::HandshakeInvalid),
        }
    }
}
