//! What can go wrong on a load connection, by kind. A misbehaving server makes
//! these, never a crash or a hang: each ends or marks one connection or message.

use std::fmt;

use crate::wire::ViolationKind;

/// Which wait ran out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Waiting {
    /// TCP connect.
    Connect,
    /// The 101 response.
    Handshake,
    /// An echo.
    Echo,
    /// A pong.
    Pong,
    /// The server's close frame after ours.
    Close,
}

impl Waiting {
    fn as_str(self) -> &'static str {
        match self {
            Waiting::Connect => "connect",
            Waiting::Handshake => "handshake",
            Waiting::Echo => "echo",
            Waiting::Pong => "pong",
            Waiting::Close => "close",
        }
    }
}

/// One error.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum LoadError {
    /// TCP connect refused (nothing listens).
    Refused,
    /// Another connect or socket error (e.g. no free port or address: `EADDRNOTAVAIL`).
    Connect(std::io::ErrorKind),
    /// The handshake answer was not 101 (e.g. 503 at a connection limit).
    HandshakeStatus(u16),
    /// A 101 that breaks RFC 6455 §4.2.2 (wrong accept value, missing Upgrade), or not HTTP.
    HandshakeInvalid,
    /// permessage-deflate was offered (`--deflate`) and the 101 declined it (`None`) or broke a rule
    /// of RFC 7692 in its answer (the rule). Kind `handshake_invalid`.
    Deflate(Option<ViolationKind>),
    /// A wait ran out (`--timeout`).
    Timeout(Waiting),
    /// The server closed the connection while we did not ask: its close code, or none
    /// (`None` for a close frame without a code, `Some(1006)` for TCP closed without a close frame).
    UnexpectedClose(Option<u16>),
    /// An echo differs from what was sent (content, length, type or order).
    PayloadMismatch,
    /// The server broke a framing rule (RFC 6455 §5): the rule's short name.
    Protocol(&'static str),
    /// A data message came while no echo was awaited: an echo server sends only what it was sent.
    /// The connection ends (a flood of messages is one error, not one per message).
    UnsolicitedMessage,
    /// An echo grew longer than the message it answers: where the next echo starts is unknown (a
    /// message streamed without end is one), so the connection ends.
    EchoTooLong,
    /// The server stopped reading: what the connection owed it (pongs, above all) passed the write
    /// cap ([`crate::load::session::Plan::write_cap`]), so the connection ends.
    PeerNotReading,
    /// Reading or writing the socket failed (reset).
    Io(std::io::ErrorKind),
    /// The TLS handshake of a `wss://` connection failed: rustls' reason (an unknown issuer: a
    /// self-signed certificate, which `--insecure` accepts).
    Tls(String),
}

