//! The opening handshake, server side (RFC 6455 §4.2.1, §4.2.2, §4.4), with its flaws.
//!
//! [`answer`] looks at the bytes received so far and says: wait for more, upgrade
//! (with the 101 response and where the frames start), refuse (with the
//! 400/404/426/431 response), or, for the flaws that do so, drop the connection
//! or crash. The head is parsed with `httparse` (RFC 7230 grammar); the flaws that
//! misread the head either rewrite it before parsing (the way a line-based parser
//! reads it) or look at the fields differently. The checks run in the order of §4.2.1.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use sha1::{Digest, Sha1};
use wsharness::wire::accept_for;

use super::deflate::{self, Agreement};
use super::{Flaw, Flaws, Settings};

/// Most header fields a request may have (more gets 431).
const MAX_HEADERS: usize = 64;
/// Fields a request may have under [`Flaw::FixedFieldTable`].
const FIELD_TABLE: usize = 8;

/// What to do with the bytes received so far.
#[derive(Debug)]
pub(crate) enum Answer {
    /// The request head is not complete yet.
    NeedMore,
    /// Write `response`; the bytes from `head_len` on are the first frames; `deflate`: permessage-deflate
    /// was accepted with these parameters.
    Upgrade { response: Vec<u8>, head_len: usize, deflate: Option<Agreement> },
    /// Write `response`, then close.
    Refuse { response: Vec<u8> },
    /// Close TCP without a response.
    Drop,
    /// Take the whole server down.
    Crash,
}

pub(crate) fn answer(buf: &[u8], flaws: &Flaws, settings: &Settings) -> Answer {
    // RFC 7230 §3.5: a server SHOULD ignore an empty line before the request line (httparse does)
    if flaws.has(Flaw::RejectsLeadingEmptyLine) && (buf.starts_with(b"\r\n") || buf.starts_with(b"\n")) {
        return bad_request("empty line before the request line");
    }
    let too_large = |len: usize| len > settings.max_head && !flaws.has(Flaw::NoHeadSizeLimit);
    // the flaws of a line-based reader see other bytes than were sent
    let rewritten;
    let (parsed, raw_head_len) = if rewrites_head(flaws) {
        match head_end(buf) {
            Some(end) => {
                rewritten = rewrite_head(&buf[..end], flaws);
                (&rewritten[..], Some(end))
            }
            None if too_large(buf.len()) => (buf, None),
            None => return Answer::NeedMore,
        }
    } else {
        (buf, None)
    };
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    let head_len = match req.parse(parsed) {
        Ok(httparse::Status::Complete(n)) if !too_large(n) => raw_head_len.unwrap_or(n),
        Ok(httparse::Status::Partial) if !too_large(parsed.len()) => return Answer::NeedMore,
        Ok(_) | Err(httparse::Error::TooManyHeaders) if flaws.has(Flaw::CrashesOnOversizedHead) => {
            return Answer::Crash
        }
        // RFC 6585 §5: a head over the limit gets 431
        Ok(_) | Err(httparse::Error::TooManyHeaders) => {
            return refuse(431, "Request Header Fields Too Large", "request head too large", &[])
        }
        Err(_) if flaws.has(Flaw::ClosesWithoutResponseOnMalformedRequest) => return Answer::Drop,
        // RFC 7230 §3.2.4: whitespace before a colon, obs-fold and other malformed heads get 400
        Err(_) => return bad_request("malformed request"),
    };
    let fields = Fields::new(parsed, req.headers, flaws);
    match validate(&req, &fields, flaws, settings) {
        Ok((response, deflate)) => Answer::Upgrade { response, head_len, deflate },
        Err(refusal) => refusal,
    }
}

/// A 400 refusal saying why.
pub(crate) fn bad_request(why: &str) -> Answer {
    refuse(400, "Bad Request", why, &[])
}

