//! The opening handshake, server side: RFC 6455 §4.2.1 (reading the client's
//! request) and §4.2.2 (sending the response).
//!
//! [`parse_request`] takes the bytes received so far and either asks for more,
//! refuses the request with the [`HandshakeError`] naming the rule, or returns
//! the [`Accepted`] handshake and the length of the request head; bytes after
//! the head belong to the WebSocket connection and are kept by the caller.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use sha1::{Digest, Sha1};

use crate::deflate::{negotiate, Agreed, DeflateConfig};
use crate::error::HandshakeError;

/// The GUID of RFC 6455 §1.3, appended to the key to compute the accept value.
const WEBSOCKET_GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// Most header fields a request may carry.
const MAX_HEADERS: usize = 100;

/// What the server needs to know to validate a request.
#[derive(Debug, Clone, Default)]
pub struct HandshakePolicy {
    /// Largest request head, in bytes (431 beyond).
    pub max_head_size: usize,
    /// Subprotocols the server speaks, in no particular order.
    pub subprotocols: Vec<String>,
    /// Allowed `Origin` values; empty allows any origin.
    pub allowed_origins: Vec<String>,
    /// permessage-deflate (RFC 7692) and the server's preferences; `None` never negotiates it.
    pub deflate: Option<DeflateConfig>,
}

/// A request the server accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    /// The `Sec-WebSocket-Accept` value (§4.2.2 item 5.4).
    pub accept: String,
    /// The subprotocol chosen among those the client offered, if any.
    pub subprotocol: Option<String>,
    /// The request target, for logs.
    pub path: String,
    /// permessage-deflate, if an offer was accepted (RFC 7692 §5).
    pub deflate: Option<Agreed>,
}

/// Parses and validates the request head at the start of `buf`.
///
/// Returns `Ok(None)` while the head is incomplete and within the size limit.
pub fn parse_request(buf: &[u8], policy: &HandshakePolicy) -> Result<Option<(Accepted, usize)>, HandshakeError> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    let head_len = match req.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => {
            // RFC 6585 §5: a head beyond the limit gets 431
            if buf.len() >= policy.max_head_size {
                return Err(HandshakeError::HeadTooLarge(policy.max_head_size));
            }
            return Ok(None);
        }
        Err(httparse::Error::TooManyHeaders) => return Err(HandshakeError::HeadTooLarge(policy.max_head_size)),
        Err(e) => return Err(HandshakeError::Malformed(e.to_string())),
    };
    if head_len > policy.max_head_size {
        return Err(HandshakeError::HeadTooLarge(policy.max_head_size));
    }
    let accepted = validate(&req, policy)?;
    Ok(Some((accepted, head_len)))
}

