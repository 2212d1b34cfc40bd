//! What a case sends, pure: the opening request, the pieces of a raw step, and
//! the limits of what the case may read back. A frame step's bytes come from
//! [`crate::case::FrameStream`], a chunk at a time.

use super::target::Target;
use crate::case::{Case, Expectation, Handshake, Request, Step, MAX_CHUNK};
use crate::wire::{ClientRequest, RawRequest};

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