impl LoadError {
    /// The stable kind name used in reports.
    pub fn kind(&self) -> &'static str {
        match self {
            LoadError::Refused => "refused",
            LoadError::Connect(_) => "connect",
            LoadError::HandshakeStatus(_) => "handshake_status",
            LoadError::HandshakeInvalid | LoadError::Deflate(_) => "handshake_invalid",
            LoadError::Timeout(_) => "timeout",
            LoadError::UnexpectedClose(_) => "unexpected_close",
            LoadError::PayloadMismatch => "payload_mismatch",
            LoadError::Protocol(_) => "protocol_error",
            LoadError::UnsolicitedMessage => "unsolicited_message",
            LoadError::EchoTooLong => "echo_too_long",
            LoadError::PeerNotReading => "peer_not_reading",
            LoadError::Io(_) => "io",
            LoadError::Tls(_) => "tls",
        }
    }

    /// Kind and detail, e.g. `handshake_status 503`, `unexpected_close 1001`, `timeout echo`.
    pub fn detail(&self) -> String {
        match self {
            LoadError::Connect(k) | LoadError::Io(k) => format!("{} {k}", self.kind()),
            LoadError::HandshakeStatus(s) => format!("handshake_status {s}"),
            LoadError::Timeout(w) => format!("timeout {}", w.as_str()),
            LoadError::UnexpectedClose(Some(c)) => format!("unexpected_close {c}"),
            LoadError::UnexpectedClose(None) => "unexpected_close no-code".into(),
            LoadError::Protocol(r) => format!("protocol_error {r}"),
            LoadError::Deflate(None) => "handshake_invalid permessage-deflate declined".into(),
            LoadError::Deflate(Some(k)) => format!("handshake_invalid {}: {}", k.rfc(), k.requirement()),
            LoadError::Tls(reason) => format!("tls {reason}"),
            _ => self.kind().into(),
        }
    }

    /// Classifies a connect error.
    pub fn from_connect(e: &std::io::Error) -> LoadError {
        match e.kind() {
            std::io::ErrorKind::ConnectionRefused => LoadError::Refused,
            std::io::ErrorKind::TimedOut => LoadError::Timeout(Waiting::Connect),
            k => LoadError::Connect(k),
        }
    }

    /// Classifies a read or write error on an open connection.
    pub fn from_io(e: &std::io::Error) -> LoadError {
        match e.kind() {
            std::io::ErrorKind::ConnectionReset
            | std::io::ErrorKind::BrokenPipe
            | std::io::ErrorKind::ConnectionAborted
            | std::io::ErrorKind::UnexpectedEof => LoadError::UnexpectedClose(Some(1006)),
            k => LoadError::Io(k),
        }
    }
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.detail())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_details_are_stable_names() {
        assert_eq!(LoadError::HandshakeStatus(503).detail(), "handshake_status 503");
        assert_eq!(LoadError::UnexpectedClose(Some(1001)).kind(), "unexpected_close");
        assert_eq!(LoadError::Timeout(Waiting::Echo).detail(), "timeout echo");
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        assert_eq!(LoadError::from_connect(&refused), LoadError::Refused);
        let reset = std::io::Error::from(std::io::ErrorKind::ConnectionReset);
        assert_eq!(LoadError::from_io(&reset).detail(), "unexpected_close 1006");
        assert_eq!(LoadError::Deflate(None).detail(), "handshake_invalid permessage-deflate declined");
        assert_eq!(
            LoadError::Deflate(Some(ViolationKind::DeflateClientWindowNotOffered)).detail(),
            "handshake_invalid RFC 7692 §7.1.2.2: a server MUST NOT include client_max_window_bits if the offer did not have it"
        );
    }

    #[test]
    fn every_kind_is_one_the_report_schema_allows() {
        let schema: serde_json::Value =
            serde_json::from_str(include_str!("../../../reports/schema/load.schema.json")).expect("the schema is JSON");
        let allowed =
            schema.pointer("/properties/errors/properties/by_kind/propertyNames/enum").expect("the kinds' enum");
        let every = [
            LoadError::Refused,
            LoadError::Connect(std::io::ErrorKind::AddrNotAvailable),
            LoadError::HandshakeStatus(503),
            LoadError::HandshakeInvalid,
            LoadError::Deflate(None),
            LoadError::Timeout(Waiting::Echo),
            LoadError::UnexpectedClose(None),
            LoadError::PayloadMismatch,
            LoadError::Protocol("rsv bits set"),
            LoadError::UnsolicitedMessage,
            LoadError::EchoTooLong,
            LoadError::PeerNotReading,
            LoadError::Io(std::io::ErrorKind::BrokenPipe),
            LoadError::Tls("invalid peer certificate: UnknownIssuer".into()),
        ];
        for e in every {
            // a new variant must be added here and to the schema: this match has no wildcard
            match e {
                LoadError::Refused
                | LoadError::Connect(_)
                | LoadError::HandshakeStatus(_)
                | LoadError::HandshakeInvalid
                | LoadError::Deflate(_)
                | LoadError::Timeout(_)
                | LoadError::UnexpectedClose(_)
                | LoadError::PayloadMismatch
                | LoadError::Protocol(_)
                | LoadError::UnsolicitedMessage
                | LoadError::EchoTooLong
                | LoadError::PeerNotReading
                | LoadError::Io(_)
                | LoadError::Tls(_) => {}
            }
            assert!(allowed.as_array().is_some_and(|a| a.contains(&e.kind().into())), "{} not in the schema", e.kind());
        }
    }
}