fn validate(req: &httparse::Request<'_, '_>, policy: &HandshakePolicy) -> Result<Accepted, HandshakeError> {
    let method = req.method.unwrap_or_default();
    // RFC 6455 §4.2.1 item 1: the method MUST be GET
    if method != "GET" {
        return Err(HandshakeError::MethodNotGet(method.to_string()));
    }
    // RFC 6455 §4.2.1 item 1: HTTP/1.1 or higher
    if req.version != Some(1) {
        return Err(HandshakeError::HttpVersion);
    }
    let fields = Fields(req.headers);
    // RFC 6455 §4.2.1 item 2: a Host header field (RFC 7230 §5.4: exactly one)
    match fields.count("host") {
        0 => return Err(HandshakeError::MissingHost),
        1 => {}
        _ => return Err(HandshakeError::DuplicateHost),
    }
    if fields.values("host").any(|h| h.trim().is_empty()) {
        return Err(HandshakeError::MissingHost);
    }
    // RFC 7230 §5.4: a Host field with an invalid value gets 400
    if let Some(bad) = fields.values("host").find(|h| !valid_host(h.trim())) {
        return Err(HandshakeError::InvalidHost(bad.trim().to_string()));
    }
    // RFC 6455 §4.2.1 item 3: Upgrade contains "websocket", case-insensitively
    if !fields.has_token("upgrade", "websocket") {
        return Err(HandshakeError::UpgradeNotWebsocket);
    }
    // RFC 6455 §4.2.1 item 4: Connection contains the token "Upgrade"
    if !fields.has_token("connection", "upgrade") {
        return Err(HandshakeError::ConnectionNotUpgrade);
    }
    // RFC 6455 §4.2.1 item 6 and §4.4: version 13 only, else 426 naming it
    let mut versions = fields.values("sec-websocket-version");
    match (versions.next(), versions.next()) {
        (Some(v), None) if v.trim() == "13" => {}
        _ => return Err(HandshakeError::UnsupportedVersion),
    }
    // RFC 6455 §4.2.1 item 5: the key is base64 of 16 bytes (§11.3.1: one field only)
    let key = match fields.count("sec-websocket-key") {
        0 => return Err(HandshakeError::MissingKey),
        1 => fields.values("sec-websocket-key").next().unwrap_or_default().trim(),
        _ => return Err(HandshakeError::DuplicateKey),
    };
    match BASE64.decode(key) {
        Ok(raw) if raw.len() == 16 => {}
        _ => return Err(HandshakeError::InvalidKey),
    }
    // RFC 6455 §4.2.2 item 4 and §10.2: the server MAY refuse an origin with 403
    if !policy.allowed_origins.is_empty() {
        let allowed =
            fields.values("origin").any(|o| policy.allowed_origins.iter().any(|a| a.eq_ignore_ascii_case(o.trim())));
        if !allowed {
            return Err(HandshakeError::OriginNotAllowed);
        }
    }
    // RFC 6455 §4.2.2 item 5.4: only a subprotocol the client offered, or none
    let subprotocol = fields
        .tokens("sec-websocket-protocol")
        .find(|offered| policy.subprotocols.iter().any(|ours| ours == offered))
        .map(str::to_string);
    // RFC 7692 §5: accept the first permessage-deflate offer the server can honour, or none
    let deflate = policy.deflate.and_then(|config| negotiate(fields.values("sec-websocket-extensions"), &config));
    Ok(Accepted { accept: accept_key(key), subprotocol, path: req.path.unwrap_or("/").to_string(), deflate })
}

/// `base64(SHA-1(key + GUID))`, RFC 6455 §4.2.2 item 5.4.
pub fn accept_key(key: &str) -> String {
    let mut sha = Sha1::new();
    sha.update(key.as_bytes());
    sha.update(WEBSOCKET_GUID.as_bytes());
    BASE64.encode(sha.finalize())
}

/// The `101 Switching Protocols` response (§4.2.2 item 5).
pub fn response_101(accepted: &Accepted) -> Vec<u8> {
    let mut r = String::with_capacity(160);
    r.push_str(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ",
    );
    r.push_str(&accepted.accept);
    r.push_str("\r\n");
    if let Some(p) = &accepted.subprotocol {
        r.push_str("Sec-WebSocket-Protocol: ");
        r.push_str(p);
        r.push_str("\r\n");
    }
    if let Some(d) = &accepted.deflate {
        // RFC 6455 §4.2.2 item 5.6 and RFC 7692 §5: the accepted offer, with the agreed parameters
        r.push_str("Sec-WebSocket-Extensions: ");
        r.push_str(&d.response());
        r.push_str("\r\n");
    }
    r.push_str("Server: reference-server/");
    r.push_str(env!("CARGO_PKG_VERSION"));
    r.push_str("\r\n\r\n");
    r.into_bytes()
}

/// A refusal: the status of the error and a one-line body naming the rule.
pub fn response_error(error: &HandshakeError) -> Vec<u8> {
    let (code, text) = error.status();
    let body = format!("{error}\n");
    let mut r = format!(
        "HTTP/1.1 {code} {text}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    match error {
        // RFC 6455 §4.4: name the versions the server speaks
        HandshakeError::UnsupportedVersion => r.push_str("Sec-WebSocket-Version: 13\r\nUpgrade: websocket\r\n"),
        HandshakeError::TooManyConnections => r.push_str("Retry-After: 1\r\n"),
        _ => {}
    }
    r.push_str("\r\n");
    r.push_str(&body);
    r.into_bytes()
}

/// Header field look-ups, with case-insensitive names (RFC 7230 §3.2).
struct Fields<'h, 'b>(&'h [httparse::Header<'b>]);

impl<'h, 'b> Fields<'h, 'b> {
    fn values<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'b str> + 's {
        self.0
            .iter()
            .filter(move |h| h.name.eq_ignore_ascii_case(name))
            .map(|h| std::str::from_utf8(h.value).unwrap_or("\u{FFFD}"))
    }

    fn count(&self, name: &str) -> usize {
        self.values(name).count()
    }

