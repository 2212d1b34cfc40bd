//! What a case sends, pure: the opening request (testing a server) or our answer to the client's
//! (testing a client), the pieces of a raw step, and the limits of what the case may read back. A frame step's bytes come from
//! [`crate::case::FrameStream`], a chunk at a time.

use super::target::Target;
use crate::case::{AcceptValue, Case, Expectation, Handshake, Reply, Request, Step, MAX_CHUNK};
use crate::wire::deflate::accept_offer;
use crate::wire::{accept_for, ClientRequest, RawRequest, ReceivedRequest, ServerReply};

/// The opening request of a case, and what it offered (for judging the response).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpeningRequest {
    /// The request's bytes.
    pub bytes: Vec<u8>,
    /// Its `Sec-WebSocket-Key` (empty if it has none).
    pub key: String,
    /// The subprotocols it offered.
    pub protocols: Vec<String>,
    /// The extensions it offered.
    pub extensions: Vec<String>,
}

/// The request of `handshake` for `target` (RFC 6455 §4.1): the default valid one with the case's
/// changes, or the case's raw request with `{host}` and `{path}` filled in.
pub fn opening_request(handshake: &Handshake, target: &Target) -> OpeningRequest {
    match &handshake.request {
        Request::Default { headers } => {
            let mut req = ClientRequest::new(target.host_header(), target.path.clone());
            for (name, value) in headers {
                req = match value {
                    Some(v) => req.header(name.clone(), v.clone()),
                    None => req.remove_header(name),
                };
            }
            OpeningRequest {
                key: req.websocket_key().unwrap_or_default().to_string(),
                protocols: req.offered_protocols().iter().map(|s| s.to_string()).collect(),
                extensions: req.offered_extensions().iter().map(|s| s.to_string()).collect(),
                bytes: req.encode(),
            }
        }
        Request::Raw(template) => {
            let filled = template.replace("{host}", &target.host_header()).replace("{path}", &target.path);
            let raw = RawRequest::new(filled.into_bytes());
            OpeningRequest { bytes: raw.encode(), key: raw.key.clone(), protocols: Vec::new(), extensions: Vec::new() }
        }
    }
}

/// Our answer to a client's opening `request` (RFC 6455 §4.2.2): the valid 101 with the case's changes.
pub fn opening_reply(request: &ReceivedRequest, reply: &Reply) -> ServerReply {
    let key = request.websocket_key().unwrap_or_default().trim();
    let mut out = ServerReply::accepting(request);
    let accept = match &reply.accept {
        AcceptValue::Valid => None,
        AcceptValue::OtherKey => Some(accept_for(&format!("{key}x"))),
        AcceptValue::WithoutGuid => {
            use base64::Engine as _;
            use sha1::Digest as _;
            Some(base64::engine::general_purpose::STANDARD.encode(sha1::Sha1::digest(key.as_bytes())))
        }
        AcceptValue::TheKey => Some(key.to_string()),
        AcceptValue::Literal(v) => Some(v.clone()),
    };
    if let Some(value) = accept {
        out = out.accept(value);
    }
    if let Some(accepted) = accept_offer(&request.offered_extensions(), &reply.deflate) {
        // RFC 7692 §5: the accepted offer's element, in our response
        out = out.header("Sec-WebSocket-Extensions", accepted.response);
    }
    if let Some((status, reason)) = &reply.status {
        out = out.status(*status, reason.clone());
        if *status != 101 {
            // RFC 7230 §3.3.3: without a length, a response's body runs to the end of the connection
            out = out.header("Content-Length", "0");
        }
    }
    for (name, value) in &reply.headers {
        out = match value {
            Some(v) => out.header(name.clone(), v.clone()),
            None => out.remove_header(name),
        };
    }
    for (name, value) in &reply.append {
        out = out.append_header(name.clone(), value.clone());
    }
    out
}

/// The smallest limit on one frame or message read back: room for anything a correct server sends
/// unprompted (control frames, a close reason).
pub const MIN_READ_LIMIT: u64 = 64 * 1024;

