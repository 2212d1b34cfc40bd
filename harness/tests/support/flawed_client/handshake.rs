//! The opening handshake, client side (RFC 6455 §4.1), with its flaws.
//!
//! [`request`] writes the opening request; [`check_response`] looks at the bytes received so far and says: wait
//! for more, upgrade (where the frames start), or refuse (the client fails the connection: it closes TCP without
//! sending a frame). The head is parsed with `httparse`; the checks run in the order of §4.1's list.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use wsharness::wire::accept_for;
use wsharness::wire::deflate::Negotiated;

use super::deflate;
use super::frame::Entropy;
use super::url::Target;
use super::{Flaw, Flaws, Settings};

/// The RFC's sample nonce (§1.3), sent by [`Flaw::FixedKey`].
pub(crate) const SAMPLE_KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

/// Most header fields a response may have.
const MAX_HEADERS: usize = 64;

/// Why the client failed the opening handshake.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The status is not 101 (RFC 6455 §4.1, check 1).
    Status(u16),
    /// No `Upgrade: websocket` (check 2).
    NoUpgrade,
    /// No Upgrade token in Connection (check 3).
    NoConnectionUpgrade,
    /// `Sec-WebSocket-Accept` missing, repeated or not base64(SHA-1(key + GUID)) (check 4).
    WrongAccept,
    /// An extension the client did not offer (check 5).
    UnofferedExtension,
    /// A subprotocol the client did not offer, or more than one (check 6).
    UnofferedSubprotocol,
    /// A permessage-deflate response that breaks RFC 7692 §7 (the client MUST fail the connection).
    DeflateResponse,
    /// Not an HTTP response.
    Malformed,
    /// A response head over [`Settings::max_head`].
    HeadTooLarge,
    /// The server closed TCP before the response head was complete.
    ClosedBeforeResponse,
    /// No complete response within [`Settings::handshake_timeout`].
    Timeout,
}

/// What to do with the bytes received so far.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// The response head is not complete yet.
    NeedMore,
    /// Upgraded: frames start at `head_len`; `extension`: the server accepted an offered extension other than
    /// permessage-deflate; `deflate`: what it accepted of permessage-deflate (RFC 7692 §7).
    Upgrade { head_len: usize, extension: bool, deflate: Option<Negotiated> },
    /// Fail the connection.
    Refuse(Refusal),
}

/// The `Sec-WebSocket-Key` of a connection: base64 of a fresh random 16-byte nonce (RFC 6455 §4.1 item 7).
pub(crate) fn key(flaws: &Flaws, entropy: &mut Entropy) -> String {
    if flaws.has(Flaw::FixedKey) {
        SAMPLE_KEY.to_owned()
    } else if flaws.has(Flaw::ShortKey) {
        BASE64.encode(entropy.bytes::<8>())
    } else {
        BASE64.encode(entropy.bytes::<16>())
    }
}

