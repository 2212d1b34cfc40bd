//! Compressing and decompressing messages (RFC 7692 §6, §7.2) with the agreed
//! parameters, holding zlib state only while messages flow (see the module docs
//! of [`crate::deflate`]).

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

use super::message::InflatedMessage;
use super::offer::{Agreed, MIN_WINDOW_BITS};
use crate::error::ProtocolError;

/// The empty stored block a sync flush ends with: the sender removes it (§7.2.1),
/// the receiver appends it before inflating (§7.2.2).
const TRAILER: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// The smallest piece of output a deflater call is given.
const MIN_DEFLATE_WINDOW: usize = 64;
/// The largest piece of output a deflater call is given.
const MAX_DEFLATE_WINDOW: usize = 64 * 1024;

/// Bytes unmasked at a time before inflating them.
pub(crate) const UNMASK_CHUNK: usize = 4096;

/// The permessage-deflate state of one connection.
pub struct Codec {
    agreed: Agreed,
    /// Live only while a compressed message is received, or until the end of the current read.
    inflater: Option<Decompress>,
    /// Live only until the end of the current read.
    deflater: Option<Compress>,
    /// The inflater met a final block (BFINAL) in this message: it takes no more input.
    inflate_ended: bool,
    /// Compressed payload bytes received for the current message.
    wire_len: u64,
    /// The current message, inflated so far.
    message: InflatedMessage,
    /// The last plaintext bytes of the compressed messages, the same both ways
    /// (the server echoes compressed as compressed): the LZ77 window that
    /// context takeover carries to the next message (§7.2.1, §7.2.2).
    history: Vec<u8>,
    /// How much history context takeover needs: 0 with no context takeover both ways.
    history_cap: usize,
}

impl std::fmt::Debug for Codec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Codec")
            .field("agreed", &self.agreed)
            .field("inflater", &self.inflater.is_some())
            .field("deflater", &self.deflater.is_some())
            .field("message_len", &self.message.len())
            .field("history_len", &self.history.len())
            .finish()
    }
}

impl Codec {
    /// The state for a connection that agreed on these parameters; allocates nothing.
    pub fn new(agreed: Agreed) -> Codec {
        let inbound = if agreed.client_no_context_takeover { 0 } else { 1 << agreed.client_max_window_bits };
        // window 8 is compressed with stored blocks, which refer to nothing before them
        let outbound = if agreed.server_no_context_takeover || agreed.server_max_window_bits == MIN_WINDOW_BITS {
            0
        } else {
            1 << agreed.server_max_window_bits
        };
        Codec {
            agreed,
            inflater: None,
            deflater: None,
            inflate_ended: false,
            wire_len: 0,
            message: InflatedMessage::default(),
            history: Vec::new(),
            history_cap: inbound.max(outbound),
        }
    }

    /// The agreed parameters.
    pub fn agreed(&self) -> &Agreed {
        &self.agreed
    }

    /// Compressed payload bytes received so far for the current message.
    pub fn wire_len(&self) -> u64 {
        self.wire_len
    }

    /// What is held now: (an inflater, a deflater, the history's capacity in bytes).
    pub fn holds_state(&self) -> (bool, bool, usize) {
        (self.inflater.is_some(), self.deflater.is_some(), self.history.capacity())
    }

    /// The current message as inflated so far.
    pub fn message(&self) -> &InflatedMessage {
        &self.message
    }

    /// Inflates the next unmasked piece of a compressed message into the
    /// current message, which never holds more than `limit` bytes: one byte
    /// more is a 1009 (§10.4 of RFC 6455), found while inflating, before
    /// anything larger is allocated.
    pub fn inflate(&mut self, data: &[u8], limit: usize) -> Result<(), ProtocolError> {
        self.wire_len += data.len() as u64;
        self.inflate_inner(data, limit)
    }

    /// Ends a compressed message: RFC 7692 §7.2.2, the receiver appends 00 00 ff ff and inflates.
    pub fn finish_message(&mut self, limit: usize) -> Result<(), ProtocolError> {
        self.inflate_inner(&TRAILER, limit)?;
        self.wire_len = 0;
        // RFC 7692 §7.2.2: under client_no_context_takeover every message starts from an empty window
        if self.agreed.client_no_context_takeover || self.inflate_ended {
            self.inflater = None;
            self.inflate_ended = false;
        }
        Ok(())
    }