    /// The comma-separated tokens of every field with this name (RFC 7230 §7).
    fn tokens<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'b str> + 's {
        self.values(name).flat_map(|v| v.split(',')).map(|t| t.trim_matches([' ', '\t'])).filter(|t| !t.is_empty())
    }

    fn has_token(&self, name: &str, token: &str) -> bool {
        self.tokens(name).any(|t| t.eq_ignore_ascii_case(token))
    }
}

/// `uri-host [ ":" port ]` (RFC 7230 §5.4, RFC 3986 §3.2.2): a reg-name or IPv4
/// address (unreserved, pct-encoded and sub-delims characters), or an IPv6 literal in brackets; digits for the port.
fn valid_host(value: &str) -> bool {
    let digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
    if let Some(rest) = value.strip_prefix('[') {
        let Some((literal, after)) = rest.split_once(']') else { return false };
        let literal_ok =
            !literal.is_empty() && literal.bytes().all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.');
        return literal_ok && (after.is_empty() || after.strip_prefix(':').is_some_and(digits));
    }
    let (host, port) = value.rsplit_once(':').unwrap_or((value, ""));
    let host_ok =
        !host.is_empty() && host.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~%!$&'()*+,;=".contains(&b));
    host_ok && digits(port)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> HandshakePolicy {
        HandshakePolicy {
            max_head_size: 16 * 1024,
            subprotocols: vec!["chat".into(), "v2.echo".into()],
            allowed_origins: vec![],
            deflate: Some(DeflateConfig::default()),
        }
    }

    const GOOD: &str = "GET /chat?x=1 HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

    fn with(replace: &str, by: &str) -> String {
        assert!(GOOD.contains(replace), "{replace}");
        GOOD.replacen(replace, by, 1)
    }

    fn check(req: &str) -> Result<Option<(Accepted, usize)>, HandshakeError> {
        parse_request(req.as_bytes(), &policy())
    }

    #[test]
    fn computes_the_rfc_example_accept_value() {
        // RFC 6455 §1.3
        assert_eq!(accept_key("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
        let (a, n) = check(GOOD).unwrap().unwrap();
        assert_eq!(n, GOOD.len());
        assert_eq!(a.accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
        assert_eq!(a.path, "/chat?x=1");
    }

    #[test]
    fn asks_for_more_until_the_head_is_complete() {
        for cut in 0..GOOD.len() {
            assert_eq!(check(&GOOD[..cut]), Ok(None), "cut {cut}");
        }
    }

    #[test]
    fn leaves_pipelined_bytes_after_the_head() {
        let mut bytes = GOOD.as_bytes().to_vec();
        bytes.extend_from_slice(&[0x81, 0x80, 1, 2, 3, 4]);
        let (_, n) = parse_request(&bytes, &policy()).unwrap().unwrap();
        assert_eq!(n, GOOD.len());
    }

    #[test]
    fn accepts_tokens_in_lists_and_any_case() {
        let r = with("Connection: Upgrade", "connection: keep-alive, UPGRADE");
        let r = r.replace("Upgrade: websocket", "UPGRADE: h2c, WebSocket");
        assert!(check(&r).unwrap().is_some());
    }

    #[test]
    fn refuses_each_broken_rule_with_its_status() {
        let cases: Vec<(String, HandshakeError, u16)> = vec![
            (with("GET", "POST"), HandshakeError::MethodNotGet("POST".into()), 400),
            (with("HTTP/1.1", "HTTP/1.0"), HandshakeError::HttpVersion, 400),
            (with("Host: server.example.com\r\n", ""), HandshakeError::MissingHost, 400),
            (with("Host: server.example.com\r\n", "Host: a\r\nHost: b\r\n"), HandshakeError::DuplicateHost, 400),
            (
                with("Host: server.example.com\r\n", "Host: 127.0.0.1:80 other.example\r\n"),
                HandshakeError::InvalidHost("127.0.0.1:80 other.example".into()),
                400,
            ),
            (with("Host: server.example.com\r\n", "Host: a:b\r\n"), HandshakeError::InvalidHost("a:b".into()), 400),
            (with("Upgrade: websocket", "Upgrade: h2c"), HandshakeError::UpgradeNotWebsocket, 400),
            (with("Upgrade: websocket\r\n", ""), HandshakeError::UpgradeNotWebsocket, 400),
            (with("Connection: Upgrade", "Connection: keep-alive"), HandshakeError::ConnectionNotUpgrade, 400),
            (with("Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n", ""), HandshakeError::MissingKey, 400),
            (with("dGhlIHNhbXBsZSBub25jZQ==", "dGhlIHNhbXBsZSBub25j"), HandshakeError::InvalidKey, 400),
            (with("dGhlIHNhbXBsZSBub25jZQ==", "not base64!!"), HandshakeError::InvalidKey, 400),
            (
                with(
                    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n",
                    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n",
                ),
                HandshakeError::DuplicateKey,
                400,
            ),
            (with("Version: 13", "Version: 8"), HandshakeError::UnsupportedVersion, 426),
            (with("Version: 13", "Version: 14"), HandshakeError::UnsupportedVersion, 426),
            (with("Sec-WebSocket-Version: 13\r\n", ""), HandshakeError::UnsupportedVersion, 426),
        ];
        for (req, err, status) in cases {
            assert_eq!(check(&req), Err(err.clone()), "{req}");
            assert_eq!(err.status().0, status);
        }
        assert!(matches!(check("GARBAGE\r\n\r\n"), Err(HandshakeError::Malformed(_))));
        // obs-fold is refused (RFC 7230 §3.2.4)
        assert!(check(&with("Upgrade: websocket\r\n", "Upgrade:\r\n websocket\r\n")).is_err());
    }

    #[test]
    fn refuses_a_head_over_the_limit_with_431() {
        let big = with("Host: server.example.com\r\n", &format!("Host: a\r\nX-Big: {}\r\n", "a".repeat(20_000)));
        assert_eq!(check(&big), Err(HandshakeError::HeadTooLarge(16 * 1024)));
        assert_eq!(check(&big[..17_000]), Err(HandshakeError::HeadTooLarge(16 * 1024)));
    }

    #[test]
    fn refuses_a_disallowed_origin_with_403() {
        let mut p = policy();
        p.allowed_origins = vec!["https://good.example".into()];
        let bad = with("Host: server.example.com\r\n", "Host: x\r\nOrigin: https://evil.example\r\n");
        assert_eq!(parse_request(bad.as_bytes(), &p), Err(HandshakeError::OriginNotAllowed));
        assert_eq!(parse_request(GOOD.as_bytes(), &p), Err(HandshakeError::OriginNotAllowed));
        let good = with("Host: server.example.com\r\n", "Host: x\r\nOrigin: https://GOOD.example\r\n");
        assert!(parse_request(good.as_bytes(), &p).unwrap().is_some());
    }

    #[test]
    fn picks_the_first_offered_subprotocol_we_speak_and_never_another() {
        let req = with(
            "Version: 13\r\n",
            "Version: 13\r\nSec-WebSocket-Protocol: mqtt, v2.echo\r\nSec-WebSocket-Protocol: chat\r\n",
        );
        assert_eq!(check(&req).unwrap().unwrap().0.subprotocol.as_deref(), Some("v2.echo"));
        let req = with("Version: 13\r\n", "Version: 13\r\nSec-WebSocket-Protocol: mqtt\r\n");
        assert_eq!(check(&req).unwrap().unwrap().0.subprotocol, None);
        let resp = String::from_utf8(response_101(&check(GOOD).unwrap().unwrap().0)).unwrap();
        assert!(!resp.contains("Sec-WebSocket-Protocol"));
        assert!(resp.starts_with("HTTP/1.1 101 Switching Protocols\r\n"));
    }

    #[test]
    fn the_426_response_names_version_13() {
        let r = String::from_utf8(response_error(&HandshakeError::UnsupportedVersion)).unwrap();
        assert!(r.starts_with("HTTP/1.1 426 Upgrade Required\r\n"));
        assert!(r.contains("\r\nSec-WebSocket-Version: 13\r\n"));
    }
}

#[cfg(test)]
mod host_tests {
    use super::valid_host;

    #[test]
    fn host_values_are_host_and_optional_port() {
        for ok in ["example.com", "localhost:9001", "127.0.0.1:80", "[::1]", "[::1]:9001", "xn--bcher-kva.example"] {
            assert!(valid_host(ok), "{ok}");
        }
        for bad in ["a b", "host:port", "[::1", "[::1]x", "[zz]:1", ":80", "a/b", "a@b"] {
            assert!(!valid_host(bad), "{bad}");
        }
    }
}