fn validate(
    req: &httparse::Request<'_, '_>,
    fields: &Fields,
    flaws: &Flaws,
    settings: &Settings,
) -> Result<(Vec<u8>, Option<Agreement>), Answer> {
    let bad = |why: &str| Err(bad_request(why));
    // RFC 6455 §4.2.1 item 1: GET (RFC 7231 §4.1: case-sensitive), HTTP/1.1 or higher
    let method = req.method.unwrap_or_default();
    let get = method == "GET" || (flaws.has(Flaw::MethodCaseInsensitive) && method.eq_ignore_ascii_case("GET"));
    if !get && !flaws.has(Flaw::AcceptsBadMethod) {
        return bad("method is not GET");
    }
    if req.version != Some(1) && !flaws.has(Flaw::AcceptsHttp10) {
        return bad("HTTP version is not 1.1");
    }
    // RFC 6455 §4.2.1 item 1, RFC 7230 §5.3: origin-form or absolute-form, any query
    let target = req.path.unwrap_or_default();
    if flaws.has(Flaw::RejectsAbsoluteForm) && !target.starts_with('/') {
        return bad("request target does not start with /");
    }
    if flaws.has(Flaw::RejectsQueryString) && target.contains('?') {
        return Err(refuse(404, "Not Found", "no such resource", &[]));
    }
    if flaws.has(Flaw::FixedFieldTable) && fields.0.len() > FIELD_TABLE {
        return bad("too many header fields");
    }
    if flaws.has(Flaw::ExpectsFixedFieldOrder) && !fields.0.first().is_some_and(|f| f.name.eq_ignore_ascii_case("host"))
    {
        return bad("Host is not the first field");
    }
    // RFC 6455 §4.2.1 item 2: a Host field (RFC 7230 §5.4: exactly one, with a valid value)
    let hosts: Vec<&str> = fields.values("Host").map(str::trim).collect();
    match hosts[..] {
        [host] if !host.is_empty() => {
            if !valid_host(host) && !flaws.has(Flaw::AcceptsInvalidHostValue) {
                return bad("Host is not host[:port]");
            }
        }
        _ if flaws.has(Flaw::AcceptsMissingHost) => {}
        _ => return bad("no single non-empty Host field"),
    }
    // RFC 6455 §4.2.1 item 3: Upgrade names websocket (ASCII case-insensitive)
    let websocket = |t: &str| {
        if flaws.has(Flaw::CaseSensitiveUpgradeValue) {
            t == "websocket"
        } else {
            t.eq_ignore_ascii_case("websocket")
        }
    };
    if !fields.tokens("Upgrade").any(websocket) && !flaws.has(Flaw::AcceptsMissingUpgrade) {
        return bad("Upgrade does not name websocket");
    }
    // RFC 6455 §4.2.1 item 4: Connection has the Upgrade token, in any of its fields (RFC 7230 §7)
    let connection = if flaws.has(Flaw::ConnectionMustBeUpgrade) {
        fields.values("Connection").next() == Some("Upgrade")
    } else {
        fields.tokens("Connection").any(|t| t.eq_ignore_ascii_case("upgrade"))
    };
    if !connection && !flaws.has(Flaw::AcceptsMissingConnection) {
        return bad("Connection lacks the Upgrade token");
    }
    // RFC 6455 §4.2.1 item 6, §4.4: version 13 only, else 426 naming the version we speak
    let versions: Vec<&str> = fields.values("Sec-WebSocket-Version").map(str::trim).collect();
    if versions != ["13"] && !flaws.has(Flaw::AcceptsAnyVersion) {
        let named: &[(&str, &str)] =
            if flaws.has(Flaw::Version426WithoutVersionHeader) { &[] } else { &[("Sec-WebSocket-Version", "13")] };
        return Err(refuse(426, "Upgrade Required", "unsupported WebSocket version", named));
    }
    // RFC 6455 §4.2.1 item 5: one key (§11.3.1), base64 of 16 bytes
    let keys: Vec<&str> = fields.values("Sec-WebSocket-Key").collect();
    let key = match keys[..] {
        [] if flaws.has(Flaw::AcceptsMissingKey) => "",
        [] => return bad("no Sec-WebSocket-Key"),
        [key] => key,
        [key, ..] if flaws.has(Flaw::AcceptsDuplicateKey) => key,
        [..] => return bad("more than one Sec-WebSocket-Key"),
    };
    let valid_key = BASE64.decode(key).is_ok_and(|raw| raw.len() == 16);
    let excused = flaws.has(Flaw::AcceptsInvalidKey) || (keys.is_empty() && flaws.has(Flaw::AcceptsMissingKey));
    if !valid_key && !excused {
        return bad("Sec-WebSocket-Key is not base64 of 16 bytes");
    }
    // RFC 6455 §4.2.2 item 4: the first offered subprotocol we speak, or none
    let offered: Vec<&str> = fields.tokens("Sec-WebSocket-Protocol").collect();
    let mut subprotocol =
        offered.iter().find(|p| settings.subprotocols.iter().any(|ours| ours == *p)).map(|p| p.to_string());
    if flaws.has(Flaw::PicksUnofferedSubprotocol) {
        subprotocol = subprotocol.or(settings.subprotocols.first().cloned());
    }
    if flaws.has(Flaw::EchoesOfferedSubprotocols) && !offered.is_empty() {
        subprotocol = Some(fields.values("Sec-WebSocket-Protocol").collect::<Vec<_>>().join(", "));
    }
    // RFC 6455 §9.1: permessage-deflate is the one extension implemented
    let offers: Vec<&str> = fields.values("Sec-WebSocket-Extensions").collect();
    let (extensions, deflate) = if flaws.has(Flaw::SendsUnofferedExtension) {
        (Some("permessage-deflate".to_owned()), None)
    } else if flaws.has(Flaw::EchoesOfferedExtensions) && !offers.is_empty() {
        (Some(offers.join(", ")), None)
    } else {
        deflate_answer(&offers, flaws)?
    };
    Ok((response_101(key, subprotocol.as_deref(), extensions.as_deref(), flaws), deflate))
}

