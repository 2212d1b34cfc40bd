//! Reading the client's opening handshake (RFC 6455 §4.2.1) from the bytes received so far.
//!
//! The request line is parsed here, exactly: the method, the target and any `HTTP/x.y` version are kept as
//! written so that they can be judged ([`ReceivedRequest::check`]); the header fields are parsed by `httparse`.
//! The head is bounded in size and in field count, so a client that never ends its head cannot make the parser
//! buffer without limit. A request line that is not one (a TLS ClientHello, binary garbage) is an error as soon as
//! its first bytes show it.

use thiserror::Error;

use super::super::fields::{self, first_line};
use super::super::list::split_list;
use super::super::response::{HeaderField, DEFAULT_MAX_HEAD, DEFAULT_MAX_HEADERS};
use crate::wire::deflate::syntax::is_tchar;

/// How much of a bad request line an error quotes.
const QUOTED_LINE: usize = 200;

/// The request head cannot be parsed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum RequestError {
    /// The head did not end within the size limit.
    #[error("request head is over {limit} bytes and not complete")]
    HeadTooLarge {
        /// The parser's limit.
        limit: usize,
    },
    /// The first line is not `method SP request-target SP HTTP/x.y` (RFC 7230 §3.1.1).
    #[error("malformed request line {line:?}")]
    MalformedRequestLine {
        /// The line as received (lossily decoded, at most 200 bytes).
        line: String,
    },
    /// The head has more header fields than the limit.
    #[error("request has more than {limit} header fields")]
    TooManyHeaders {
        /// The parser's limit.
        limit: usize,
    },
    /// A header field is malformed.
    #[error("malformed request header field")]
    MalformedHeaders(#[source] httparse::Error),
    /// The client closed the connection before its head was complete.
    #[error("connection closed after {received} bytes of an incomplete request head")]
    Truncated {
        /// How many bytes had arrived.
        received: usize,
    },
}

/// The client's request head, as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedRequest {
    /// The method, e.g. `GET`.
    pub method: String,
    /// The request target as written, e.g. `/runCase?case=1&agent=x`.
    pub target: String,
    /// The version from the request line, e.g. `HTTP/1.1`.
    pub version: String,
    /// Header fields in order, duplicates kept.
    pub headers: Vec<HeaderField>,
    /// The head's bytes exactly as received, up to and including the empty line.
    pub raw_head: Vec<u8>,
}

impl ReceivedRequest {
    /// Value of the first header field with this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        fields::received_first(&self.headers, name)
    }

    /// Values of every header field with this name (case-insensitive), in order.
    pub fn header_values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        fields::received_values(&self.headers, name)
    }

    /// The target split into its parts (see [`split_target`]).
    pub fn target_parts(&self) -> TargetParts<'_> {
        split_target(&self.target)
    }

    /// The path of the target (see [`TargetParts::path`]).
    pub fn path(&self) -> &str {
        self.target_parts().path
    }

    /// The query of the target (after `?`, before any `#`), if it has one.
    pub fn query(&self) -> Option<&str> {
        self.target_parts().query
    }

    /// The `Sec-WebSocket-Key` sent (first field, without surrounding whitespace; RFC 6455 §4.2.2 item 4).
    pub fn websocket_key(&self) -> Option<&str> {
        self.header("Sec-WebSocket-Key").map(str::trim)
    }

    /// The subprotocols offered, from every `Sec-WebSocket-Protocol` field, in order.
    pub fn offered_protocols(&self) -> Vec<&str> {
        self.header_values("Sec-WebSocket-Protocol").flat_map(split_list).collect()
    }

    /// The extensions offered (each with its parameters), from every `Sec-WebSocket-Extensions` field.
    pub fn offered_extensions(&self) -> Vec<&str> {
        self.header_values("Sec-WebSocket-Extensions").flat_map(split_list).collect()
    }
}

/// A request target in its parts (RFC 7230 §5.3, RFC 3986 §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TargetParts<'a> {
    /// The scheme, when the target is in absolute form (`http` of `http://host:port/path?query`); `None` in
    /// origin form (`/path?query`).
    pub scheme: Option<&'a str>,
    /// The path: as written in origin form (`/chat?x` gives `/chat`; `chat` stays `chat`), the part after the
    /// authority in absolute form (`http://h:1/chat` gives `/chat`, `http://h:1` gives `/`).
    pub path: &'a str,
    /// After `?`, before any `#`.
    pub query: Option<&'a str>,
    /// After `#` (a WebSocket URI MUST NOT have one, RFC 6455 §3).
    pub fragment: Option<&'a str>,
}