/// The opening request (RFC 6455 §4.1 items 1-11).
pub(crate) fn request(target: &Target, key: &str, flaws: &Flaws, settings: &Settings) -> Vec<u8> {
    let method = if flaws.has(Flaw::PostMethod) { "POST" } else { "GET" };
    let version = if flaws.has(Flaw::Http10) { "HTTP/1.0" } else { "HTTP/1.1" };
    let resource = if flaws.has(Flaw::DropsQuery) { target.path.clone() } else { target.resource() };
    let mut head = format!("{method} {resource} {version}\r\n");
    let mut field = |present: bool, name: &str, value: &str| {
        if present {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
    };
    field(!flaws.has(Flaw::NoHostHeader), "Host", &target.authority);
    field(!flaws.has(Flaw::NoUpgradeHeader), "Upgrade", "websocket");
    field(!flaws.has(Flaw::NoConnectionHeader), "Connection", "Upgrade");
    field(true, "Sec-WebSocket-Key", key);
    field(true, "Sec-WebSocket-Version", if flaws.has(Flaw::Version8) { "8" } else { "13" });
    field(!settings.protocols.is_empty(), "Sec-WebSocket-Protocol", &settings.protocols.join(", "));
    field(!settings.extensions.is_empty(), "Sec-WebSocket-Extensions", &settings.extensions.join(", "));
    head.push_str("\r\n");
    head.into_bytes()
}

/// Judges the response head in `buf` (RFC 6455 §4.1, the client's checks of the response).
pub(crate) fn check_response(buf: &[u8], key: &str, flaws: &Flaws, settings: &Settings) -> Verdict {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut response = httparse::Response::new(&mut headers);
    let head_len = match response.parse(buf) {
        Ok(httparse::Status::Complete(n)) if n <= settings.max_head => n,
        Ok(httparse::Status::Partial) if buf.len() <= settings.max_head => return Verdict::NeedMore,
        Ok(_) | Err(httparse::Error::TooManyHeaders) => return Verdict::Refuse(Refusal::HeadTooLarge),
        Err(_) => return Verdict::Refuse(Refusal::Malformed),
    };
    let fields = Fields(response.headers);
    let status = response.code.unwrap_or_default();
    let refusal = if status != 101 && !flaws.has(Flaw::AcceptsAnyStatus) {
        Some(Refusal::Status(status))
    } else if flaws.has(Flaw::ExactResponseHead) && !exact_head(&response) {
        Some(Refusal::Malformed)
    } else if !fields.has_token("Upgrade", "websocket") && !flaws.has(Flaw::IgnoresUpgradeHeader) {
        Some(Refusal::NoUpgrade)
    } else if !fields.has_token("Connection", "upgrade") && !flaws.has(Flaw::IgnoresConnectionHeader) {
        Some(Refusal::NoConnectionUpgrade)
    } else if !accept_matches(&fields, key) && !flaws.has(Flaw::IgnoresAccept) {
        Some(Refusal::WrongAccept)
    } else if !extensions_offered(&fields, settings) && !flaws.has(Flaw::AcceptsUnofferedExtension) {
        Some(Refusal::UnofferedExtension)
    } else if !protocol_offered(&fields, settings) && !flaws.has(Flaw::AcceptsUnofferedSubprotocol) {
        Some(Refusal::UnofferedSubprotocol)
    } else {
        None
    };
    if let Some(refusal) = refusal {
        return Verdict::Refuse(refusal);
    }
    let values: Vec<&str> = fields.values("Sec-WebSocket-Extensions").collect();
    let offers_deflate = settings.extensions.iter().any(|e| name(e) == "permessage-deflate");
    let deflate = match deflate::accepted(&settings.extensions, &values) {
        Ok(n) if offers_deflate => n,
        // RFC 7692 §7: a response that breaks the rules fails the connection (an extension not offered is
        // check 5, which its own flaw lets through)
        Err(()) if offers_deflate && !flaws.has(Flaw::AcceptsUnofferedExtension) => {
            return Verdict::Refuse(Refusal::DeflateResponse)
        }
        _ => None,
    };
    let extension =
        fields.elements("Sec-WebSocket-Extensions").any(|e| deflate.is_none() || name(e) != "permessage-deflate");
    Verdict::Upgrade { head_len, extension, deflate }
}

/// An extension element's name, lower-cased.
fn name(element: &str) -> String {
    element.split(';').next().unwrap_or_default().trim().to_ascii_lowercase()
}

/// Whether the head is spelled as [`Flaw::ExactResponseHead`] wants it: the usual reason phrase and the three
/// fields, in the usual case, and nothing else.
fn exact_head(response: &httparse::Response<'_, '_>) -> bool {
    let usual = |h: &httparse::Header<'_>| match h.name {
        "Upgrade" => h.value == b"websocket",
        "Connection" => h.value == b"Upgrade",
        "Sec-WebSocket-Accept" => true,
        _ => false,
    };
    response.reason == Some("Switching Protocols") && response.headers.iter().all(usual)
}

/// The response's header fields.
struct Fields<'h, 'b>(&'h [httparse::Header<'b>]);

impl Fields<'_, '_> {
    /// The values of every field with this name (case-insensitive), trimmed; values that are not UTF-8 are empty.
    fn values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |h| h.name.eq_ignore_ascii_case(name))
            .map(|h| std::str::from_utf8(h.value).unwrap_or_default().trim())
    }

    /// The comma-separated elements of every field with this name.
    fn elements<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.values(name).flat_map(|v| v.split(',')).map(str::trim).filter(|e| !e.is_empty())
    }

    /// Whether a field with this name lists `token` (case-insensitive).
    fn has_token(&self, name: &str, token: &str) -> bool {
        self.elements(name).any(|e| e.eq_ignore_ascii_case(token))
    }
}

/// Exactly one `Sec-WebSocket-Accept`, equal to base64(SHA-1(key + GUID)) (check 4; §11.3.3: once).
fn accept_matches(fields: &Fields, key: &str) -> bool {
    let values: Vec<&str> = fields.values("Sec-WebSocket-Accept").collect();
    matches!(values[..], [value] if value == accept_for(key))
}

/// Every extension in the response is one the client offered, by name (check 5).
fn extensions_offered(fields: &Fields, settings: &Settings) -> bool {
    let offered: Vec<String> = settings.extensions.iter().map(|e| name(e)).collect();
    fields.elements("Sec-WebSocket-Extensions").all(|e| offered.contains(&name(e)))
}

/// No subprotocol in the response, or exactly one the client offered (check 6).
fn protocol_offered(fields: &Fields, settings: &Settings) -> bool {
    let values: Vec<&str> = fields.values("Sec-WebSocket-Protocol").collect();
    match values[..] {
        [] => true,
        [value] => settings.protocols.iter().any(|p| p == value),
        _ => false,
    }
}