    /// Forgets the current message and the inflater (the connection failed).
    pub fn discard_message(&mut self) {
        self.message = InflatedMessage::default();
        self.wire_len = 0;
        self.park(false);
    }

    fn inflate_inner(&mut self, mut input: &[u8], limit: usize) -> Result<(), ProtocolError> {
        if self.inflate_ended {
            // data after a final block has no meaning; the message ends with the block
            return Ok(());
        }
        let inflater = match &mut self.inflater {
            Some(d) => d,
            None => self.inflater.insert(new_inflater(&self.agreed, &self.history)?),
        };
        loop {
            // each call fills at most one segment (64 KiB): the message grows without ever being copied
            let compressed = usize::try_from(self.wire_len).unwrap_or(usize::MAX);
            let (status, consumed, all_used) = match self.message.room(limit, compressed) {
                Some(room) => {
                    let space = room.len();
                    let (status, consumed, produced) = step(inflater, input, room)?;
                    self.message.advance(produced);
                    // room left over: the inflater used all the input it could
                    (status, consumed, produced < space)
                }
                None => {
                    // RFC 6455 §10.4: at the limit, any further output byte is one too many
                    let mut probe = [0u8; 1];
                    let (status, consumed, produced) = step(inflater, input, &mut probe)?;
                    if produced > 0 {
                        return Err(ProtocolError::MessageTooBig { len: limit as u64 + 1, limit: limit as u64 });
                    }
                    (status, consumed, consumed == 0)
                }
            };
            input = &input[consumed..];
            if status == Status::StreamEnd {
                self.inflate_ended = true;
                return Ok(());
            }
            if all_used {
                return Ok(());
            }
        }
    }

    /// Compresses the current message for its echo (§7.2.1) and appends the
    /// payload to `out`: DEFLATE with the agreed server window, flushed, the
    /// trailing 00 00 ff ff removed; an empty message becomes the single octet
    /// 0x00 (§7.2.3.6). Returns the payload's length. Each segment of the
    /// message is freed once compressed, so the inflated and the compressed
    /// message are never both held whole.
    pub fn compress_message(&mut self, out: &mut Vec<u8>) -> Result<usize, ProtocolError> {
        let message = std::mem::take(&mut self.message);
        let deflater = match &mut self.deflater {
            Some(c) => c,
            None => self.deflater.insert(new_deflater(&self.agreed, &self.history)?),
        };
        // the deflater has taken the history it needs: the history can move on to this message's end now
        remember(&mut self.history, self.history_cap, &message);
        let start = out.len();
        // one allocation for most echoes; the pages are written (and so resident) only as the payload grows
        out.reserve(message.len() / 2 + 64);
        let mut segments = message.into_segments().peekable();
        if segments.peek().is_none() {
            deflate_into(deflater, &[], out, FlushCompress::Sync)?;
        }
        while let Some(segment) = segments.next() {
            // the last segment goes in with the sync flush that ends the message's bytes (§7.2.1), the others without
            let flush = if segments.peek().is_some() { FlushCompress::None } else { FlushCompress::Sync };
            deflate_into(deflater, &segment, out, flush)?;
        }
        // RFC 7692 §7.2.1: remove the 00 00 ff ff the flush ended with
        if !out[start..].ends_with(&TRAILER) {
            return Err(ProtocolError::CompressorFailed);
        }
        out.truncate(out.len() - TRAILER.len());
        // RFC 7692 §7.2.1: under server_no_context_takeover every message starts from an empty window
        if self.agreed.server_no_context_takeover {
            deflater.reset();
        }
        Ok(out.len() - start)
    }

    /// Drops the zlib state between reads: the deflater always (the history
    /// recreates its window), the inflater unless a message is half received.
    pub fn park(&mut self, mid_message: bool) {
        self.deflater = None;
        if !mid_message {
            self.inflater = None;
            self.inflate_ended = false;
        }
    }
}

