//! What a case sends, pure: the opening request, the bytes of a frame step,
//! and the limits of what the case may read back.

use super::event::describe_frame;
use super::target::Target;
use crate::case::{Case, Expectation, Fill, Handshake, Request, Step};
use crate::wire::{ClientRequest, EncodeError, FrameSpec, MaskingKey, Opcode, RawRequest};

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

/// The bytes of a send step: the frame, or its payload cut into fragments,
/// `repeat` times; with `fresh_mask` every frame gets its own random key
/// (RFC 6455 §5.3: a fresh, unpredictable key per frame). Also a summary of the first
/// [`FRAMES_NOTED`] frames, and the count of all.
pub fn encode_send(
    frame: &FrameSpec,
    fill: Option<&Fill>,
    fragment: Option<usize>,
    fresh_mask: bool,
    repeat: usize,
) -> Result<Encoded, EncodeError> {
    let generated = fill.map(Fill::bytes);
    let payload = generated.as_deref().unwrap_or(&frame.payload);
    let mut out =
        Encoded { bytes: Vec::with_capacity((payload.len() + 14) * repeat), summaries: Vec::new(), frames: 0 };
    for _ in 0..repeat {
        match fragment {
            None => {
                let mut spec = frame.clone();
                if generated.is_some() {
                    spec.payload = payload.to_vec();
                }
                out.put(spec, fresh_mask)?;
            }
            Some(size) => {
                let pieces: Vec<&[u8]> =
                    if payload.is_empty() { vec![&[][..]] } else { payload.chunks(size.max(1)).collect() };
                let last = pieces.len() - 1;
                for (i, piece) in pieces.into_iter().enumerate() {
                    let mut spec = frame.clone();
                    spec.payload = piece.to_vec();
                    spec.declared_len = None;
                    // RFC 6455 §5.4: the first fragment carries the opcode, the others are continuations
                    if i > 0 {
                        spec.opcode = Opcode::Continuation.as_u8();
                        spec.rsv = 0;
                    }
                    spec.fin = i == last && frame.fin;
                    out.put(spec, fresh_mask)?;
                }
            }
        }
    }
    Ok(out)
}

/// The encoded bytes of a send step.
#[derive(Debug, Clone, Default)]
pub struct Encoded {
    /// Every frame's bytes, back to back.
    pub bytes: Vec<u8>,
    /// One line per frame, for the first [`FRAMES_NOTED`].
    pub summaries: Vec<String>,
    /// How many frames.
    pub frames: usize,
}

impl Encoded {
    fn put(&mut self, spec: FrameSpec, fresh_mask: bool) -> Result<(), EncodeError> {
        let spec = if fresh_mask { spec.mask_key(MaskingKey::random().0) } else { spec };
        self.bytes.extend_from_slice(&spec.encode()?);
        if self.summaries.len() < FRAMES_NOTED {
            self.summaries.push(describe_frame(&spec.header(), &spec.payload));
        }
        self.frames += 1;
        Ok(())
    }
}