/// The answer to permessage-deflate offers (RFC 7692), and what it agreed on. Without a flaw the first offer
/// the fixture takes exactly as it likes is accepted ([`deflate::accept`]), else all are declined, which RFC 7692
/// §7 always allows. Each negotiation flaw accepts the first offer in a way that breaks one rule; the cases that
/// catch them end before any message is sent, so those connections compress nothing.
fn deflate_answer(offers: &[&str], flaws: &Flaws) -> Result<(Option<String>, Option<Agreement>), Answer> {
    let elements: Vec<Vec<&str>> = offers
        .iter()
        .flat_map(|o| o.split(','))
        .map(|e| e.split(';').map(str::trim).collect::<Vec<_>>())
        .filter(|params| params.first().is_some_and(|n| n.eq_ignore_ascii_case("permessage-deflate")))
        .collect();
    let Some(first) = elements.first() else { return Ok((None, None)) };
    let window_8 = elements.iter().flatten().any(|p| p.replace(' ', "") == "server_max_window_bits=8");
    if flaws.has(Flaw::DeflateRefusesWindow8) && window_8 {
        return Err(refuse(500, "Internal Server Error", "zlib refuses a raw deflate window of 8", &[]));
    }
    if flaws.has(Flaw::DeflateAcceptsEveryOffer) {
        return Ok((Some(vec!["permessage-deflate"; elements.len()].join(", ")), None));
    }
    if flaws.has(Flaw::DeflateIgnoresParameters) {
        return Ok((Some("permessage-deflate".to_owned()), None));
    }
    let (client_15, server_15) = (flaws.has(Flaw::DeflateAlwaysClientWindow15), flaws.has(Flaw::DeflateServerWindow15));
    if !client_15 && !server_15 {
        return Ok(match deflate::accept(&elements) {
            Some((answer, agreed)) => (Some(answer), Some(agreed)),
            None => (None, None),
        });
    }
    // the first offer accepted as it should be, but for the flawed window
    let mut answer = String::from("permessage-deflate");
    for param in &first[1..] {
        let name = param.split('=').next().unwrap_or_default().trim();
        match name {
            "server_no_context_takeover" | "client_no_context_takeover" => answer.push_str(&format!("; {name}")),
            "server_max_window_bits" if server_15 => answer.push_str("; server_max_window_bits=15"),
            "server_max_window_bits" => answer.push_str(&format!("; {param}")),
            _ => {}
        }
    }
    if client_15 {
        answer.push_str("; client_max_window_bits=15");
    }
    Ok((Some(answer), None))
}

/// Whether a Host value is `uri-host [ ":" port ]` (RFC 7230 §5.4, RFC 3986 §3.2.2): an IPv6 literal in
/// brackets, or an IPv4 address or name made of unreserved, percent-encoded and sub-delim characters; the
/// port, if any, all digits.
fn valid_host(value: &str) -> bool {
    // the port follows the last colon that is not inside the brackets of an IP literal
    let (host, port) = match value.rfind(':') {
        Some(colon) if !value[colon..].contains(']') => (&value[..colon], &value[colon + 1..]),
        _ => (value, ""),
    };
    let host_ok = match host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        Some(literal) => {
            !literal.is_empty() && literal.bytes().all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.')
        }
        None => !host.is_empty() && host.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~%!$&'()*+,;=".contains(&b)),
    };
    host_ok && port.bytes().all(|b| b.is_ascii_digit())
}