/// Adds a compressed message's plaintext to the shared history, which keeps its last `cap` bytes.
fn remember(history: &mut Vec<u8>, cap: usize, message: &InflatedMessage) {
    if cap == 0 {
        return;
    }
    if history.capacity() == 0 {
        history.reserve_exact(cap);
    }
    let keep = message.len().min(cap);
    let excess = (history.len() + keep).saturating_sub(cap);
    history.drain(..excess);
    message.copy_tail(keep, history);
}

/// Feeds `input` to the deflater with `flush`, appending to `out` until it is all taken.
///
/// Each call gets a window of `out` sized to what it should produce (half its
/// input, then twice as much while that is not enough), not `out`'s whole
/// spare capacity: flate2 (1.1.10, zlib-rs backend) zeroes all the spare
/// capacity it is given on every `compress_vec` call, 64 KiB and more for the
/// echo of a 64-byte message in a pooled reply buffer.
fn deflate_into(
    deflater: &mut Compress,
    mut input: &[u8],
    out: &mut Vec<u8>,
    flush: FlushCompress,
) -> Result<(), ProtocolError> {
    let mut window = (input.len() / 2).clamp(MIN_DEFLATE_WINDOW, MAX_DEFLATE_WINDOW);
    loop {
        let start = out.len();
        out.resize(start + window, 0);
        let (taken, before) = (deflater.total_in(), deflater.total_out());
        let result = deflater.compress(input, &mut out[start..], flush);
        let produced = (deflater.total_out() - before) as usize;
        out.truncate(start + produced);
        result.map_err(|_| ProtocolError::CompressorFailed)?;
        input = &input[(deflater.total_in() - taken) as usize..];
        // done when the deflater stops with room to spare: all taken, and a flush complete
        if input.is_empty() && produced < window {
            return Ok(());
        }
        window = (window * 2).min(MAX_DEFLATE_WINDOW);
    }
}

/// One call to the inflater into `buf`: (status, input consumed, output produced).
fn step(inflater: &mut Decompress, input: &[u8], buf: &mut [u8]) -> Result<(Status, usize, usize), ProtocolError> {
    let (i, o) = (inflater.total_in(), inflater.total_out());
    let status = inflater.decompress(input, buf, FlushDecompress::None).map_err(|_| corrupt())?;
    Ok((status, (inflater.total_in() - i) as usize, (inflater.total_out() - o) as usize))
}

fn corrupt() -> ProtocolError {
    ProtocolError::InvalidCompressedData
}

/// The last `window_bits` worth of `history`.
fn tail(history: &[u8], window_bits: u8) -> &[u8] {
    &history[history.len().saturating_sub(1 << window_bits)..]
}

/// A raw inflater for the client's window; with context takeover it starts from the history.
fn new_inflater(agreed: &Agreed, history: &[u8]) -> Result<Decompress, ProtocolError> {
    // ok: a window of 9..=15 bits; inflating with a window at least the sender's is always safe (zlib has no 8)
    let mut d = Decompress::new_with_window_bits(false, agreed.client_max_window_bits.max(MIN_WINDOW_BITS + 1));
    if !agreed.client_no_context_takeover && !history.is_empty() {
        d.set_dictionary(tail(history, agreed.client_max_window_bits)).map_err(|_| corrupt())?;
    }
    Ok(d)
}

/// A raw deflater for the server's window; with context takeover it starts from the history.
fn new_deflater(agreed: &Agreed, history: &[u8]) -> Result<Compress, ProtocolError> {
    let bits = agreed.server_max_window_bits;
    if bits == MIN_WINDOW_BITS {
        // zlib cannot compress with a 256-byte window; stored blocks (level 0) refer to no earlier byte at all
        return Ok(Compress::new_with_window_bits(Compression::none(), false, MIN_WINDOW_BITS + 1));
    }
    // ok: bits is 9..=15 here (the negotiation yields 8..=15)
    let mut c = Compress::new_with_window_bits(Compression::new(u32::from(agreed.level)), false, bits);
    if !agreed.server_no_context_takeover && !history.is_empty() {
        c.set_dictionary(tail(history, bits)).map_err(|_| ProtocolError::CompressorFailed)?;
    }
    Ok(c)
}

#[cfg(test)]
mod tests;
