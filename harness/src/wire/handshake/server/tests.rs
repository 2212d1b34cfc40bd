//! The server side of the opening handshake, with every request and response written out as bytes.

use super::*;
use crate::wire::handshake::response::parse_response;
use crate::wire::violation::ViolationKind::{self, *};

/// The client's handshake of RFC 6455 §1.3.
const RFC_REQUEST: &[u8] = b"GET /chat HTTP/1.1\r\n\
    Host: server.example.com\r\n\
    Upgrade: websocket\r\n\
    Connection: Upgrade\r\n\
    Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
    Origin: http://example.com\r\n\
    Sec-WebSocket-Protocol: chat, superchat\r\n\
    Sec-WebSocket-Version: 13\r\n\
    \r\n";

/// The server's answer of RFC 6455 §1.3, without the subprotocol.
const RFC_REPLY: &[u8] = b"HTTP/1.1 101 Switching Protocols\r\n\
    Upgrade: websocket\r\n\
    Connection: Upgrade\r\n\
    Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\
    \r\n";

/// The header fields of a valid request, one per line, to build variants from.
const VALID_FIELDS: &str = "Host: h:9001\nUpgrade: websocket\nConnection: Upgrade\n\
    Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\nSec-WebSocket-Version: 13\n";

fn parse(buf: &[u8]) -> (ReceivedRequest, usize) {
    parse_request(buf).expect("well-formed").expect("complete head")
}

/// A request from its request line and header fields (one per `\n`-ended line), CRLF on the wire.
fn request(line: &str, fields: &str) -> ReceivedRequest {
    let text = format!("{line}\r\n{}\r\n", fields.lines().map(|f| format!("{f}\r\n")).collect::<String>());
    parse(text.as_bytes()).0
}

/// The valid fields without the one named `name`.
fn without(name: &str) -> String {
    VALID_FIELDS.lines().filter(|l| !l.starts_with(name)).map(|l| format!("{l}\n")).collect()
}

fn kinds(request: &ReceivedRequest) -> Vec<ViolationKind> {
    request.check().into_iter().map(|v| v.kind).collect()
}

#[test]
fn rfc_request_is_read_field_by_field_and_breaks_no_rule() {
    let (request, head_len) = parse(RFC_REQUEST);
    assert_eq!(head_len, RFC_REQUEST.len());
    assert_eq!(
        (request.method.as_str(), request.target.as_str(), request.version.as_str()),
        ("GET", "/chat", "HTTP/1.1")
    );
    assert_eq!(request.header("origin"), Some("http://example.com"));
    assert_eq!(request.offered_protocols(), ["chat", "superchat"]);
    assert_eq!(request.key_nonce(), Some(*b"the sample nonce"));
    assert_eq!(request.raw_head, RFC_REQUEST);
    assert_eq!(request.check(), []);
}

#[test]
fn incomplete_head_needs_more_at_every_cut_and_is_truncated_at_eof() {
    for cut in 0..RFC_REQUEST.len() {
        assert_eq!(parse_request(&RFC_REQUEST[..cut]), Ok(None), "cut at {cut}");
        let closed = RequestParser::default().parse_closed(&RFC_REQUEST[..cut]);
        assert_eq!(closed, Err(RequestError::Truncated { received: cut }), "cut at {cut}");
    }
}

#[test]
fn bytes_after_the_head_are_left_to_the_caller() {
    let mut buf = RFC_REQUEST.to_vec();
    buf.extend_from_slice(&[0x81, 0x80, 1, 2, 3, 4]);
    let (_, head_len) = parse(&buf);
    assert_eq!(&buf[head_len..], [0x81, 0x80, 1, 2, 3, 4]);
}

