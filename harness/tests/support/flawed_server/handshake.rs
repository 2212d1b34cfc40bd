//! The opening handshake, server side (RFC 6455 §4.2.1, §4.2.2, §4.4), with its flaws.
//!
//! [`answer`] looks at the bytes received so far and says: wait for more, upgrade
//! (with the 101 response and where the frames start), or refuse (with the
//! 400/426/431 response). The checks run in the order of §4.2.1.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use sha1::{Digest, Sha1};
use wsharness::wire::accept_for;

use super::{Flaw, Flaws, Settings};

/// Most header fields a request may have (more gets 431).
const MAX_HEADERS: usize = 64;

/// What to do with the bytes received so far.
#[derive(Debug)]
pub(crate) enum Answer {
    /// The request head is not complete yet.
    NeedMore,
    /// Write `response`; the bytes from `head_len` on are the first frames.
    Upgrade { response: Vec<u8>, head_len: usize },
    /// Write `response`, then close.
    Refuse { response: Vec<u8> },
}

pub(crate) fn answer(buf: &[u8], flaws: &Flaws, settings: &Settings) -> Answer {
    let too_large = |len: usize| len > settings.max_head && !flaws.has(Flaw::NoHeadSizeLimit);
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    let head_len = match req.parse(buf) {
        Ok(httparse::Status::Complete(n)) if !too_large(n) => n,
        Ok(httparse::Status::Partial) if !too_large(buf.len()) => return Answer::NeedMore,
        // RFC 6585 §5: a head over the limit gets 431
        Ok(_) | Err(httparse::Error::TooManyHeaders) => {
            return refuse(431, "Request Header Fields Too Large", "request head too large", &[])
        }
        Err(_) => return refuse(400, "Bad Request", "malformed request", &[]),
    };
    match validate(&req, flaws, settings) {
        Ok(response) => Answer::Upgrade { response, head_len },
        Err(refusal) => refusal,
    }
}

fn validate(req: &httparse::Request<'_, '_>, flaws: &Flaws, settings: &Settings) -> Result<Vec<u8>, Answer> {
    let bad = |why: &str| refuse(400, "Bad Request", why, &[]);
    let fields = Fields(req.headers);
    // RFC 6455 §4.2.1 item 1: GET, HTTP/1.1 or higher
    if req.method != Some("GET") && !flaws.has(Flaw::AcceptsBadMethod) {
        return Err(bad("method is not GET"));
    }
    if req.version != Some(1) && !flaws.has(Flaw::AcceptsHttp10) {
        return Err(bad("HTTP version is not 1.1"));
    }
    // RFC 6455 §4.2.1 item 2: a Host field (RFC 7230 §5.4: exactly one)
    let hosts: Vec<&str> = fields.values("host").collect();
    let one_host = matches!(hosts[..], [host] if !host.trim().is_empty());
    if !one_host && !flaws.has(Flaw::AcceptsMissingHost) {
        return Err(bad("no single non-empty Host field"));
    }
    // RFC 6455 §4.2.1 items 3 and 4: Upgrade names websocket, Connection has the Upgrade token
    if !fields.has_token("upgrade", "websocket") && !flaws.has(Flaw::AcceptsMissingUpgrade) {
        return Err(bad("Upgrade does not name websocket"));
    }
    if !fields.has_token("connection", "upgrade") && !flaws.has(Flaw::AcceptsMissingConnection) {
        return Err(bad("Connection lacks the Upgrade token"));
    }
    // RFC 6455 §4.2.1 item 6, §4.4: version 13 only, else 426 naming the version we speak
    let versions: Vec<&str> = fields.values("sec-websocket-version").map(str::trim).collect();
    if versions != ["13"] && !flaws.has(Flaw::AcceptsAnyVersion) {
        let named: &[(&str, &str)] =
            if flaws.has(Flaw::Version426WithoutVersionHeader) { &[] } else { &[("Sec-WebSocket-Version", "13")] };
        return Err(refuse(426, "Upgrade Required", "unsupported WebSocket version", named));
    }
    // RFC 6455 §4.2.1 item 5: one key (§11.3.1), base64 of 16 bytes
    let keys: Vec<&str> = fields.values("sec-websocket-key").map(str::trim).collect();
    let key = match keys[..] {
        [] if flaws.has(Flaw::AcceptsMissingKey) => "",
        [] => return Err(bad("no Sec-WebSocket-Key")),
        [key] => key,
        [key, ..] if flaws.has(Flaw::AcceptsDuplicateKey) => key,
        [..] => return Err(bad("more than one Sec-WebSocket-Key")),
    };
    let valid_key = BASE64.decode(key).is_ok_and(|raw| raw.len() == 16);
    let excused = flaws.has(Flaw::AcceptsInvalidKey) || (keys.is_empty() && flaws.has(Flaw::AcceptsMissingKey));
    if !valid_key && !excused {
        return Err(bad("Sec-WebSocket-Key is not base64 of 16 bytes"));
    }
    // RFC 6455 §4.2.2 item 5.5: the first offered subprotocol we speak, or none
    let offered: Vec<&str> = fields.tokens("sec-websocket-protocol").collect();
    let mut subprotocol = offered.iter().find(|p| settings.subprotocols.iter().any(|ours| ours == *p)).copied();
    if flaws.has(Flaw::PicksUnofferedSubprotocol) {
        subprotocol = subprotocol.or(settings.subprotocols.first().map(String::as_str));
    }
    Ok(response_101(key, subprotocol, flaws))
}

