//! Inflating the server's messages with flate2 (zlib-rs), bounded while it happens (RFC 7692 §7.2.2).
//!
//! This is the fast path (what the load generator and a plain receive use); it
//! says whether a message inflates and gives its bytes. To judge the stream
//! itself (window, context takeover), use [`super::StreamAnalyzer`].

use flate2::{Decompress, FlushDecompress, Status};
use thiserror::Error;

use super::params::Negotiated;
use super::TAIL;
use crate::wire::Endpoint;

/// Output is produced this many bytes at a time, so memory follows what was inflated, never a declared size.
const CHUNK: usize = 32 * 1024;
/// zlib cannot open a raw window of 8 bits; a 9-bit window inflates every 8-bit stream.
const ZLIB_MIN_WINDOW_BITS: u8 = 9;

/// Why a message did not inflate.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum InflateError {
    /// The inflated message would exceed the limit; inflating stopped there.
    #[error("inflated message over the limit of {limit} bytes after {input_consumed} input bytes")]
    OverLimit {
        /// The limit on one inflated message.
        limit: usize,
        /// Compressed bytes consumed when the limit was reached.
        input_consumed: usize,
    },
    /// The data is not valid DEFLATE (zlib's message says why).
    #[error("invalid DEFLATE data after {input_consumed} input bytes: {reason}")]
    Corrupt {
        /// zlib's description.
        reason: String,
        /// Compressed bytes consumed when it failed.
        input_consumed: usize,
    },
}

/// Inflates a server's messages in order with the negotiated window and context rules.
///
/// Two ways to use it: [`Inflater::inflate`] takes a whole message's payload and returns its
/// bytes; the streaming calls take a message a piece at a time and hand its bytes out as they
/// come, holding none of them ([`Inflater::begin`], then [`Inflater::feed`] for each piece of
/// payload, then [`Inflater::end`]): the load generator checks echoes this way, never
/// reassembling them.
pub struct Inflater {
    inner: Decompress,
    no_context_takeover: bool,
    limit: usize,
    /// The stream ended with a BFINAL block: the next message starts a fresh one.
    ended: bool,
    /// Inflated bytes of the current message.
    produced: usize,
    /// `total_in` when the current message began.
    start_in: u64,
}

impl std::fmt::Debug for Inflater {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inflater")
            .field("no_context_takeover", &self.no_context_takeover)
            .field("limit", &self.limit)
            .finish_non_exhaustive()
    }
}

impl Inflater {
    /// An inflater for a window of `window_bits` (8..=15; 8 is opened as 9, which inflates
    /// every 8-bit stream; out-of-range values are clamped), resetting for each message
    /// if `no_context_takeover`, each message at most `limit` bytes.
    pub fn new(window_bits: u8, no_context_takeover: bool, limit: usize) -> Inflater {
        let bits = window_bits.clamp(ZLIB_MIN_WINDOW_BITS, 15);
        Inflater {
            inner: Decompress::new_with_window_bits(false, bits),
            no_context_takeover,
            limit,
            ended: false,
            produced: 0,
            start_in: 0,
        }
    }

    /// The inflater for the server's messages on a connection that negotiated `negotiated`.
    pub fn for_server(negotiated: &Negotiated, limit: usize) -> Inflater {
        Inflater::for_sender(negotiated, Endpoint::Server, limit)
    }

    /// The inflater for the messages `sender` sends on a connection that negotiated `negotiated`.
    pub fn for_sender(negotiated: &Negotiated, sender: Endpoint, limit: usize) -> Inflater {
        Inflater::new(negotiated.max_window_bits(sender), negotiated.no_context_takeover(sender), limit)
    }

