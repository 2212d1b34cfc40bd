//! Opening one load connection: TCP connect (from a chosen source address if any), TLS for
//! `wss://`, and the opening handshake (with the subprotocols and headers asked for), timed from the
//! connect call to the parsed 101; with `--deflate`, the permessage-deflate offer and what the 101
//! negotiated (RFC 7692).

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

use super::deflate::{accept, Offer, Refusal};
use super::errors::{LoadError, Waiting};
use super::stats::Clock;
use crate::conformance::Target;
use crate::wire::deflate::Negotiated;
use crate::wire::{ClientRequest, ResponseParser, ServerResponse};

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
    /// For `wss://`: how to speak TLS to it.
    pub tls: Option<TlsTarget>,
    /// What the opening handshake asks for besides the protocol's own headers.
    pub request: Arc<RequestExtras>,
}

/// TLS to one endpoint: the connector (its certificate policy) and the name to present and check.
#[derive(Clone)]
pub struct TlsTarget {
    /// rustls client configuration.
    pub connector: TlsConnector,
    /// SNI and certificate name.
    pub name: ServerName<'static>,
}

impl std::fmt::Debug for TlsTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsTarget").field("name", &self.name).finish_non_exhaustive()
    }
}

/// Subprotocols to offer and headers to add to every opening handshake (`--subprotocol`, `--header`).
#[derive(Debug, Clone, Default)]
pub struct RequestExtras {
    /// `Sec-WebSocket-Protocol` values, in order of preference.
    pub subprotocols: Vec<String>,
    /// Other headers, as given.
    pub headers: Vec<(String, String)>,
}

/// Parses `Name: value` (`--header`).
pub fn parse_header(s: &str) -> Result<(String, String), String> {
    let (name, value) = s.split_once(':').ok_or_else(|| format!("'{s}' is not 'Name: value'"))?;
    let name = name.trim();
    // RFC 9110 §5.1: a field name is a token
    let token = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
    if name.is_empty() || !name.chars().all(token) {
        return Err(format!("'{name}' is not a header name (letters, digits and !#$%&'*+-.^_`|~)"));
    }
    let value = value.trim();
    if value.chars().any(|c| c == '\r' || c == '\n') {
        return Err(format!("the value of '{name}' has a line break"));
    }
    Ok((name.to_string(), value.to_string()))
}

impl Endpoint {
    /// Resolves a parsed target (the first address the name resolves to); `tls` is the connector for
    /// a `wss://` target.
    pub async fn resolve(
        target: &Target,
        tls: Option<&TlsConnector>,
        request: Arc<RequestExtras>,
    ) -> std::io::Result<Endpoint> {
        let addr = tokio::net::lookup_host(target.authority())
            .await?
            .next()
            .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, "the name resolves to no address"))?;
        let tls = match (target.secure, tls) {
            (true, Some(connector)) => {
                let name = crate::conformance::tls::server_name(&target.host)
                    .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
                Some(TlsTarget { connector: connector.clone(), name })
            }
            _ => None,
        };
        Ok(Endpoint {
            url: target.url.clone(),
            addr,
            host_header: target.host_header(),
            path: target.path.clone(),
            tls,
            request,
        })
    }
}

/// The byte stream of an open connection.
#[derive(Debug)]
pub enum Transport {
    /// `ws://`: the socket itself.
    Plain(TcpStream),
    /// `wss://`: TLS over the socket.
    Tls(Box<TlsStream<TcpStream>>),
}