#[test]
fn hostile_requests_are_typed_errors() {
    let malformed = |line: &str| RequestError::MalformedRequestLine { line: line.to_owned() };
    let cases: &[(&str, &[u8], RequestError)] = &[
        ("TLS ClientHello, no line end yet", b"\x16\x03\x01\x02\x00", malformed("\u{16}\u{3}\u{1}\u{2}\0")),
        ("NUL bytes", b"\0\0\0", malformed("\0\0\0")),
        ("leading space", b" GET / HTTP/1.1\r\n", malformed(" GET / HTTP/1.1")),
        ("two spaces", b"GET  / HTTP/1.1\r\n\r\n", malformed("GET  / HTTP/1.1")),
        ("four parts", b"GET / HTTP/1.1 x\r\n\r\n", malformed("GET / HTTP/1.1 x")),
        ("no version", b"GET /\r\n\r\n", malformed("GET /")),
        ("bad version", b"GET / HTTP/11\r\n\r\n", malformed("GET / HTTP/11")),
        ("non-ASCII target", b"GET /\xc3\xa9 HTTP/1.1\r\n\r\n", malformed("GET /\u{e9} HTTP/1.1")),
        (
            "bad header",
            b"GET / HTTP/1.1\r\nbad header\r\n\r\n",
            RequestError::MalformedHeaders(httparse::Error::HeaderName),
        ),
        (
            "header name with space",
            b"GET / HTTP/1.1\r\nX Y: 1\r\n\r\n",
            RequestError::MalformedHeaders(httparse::Error::HeaderName),
        ),
    ];
    for (name, bytes, expected) in cases {
        assert_eq!(parse_request(bytes), Err(expected.clone()), "{name}");
    }
}

#[test]
fn endless_head_and_endless_request_line_fail_at_the_limit() {
    let parser = RequestParser { max_head: 64, ..RequestParser::default() };
    let mut buf = b"GET / HTTP/1.1\r\n".to_vec();
    while parser.parse(&buf) == Ok(None) {
        buf.extend_from_slice(b"X: y\r\n");
        assert!(buf.len() < 200, "limit not enforced");
    }
    assert_eq!(parser.parse(&buf), Err(RequestError::HeadTooLarge { limit: 64 }));
    let line = [b"GET /".as_slice(), &[b'a'; 100]].concat();
    assert_eq!(parser.parse(&line), Err(RequestError::HeadTooLarge { limit: 64 }));
}

#[test]
fn too_many_headers_is_an_error() {
    let parser = RequestParser { max_headers: 2, ..RequestParser::default() };
    assert_eq!(
        parser.parse(b"GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n"),
        Err(RequestError::TooManyHeaders { limit: 2 })
    );
}

