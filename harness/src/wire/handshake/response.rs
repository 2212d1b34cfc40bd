//! Parsing the server's handshake response from the bytes received so far.
//!
//! The status line is parsed here, exactly (any `HTTP/x.y` version is kept as
//! text so that it can be judged); the header fields are parsed by `httparse`.
//! The head is bounded in size and in field count, so a server that never ends
//! its head cannot make the parser buffer without limit.

use thiserror::Error;

use super::fields::{self, first_line};

/// Default largest response head: 16 KiB.
pub const DEFAULT_MAX_HEAD: usize = 16 * 1024;
/// Default largest number of header fields.
pub const DEFAULT_MAX_HEADERS: usize = 100;

/// The response head cannot be parsed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum HandshakeError {
    /// The head did not end within the size limit.
    #[error("response head is over {limit} bytes and not complete")]
    HeadTooLarge {
        /// The parser's limit.
        limit: usize,
    },
    /// The first line is not `HTTP/x.y <3-digit status> [reason]`.
    #[error("malformed status line {line:?}")]
    MalformedStatusLine {
        /// The line as received (lossily decoded, at most 200 bytes).
        line: String,
    },
    /// The head has more header fields than the limit.
    #[error("response has more than {limit} header fields")]
    TooManyHeaders {
        /// The parser's limit.
        limit: usize,
    },
    /// A header field is malformed.
    #[error("malformed response header field")]
    MalformedHeaders(#[source] httparse::Error),
}

/// One header field as received (in a server's response or a client's request).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderField {
    /// Field name, as spelled by the peer.
    pub name: String,
    /// Field value (lossily decoded if not UTF-8; the head's `raw_head` keeps the bytes).
    pub value: String,
}

/// The server's response head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerResponse {
    /// Version from the status line, e.g. `HTTP/1.1`.
    pub version: String,
    /// Status code.
    pub status: u16,
    /// Reason phrase (may be empty).
    pub reason: String,
    /// Header fields in order, duplicates kept.
    pub headers: Vec<HeaderField>,
    /// The head's bytes exactly as received, up to and including the empty line.
    pub raw_head: Vec<u8>,
}

impl ServerResponse {
    /// Value of the first header field with this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        fields::received_first(&self.headers, name)
    }

    /// Values of every header field with this name (case-insensitive), in order.
    pub fn header_values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        fields::received_values(&self.headers, name)
    }
}

/// Limits for [`ResponseParser::parse`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResponseParser {
    /// Largest head, in bytes.
    pub max_head: usize,
    /// Largest number of header fields.
    pub max_headers: usize,
}

impl Default for ResponseParser {
    fn default() -> Self {
        ResponseParser { max_head: DEFAULT_MAX_HEAD, max_headers: DEFAULT_MAX_HEADERS }
    }
}

/// Parses a response head with the default limits; see [`ResponseParser::parse`].
pub fn parse_response(buf: &[u8]) -> Result<Option<(ServerResponse, usize)>, HandshakeError> {
    ResponseParser::default().parse(buf)
}

impl ResponseParser {
    /// Parses the response head from the bytes received so far.
    ///
    /// `Ok(None)`: the head is not complete, call again with more bytes.
    /// `Ok(Some((response, head_len)))`: `buf[head_len..]` is not part of the
    /// head: it is the first frame bytes, to be fed to the frame reader.
    pub fn parse(&self, buf: &[u8]) -> Result<Option<(ServerResponse, usize)>, HandshakeError> {
        const PREFIX: &[u8] = b"HTTP/";
        let checked = buf.len().min(PREFIX.len());
        if buf[..checked] != PREFIX[..checked] {
            // not HTTP at all: say so now rather than wait for a line end
            return Err(malformed_line(first_line(buf)));
        }
        let Some(line_len) = buf.iter().position(|&b| b == b'\n').map(|i| i + 1) else {
            return self.incomplete(buf);
        };
        let (version, status, reason) = parse_status_line(&buf[..line_len])?;
        let (headers, head_len) = match fields::parse_received(&buf[line_len..], self.max_headers) {
            Ok(Some((headers, len))) => (headers, line_len + len),
            Ok(None) => return self.incomplete(buf),
            Err(httparse::Error::TooManyHeaders) => {
                return Err(HandshakeError::TooManyHeaders { limit: self.max_headers })
            }
            Err(e) => return Err(HandshakeError::MalformedHeaders(e)),
        };
        if head_len > self.max_head {
            return Err(HandshakeError::HeadTooLarge { limit: self.max_head });
        }
        let response = ServerResponse { version, status, reason, headers, raw_head: buf[..head_len].to_vec() };
        Ok(Some((response, head_len)))
    }

    fn incomplete(&self, buf: &[u8]) -> Result<Option<(ServerResponse, usize)>, HandshakeError> {
        if buf.len() > self.max_head {
            Err(HandshakeError::HeadTooLarge { limit: self.max_head })
        } else {
            Ok(None)
        }
    }
}