    /// Inflates one message's payload (the frames' payloads joined).
    ///
    /// Data that stops inside a block gives what it inflated so far. After a
    /// BFINAL block the rest is ignored and the next message starts a new
    /// stream without history.
    pub fn inflate(&mut self, payload: &[u8]) -> Result<Vec<u8>, InflateError> {
        let mut out = Vec::new();
        let limit = self.limit;
        self.begin(limit);
        let mut scratch = vec![0u8; CHUNK.min(limit.saturating_add(1))];
        let mut sink = |piece: &[u8]| out.extend_from_slice(piece);
        self.feed(payload, &mut scratch, &mut sink)?;
        self.end(&mut scratch, &mut sink)?;
        Ok(out)
    }

    /// Starts a message that may inflate to at most `limit` bytes (streaming).
    pub fn begin(&mut self, limit: usize) {
        // RFC 7692 §7.1.1.1: under no context takeover each message starts with an empty window
        if self.no_context_takeover || self.ended {
            self.inner.reset(false);
            self.ended = false;
        }
        self.limit = limit;
        self.produced = 0;
        self.start_in = self.inner.total_in();
    }

    /// Inflates a piece of the current message's payload (streaming), handing the bytes to `sink`
    /// at most `scratch.len()` at a time. Fails once the message passes its limit
    /// ([`InflateError::OverLimit`]: `sink` got exactly the limit) or the data is corrupt.
    pub fn feed(&mut self, input: &[u8], scratch: &mut [u8], sink: &mut dyn FnMut(&[u8])) -> Result<(), InflateError> {
        let mut rest = input;
        while !self.ended {
            let (consumed, output_full) = self.step(rest, scratch, sink)?;
            rest = &rest[consumed..];
            if (rest.is_empty() || consumed == 0) && !output_full {
                break;
            }
        }
        Ok(())
    }

    /// Ends the current message (streaming): what its last bytes still hold goes to `sink`.
    pub fn end(&mut self, scratch: &mut [u8], sink: &mut dyn FnMut(&[u8])) -> Result<(), InflateError> {
        // RFC 7692 §7.2.2: append 0x00 0x00 0xff 0xff to the payload, then inflate
        self.feed(&TAIL, scratch, sink)
    }

    /// Inflated bytes of the current message so far.
    pub fn produced(&self) -> usize {
        self.produced
    }

    /// One call into zlib: the input bytes it consumed, and whether it filled the output room (more may be pending).
    fn step(
        &mut self,
        input: &[u8],
        scratch: &mut [u8],
        sink: &mut dyn FnMut(&[u8]),
    ) -> Result<(usize, bool), InflateError> {
        let start_in = self.start_in;
        let used = |d: &Decompress| usize::try_from(d.total_in() - start_in).unwrap_or(usize::MAX);
        // one byte past the limit tells "over" from "exactly at"; exactly `room` bytes of output: zlib must stop
        // at the limit, not decode past it and then report corrupt data that lies beyond the limit
        let room = self.limit.saturating_add(1).saturating_sub(self.produced).min(scratch.len()).max(1);
        let Some(buf) = scratch.get_mut(..room) else {
            // an empty scratch buffer: no room to inflate into
            return Ok((0, false));
        };
        let (before_in, total_out) = (self.inner.total_in(), self.inner.total_out());
        let result = self.inner.decompress(input, buf, FlushDecompress::Sync);
        let produced = usize::try_from(self.inner.total_out() - total_out).unwrap_or(room).min(room);
        let over = (self.produced + produced).saturating_sub(self.limit);
        // zlib decodes the next code before it notices the output is full: when that code is corrupt it reports
        // the corruption, although the byte over the limit came first in the stream (ours: over the limit)
        if over > 0 {
            sink(&buf[..produced - over]);
            self.produced = self.limit;
            return Err(InflateError::OverLimit { limit: self.limit, input_consumed: used(&self.inner) });
        }
        let status =
            result.map_err(|e| InflateError::Corrupt { reason: e.to_string(), input_consumed: used(&self.inner) })?;
        sink(&buf[..produced]);
        self.produced += produced;
        self.ended = status == Status::StreamEnd;
        let consumed = usize::try_from(self.inner.total_in() - before_in).unwrap_or(input.len());
        Ok((consumed, produced == room))
    }
}
