//! The rules a client's opening handshake breaks (RFC 6455 §4.1, the client's requirements; §11.3).
//!
//! Each rule is one small function that pushes a [`Violation`] naming its section. Judging how bad one is
//! belongs to the verdict layer; a request that breaks rules is still described in full.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use super::request::ReceivedRequest;
use crate::wire::deflate::syntax::{is_tchar, parse_extensions};
use crate::wire::handshake::list::split_list;
use crate::wire::violation::{Violation, ViolationKind};

/// The nonce length of `Sec-WebSocket-Key`, in bytes before base64.
pub const KEY_NONCE_LEN: usize = 16;

/// How much of a header value a violation quotes.
const QUOTED_VALUE: usize = 100;

impl ReceivedRequest {
    /// The 16 bytes of the `Sec-WebSocket-Key` nonce, when the (first) key is valid base64 of exactly 16 bytes;
    /// for judging that each connection's key is fresh.
    pub fn key_nonce(&self) -> Option<[u8; KEY_NONCE_LEN]> {
        decode_key(self.websocket_key()?)
    }

    /// The rules this request breaks as a client's opening handshake, in the order of RFC 6455 §4.1.
    pub fn check(&self) -> Vec<Violation> {
        let mut found = Vec::new();
        self.check_request_line(&mut found);
        self.check_host(&mut found);
        self.check_upgrade_field(&mut found);
        self.check_connection_field(&mut found);
        self.check_key(&mut found);
        self.check_version_field(&mut found);
        self.check_protocols(&mut found);
        self.check_extensions(&mut found);
        found
    }

    fn check_request_line(&self, found: &mut Vec<Violation>) {
        if self.method != "GET" {
            // RFC 6455 §4.1 item 2: the method of the request MUST be GET
            found.push(Violation::new(ViolationKind::RequestMethodNotGet, format!("method {}", self.method)));
        }
        if http_version(&self.version) < Some((1, 1)) {
            // RFC 6455 §4.1 item 2: the HTTP version MUST be at least 1.1
            found.push(Violation::new(ViolationKind::RequestVersionBelowHttp11, format!("version {}", self.version)));
        }
        if !self.target_is_resource() {
            // RFC 6455 §4.1 item 3 (and §3: no fragment): a resource name, or an absolute http(s) URI
            found.push(Violation::new(ViolationKind::RequestTargetInvalid, format!("target {}", quoted(&self.target))));
        }
    }

    fn target_is_resource(&self) -> bool {
        let parts = self.target_parts();
        let scheme_ok = parts.scheme.is_none_or(|s| s.eq_ignore_ascii_case("http") || s.eq_ignore_ascii_case("https"));
        scheme_ok && parts.path.starts_with('/') && parts.fragment.is_none()
    }

    fn check_host(&self, found: &mut Vec<Violation>) {
        let values: Vec<&str> = self.header_values("Host").collect();
        match values.as_slice() {
            // RFC 6455 §4.1 item 4: the request MUST contain a Host header field with the host
            [] => found.push(Violation::new(ViolationKind::HostMissing, "no Host header field")),
            [one] if one.trim().is_empty() => found.push(Violation::new(ViolationKind::HostMissing, "empty Host")),
            [_] => {}
            // RFC 7230 §5.4: more than one Host field is a bad request
            many => found.push(Violation::new(ViolationKind::HostRepeated, format!("{} Host fields", many.len()))),
        }
    }

    fn check_upgrade_field(&self, found: &mut Vec<Violation>) {
        let values: Vec<&str> = self.header_values("Upgrade").collect();
        // RFC 6455 §4.1 item 5: Upgrade includes the keyword "websocket", case-insensitively
        if !values.iter().flat_map(|v| split_list(v)).any(|token| token.eq_ignore_ascii_case("websocket")) {
            let observed = if values.is_empty() { "no Upgrade header field".to_owned() } else { values.join(", ") };
            found.push(Violation::new(ViolationKind::RequestUpgradeNotWebsocket, quoted(&observed)));
        }
    }

    fn check_connection_field(&self, found: &mut Vec<Violation>) {
        let values: Vec<&str> = self.header_values("Connection").collect();
        // RFC 6455 §4.1 item 6: Connection includes the token "Upgrade", case-insensitively
        if !values.iter().flat_map(|v| split_list(v)).any(|token| token.eq_ignore_ascii_case("upgrade")) {
            let observed = if values.is_empty() { "no Connection header field".to_owned() } else { values.join(", ") };
            found.push(Violation::new(ViolationKind::RequestConnectionNotUpgrade, quoted(&observed)));
        }
    }

