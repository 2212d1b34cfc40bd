//! Negotiating permessage-deflate (RFC 7692 §5, §7.1) from the client's
//! `Sec-WebSocket-Extensions` offers, written in the grammar of RFC 6455 §9.1.
//!
//! Every offer is taken in order, across all the header fields; the first one
//! the server can honour is accepted and the others are declined. An offer it
//! cannot honour (an unknown or repeated parameter, a value out of range, a
//! syntax error) is declined and the next one tried; if none is acceptable the
//! connection opens without the extension (§5.1: the server declines by not
//! listing it). A malformed extension field never refuses the handshake: the
//! extension is optional and the client can live without it.

/// The extension's name (§7).
const NAME: &str = "permessage-deflate";

/// The smallest LZ77 window a peer may ask for, 2^8 bytes (§7.1.2).
pub const MIN_WINDOW_BITS: u8 = 8;
/// The largest LZ77 window, 2^15 bytes (§7.1.2), the default without parameters.
pub const MAX_WINDOW_BITS: u8 = 15;

/// The server's side of the negotiation: what it prefers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeflateConfig {
    /// The largest window the server compresses with, 9 to 15 (zlib cannot
    /// compress with 8); an offer asking for less is honoured. Default 15.
    pub server_max_window_bits: u8,
    /// The window the server asks the client to stay within, 9 to 15, when the
    /// offer allows asking (it carries `client_max_window_bits`). Default 15.
    pub client_max_window_bits: u8,
    /// Compress each message on its own even if the client does not ask (announced). Default off.
    pub server_no_context_takeover: bool,
    /// Ask the client to compress each message on its own. Default off.
    pub client_no_context_takeover: bool,
    /// zlib level of what the server compresses, 0 (stored) to 9. Default 1: an echo server's time goes
    /// into deflate, and level 1 compresses several times faster than zlib's default 6 for a few percent
    /// more bytes (measured in `ci/deflate_timing.py`).
    pub level: u8,
}

impl Default for DeflateConfig {
    fn default() -> Self {
        DeflateConfig {
            server_max_window_bits: MAX_WINDOW_BITS,
            client_max_window_bits: MAX_WINDOW_BITS,
            server_no_context_takeover: false,
            client_no_context_takeover: false,
            level: DEFAULT_LEVEL,
        }
    }
}

/// The zlib level the server compresses with unless told otherwise.
pub const DEFAULT_LEVEL: u8 = 1;

/// The agreed parameters of an accepted offer (§7.1), and the response that says so.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Agreed {
    /// The server resets its compression context after each message (§7.1.1.1).
    pub server_no_context_takeover: bool,
    /// The client resets its compression context after each message (§7.1.1.2).
    pub client_no_context_takeover: bool,
    /// The window the server compresses with, 8 to 15 (§7.1.2.1).
    pub server_max_window_bits: u8,
    /// The largest window the client may compress with, 8 to 15 (§7.1.2.2).
    pub client_max_window_bits: u8,
    /// The zlib level the server compresses with (the server's choice, not negotiated).
    pub level: u8,
    /// Whether the response lists `server_max_window_bits` (only to answer an offer that has it).
    announce_server_window: bool,
    /// Whether the response lists `client_max_window_bits` (only if the offer has it).
    announce_client_window: bool,
}

impl Agreed {
    /// The `Sec-WebSocket-Extensions` value of the 101 response (§7.1).
    pub fn response(&self) -> String {
        let mut r = String::from(NAME);
        if self.server_no_context_takeover {
            r.push_str("; server_no_context_takeover");
        }
        if self.client_no_context_takeover {
            r.push_str("; client_no_context_takeover");
        }
        if self.announce_server_window {
            r.push_str(&format!("; server_max_window_bits={}", self.server_max_window_bits));
        }
        if self.announce_client_window {
            r.push_str(&format!("; client_max_window_bits={}", self.client_max_window_bits));
        }
        r
    }
}

/// The parameters of one permessage-deflate offer (§7.1).
#[derive(Debug, Default)]
struct Offer {
    server_no_context_takeover: bool,
    client_no_context_takeover: bool,
    server_max_window_bits: Option<u8>,
    /// `Some(None)`: the parameter without a value (the client supports it, §7.1.2.2).
    client_max_window_bits: Option<Option<u8>>,
}

/// Picks the first permessage-deflate offer the server can honour among the
/// values of every `Sec-WebSocket-Extensions` field, in order. `None`: decline
/// the extension (open the connection without it).
pub fn negotiate<'a>(fields: impl IntoIterator<Item = &'a str>, config: &DeflateConfig) -> Option<Agreed> {
    fields
        .into_iter()
        .flat_map(|v| split_outside_quotes(v, b','))
        .filter(|element| !element.trim_matches(OWS).is_empty())
        .filter_map(parse_extension)
        .filter(|(name, _)| name.eq_ignore_ascii_case(NAME))
        .find_map(|(_, params)| parse_offer(&params))
        .map(|offer| accept(&offer, config))
}