/// Splits a request target into scheme-less path, query and fragment.
pub fn split_target(target: &str) -> TargetParts<'_> {
    let (scheme, resource) = match target.split_once("://") {
        Some((scheme, rest)) if !scheme.contains(['/', '?', '#']) => {
            (Some(scheme), rest.find(['/', '?', '#']).map_or("", |at| &rest[at..]))
        }
        _ => (None, target),
    };
    let (resource, fragment) = match resource.split_once('#') {
        Some((before, fragment)) => (before, Some(fragment)),
        None => (resource, None),
    };
    let (path, query) = match resource.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (resource, None),
    };
    let path = if path.is_empty() && scheme.is_some() { "/" } else { path };
    TargetParts { scheme, path, query, fragment }
}

/// Limits for [`RequestParser::parse`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestParser {
    /// Largest head, in bytes.
    pub max_head: usize,
    /// Largest number of header fields.
    pub max_headers: usize,
}

impl Default for RequestParser {
    fn default() -> Self {
        RequestParser { max_head: DEFAULT_MAX_HEAD, max_headers: DEFAULT_MAX_HEADERS }
    }
}

/// Parses a request head with the default limits; see [`RequestParser::parse`].
pub fn parse_request(buf: &[u8]) -> Result<Option<(ReceivedRequest, usize)>, RequestError> {
    RequestParser::default().parse(buf)
}

impl RequestParser {
    /// Parses the request head from the bytes received so far.
    ///
    /// `Ok(None)`: the head is not complete, call again with more bytes (nothing is consumed).
    /// `Ok(Some((request, head_len)))`: `buf[head_len..]` is not part of the head: it is the client's
    /// first frame bytes, if it sent any before our response.
    pub fn parse(&self, buf: &[u8]) -> Result<Option<(ReceivedRequest, usize)>, RequestError> {
        check_method_prefix(buf)?;
        let Some(line_len) = buf.iter().position(|&b| b == b'\n').map(|i| i + 1) else {
            return self.incomplete(buf);
        };
        if line_len > self.max_head {
            return Err(RequestError::HeadTooLarge { limit: self.max_head });
        }
        let (method, target, version) = parse_request_line(&buf[..line_len])?;
        let (headers, head_len) = match fields::parse_received(&buf[line_len..], self.max_headers) {
            Ok(Some((headers, len))) => (headers, line_len + len),
            Ok(None) => return self.incomplete(buf),
            Err(httparse::Error::TooManyHeaders) => {
                return Err(RequestError::TooManyHeaders { limit: self.max_headers })
            }
            Err(e) => return Err(RequestError::MalformedHeaders(e)),
        };
        if head_len > self.max_head {
            return Err(RequestError::HeadTooLarge { limit: self.max_head });
        }
        let request = ReceivedRequest { method, target, version, headers, raw_head: buf[..head_len].to_vec() };
        Ok(Some((request, head_len)))
    }

    /// Parses the request head once the client has closed the connection: `buf` is all there will be,
    /// so an incomplete head is [`RequestError::Truncated`].
    pub fn parse_closed(&self, buf: &[u8]) -> Result<(ReceivedRequest, usize), RequestError> {
        self.parse(buf)?.ok_or(RequestError::Truncated { received: buf.len() })
    }

    fn incomplete(&self, buf: &[u8]) -> Result<Option<(ReceivedRequest, usize)>, RequestError> {
        if buf.len() > self.max_head {
            Err(RequestError::HeadTooLarge { limit: self.max_head })
        } else {
            Ok(None)
        }
    }
}

/// Fails at once when the bytes so far cannot start a request line: a method is one or more token
/// characters followed by a space.
fn check_method_prefix(buf: &[u8]) -> Result<(), RequestError> {
    let method_len = buf.iter().take_while(|&&b| is_tchar(b)).count();
    match buf.get(method_len) {
        None => Ok(()),
        Some(b' ') if method_len > 0 => Ok(()),
        Some(_) => Err(malformed_line(first_line(buf))),
    }
}

fn malformed_line(line: &[u8]) -> RequestError {
    let shown = &line[..line.len().min(QUOTED_LINE)];
    RequestError::MalformedRequestLine { line: String::from_utf8_lossy(shown).into_owned() }
}

/// Splits `method SP request-target SP HTTP/x.y CRLF` (RFC 7230 §3.1.1; a bare LF is accepted).
fn parse_request_line(line: &[u8]) -> Result<(String, String, String), RequestError> {
    let text = first_line(line);
    let malformed = || malformed_line(text);
    let mut parts = text.split(|&b| b == b' ');
    let (Some(method), Some(target), Some(version), None) = (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(malformed());
    };
    let method_ok = !method.is_empty() && method.iter().all(|&b| is_tchar(b));
    // RFC 3986 §2: a URI is visible ASCII; anything else arrives percent-encoded
    let target_ok = !target.is_empty() && target.iter().all(|b| (0x21..=0x7e).contains(b));
    let version_ok = matches!(version, [b'H', b'T', b'T', b'P', b'/', major, b'.', minor]
        if major.is_ascii_digit() && minor.is_ascii_digit());
    if !(method_ok && target_ok && version_ok) {
        return Err(malformed());
    }
    let ascii = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
    Ok((ascii(method), ascii(target), ascii(version)))
}
