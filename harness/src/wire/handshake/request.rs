//! The client's opening handshake request (RFC 6455 §4.1).
//!
//! [`ClientRequest`] starts from the valid request and lets a case change any
//! part of it: method, target, HTTP version, any header added, replaced or
//! removed. Values are written as given (no validation), so a case can send
//! malformed requests. [`RawRequest`] sends a request written by hand, with a
//! fresh key put in place of `{key}`.

use super::fields;
use super::key::fresh_key;
use super::list::split_list;
use super::response::ServerResponse;
use crate::wire::violation::Violation;

/// Header names the request builder knows.
const SEC_WEBSOCKET_KEY: &str = "Sec-WebSocket-Key";
const SEC_WEBSOCKET_PROTOCOL: &str = "Sec-WebSocket-Protocol";
const SEC_WEBSOCKET_EXTENSIONS: &str = "Sec-WebSocket-Extensions";

/// An opening handshake request, field by field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientRequest {
    /// Request method (`GET` by default).
    pub method: String,
    /// Request target: path and query (`/` when given empty).
    pub target: String,
    /// HTTP version in the request line (`HTTP/1.1` by default).
    pub version: String,
    /// Header fields in the order they are sent; duplicates are sent as is.
    pub headers: Vec<(String, String)>,
}

impl ClientRequest {
    /// The valid request for `host` (the `Host` header value, with a port if
    /// not the default) and `target` (path and query), with a fresh key.
    pub fn new(host: impl Into<String>, target: impl Into<String>) -> ClientRequest {
        let target = target.into();
        // RFC 6455 §4.1: GET, HTTP/1.1, Host, Upgrade, Connection, Sec-WebSocket-Key, Sec-WebSocket-Version: 13
        ClientRequest {
            method: "GET".to_owned(),
            target: if target.is_empty() { "/".to_owned() } else { target },
            version: "HTTP/1.1".to_owned(),
            headers: vec![
                ("Host".to_owned(), host.into()),
                ("Upgrade".to_owned(), "websocket".to_owned()),
                ("Connection".to_owned(), "Upgrade".to_owned()),
                (SEC_WEBSOCKET_KEY.to_owned(), fresh_key()),
                ("Sec-WebSocket-Version".to_owned(), "13".to_owned()),
            ],
        }
    }

    /// Sets the method.
    pub fn method(mut self, method: impl Into<String>) -> ClientRequest {
        self.method = method.into();
        self
    }

    /// Sets the HTTP version written in the request line, e.g. `HTTP/1.0`.
    pub fn http_version(mut self, version: impl Into<String>) -> ClientRequest {
        self.version = version.into();
        self
    }

    /// Sets a header: replaces the first field with this name (case-insensitive)
    /// and removes the others, or appends the field if there is none.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> ClientRequest {
        fields::set(&mut self.headers, name.into(), value.into());
        self
    }

    /// Appends a header field, even if one with this name is already there.
    pub fn append_header(mut self, name: impl Into<String>, value: impl Into<String>) -> ClientRequest {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Removes every header field with this name (case-insensitive).
    pub fn remove_header(mut self, name: &str) -> ClientRequest {
        fields::remove(&mut self.headers, name);
        self
    }

    /// Sets `Sec-WebSocket-Key` to this value instead of the fresh key.
    pub fn key(self, key: impl Into<String>) -> ClientRequest {
        self.header(SEC_WEBSOCKET_KEY, key)
    }

    /// Offers these subprotocols in one `Sec-WebSocket-Protocol` field (none: removes it).
    pub fn protocols(self, protocols: &[&str]) -> ClientRequest {
        match protocols {
            [] => self.remove_header(SEC_WEBSOCKET_PROTOCOL),
            _ => self.header(SEC_WEBSOCKET_PROTOCOL, protocols.join(", ")),
        }
    }

    /// Offers these extensions (each with its parameters) in one
    /// `Sec-WebSocket-Extensions` field (none: removes it).
    pub fn extensions(self, extensions: &[&str]) -> ClientRequest {
        match extensions {
            [] => self.remove_header(SEC_WEBSOCKET_EXTENSIONS),
            _ => self.header(SEC_WEBSOCKET_EXTENSIONS, extensions.join(", ")),
        }
    }

    /// The key sent (first `Sec-WebSocket-Key` field), if the request has one.
    pub fn websocket_key(&self) -> Option<&str> {
        self.values(SEC_WEBSOCKET_KEY).next()
    }

    /// The subprotocols offered, from every `Sec-WebSocket-Protocol` field.
    pub fn offered_protocols(&self) -> Vec<&str> {
        self.values(SEC_WEBSOCKET_PROTOCOL).flat_map(split_list).collect()
    }

    /// The extensions offered (each with its parameters), from every `Sec-WebSocket-Extensions` field.
    pub fn offered_extensions(&self) -> Vec<&str> {
        self.values(SEC_WEBSOCKET_EXTENSIONS).flat_map(split_list).collect()
    }

    /// Checks a server's response against what this request sent and offered
    /// (see [`ServerResponse::check_upgrade`]); a request without a key is
    /// checked against an empty key.
    pub fn check_response(&self, response: &ServerResponse) -> Vec<Violation> {
        let key = self.websocket_key().unwrap_or_default();
        response.check_upgrade(key, &self.offered_protocols(), &self.offered_extensions())
    }

    /// The request's bytes: request line, header fields, empty line.
    pub fn encode(&self) -> Vec<u8> {
        fields::encode_head(&format!("{} {} {}", self.method, self.target, self.version), &self.headers)
    }

    fn values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        fields::values(&self.headers, name)
    }
}

