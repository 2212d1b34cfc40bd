//! Opening TCP (and TLS for `wss://`) to the target, with typed errors: the
//! pool tells a target that went away (nobody listening) from a case that
//! broke a connection, and the preflight names the likely cause.

use std::io;

use tokio::net::TcpStream;
use tokio::time::{timeout_at, Instant};

use super::observe::Io;
use super::target::Target;
use super::tls;

/// What a failed TLS handshake most likely means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsHint {
    /// The certificate was refused: a self-signed test server wants `--insecure`.
    Certificate,
    /// The server does not speak TLS at all: the URL should be `ws://`.
    NotTls,
    /// Something else.
    None,
}

impl TlsHint {
    /// Reads the cause out of a TLS handshake error.
    fn of(e: &io::Error) -> TlsHint {
        match e.get_ref().and_then(|inner| inner.downcast_ref::<rustls::Error>()) {
            Some(rustls::Error::InvalidCertificate(_)) => TlsHint::Certificate,
            Some(rustls::Error::InvalidMessage(_) | rustls::Error::InappropriateHandshakeMessage { .. }) => {
                TlsHint::NotTls
            }
            Some(_) => TlsHint::None,
            // the server closed or reset the connection at our ClientHello: a plain server reads it as garbage
            None if matches!(e.kind(), io::ErrorKind::UnexpectedEof | io::ErrorKind::ConnectionReset) => {
                TlsHint::NotTls
            }
            None => TlsHint::None,
        }
    }

    fn advice(self) -> &'static str {
        match self {
            TlsHint::Certificate => " (for a self-signed certificate use --insecure)",
            TlsHint::NotTls => " (the server does not seem to speak TLS: is its URL ws:// rather than wss://?)",
            TlsHint::None => "",
        }
    }
}

/// Why no connection to the target could be opened.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ConnectError {
    /// Nobody listens there: the connection was refused.
    #[error("cannot connect to {authority}: {message}")]
    Refused {
        /// `host:port`.
        authority: String,
        /// The operating system's words.
        message: String,
    },
    /// Another error of the TCP connect.
    #[error("cannot connect to {authority}: {message}")]
    Io {
        /// `host:port`.
        authority: String,
        /// The operating system's words.
        message: String,
    },
    /// No TCP connection within the case's time.
    #[error("cannot connect to {authority} within the case timeout")]
    Timeout {
        /// `host:port`.
        authority: String,
    },
    /// TLS could not be set up on our side (no provider, or the host is no valid server name).
    #[error("{0}")]
    TlsSetup(String),
    /// The TLS handshake failed.
    #[error("TLS handshake with {authority} failed: {message}{}", hint.advice())]
    Tls {
        /// `host:port`.
        authority: String,
        /// What rustls said.
        message: String,
        /// The likely cause.
        hint: TlsHint,
    },
    /// No TLS handshake within the case's time.
    #[error("no TLS handshake with {authority} within the case timeout")]
    TlsTimeout {
        /// `host:port`.
        authority: String,
    },
}

impl ConnectError {
    /// Whether nobody listens at the target (it is down, or went away).
    pub fn is_refused(&self) -> bool {
        matches!(self, ConnectError::Refused { .. })
    }
}

/// Opens TCP (and TLS for `wss://`) to the target, before `deadline`. `tls` is the connector for
/// `wss://` (`None`: certificates checked against the Mozilla roots).
pub async fn connect(
    target: &Target,
    tls: Option<&tokio_rustls::TlsConnector>,
    deadline: Instant,
) -> Result<Box<dyn Io>, ConnectError> {
    let authority = target.authority();
    let tcp = match timeout_at(deadline, TcpStream::connect(&authority)).await {
        Ok(Ok(stream)) => stream,
        Ok(Err(e)) if e.kind() == io::ErrorKind::ConnectionRefused => {
            return Err(ConnectError::Refused { authority, message: e.to_string() })
        }
        Ok(Err(e)) => return Err(ConnectError::Io { authority, message: e.to_string() }),
        Err(_) => return Err(ConnectError::Timeout { authority }),
    };
    let _ = tcp.set_nodelay(true);
    if !target.secure {
        return Ok(Box::new(tcp));
    }
    let connector = match tls {
        Some(c) => c.clone(),
        None => tls::connector(false)
            .map_err(|e| ConnectError::TlsSetup(format!("{e}: {:?}", std::error::Error::source(&e))))?,
    };
    let name = tls::server_name(&target.host).map_err(ConnectError::TlsSetup)?;
    match timeout_at(deadline, connector.connect(name, tcp)).await {
        Ok(Ok(s)) => Ok(Box::new(s)),
        Ok(Err(e)) => Err(ConnectError::Tls { authority, message: e.to_string(), hint: TlsHint::of(&e) }),
        Err(_) => Err(ConnectError::TlsTimeout { authority }),
    }
}
