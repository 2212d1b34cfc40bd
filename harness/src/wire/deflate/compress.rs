//! Compressing our messages with flate2 (zlib-rs) and explicit parameters (RFC 7692 §7.2.1).
//!
//! zlib refuses a raw DEFLATE window of 8 bits (it silently uses 9), so a
//! connection that negotiated `client_max_window_bits=8` cannot be served by
//! zlib: [`Compressor::new`] refuses it with [`CompressError::WindowUnsupported`],
//! and the caller uses the window-agnostic encoders of [`super::craft`]
//! ([`super::craft::stored_message`], [`super::craft::literal_message`]), whose
//! blocks hold no back-reference and are valid under any window.

use flate2::{Compress, Compression, FlushCompress};
use thiserror::Error;

use super::params::Negotiated;
use super::TAIL;
use crate::wire::Endpoint;

/// The smallest window zlib compresses raw DEFLATE with.
pub const ZLIB_MIN_WINDOW_BITS: u8 = 9;

/// Why a compressor could not be made or run.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum CompressError {
    /// zlib compresses raw DEFLATE with windows of 9..=15 bits only.
    #[error("window of {0} bits: zlib compresses with 9..=15 (use craft's stored or literal encoders for 8)")]
    WindowUnsupported(u8),
    /// Compression levels are 0..=9.
    #[error("compression level {0} is not in 0..=9")]
    LevelUnsupported(u32),
    /// zlib reported an error (should not happen with valid parameters).
    #[error("zlib: {0}")]
    Zlib(String),
}

/// Removes the 4 octets 00 00 ff ff from the tail end, if they are there (RFC 7692 §7.2.1); says whether it did.
pub fn strip_tail(data: &mut Vec<u8>) -> bool {
    if data.ends_with(&TAIL) {
        data.truncate(data.len() - TAIL.len());
        return true;
    }
    false
}

/// Compresses our messages in order: one sync-flushed DEFLATE stream, tail removed per message.
pub struct Compressor {
    inner: Compress,
    no_context_takeover: bool,
}

impl std::fmt::Debug for Compressor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Compressor").field("no_context_takeover", &self.no_context_takeover).finish_non_exhaustive()
    }
}

impl Compressor {
    /// A compressor with a window of `window_bits` (9..=15), zlib level `level` (0..=9),
    /// resetting the window for each message if `no_context_takeover`.
    pub fn new(window_bits: u8, level: u32, no_context_takeover: bool) -> Result<Compressor, CompressError> {
        if !(ZLIB_MIN_WINDOW_BITS..=15).contains(&window_bits) {
            return Err(CompressError::WindowUnsupported(window_bits));
        }
        if level > 9 {
            return Err(CompressError::LevelUnsupported(level));
        }
        let inner = Compress::new_with_window_bits(Compression::new(level), false, window_bits);
        Ok(Compressor { inner, no_context_takeover })
    }

    /// The compressor for our messages on a connection that negotiated `negotiated`:
    /// the largest window allowed and context takeover unless forbidden (RFC 7692 §7.1.1.2, §7.1.2.2).
    pub fn for_client(negotiated: &Negotiated, level: u32) -> Result<Compressor, CompressError> {
        Compressor::for_sender(negotiated, Endpoint::Client, level)
    }

    /// The compressor for the messages `sender` (our side) sends on a connection that negotiated
    /// `negotiated`: that side's window and context takeover (RFC 7692 §7.1.1, §7.1.2).
    pub fn for_sender(negotiated: &Negotiated, sender: Endpoint, level: u32) -> Result<Compressor, CompressError> {
        Compressor::new(negotiated.max_window_bits(sender), level, negotiated.no_context_takeover(sender))
    }

    /// One message's compressed payload (to send with RSV1 set on its first frame).
    pub fn compress(&mut self, message: &[u8]) -> Result<Vec<u8>, CompressError> {
        let mut out = Vec::with_capacity(message.len() / 2 + 64);
        self.compress_into(&[message], &mut out)?;
        Ok(out)
    }

    /// One message, given as consecutive `parts`, compressed and appended to `out`; returns the
    /// compressed length. Nothing is allocated beyond what `out` grows by.
    ///
    /// On an error `out` is left as it was and the compressor starts afresh: its next message
    /// refers to nothing before it, which a receiver keeping its window accepts as well.
    pub fn compress_into(&mut self, parts: &[&[u8]], out: &mut Vec<u8>) -> Result<usize, CompressError> {
        let start = out.len();
        let last = parts.len().saturating_sub(1);
        let mut result = Ok(());
        for (i, part) in parts.iter().enumerate() {
            // RFC 7692 §7.2.1: compress the payload with DEFLATE and end it with an empty stored block (sync flush)
            let flush = if i == last { FlushCompress::Sync } else { FlushCompress::None };
            result = self.feed(part, out, flush);
            if result.is_err() {
                break;
            }
        }
        if parts.is_empty() {
            result = self.feed(&[], out, FlushCompress::Sync);
        }
        if let Err(e) = result {
            out.truncate(start);
            self.inner.reset();
            return Err(e);
        }
        // RFC 7692 §7.2.1: remove the 4 octets 00 00 ff ff from the tail end
        if out.len() - start >= TAIL.len() && out.ends_with(&TAIL) {
            out.truncate(out.len() - TAIL.len());
        }
        if out.len() == start {
            // zlib flushes nothing for an empty message after a flush; an empty payload would leave
            // the receiver a truncated stored block once it appends 00 00 ff ff: send an empty stored block
            out.push(0x00);
        }
        if self.no_context_takeover {
            // RFC 7692 §7.1.1.2: a client that may not take over context starts each message with an empty window
            self.inner.reset();
        }
        Ok(out.len() - start)
    }

    /// Compresses all of `input` into `out` with `flush`, growing `out` as needed.
    fn feed(&mut self, input: &[u8], out: &mut Vec<u8>, flush: FlushCompress) -> Result<(), CompressError> {
        let start_in = self.inner.total_in();
        loop {
            let done = usize::try_from(self.inner.total_in() - start_in).unwrap_or(input.len()).min(input.len());
            out.reserve((input.len() - done) / 2 + 64);
            let spare = out.capacity() - out.len();
            let before = out.len();
            self.inner.compress_vec(&input[done..], out, flush).map_err(|e| CompressError::Zlib(e.to_string()))?;
            let all_in = usize::try_from(self.inner.total_in() - start_in).unwrap_or(0) >= input.len();
            if all_in && out.len() - before < spare {
                return Ok(());
            }
        }
    }
}