impl AsyncRead for Transport {
    fn poll_read(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        match self.get_mut() {
            Transport::Plain(s) => std::pin::Pin::new(s).poll_read(cx, buf),
            Transport::Tls(s) => std::pin::Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Transport {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        match self.get_mut() {
            Transport::Plain(s) => std::pin::Pin::new(s).poll_write(cx, buf),
            Transport::Tls(s) => std::pin::Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        match self.get_mut() {
            Transport::Plain(s) => std::pin::Pin::new(s).poll_flush(cx),
            Transport::Tls(s) => std::pin::Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        match self.get_mut() {
            Transport::Plain(s) => std::pin::Pin::new(s).poll_shutdown(cx),
            Transport::Tls(s) => std::pin::Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

impl Transport {
    /// Writes all of `bytes`.
    pub async fn write_all(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        AsyncWriteExt::write_all(self, bytes).await?;
        AsyncWriteExt::flush(self).await
    }
}

/// A connection past its handshake.
#[derive(Debug)]
pub struct Opened {
    /// The byte stream.
    pub stream: Transport,
    /// Bytes the server sent after its 101 head (already frames).
    pub leftover: Vec<u8>,
    /// TCP connect to 101, in nanoseconds.
    pub handshake_ns: u64,
    /// What permessage-deflate negotiated, when offered.
    pub deflate: Option<Negotiated>,
}

/// Connects and completes the opening handshake within `timeout`, offering permessage-deflate if
/// `offer` is given (a server that declines it, or answers it wrongly, fails the handshake).
pub async fn open(
    ep: &Endpoint,
    source: Option<IpAddr>,
    clock: &Clock,
    timeout: Duration,
    offer: Option<&Offer>,
) -> Result<Opened, LoadError> {
    match open_checked(ep, source, clock, timeout, offer).await {
        Ok(opened) => Ok(opened),
        Err(Failed::Load(e)) => Err(e),
        Err(Failed::Deflate(refusal)) => Err(refusal.load_error()),
    }
}

/// Why a connection did not open.
#[derive(Debug)]
pub enum Failed {
    /// The error a connection counts.
    Load(LoadError),
    /// permessage-deflate was declined or answered wrongly: what the server did.
    Deflate(Refusal),
}

/// One handshake offering `offer` before the run, so that a server that declines permessage-deflate
/// fails the run at once with the reason, rather than every connection later. Returns what was
/// negotiated; the connection is closed (with a close frame, RFC 6455 §7.1.2).
pub async fn probe_deflate(ep: &Endpoint, offer: &Offer, timeout: Duration) -> Result<Negotiated, Failed> {
    let clock = Clock::start();
    let mut opened = open_checked(ep, None, &clock, timeout, Some(offer)).await?;
    // a masked close frame, code 1000 (RFC 6455 §5.5.1, §7.4.1); the reply is not awaited
    let close = [0x88, 0x82, 0, 0, 0, 0, 0x03, 0xe8];
    let _ = tokio::time::timeout(timeout, opened.stream.write_all(&close)).await;
    opened.deflate.ok_or(Failed::Deflate(Refusal::Declined { offer: offer.header_value().to_owned() }))
}

async fn open_checked(
    ep: &Endpoint,
    source: Option<IpAddr>,
    clock: &Clock,
    timeout: Duration,
    offer: Option<&Offer>,
) -> Result<Opened, Failed> {
    let started = clock.now_ns();
    let deadline = tokio::time::Instant::now() + timeout;
    let socket = if ep.addr.is_ipv4() { TcpSocket::new_v4() } else { TcpSocket::new_v6() }
        .map_err(|e| Failed::Load(LoadError::Connect(e.kind())))?;
    if let Some(ip) = source {
        defer_port_choice(&socket);
        socket.bind(SocketAddr::new(ip, 0)).map_err(|e| Failed::Load(LoadError::Connect(e.kind())))?;
    }
    let stream = match tokio::time::timeout_at(deadline, socket.connect(ep.addr)).await {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => return Err(Failed::Load(LoadError::from_connect(&e))),
        Err(_) => return Err(Failed::Load(LoadError::Timeout(Waiting::Connect))),
    };
    let _ = stream.set_nodelay(true);
    let opening = async {
        match &ep.tls {
            None => handshake(stream, ep, offer).await.map(|(s, l, r)| (Transport::Plain(s), l, r)),
            Some(tls) => {
                let stream = tls
                    .connector
                    .connect(tls.name.clone(), stream)
                    .await
                    .map_err(|e| LoadError::Tls(tls_reason(&e)))?;
                handshake(stream, ep, offer).await.map(|(s, l, r)| (Transport::Tls(Box::new(s)), l, r))
            }
        }
    };
    let (stream, leftover, response) = match tokio::time::timeout_at(deadline, opening).await {
        Ok(Ok(done)) => done,
        Ok(Err(e)) => return Err(Failed::Load(e)),
        Err(_) => return Err(Failed::Load(LoadError::Timeout(Waiting::Handshake))),
    };
    let deflate = match offer {
        Some(offer) => Some(accept(offer, &response).map_err(Failed::Deflate)?),
        None => None,
    };
    Ok(Opened { stream, leftover, handshake_ns: clock.now_ns() - started, deflate })
}

/// Lets `connect` choose the local port of a socket bound to a source address (`IP_BIND_ADDRESS_NO_PORT`,
/// Linux 4.2), instead of `bind`. `bind` must find a port free for every destination: it scans the
/// ports already bound to that address, so with tens of thousands of connections from one address
/// each bind is a long kernel search on the runtime's thread (half the generator's CPU samples in a
/// 50,000-connection run from three addresses, whose opening rate fell from 2,000/s to about 250/s
/// past 40,000), and one address gives at most one port range in all. `connect` picks by the whole 4-tuple: one port range per source address and
/// server. Elsewhere, or if refused, the kernel picks at bind time as before.
fn defer_port_choice(socket: &TcpSocket) {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        let on: libc::c_int = 1;
        // SAFETY: setsockopt on the socket's own open descriptor, with a pointer to an int and its size
        let _ = unsafe {
            libc::setsockopt(
                socket.as_raw_fd(),
                libc::IPPROTO_IP,
                libc::IP_BIND_ADDRESS_NO_PORT,
                (&on as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
    }
    #[cfg(not(target_os = "linux"))]
    let _ = socket;
}

/// Why a TLS handshake failed, in rustls' words (a small set: the detail errors are counted by).
fn tls_reason(e: &std::io::Error) -> String {
    let reason = e.get_ref().map_or_else(|| e.kind().to_string(), |inner| inner.to_string());
    reason.chars().take(120).collect()
}

async fn handshake<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    ep: &Endpoint,
    offer: Option<&Offer>,
) -> Result<(S, Vec<u8>, ServerResponse), LoadError> {
    // RFC 6455 §4.1: the client's opening handshake; RFC 7692 §5: the permessage-deflate offer, if any
    let mut request = ClientRequest::new(ep.host_header.clone(), ep.path.clone());
    if let Some(offer) = offer {
        request = request.extensions(&[offer.header_value()]);
    }
    let protocols: Vec<&str> = ep.request.subprotocols.iter().map(String::as_str).collect();
    request = request.protocols(&protocols);
    for (name, value) in &ep.request.headers {
        request = request.append_header(name.clone(), value.clone());
    }
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
                let offered = offer.is_some();
                // the permessage-deflate answer is judged by the caller, which names its fault
                let other = |v: &crate::wire::Violation| !(offered && is_deflate_rule(v.kind));
                if request.check_response(&response).iter().any(other) {
                    return Err(LoadError::HandshakeInvalid);
                }
                buf.drain(..head_len);
                return Ok((stream, buf, response));
            }
            Err(_) => return Err(LoadError::HandshakeInvalid),
        }
    }
}

/// The rules of a permessage-deflate answer (RFC 7692, and the extension grammar it is written in).
fn is_deflate_rule(kind: crate::wire::ViolationKind) -> bool {
    use crate::wire::ViolationKind::*;
    matches!(
        kind,
        ExtensionSyntax
            | DeflateRepeated
            | DeflateAcceptedInvalidOffer
            | DeflateParameterUnknown
            | DeflateParameterRepeated
            | DeflateParameterInvalid
            | DeflateServerNoContextTakeoverDropped
            | DeflateServerWindowNotHonoured
            | DeflateClientWindowNotOffered
            | DeflateClientWindowLargerThanOffered
    )
}

#[cfg(test)]
mod tests {
    use super::parse_header;

    #[test]
    fn a_header_is_a_token_a_colon_and_a_value_on_one_line() {
        assert_eq!(parse_header("Authorization: Bearer abc"), Ok(("Authorization".into(), "Bearer abc".into())));
        assert_eq!(parse_header("X-Empty:"), Ok(("X-Empty".into(), String::new())));
        assert!(parse_header("no colon").unwrap_err().contains("'Name: value'"));
        assert!(parse_header("Bad Name: v").unwrap_err().contains("not a header name"));
        assert!(parse_header("X: a\r\nInjected: 1").unwrap_err().contains("line break"));
    }
}
