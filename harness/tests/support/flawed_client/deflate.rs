//! permessage-deflate on the client side (RFC 7692), sans-IO, with its flaws: the server's compressed messages
//! inflated with the server's window and context, the echoes compressed with the client's.
//!
//! The codec is the harness's own (`wsharness::wire::deflate`): this fixture tests the judge of a client's
//! stream, not the codec, and each flaw breaks the stream in a way the judge must see.

use wsharness::wire::deflate::{negotiate, Compressor, Inflater, Negotiated, Negotiation, TAIL};

use super::conn::Fault;
use super::{Flaw, Flaws};

/// The zlib level of the echoes: they only have to be valid.
const LEVEL: u32 = 1;

/// What the server's response accepted, judged against the client's offers (`None`: declined); `Err` when the
/// response breaks RFC 7692 §7 (the client must then fail the connection).
pub(crate) fn accepted(offered: &[String], response_values: &[&str]) -> Result<Option<Negotiated>, ()> {
    let offered: Vec<&str> = offered.iter().map(String::as_str).collect();
    match negotiate(&offered, response_values) {
        Ok(Negotiation::Accepted(n)) => Ok(Some(n)),
        Ok(Negotiation::Declined) => Ok(None),
        Err(_) => Err(()),
    }
}

/// One connection's permessage-deflate.
pub(crate) struct Deflate {
    inflater: Inflater,
    /// `None`: zlib cannot keep to the window asked for (8 bits): echoes go out uncompressed, which is allowed.
    compressor: Option<Compressor>,
    leaves_tail: bool,
}

impl std::fmt::Debug for Deflate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Deflate").field("compresses", &self.compressor.is_some()).finish_non_exhaustive()
    }
}

impl Deflate {
    /// The codec of a connection that negotiated `n`, server messages inflating to at most `limit` bytes.
    pub fn new(n: &Negotiated, flaws: &Flaws, limit: usize) -> Deflate {
        // RFC 7692 §7.1.1.1: the server's context is kept unless server_no_context_takeover
        let reset_inflater = n.server_no_context_takeover || flaws.has(Flaw::DeflateInflatesWithoutContext);
        let inflater = Inflater::new(n.server_max_window_bits, reset_inflater, limit);
        // RFC 7692 §7.1.2.2: within client_max_window_bits; §7.1.1.2: no context takeover when asked
        let bits = if flaws.has(Flaw::DeflateIgnoresClientWindow) { 15 } else { n.client_max_window_bits };
        let fresh = n.client_no_context_takeover && !flaws.has(Flaw::DeflateKeepsContext);
        let compressor = Compressor::new(bits, LEVEL, fresh).ok();
        Deflate { inflater, compressor, leaves_tail: flaws.has(Flaw::DeflateLeavesTail) }
    }

    /// A compressed message from the server (the frames' payloads joined), inflated.
    pub fn inflate(&mut self, payload: &[u8]) -> Result<Vec<u8>, Fault> {
        // RFC 7692 §7.2.2: the payload with 00 00 ff ff appended is DEFLATE data
        self.inflater.inflate(payload).map_err(|_| Fault::CorruptCompressedData)
    }

    /// An echo's payload and whether it is compressed (RSV1).
    pub fn compress(&mut self, message: Vec<u8>) -> (Vec<u8>, bool) {
        let Some(compressor) = self.compressor.as_mut() else { return (message, false) };
        match compressor.compress(&message) {
            Ok(mut data) => {
                if self.leaves_tail {
                    data.extend_from_slice(&TAIL);
                }
                (data, true)
            }
            Err(_) => (message, false),
        }
    }
}