    fn check_key(&self, found: &mut Vec<Violation>) {
        let values: Vec<&str> = self.header_values("Sec-WebSocket-Key").collect();
        if values.is_empty() {
            // RFC 6455 §4.1 item 7: the request MUST include Sec-WebSocket-Key
            found.push(Violation::new(ViolationKind::KeyMissing, "no Sec-WebSocket-Key header field"));
        }
        if values.len() > 1 {
            // RFC 6455 §11.3.1: Sec-WebSocket-Key MUST NOT appear more than once in a request
            found
                .push(Violation::new(ViolationKind::KeyRepeated, format!("{} Sec-WebSocket-Key fields", values.len())));
        }
        for value in values.iter().filter(|v| decode_key(v.trim()).is_none()) {
            // RFC 6455 §4.1 item 7: the key is a 16-byte nonce, base64-encoded
            let decoded =
                STANDARD.decode(value.trim()).map_or("not base64".to_owned(), |b| format!("{} bytes", b.len()));
            found.push(Violation::new(ViolationKind::KeyInvalid, format!("key {} ({decoded})", quoted(value))));
        }
    }

    fn check_version_field(&self, found: &mut Vec<Violation>) {
        let values: Vec<&str> = self.header_values("Sec-WebSocket-Version").collect();
        if values.is_empty() {
            // RFC 6455 §4.1 item 9: the request MUST include Sec-WebSocket-Version
            found.push(Violation::new(ViolationKind::WebSocketVersionNot13, "no Sec-WebSocket-Version header field"));
        }
        if values.len() > 1 {
            // RFC 6455 §11.3.5: Sec-WebSocket-Version MUST NOT appear more than once in a request
            let observed = format!("{} Sec-WebSocket-Version fields", values.len());
            found.push(Violation::new(ViolationKind::WebSocketVersionRepeated, observed));
        }
        for value in values.iter().filter(|v| v.trim() != "13") {
            // RFC 6455 §4.1 item 9: its value MUST be 13
            found.push(Violation::new(ViolationKind::WebSocketVersionNot13, format!("version {}", quoted(value))));
        }
    }

    fn check_protocols(&self, found: &mut Vec<Violation>) {
        let offered = self.offered_protocols();
        for (i, protocol) in offered.iter().enumerate() {
            if !protocol.bytes().all(is_tchar) {
                // RFC 6455 §4.1 item 10: each element is a token of U+0021-U+007E without separators
                found.push(Violation::new(
                    ViolationKind::ProtocolOfferInvalid,
                    format!("subprotocol {}", quoted(protocol)),
                ));
            }
            if offered[..i].contains(protocol) {
                // RFC 6455 §4.1 item 10: the elements MUST all be unique
                found.push(Violation::new(
                    ViolationKind::ProtocolOfferRepeated,
                    format!("subprotocol {}", quoted(protocol)),
                ));
            }
        }
    }

    fn check_extensions(&self, found: &mut Vec<Violation>) {
        let values: Vec<&str> = self.header_values("Sec-WebSocket-Extensions").collect();
        if values.is_empty() {
            return;
        }
        let joined = values.join(", ");
        if let Err(e) = parse_extensions(&joined) {
            // RFC 6455 §9.1: the offer follows the extension-list grammar
            found.push(Violation::new(ViolationKind::ExtensionSyntax, format!("{}: {e}", quoted(&joined))));
        }
    }
}

/// The nonce of a key: base64 (RFC 4648, padded) of exactly 16 bytes.
fn decode_key(key: &str) -> Option<[u8; KEY_NONCE_LEN]> {
    STANDARD.decode(key).ok()?.try_into().ok()
}

/// `HTTP/x.y` as numbers, for comparing versions.
fn http_version(version: &str) -> Option<(u8, u8)> {
    match version.as_bytes() {
        [b'H', b'T', b'T', b'P', b'/', major, b'.', minor] if major.is_ascii_digit() && minor.is_ascii_digit() => {
            Some((major - b'0', minor - b'0'))
        }
        _ => None,
    }
}

/// A value for a violation's `observed` text: debug-quoted, cut after 100 characters.
fn quoted(value: &str) -> String {
    match value.char_indices().nth(QUOTED_VALUE) {
        Some((cut, _)) => format!("{:?}...", &value[..cut]),
        None => format!("{value:?}"),
    }
}