/// The 101 response (RFC 6455 §4.2.2 item 5), as broken as the flaws say.
fn response_101(key: &str, subprotocol: Option<&str>, flaws: &Flaws) -> Vec<u8> {
    let accept = if flaws.has(Flaw::WrongAcceptKey) { BASE64.encode(Sha1::digest(key)) } else { accept_for(key) };
    let mut r = String::from(if flaws.has(Flaw::Status200Instead101) {
        "HTTP/1.1 200 OK\r\n"
    } else if flaws.has(Flaw::RespondsWithHttp10) {
        "HTTP/1.0 101 Switching Protocols\r\n"
    } else {
        "HTTP/1.1 101 Switching Protocols\r\n"
    });
    if !flaws.has(Flaw::NoUpgradeHeader) {
        r.push_str("Upgrade: websocket\r\n");
    }
    if !flaws.has(Flaw::NoConnectionHeader) {
        r.push_str("Connection: Upgrade\r\n");
    }
    let accept_fields = if flaws.has(Flaw::RepeatsAcceptHeader) { 2 } else { 1 };
    for _ in 0..accept_fields {
        r.push_str(&format!("Sec-WebSocket-Accept: {accept}\r\n"));
    }
    if let Some(protocol) = subprotocol {
        let protocol_fields = if flaws.has(Flaw::RepeatsProtocolHeader) { 2 } else { 1 };
        for _ in 0..protocol_fields {
            r.push_str(&format!("Sec-WebSocket-Protocol: {protocol}\r\n"));
        }
    }
    if flaws.has(Flaw::SendsUnofferedExtension) {
        r.push_str("Sec-WebSocket-Extensions: permessage-deflate\r\n");
    }
    r.push_str("\r\n");
    r.into_bytes()
}

/// A refusal with a one-line body saying why, and `Connection: close`.
fn refuse(status: u16, reason: &str, why: &str, fields: &[(&str, &str)]) -> Answer {
    let mut r = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n",
        why.len() + 1
    );
    for (name, value) in fields {
        r.push_str(&format!("{name}: {value}\r\n"));
    }
    r.push_str(&format!("\r\n{why}\n"));
    Answer::Refuse { response: r.into_bytes() }
}

/// Header field look-ups, names case-insensitive (RFC 7230 §3.2).
struct Fields<'h, 'b>(&'h [httparse::Header<'b>]);

impl<'b> Fields<'_, 'b> {
    fn values<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'b str> + 's {
        self.0
            .iter()
            .filter(move |h| h.name.eq_ignore_ascii_case(name))
            .map(|h| std::str::from_utf8(h.value).unwrap_or("\u{FFFD}"))
    }

    /// The comma-separated tokens of every field with this name (RFC 7230 §7).
    fn tokens<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'b str> + 's {
        self.values(name).flat_map(|v| v.split(',')).map(str::trim).filter(|t| !t.is_empty())
    }

    fn has_token(&self, name: &str, token: &str) -> bool {
        self.tokens(name).any(|t| t.eq_ignore_ascii_case(token))
    }
}