/// Whether a flaw rewrites the head before it is parsed.
fn rewrites_head(flaws: &Flaws) -> bool {
    flaws.has(Flaw::TrimsSpaceBeforeColon) || flaws.has(Flaw::ObsFoldAsNewField)
}

/// The length of the head (through the empty line), once it is complete.
fn head_end(buf: &[u8]) -> Option<usize> {
    buf.windows(4).position(|w| w == b"\r\n\r\n").map(|at| at + 4)
}

/// The head as a reader that splits lines and trims them too eagerly sees it: a folded line
/// ([`Flaw::ObsFoldAsNewField`]) or whitespace before a colon ([`Flaw::TrimsSpaceBeforeColon`]) trimmed away.
fn rewrite_head(head: &[u8], flaws: &Flaws) -> Vec<u8> {
    let is_ws = |b: &u8| *b == b' ' || *b == b'\t';
    let mut lines: Vec<Vec<u8>> = Vec::new();
    for (i, line) in head.split(|b| *b == b'\n').enumerate() {
        let mut line = line.to_vec();
        if i > 0 && flaws.has(Flaw::ObsFoldAsNewField) {
            let lead = line.iter().take_while(|b| is_ws(b)).count();
            line.drain(..lead);
        }
        if i > 0 && flaws.has(Flaw::TrimsSpaceBeforeColon) {
            if let Some(colon) = line.iter().position(|b| *b == b':') {
                let name_end = line[..colon].iter().rposition(|b| !is_ws(b)).map_or(0, |p| p + 1);
                line.drain(name_end..colon);
            }
        }
        lines.push(line);
    }
    lines.join(&b'\n')
}

/// The 101 response (RFC 6455 §4.2.2 item 5), as broken as the flaws say.
fn response_101(key: &str, subprotocol: Option<&str>, extensions: Option<&str>, flaws: &Flaws) -> Vec<u8> {
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
    if let Some(extensions) = extensions {
        r.push_str(&format!("Sec-WebSocket-Extensions: {extensions}\r\n"));
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

/// One header field as the server reads it.
struct Field {
    name: String,
    value: String,
}

/// The header fields, as read under the flaws; look-ups by canonical name.
struct Fields<'f>(Vec<Field>, &'f Flaws);

impl<'f> Fields<'f> {
    /// The fields httparse found in `head`. Under [`Flaw::RequiresSpaceAfterColon`] a field not written
    /// `Name: value` is not found; under [`Flaw::KeepsTrailingWhitespace`] values keep their trailing whitespace.
    fn new(head: &[u8], headers: &[httparse::Header<'_>], flaws: &'f Flaws) -> Fields<'f> {
        let mut fields = Vec::new();
        for h in headers {
            // where the value sits in the head (httparse returns slices of it)
            let start = (h.value.as_ptr() as usize).saturating_sub(head.as_ptr() as usize).min(head.len());
            let mut end = (start + h.value.len()).min(head.len());
            if flaws.has(Flaw::RequiresSpaceAfterColon) && !head[..start].ends_with(b": ") {
                continue;
            }
            if flaws.has(Flaw::KeepsTrailingWhitespace) {
                end += head[end..].iter().take_while(|b| **b == b' ' || **b == b'\t').count();
            }
            let value = String::from_utf8_lossy(&head[start..end]).into_owned();
            fields.push(Field { name: h.name.to_owned(), value });
        }
        Fields(fields, flaws)
    }

    /// The values of the fields named `canonical`: case-insensitively (RFC 7230 §3.2), or under
    /// [`Flaw::CaseSensitiveFieldNames`] byte for byte.
    fn values<'s>(&'s self, canonical: &'s str) -> impl Iterator<Item = &'s str> + 's {
        let exact = self.1.has(Flaw::CaseSensitiveFieldNames);
        self.0
            .iter()
            .filter(move |f| if exact { f.name == canonical } else { f.name.eq_ignore_ascii_case(canonical) })
            .map(|f| f.value.as_str())
    }

    /// The comma-separated tokens of every field with this name (RFC 7230 §7).
    fn tokens<'s>(&'s self, canonical: &'s str) -> impl Iterator<Item = &'s str> + 's {
        self.values(canonical).flat_map(|v| v.split(',')).map(str::trim).filter(|t| !t.is_empty())
    }
}