/// The agreed parameters for an offer the server honours.
fn accept(offer: &Offer, config: &DeflateConfig) -> Agreed {
    let ours = config.server_max_window_bits.clamp(MIN_WINDOW_BITS + 1, MAX_WINDOW_BITS);
    // RFC 7692 §7.1.2.1: answer server_max_window_bits with the same or a smaller value; without it, any window is fine
    let server_window = offer.server_max_window_bits.map_or(ours, |asked| asked.min(ours));
    // RFC 7692 §7.1.2.2: client_max_window_bits may be listed only if the offer has it, at most its value
    let (client_window, announce_client_window) = match offer.client_max_window_bits {
        None => (MAX_WINDOW_BITS, false),
        Some(value) => {
            let limit = value.unwrap_or(MAX_WINDOW_BITS);
            let w = limit.min(config.client_max_window_bits.clamp(MIN_WINDOW_BITS + 1, MAX_WINDOW_BITS));
            (w, value.is_some() || w < MAX_WINDOW_BITS)
        }
    };
    Agreed {
        // RFC 7692 §7.1.1.1: the server MAY list server_no_context_takeover even if not offered
        server_no_context_takeover: offer.server_no_context_takeover || config.server_no_context_takeover,
        // RFC 7692 §7.1.1.2: the server MAY list client_no_context_takeover; offered, it is the client's promise
        client_no_context_takeover: offer.client_no_context_takeover || config.client_no_context_takeover,
        server_max_window_bits: server_window,
        client_max_window_bits: client_window,
        level: config.level.min(9),
        announce_server_window: offer.server_max_window_bits.is_some(),
        announce_client_window,
    }
}

/// The parameters of a permessage-deflate offer, or `None` to decline it (§7).
fn parse_offer(params: &[Param<'_>]) -> Option<Offer> {
    let mut offer = Offer::default();
    let mut seen = [false; 4];
    for (name, value) in params {
        let index = [
            "server_no_context_takeover",
            "client_no_context_takeover",
            "server_max_window_bits",
            "client_max_window_bits",
        ]
        .iter()
        .position(|known| name.eq_ignore_ascii_case(known))?; // RFC 7692 §7: decline an unknown parameter
                                                              // RFC 7692 §7: decline an offer with two parameters of the same name
        if std::mem::replace(&mut seen[index], true) {
            return None;
        }
        match (index, value) {
            // RFC 7692 §7.1.1: the no_context_takeover parameters have no value
            (0, None) => offer.server_no_context_takeover = true,
            (1, None) => offer.client_no_context_takeover = true,
            // RFC 7692 §7.1.2.1: server_max_window_bits needs a value
            (2, Some(v)) => offer.server_max_window_bits = Some(window_bits(v)?),
            // RFC 7692 §7.1.2.2: client_max_window_bits may come without a value
            (3, None) => offer.client_max_window_bits = Some(None),
            (3, Some(v)) => offer.client_max_window_bits = Some(Some(window_bits(v)?)),
            _ => return None,
        }
    }
    Some(offer)
}

/// A window size value: a decimal integer 8 to 15 without leading zeros (§7.1.2.1, §7.1.2.2).
fn window_bits(value: &str) -> Option<u8> {
    if value.is_empty() || value.len() > 2 || !value.bytes().all(|b| b.is_ascii_digit()) || value.starts_with('0') {
        return None;
    }
    let bits: u8 = value.parse().ok()?;
    (MIN_WINDOW_BITS..=MAX_WINDOW_BITS).contains(&bits).then_some(bits)
}

/// Optional white space (RFC 7230 §3.2.3).
const OWS: [char; 2] = [' ', '\t'];

/// An extension parameter: its name and its value, unescaped if it was a quoted-string.
type Param<'a> = (&'a str, Option<String>);

/// `extension = extension-token *( ";" extension-param )` (RFC 6455 §9.1):
/// the name and the parameters, quoted values unescaped; `None` on a syntax error.
fn parse_extension(element: &str) -> Option<(&str, Vec<Param<'_>>)> {
    let mut parts = split_outside_quotes(element, b';');
    let name = parts.next()?.trim_matches(OWS);
    if !is_token(name) {
        return None;
    }
    let mut params = Vec::new();
    for part in parts {
        // RFC 6455 §9.1: extension-param = token [ "=" (token | quoted-string) ]
        let (pname, value) = match part.split_once('=') {
            None => (part.trim_matches(OWS), None),
            Some((n, v)) => (n.trim_matches(OWS), Some(param_value(v.trim_matches(OWS))?)),
        };
        if !is_token(pname) {
            return None;
        }
        params.push((pname, value));
    }
    Some((name, params))
}

/// A token, or a quoted-string whose unescaped value MUST be a token (RFC 6455 §9.1).
fn param_value(raw: &str) -> Option<String> {
    let value = match raw.strip_prefix('"') {
        None => raw.to_string(),
        Some(rest) => {
            let inner = rest.strip_suffix('"')?;
            let mut out = String::with_capacity(inner.len());
            let mut chars = inner.chars();
            while let Some(c) = chars.next() {
                match c {
                    // RFC 7230 §3.2.6: quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text )
                    '\\' => out.push(chars.next()?),
                    '"' => return None,
                    c => out.push(c),
                }
            }
            out
        }
    };
    is_token(&value).then_some(value)
}

/// `token = 1*tchar` (RFC 7230 §3.2.6).
fn is_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// Splits at `sep` outside quoted-strings (a backslash escapes the next byte
/// inside one). An unterminated quoted-string runs to the end, so its element
/// fails to parse instead of swallowing the separators silently.
fn split_outside_quotes(s: &str, sep: u8) -> impl Iterator<Item = &str> {
    let bytes = s.as_bytes();
    let (mut start, mut i, mut quoted) = (0, 0, false);
    std::iter::from_fn(move || {
        if start > bytes.len() {
            return None;
        }
        while i < bytes.len() {
            match bytes[i] {
                b'\\' if quoted => i += 1,
                b'"' => quoted = !quoted,
                b if b == sep && !quoted => {
                    // ok: `sep` is ASCII, so both ends are char boundaries
                    let part = &s[start..i];
                    i += 1;
                    start = i;
                    return Some(part);
                }
                _ => {}
            }
            i += 1;
        }
        let part = s.get(start..).unwrap_or("");
        start = bytes.len() + 1;
        Some(part)
    })
}

#[cfg(test)]
mod tests;