/// A request written by hand, any bytes, with a fresh key in place of `{key}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawRequest {
    /// The request bytes; every `{key}` is replaced by [`RawRequest::key`].
    pub template: Vec<u8>,
    /// The key put in place of `{key}` (fresh unless set).
    pub key: String,
}

impl RawRequest {
    /// The placeholder replaced by the key.
    pub const KEY_PLACEHOLDER: &'static [u8] = b"{key}";

    /// A raw request from a template, with a fresh key.
    pub fn new(template: impl Into<Vec<u8>>) -> RawRequest {
        RawRequest { template: template.into(), key: fresh_key() }
    }

    /// Uses this key instead of the fresh one.
    pub fn key(mut self, key: impl Into<String>) -> RawRequest {
        self.key = key.into();
        self
    }

    /// The request's bytes, each `{key}` replaced by the key.
    pub fn encode(&self) -> Vec<u8> {
        let placeholder = RawRequest::KEY_PLACEHOLDER;
        let mut out = Vec::with_capacity(self.template.len() + self.key.len());
        let mut rest = self.template.as_slice();
        while let Some((&first, tail)) = rest.split_first() {
            if let Some(after) = rest.strip_prefix(placeholder) {
                out.extend_from_slice(self.key.as_bytes());
                rest = after;
            } else {
                out.push(first);
                rest = tail;
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(request: &ClientRequest) -> String {
        String::from_utf8(request.encode()).expect("ascii request")
    }

    #[test]
    fn default_request_is_the_rfc_handshake() {
        let request = ClientRequest::new("server.example.com", "/chat?x=1").key("dGhlIHNhbXBsZSBub25jZQ==");
        assert_eq!(
            text(&request),
            "GET /chat?x=1 HTTP/1.1\r\n\
             Host: server.example.com\r\n\
             Upgrade: websocket\r\n\
             Connection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
             Sec-WebSocket-Version: 13\r\n\
             \r\n"
        );
    }

    #[test]
    fn empty_target_becomes_slash() {
        assert_eq!(ClientRequest::new("h", "").target, "/");
    }

    #[test]
    fn each_request_gets_a_fresh_key() {
        let (a, b) = (ClientRequest::new("h", "/"), ClientRequest::new("h", "/"));
        assert_ne!(a.websocket_key(), b.websocket_key());
        assert_eq!(a.websocket_key().map(str::len), Some(24));
    }

    #[test]
    fn header_replaces_in_place_and_removes_duplicates() {
        let request = ClientRequest::new("h", "/")
            .append_header("connection", "close")
            .header("CONNECTION", "keep-alive, Upgrade")
            .header("Origin", "http://example.com");
        let names: Vec<&str> = request.headers.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["Host", "Upgrade", "CONNECTION", "Sec-WebSocket-Key", "Sec-WebSocket-Version", "Origin"]);
        assert_eq!(request.headers[2].1, "keep-alive, Upgrade");
    }

    #[test]
    fn headers_can_be_removed_and_duplicated() {
        let request = ClientRequest::new("h", "/").remove_header("upgrade").append_header("Host", "other");
        assert!(!text(&request).contains("Upgrade: websocket"));
        assert_eq!(text(&request).matches("Host: ").count(), 2);
    }

    #[test]
    fn method_and_version_can_be_changed() {
        let request = ClientRequest::new("h", "/").method("POST").http_version("HTTP/1.0");
        assert!(text(&request).starts_with("POST / HTTP/1.0\r\n"));
    }

    #[test]
    fn offers_protocols_and_extensions() {
        let request = ClientRequest::new("h", "/")
            .protocols(&["chat", "superchat"])
            .extensions(&["permessage-deflate; client_max_window_bits"]);
        assert!(text(&request).contains("Sec-WebSocket-Protocol: chat, superchat\r\n"));
        assert_eq!(request.offered_protocols(), ["chat", "superchat"]);
        assert_eq!(request.offered_extensions(), ["permessage-deflate; client_max_window_bits"]);
        assert!(request.protocols(&[]).offered_protocols().is_empty());
    }

    #[test]
    fn raw_request_replaces_every_key_placeholder() {
        let raw = RawRequest::new("GET / HTTP/1.1\r\nSec-WebSocket-Key: {key}\r\nX-Echo: {key}{ke\r\n\r\n").key("K");
        assert_eq!(raw.encode(), b"GET / HTTP/1.1\r\nSec-WebSocket-Key: K\r\nX-Echo: K{ke\r\n\r\n");
    }

    #[test]
    fn raw_request_gets_a_fresh_key() {
        let raw = RawRequest::new("{key}");
        assert_eq!(raw.encode(), raw.key.as_bytes());
        assert_ne!(raw.key, RawRequest::new("{key}").key);
    }
}