fn malformed_line(line: &[u8]) -> HandshakeError {
    let shown = &line[..line.len().min(200)];
    HandshakeError::MalformedStatusLine { line: String::from_utf8_lossy(shown).into_owned() }
}

/// Splits `HTTP/x.y SP 3DIGIT [SP reason] CRLF` (a bare LF is accepted).
fn parse_status_line(line: &[u8]) -> Result<(String, u16, String), HandshakeError> {
    let text = first_line(line);
    let malformed = || malformed_line(text);
    let mut parts = text.splitn(3, |&b| b == b' ');
    let version = parts.next().ok_or_else(malformed)?;
    let code = parts.next().ok_or_else(malformed)?;
    let reason = parts.next().unwrap_or_default();
    let version_ok =
        version.len() == 8 && version[5].is_ascii_digit() && version[6] == b'.' && version[7].is_ascii_digit();
    if !version_ok || code.len() != 3 || !code.iter().all(u8::is_ascii_digit) {
        return Err(malformed());
    }
    let status = code.iter().fold(0u16, |n, d| n * 10 + u16::from(d - b'0'));
    Ok((String::from_utf8_lossy(version).into_owned(), status, String::from_utf8_lossy(reason).into_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const RFC_RESPONSE: &[u8] = b"HTTP/1.1 101 Switching Protocols\r\n\
        Upgrade: websocket\r\n\
        Connection: Upgrade\r\n\
        Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\
        \r\n";

    fn parse(buf: &[u8]) -> (ServerResponse, usize) {
        parse_response(buf).expect("well-formed").expect("complete head")
    }

    #[test]
    fn parses_rfc_response() {
        let (response, head_len) = parse(RFC_RESPONSE);
        assert_eq!((response.version.as_str(), response.status), ("HTTP/1.1", 101));
        assert_eq!(response.reason, "Switching Protocols");
        assert_eq!(response.header("sec-websocket-accept"), Some("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="));
        assert_eq!(head_len, RFC_RESPONSE.len());
        assert_eq!(response.raw_head, RFC_RESPONSE);
    }

    #[test]
    fn bytes_after_the_head_are_left_to_the_caller() {
        let mut buf = RFC_RESPONSE.to_vec();
        buf.extend_from_slice(&[0x81, 0x02, b'h', b'i']);
        let (_, head_len) = parse(&buf);
        assert_eq!(&buf[head_len..], [0x81, 0x02, b'h', b'i']);
    }

    #[test]
    fn incomplete_head_needs_more_at_every_cut() {
        for cut in 0..RFC_RESPONSE.len() {
            assert_eq!(parse_response(&RFC_RESPONSE[..cut]), Ok(None), "cut at {cut}");
        }
    }

    #[test]
    fn keeps_header_order_and_duplicates() {
        let (response, _) = parse(b"HTTP/1.1 101 OK\r\nA: 1\r\nb: 2\r\na: 3\r\n\r\n");
        let fields: Vec<(&str, &str)> = response.headers.iter().map(|h| (h.name.as_str(), h.value.as_str())).collect();
        assert_eq!(fields, [("A", "1"), ("b", "2"), ("a", "3")]);
        assert_eq!(response.header_values("a").collect::<Vec<_>>(), ["1", "3"]);
        assert_eq!(response.header("missing"), None);
    }

    #[test]
    fn keeps_other_versions_and_empty_reasons() {
        let (response, _) = parse(b"HTTP/1.0 400\r\n\r\n");
        assert_eq!((response.version.as_str(), response.status, response.reason.as_str()), ("HTTP/1.0", 400, ""));
    }

    #[test]
    fn non_http_reply_is_malformed_at_once() {
        assert_eq!(parse_response(b"SSH-2.0"), Err(HandshakeError::MalformedStatusLine { line: "SSH-2.0".to_owned() }));
        assert!(parse_response(b"HTTP/1.1 1O1 Switching\r\n\r\n").is_err());
        assert!(parse_response(b"HTTP/11 101 Switching\r\n\r\n").is_err());
    }

    #[test]
    fn malformed_header_is_an_error() {
        assert!(matches!(
            parse_response(b"HTTP/1.1 101 OK\r\nbad header\r\n\r\n"),
            Err(HandshakeError::MalformedHeaders(_))
        ));
    }

    #[test]
    fn endless_head_fails_at_the_limit() {
        let parser = ResponseParser { max_head: 64, ..ResponseParser::default() };
        let mut buf = b"HTTP/1.1 101 OK\r\n".to_vec();
        while parser.parse(&buf) == Ok(None) {
            buf.extend_from_slice(b"X: y\r\n");
            assert!(buf.len() < 200, "limit not enforced");
        }
        assert_eq!(parser.parse(&buf), Err(HandshakeError::HeadTooLarge { limit: 64 }));
    }

    #[test]
    fn too_many_headers_is_an_error() {
        let parser = ResponseParser { max_headers: 2, ..ResponseParser::default() };
        assert_eq!(
            parser.parse(b"HTTP/1.1 101 OK\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n"),
            Err(HandshakeError::TooManyHeaders { limit: 2 })
        );
    }
}