#[test]
fn each_client_requirement_is_checked() {
    let with = |extra: &str| format!("{VALID_FIELDS}{extra}");
    let replaced = |name: &str, line: &str| format!("{}{line}\n", without(name));
    let cases: Vec<(&str, &str, String, Vec<ViolationKind>)> = vec![
        ("valid", "GET / HTTP/1.1", with(""), vec![]),
        ("POST", "POST / HTTP/1.1", with(""), vec![RequestMethodNotGet]),
        ("lower-case get", "get / HTTP/1.1", with(""), vec![RequestMethodNotGet]),
        ("HTTP/1.0", "GET / HTTP/1.0", with(""), vec![RequestVersionBelowHttp11]),
        ("relative target", "GET chat HTTP/1.1", with(""), vec![RequestTargetInvalid]),
        ("fragment", "GET /chat#x HTTP/1.1", with(""), vec![RequestTargetInvalid]),
        ("asterisk", "GET * HTTP/1.1", with(""), vec![RequestTargetInvalid]),
        ("absolute http", "GET http://h:9001/chat?x=1 HTTP/1.1", with(""), vec![]),
        ("absolute ftp", "GET ftp://h/chat HTTP/1.1", with(""), vec![RequestTargetInvalid]),
        ("no Host", "GET / HTTP/1.1", without("Host"), vec![HostMissing]),
        ("empty Host", "GET / HTTP/1.1", replaced("Host", "Host:"), vec![HostMissing]),
        ("two Hosts", "GET / HTTP/1.1", with("Host: other\n"), vec![HostRepeated]),
        ("no Upgrade", "GET / HTTP/1.1", without("Upgrade"), vec![RequestUpgradeNotWebsocket]),
        ("Upgrade h2c", "GET / HTTP/1.1", replaced("Upgrade", "Upgrade: h2c"), vec![RequestUpgradeNotWebsocket]),
        ("Upgrade list", "GET / HTTP/1.1", replaced("Upgrade", "upgrade: h2c, WebSocket"), vec![]),
        ("no Connection", "GET / HTTP/1.1", without("Connection"), vec![RequestConnectionNotUpgrade]),
        ("Connection list", "GET / HTTP/1.1", replaced("Connection", "Connection: keep-alive, upgrade"), vec![]),
        (
            "Connection close",
            "GET / HTTP/1.1",
            replaced("Connection", "Connection: close"),
            vec![RequestConnectionNotUpgrade],
        ),
        ("no key", "GET / HTTP/1.1", without("Sec-WebSocket-Key"), vec![KeyMissing]),
        (
            "unpadded key",
            "GET / HTTP/1.1",
            replaced("Sec-WebSocket-Key", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ"),
            vec![KeyInvalid],
        ),
        (
            "15-byte key",
            "GET / HTTP/1.1",
            replaced("Sec-WebSocket-Key", "Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAA"),
            vec![KeyInvalid],
        ),
        (
            "17-byte key",
            "GET / HTTP/1.1",
            replaced("Sec-WebSocket-Key", "Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAAA="),
            vec![KeyInvalid],
        ),
        (
            "key not base64",
            "GET / HTTP/1.1",
            replaced("Sec-WebSocket-Key", "Sec-WebSocket-Key: !!!!!!!!!!!!!!!!!!!!!!=="),
            vec![KeyInvalid],
        ),
        ("two keys", "GET / HTTP/1.1", with("Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAA==\n"), vec![KeyRepeated]),
        (
            "key with spaces",
            "GET / HTTP/1.1",
            replaced("Sec-WebSocket-Key", "Sec-WebSocket-Key:   dGhlIHNhbXBsZSBub25jZQ==  "),
            vec![],
        ),
        ("no version", "GET / HTTP/1.1", without("Sec-WebSocket-Version"), vec![WebSocketVersionNot13]),
        (
            "version 8",
            "GET / HTTP/1.1",
            replaced("Sec-WebSocket-Version", "Sec-WebSocket-Version: 8"),
            vec![WebSocketVersionNot13],
        ),
        ("two versions", "GET / HTTP/1.1", with("Sec-WebSocket-Version: 13\n"), vec![WebSocketVersionRepeated]),
        ("protocols", "GET / HTTP/1.1", with("Sec-WebSocket-Protocol: chat, superchat\n"), vec![]),
        (
            "repeated protocol",
            "GET / HTTP/1.1",
            with("Sec-WebSocket-Protocol: chat\nSec-WebSocket-Protocol: chat\n"),
            vec![ProtocolOfferRepeated],
        ),
        (
            "protocol with separator",
            "GET / HTTP/1.1",
            with("Sec-WebSocket-Protocol: ch@t\n"),
            vec![ProtocolOfferInvalid],
        ),
        (
            "extension offer",
            "GET / HTTP/1.1",
            with("Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\n"),
            vec![],
        ),
        (
            "extension grammar",
            "GET / HTTP/1.1",
            with("Sec-WebSocket-Extensions: permessage-deflate; x=\"a b\"\n"),
            vec![ExtensionSyntax],
        ),
    ];
    for (name, line, fields, expected) in cases {
        assert_eq!(kinds(&request(line, &fields)), expected, "{name}");
    }
}

#[test]
fn each_violation_names_its_section_and_what_was_seen() {
    let found = request("POST / HTTP/1.1", &format!("{VALID_FIELDS}Sec-WebSocket-Key: x\n")).check();
    let lines: Vec<String> = found.iter().map(|v| format!("{}: {}", v.rfc, v.observed)).collect();
    assert_eq!(
        lines,
        [
            "RFC 6455 §4.1: method POST",
            "RFC 6455 §11.3.1: 2 Sec-WebSocket-Key fields",
            "RFC 6455 §4.1: key \"x\" (not base64)"
        ]
    );
}

#[test]
fn target_gives_path_and_query() {
    let cases = [
        ("/runCase?case=3&agent=a%20b", "/runCase", Some("case=3&agent=a%20b")),
        ("/getCaseCount", "/getCaseCount", None),
        ("http://h:9001/runCase?case=1", "/runCase", Some("case=1")),
        ("http://h:9001", "/", None),
        ("http://h:9001?x", "/", Some("x")),
        ("/x?a#frag", "/x", Some("a")),
    ];
    for (target, path, query) in cases {
        let r = request(&format!("GET {target} HTTP/1.1"), VALID_FIELDS);
        assert_eq!((r.path(), r.query()), (path, query), "{target}");
    }
}

#[test]
fn split_target_names_scheme_and_fragment() {
    let parts = split_target("https://h/x?q#f");
    assert_eq!((parts.scheme, parts.path, parts.query, parts.fragment), (Some("https"), "/x", Some("q"), Some("f")));
    let parts = split_target("/runCase?agent=http://x");
    assert_eq!((parts.scheme, parts.path, parts.query), (None, "/runCase", Some("agent=http://x")));
}

#[test]
fn accepting_the_rfc_request_is_the_rfc_response() {
    let reply = ServerReply::accepting(&parse(RFC_REQUEST).0);
    assert_eq!(reply.encode(), RFC_REPLY);
    let spaced = request("GET / HTTP/1.1", "Sec-WebSocket-Key:  dGhlIHNhbXBsZSBub25jZQ==  \n");
    assert_eq!(ServerReply::accepting(&spaced).accept_value(), Some("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="));
}

#[test]
fn crafted_replies_break_the_rule_they_are_made_for() {
    let key = "dGhlIHNhbXBsZSBub25jZQ==";
    let valid = ServerReply::switching_protocols(key);
    let cases: Vec<(&str, ServerReply, Vec<ViolationKind>)> = vec![
        ("valid", valid.clone(), vec![]),
        ("wrong accept", valid.clone().accept("AAAAAAAAAAAAAAAAAAAAAAAAAAA="), vec![AcceptMismatch]),
        ("no accept", valid.clone().remove_header("Sec-WebSocket-Accept"), vec![AcceptMissing]),
        ("two accepts", valid.clone().append_header("Sec-WebSocket-Accept", "x"), vec![AcceptRepeated, AcceptMismatch]),
        ("no Upgrade", valid.clone().remove_header("upgrade"), vec![UpgradeNotWebsocket]),
        ("no Connection", valid.clone().remove_header("Connection"), vec![ConnectionNotUpgrade]),
        ("200", valid.clone().status(200, "OK"), vec![StatusNotSwitchingProtocols]),
        ("HTTP/1.0", valid.clone().http_version("HTTP/1.0"), vec![VersionNotHttp11]),
        ("protocol not offered", valid.clone().protocol("superchat"), vec![ProtocolNotOffered]),
        ("extension not offered", valid.clone().extensions(&["x-not-offered"]), vec![ExtensionNotOffered]),
    ];
    for (name, reply, expected) in cases {
        let bytes = reply.encode();
        let (response, head_len) = parse_response(&bytes).expect("well-formed").expect("complete head");
        assert_eq!(head_len, bytes.len(), "{name}");
        let found: Vec<ViolationKind> =
            response.check_upgrade(key, &["chat"], &[]).into_iter().map(|v| v.kind).collect();
        assert_eq!(found, expected, "{name}");
    }
}

#[test]
fn refusals_are_complete_responses() {
    assert_eq!(
        ServerReply::upgrade_required().encode(),
        b"HTTP/1.1 426 Upgrade Required\r\nContent-Length: 0\r\nConnection: close\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    let not_found = ServerReply::refusal(404, "Not Found").header("Content-Length", "2").body("no");
    assert_eq!(not_found.encode(), b"HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\nConnection: close\r\n\r\nno");
    assert_eq!(not_found.accept_value(), None);
}

mod any_input {
    use base64::engine::general_purpose::STANDARD;
    use base64::Engine;
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Any bytes after a request line or none: a typed answer, never a panic, and a head within the bytes.
        #[test]
        fn any_bytes_get_a_typed_answer(with_line in any::<bool>(), tail in proptest::collection::vec(any::<u8>(), 0..300)) {
            let line: &[u8] = if with_line { b"GET /x HTTP/1.1\r\n" } else { b"" };
            let bytes = [line, tail.as_slice()].concat();
            if let Ok(Some((request, head_len))) = parse_request(&bytes) {
                prop_assert!(head_len <= bytes.len());
                prop_assert_eq!(request.raw_head.as_slice(), &bytes[..head_len]);
                let _ = request.check();
            }
        }

        /// A request with any field and any 16-byte nonce is incomplete at every shorter length, then read back.
        #[test]
        fn valid_requests_read_back_after_any_prefix(
            name in "[A-Za-z][A-Za-z0-9-]{0,20}",
            value in "[!-~]([ -~]{0,40}[!-~])?",
            nonce in any::<[u8; 16]>(),
        ) {
            let text = format!("GET / HTTP/1.1\r\n{name}: {value}\r\nSec-WebSocket-Key: {}\r\n\r\n", STANDARD.encode(nonce));
            for cut in 0..text.len() {
                prop_assert_eq!(parse_request(&text.as_bytes()[..cut]), Ok(None));
            }
            let (request, head_len) = parse(text.as_bytes());
            prop_assert_eq!(head_len, text.len());
            prop_assert_eq!(request.header(&name), Some(value.as_str()));
            prop_assert_eq!(request.key_nonce(), Some(nonce));
        }
    }
}
