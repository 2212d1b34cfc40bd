//! Sending the server's opening handshake (RFC 6455 §4.2.2), valid or crafted.
//!
//! [`ServerReply::accepting`] is the valid 101 for a request; a client case changes any part of it (another
//! status, a wrong or missing `Sec-WebSocket-Accept`, no `Upgrade`, a subprotocol or extension the client never
//! offered). Values are written as given (no validation), as [`super::super::ClientRequest`] does for requests.

use super::super::fields;
use super::super::key::accept_for;
use super::request::ReceivedRequest;

const SEC_WEBSOCKET_ACCEPT: &str = "Sec-WebSocket-Accept";
const SEC_WEBSOCKET_PROTOCOL: &str = "Sec-WebSocket-Protocol";
const SEC_WEBSOCKET_EXTENSIONS: &str = "Sec-WebSocket-Extensions";

/// A response head (and body) to a client's opening handshake, field by field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerReply {
    /// HTTP version in the status line (`HTTP/1.1` by default).
    pub version: String,
    /// Status code (101 for an accepted handshake).
    pub status: u16,
    /// Reason phrase (may be empty).
    pub reason: String,
    /// Header fields in the order they are sent; duplicates are sent as is.
    pub headers: Vec<(String, String)>,
    /// Bytes after the head (a refusal's body; empty for a 101).
    pub body: Vec<u8>,
}

impl ServerReply {
    /// The valid 101 for a client that sent `key` (RFC 6455 §4.2.2 item 5): `Upgrade`, `Connection` and the
    /// `Sec-WebSocket-Accept` computed from the key; no subprotocol, no extension.
    pub fn switching_protocols(key: &str) -> ServerReply {
        // RFC 6455 §4.2.2 item 5: status 101, Upgrade: websocket, Connection: Upgrade, Sec-WebSocket-Accept
        ServerReply {
            version: "HTTP/1.1".to_owned(),
            status: 101,
            reason: "Switching Protocols".to_owned(),
            headers: vec![
                ("Upgrade".to_owned(), "websocket".to_owned()),
                ("Connection".to_owned(), "Upgrade".to_owned()),
                (SEC_WEBSOCKET_ACCEPT.to_owned(), accept_for(key.trim())),
            ],
            body: Vec::new(),
        }
    }

    /// The valid 101 for this request: the accept value of its (first) key, trimmed as §4.2.2 says; a request
    /// without a key gets the accept value of the empty key.
    pub fn accepting(request: &ReceivedRequest) -> ServerReply {
        ServerReply::switching_protocols(request.websocket_key().unwrap_or_default())
    }

    /// A refusal: this status and reason, `Content-Length: 0`, `Connection: close` (RFC 6455 §4.2.2: any status
    /// but 101 means the handshake did not complete).
    pub fn refusal(status: u16, reason: impl Into<String>) -> ServerReply {
        ServerReply {
            version: "HTTP/1.1".to_owned(),
            status,
            reason: reason.into(),
            headers: vec![("Content-Length".to_owned(), "0".to_owned()), ("Connection".to_owned(), "close".to_owned())],
            body: Vec::new(),
        }
    }

    /// The answer to a request with a `Sec-WebSocket-Version` we do not speak: 426 with the version we do
    /// (RFC 6455 §4.4).
    pub fn upgrade_required() -> ServerReply {
        // RFC 6455 §4.4: answer an unsupported version with the versions supported
        ServerReply::refusal(426, "Upgrade Required").header("Sec-WebSocket-Version", "13")
    }

    /// Sets the status code and reason phrase.
    pub fn status(mut self, status: u16, reason: impl Into<String>) -> ServerReply {
        self.status = status;
        self.reason = reason.into();
        self
    }

    /// Sets the HTTP version written in the status line, e.g. `HTTP/1.0`.
    pub fn http_version(mut self, version: impl Into<String>) -> ServerReply {
        self.version = version.into();
        self
    }

    /// Sets a header: replaces the first field with this name (case-insensitive) and removes the others, or
    /// appends the field if there is none.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> ServerReply {
        fields::set(&mut self.headers, name.into(), value.into());
        self
    }

    /// Appends a header field, even if one with this name is already there.
    pub fn append_header(mut self, name: impl Into<String>, value: impl Into<String>) -> ServerReply {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Removes every header field with this name (case-insensitive).
    pub fn remove_header(mut self, name: &str) -> ServerReply {
        fields::remove(&mut self.headers, name);
        self
    }

    /// Sends this `Sec-WebSocket-Accept` value instead of the right one (a crafted, wrong accept).
    pub fn accept(self, value: impl Into<String>) -> ServerReply {
        self.header(SEC_WEBSOCKET_ACCEPT, value)
    }

    /// Selects this subprotocol (RFC 6455 §4.2.2 item 5 sub 4); whether the client offered it is the case's concern.
    pub fn protocol(self, protocol: impl Into<String>) -> ServerReply {
        self.header(SEC_WEBSOCKET_PROTOCOL, protocol)
    }

    /// Accepts these extensions (each with its parameters) in one `Sec-WebSocket-Extensions` field (none: removes it).
    pub fn extensions(self, extensions: &[&str]) -> ServerReply {
        match extensions {
            [] => self.remove_header(SEC_WEBSOCKET_EXTENSIONS),
            _ => self.header(SEC_WEBSOCKET_EXTENSIONS, extensions.join(", ")),
        }
    }

    /// Sends these bytes after the head, with `Content-Length` set to their length (a crafted length: set the
    /// header after this).
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> ServerReply {
        self.body = body.into();
        // RFC 7230 §3.3.2: the length must be the body's, or the client reads a truncated or endless body
        let len = self.body.len().to_string();
        self.header("Content-Length", len)
    }

    /// The `Sec-WebSocket-Accept` this reply sends (the first field), if any.
    pub fn accept_value(&self) -> Option<&str> {
        fields::values(&self.headers, SEC_WEBSOCKET_ACCEPT).next()
    }

    /// The reply's bytes: status line, header fields, empty line, body.
    pub fn encode(&self) -> Vec<u8> {
        let status_line = format!("{} {} {}", self.version, self.status, self.reason);
        let mut out = fields::encode_head(&status_line, &self.headers);
        out.extend_from_slice(&self.body);
        out
    }
}