/// The largest frame payload and message the case reads back: a correct echo server never sends a
/// message larger than all the data the case sent, nor one larger than what the case expects.
pub fn read_limit(case: &Case) -> u64 {
    let mut sent: u64 = 0;
    let mut expected: u64 = 0;
    for step in &case.steps {
        match step {
            Step::Frame { frame, fill, repeat, .. } => {
                let len = fill.as_ref().map_or(frame.payload.len(), |f| f.len) as u64;
                sent = sent.saturating_add(len.saturating_mul(*repeat as u64));
            }
            Step::Raw { bytes, repeat, .. } => {
                sent = sent.saturating_add((bytes.len() as u64).saturating_mul(*repeat as u64));
            }
            Step::Messages(m) => {
                // a bomb's echo is not read whole: its compressed size bounds what a correct server sends back
                let len = match m.source {
                    crate::case::MessageSource::Bomb { .. } => m.source.max_wire_len(),
                    _ => m.source.plain_len(),
                };
                sent = sent.saturating_add((len as u64).saturating_mul(m.count as u64));
            }
            Step::Expect { what: Expectation::Message { payload, .. }, .. } => {
                expected = expected.max(payload.len() as u64);
            }
            _ => {}
        }
    }
    sent.max(expected).max(MIN_READ_LIMIT)
}

/// Frame summaries noted in the trace per send step; the rest are counted.
pub const FRAMES_NOTED: usize = 32;

/// A `send_raw` step's bytes in pieces of whole repetitions, each at most [`MAX_CHUNK`] (at least one
/// repetition), so that a repeated raw frame never sits in memory whole.
pub fn raw_pieces(bytes: &[u8], repeat: usize) -> impl Iterator<Item = Vec<u8>> + '_ {
    let per_piece = (MAX_CHUNK / bytes.len().max(1)).max(1);
    let mut left = repeat;
    std::iter::from_fn(move || {
        let n = left.min(per_piece);
        left -= n;
        (n > 0).then(|| bytes.repeat(n))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::parse_request;

    fn request() -> ReceivedRequest {
        let head = "GET /runCase?case=1 HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
                    Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
        parse_request(head.as_bytes()).unwrap().unwrap().0
    }

    fn accept_of(reply: &Reply) -> Option<String> {
        opening_reply(&request(), reply).accept_value().map(str::to_string)
    }

    #[test]
    fn the_default_reply_is_the_rfc_example_101() {
        let reply = opening_reply(&request(), &Reply::default());
        assert_eq!(reply.status, 101);
        // RFC 6455 §1.3's example key and accept
        assert_eq!(reply.accept_value(), Some("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="));
    }

    #[test]
    fn each_crafted_accept_differs_from_the_valid_one() {
        let valid = accept_of(&Reply::default());
        for accept in [AcceptValue::OtherKey, AcceptValue::WithoutGuid, AcceptValue::TheKey] {
            let got = accept_of(&Reply { accept: accept.clone(), ..Reply::default() });
            assert!(got.is_some() && got != valid, "{accept:?}: {got:?}");
        }
        assert_eq!(
            accept_of(&Reply { accept: AcceptValue::TheKey, ..Reply::default() }).as_deref(),
            Some("dGhlIHNhbXBsZSBub25jZQ==")
        );
    }

    #[test]
    fn status_headers_removed_and_appended_fields_are_applied_in_order() {
        let reply = Reply {
            status: Some((200, "OK".into())),
            headers: vec![("Upgrade".into(), None), ("Sec-WebSocket-Protocol".into(), Some("chat".into()))],
            append: vec![("Sec-WebSocket-Accept".into(), "x".into())],
            ..Reply::default()
        };
        let text = String::from_utf8(opening_reply(&request(), &reply).encode()).unwrap();
        assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
        assert!(!text.contains("Upgrade:") && text.contains("Sec-WebSocket-Protocol: chat\r\n"), "{text}");
        assert_eq!(text.matches("Sec-WebSocket-Accept:").count(), 2, "{text}");
    }
}
