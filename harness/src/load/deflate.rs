//! permessage-deflate (RFC 7692) under load: `wsharness load --deflate[=PARAMS]`.
//!
//! - [`Offer`]: `--deflate[=PARAMS]`, checked when the flags are parsed: the parameters of one
//!   `permessage-deflate` offer, each one a server may accept (RFC 7692 §7).
//! - [`accept`]: what a connection's 101 response negotiated, or why loading it compressed cannot
//!   go on ([`Refusal`]: declined, or a response that breaks RFC 7692).
//! - [`DeflatePlan`]: what every connection shares: the offer, and the compressed bodies replayed.
//! - [`Deflate`]: one connection's state: how its messages are compressed ([`Sending`]) and the
//!   inflater of the server's messages, fed as their bytes arrive.
//!
//! How messages are compressed. Every payload starts with its sequence number (8 bytes, see
//! [`super::payload`]), so no two messages are the same bytes; what follows it is the same pattern
//! for every message of a size.
//!
//! - Context takeover allowed (no `client_no_context_takeover` in the response, the default): each
//!   message goes through the connection's own zlib stream ([`LEVEL`]), as a browser's would, and
//!   refers back into the messages before it.
//! - `client_no_context_takeover`: each message is compressed on its own (RFC 7692 §7.1.1.2), so
//!   the pattern after the sequence number compresses to the same bytes every time: it is
//!   compressed once per size (per window) and replayed. A message is then a stored block holding
//!   its sequence number (RFC 1951 §3.2.4: 5 bytes of header, the 8 bytes), then the replayed body,
//!   which was compressed from an empty window and so refers to nothing before it, nor to any
//!   earlier message. The server inflates every byte of it as it would any message; the wire
//!   carries what is sent (counted as sent), about 5 bytes more per message than compressing the
//!   sequence number would cost. More than [`REPLAY_SIZES`] sizes (or [`REPLAY_PLAIN`] bytes of
//!   them), or bodies over [`REPLAY_BYTES`]: each message is compressed alone, by a zlib stream of
//!   the thread.
//! - `client_max_window_bits=8`: zlib cannot compress with a 256-byte window, so messages go in
//!   stored blocks (valid under any window; a ratio just under 1).
//!
//! Each message is one frame, RSV1 set (RFC 7692 §6.1). A server may compress each echo or not
//! (RSV1 says which, RFC 7692 §6); a compressed one is inflated as its bytes arrive, checked piece
//! by piece against the message it echoes and never reassembled.
//!
//! Memory per connection: an inflater (zlib-rs: its state and a 32 KiB window), and with context
//! takeover a deflate stream (about 256 KiB at window 15, a quarter of that at window 13); replay
//! and stored blocks hold no compressor per connection.

use std::cell::RefCell;
use std::sync::OnceLock;

use thiserror::Error;

use super::errors::LoadError;
use super::payload::{Outbox, PayloadBook, Tag, SEQ_LEN};
use super::session::Plan;
use super::size::SizeDist;
use crate::wire::deflate::compress::ZLIB_MIN_WINDOW_BITS;
use crate::wire::deflate::{
    check_offer, negotiate, parse_extensions, Compressor, InflateError, Inflater, Negotiated, Negotiation,
    PERMESSAGE_DEFLATE,
};
use crate::wire::{ServerResponse, Violation};

/// zlib level of what the generator compresses: 1, the fastest (the reference server's default too):
/// the generator must cost less per message than the server it loads.
pub const LEVEL: u32 = 1;
/// Replay only for at most this many distinct sizes (a `--size` range wider than this: compressed per message).
pub const REPLAY_SIZES: usize = 4096;
/// Replay only if the replayed bodies, all sizes together, fit in this many bytes.
pub const REPLAY_BYTES: usize = 64 << 20;
/// Replay only if the sizes together are at most this many plain bytes (compressing them takes
/// about a second at zlib level 1, before the run starts).
pub const REPLAY_PLAIN: u64 = 256 << 20;
/// Inflated bytes handed out at a time (a buffer per thread, none per connection).
const INFLATE_CHUNK: usize = 16 * 1024;
/// The offer's parameters with `--deflate` alone.
pub const DEFAULT_PARAMS: &str = "client_max_window_bits";

/// `--deflate[=PARAMS]`: one `permessage-deflate` offer, valid (a server may accept it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offer {
    value: String,
}

/// Why `--deflate=PARAMS` cannot be offered.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum OfferError {
    /// Not the extension grammar of RFC 6455 §9.1.
    #[error("at byte {offset} of PARAMS: expected {expected} (RFC 6455 §9.1: name or name=value, separated by ';')")]
    Syntax {
        /// Byte offset in PARAMS.
        offset: usize,
        /// What the grammar wanted there.
        expected: &'static str,
    },
    /// A ',' in PARAMS: another extension.
    #[error("PARAMS are the parameters of one permessage-deflate offer; a ',' starts another extension")]
    Several,
    /// PARAMS start with the extension's name.
    #[error("write the parameters only: the extension name permessage-deflate is added (e.g. --deflate='client_no_context_takeover')")]
    NameGiven,
    /// A parameter for which a server must decline the offer.
    #[error("a server must decline this offer (RFC 7692 §7): {0}")]
    Invalid(String),
}

impl Offer {
    /// The offer of `--deflate=PARAMS` (the parameters as written after the extension name; empty:
    /// none), refused when it does not follow the grammar or a server would have to decline it.
    pub fn parse(params: &str) -> Result<Offer, OfferError> {
        let params = params.trim();
        let value =
            if params.is_empty() { PERMESSAGE_DEFLATE.to_owned() } else { format!("{PERMESSAGE_DEFLATE}; {params}") };
        let prefix = value.len() - params.len();
        let elements = parse_extensions(&value)
            .map_err(|e| OfferError::Syntax { offset: e.offset.saturating_sub(prefix), expected: e.expected })?;
        let [element] = elements.as_slice() else { return Err(OfferError::Several) };
        if element.params.first().is_some_and(|p| p.name.eq_ignore_ascii_case(PERMESSAGE_DEFLATE)) {
            return Err(OfferError::NameGiven);
        }
        // RFC 7692 §7: a server MUST decline an offer with an unknown, repeated or invalid parameter;
        // such an offer would test the server's refusal, not load it compressed
        check_offer(element).map_err(OfferError::Invalid)?;
        Ok(Offer { value })
    }

    /// The `Sec-WebSocket-Extensions` value sent, e.g. `permessage-deflate; client_max_window_bits`.
    pub fn header_value(&self) -> &str {
        &self.value
    }
}

impl std::str::FromStr for Offer {
    type Err = OfferError;

    fn from_str(s: &str) -> Result<Offer, OfferError> {
        Offer::parse(s)
    }
}

/// Why a connection cannot be loaded with permessage-deflate.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Refusal {
    /// The 101 response has no `permessage-deflate`.
    #[error("the server declined permessage-deflate: its 101 response has no permessage-deflate extension (offered Sec-WebSocket-Extensions: {offer}); run without --deflate to load it uncompressed")]
    Declined {
        /// The offer sent.
        offer: String,
    },
    /// The response breaks RFC 7692 (or the extension grammar of RFC 6455 §9.1).
    #[error("the server's permessage-deflate response breaks {}", listed(.0))]
    Violates(Vec<Violation>),
}

fn listed(violations: &[Violation]) -> String {
    violations.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
}

impl Refusal {
    /// The error a connection counts for it (kind `handshake_invalid`).
    pub fn load_error(&self) -> LoadError {
        match self {
            Refusal::Declined { .. } => LoadError::Deflate(None),
            Refusal::Violates(v) => LoadError::Deflate(v.first().map(|v| v.kind)),
        }
    }
}

/// What the 101 `response` to `offer` negotiated (RFC 7692 §5, §7).
pub fn accept(offer: &Offer, response: &ServerResponse) -> Result<Negotiated, Refusal> {
    let values: Vec<&str> = response.header_values("Sec-WebSocket-Extensions").collect();
    match negotiate(&[offer.header_value()], &values) {
        Ok(Negotiation::Accepted(n)) => Ok(n),
        Ok(Negotiation::Declined) => Err(Refusal::Declined { offer: offer.value.clone() }),
        Err(violations) => Err(Refusal::Violates(violations)),
    }
}

/// The response's parameters as text, e.g. `client_max_window_bits=15, server_no_context_takeover`
/// (windows always given; for the report).
pub fn describe(n: &Negotiated) -> String {
    let mut parts = Vec::new();
    if n.server_no_context_takeover {
        parts.push("server_no_context_takeover".to_owned());
    }
    if n.client_no_context_takeover {
        parts.push("client_no_context_takeover".to_owned());
    }
    parts.push(format!("server_max_window_bits={}", n.server_max_window_bits));
    parts.push(format!("client_max_window_bits={}", n.client_max_window_bits));
    parts.join("; ")
}

/// Most payload bytes a message of `size` bytes takes compressed by the generator (zlib's worst
/// case, stored blocks and the replayed sequence number's stored block included).
pub fn send_bound(size: usize) -> usize {
    size + size / 8 + 64
}

/// Most payload bytes a server's compressed echo of a `size`-byte message may take: fixed Huffman
/// codes spend at most 9 bits on a literal (RFC 1951 §3.2.6), this allows twice that and the
/// blocks' framing. Past it the echo ends its connection ([`LoadError::EchoTooLong`]): a stream of
/// empty blocks cannot go on without end.
pub fn echo_wire_cap(size: usize) -> usize {
    size + size / 4 + 1024
}

/// How one connection compresses its messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// One zlib stream per connection, context kept from message to message.
    ContextTakeover,
    /// The body of each size compressed once and replayed after a stored block of the sequence number.
    Replay,
    /// Each message compressed alone (no context takeover, too many sizes to replay).
    Independent,
    /// Stored blocks: `client_max_window_bits=8`.
    Stored,
}

impl Mode {
    /// The name in the report.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::ContextTakeover => "context_takeover",
            Mode::Replay => "replay",
            Mode::Independent => "independent",
            Mode::Stored => "stored",
        }
    }
}

/// What every connection of a `--deflate` run shares.
#[derive(Debug)]
pub struct DeflatePlan {
    /// The offer.
    pub offer: Offer,
    /// Replayed bodies by our window (index: client_max_window_bits - 8), built at first use.
    replay: [OnceLock<Option<Templates>>; 8],
}

impl DeflatePlan {
    /// A plan offering `offer`.
    pub fn new(offer: Offer) -> DeflatePlan {
        DeflatePlan { offer, replay: std::array::from_fn(|_| OnceLock::new()) }
    }

    /// How a connection that negotiated `n` compresses (building the replayed bodies if it replays).
    pub fn mode(&self, book: &PayloadBook, sizes: &SizeDist, n: &Negotiated) -> Mode {
        if n.client_max_window_bits < ZLIB_MIN_WINDOW_BITS {
            return Mode::Stored;
        }
        if !n.client_no_context_takeover {
            return Mode::ContextTakeover;
        }
        match self.templates(book, sizes, n.client_max_window_bits) {
            Some(_) => Mode::Replay,
            None => Mode::Independent,
        }
    }

    /// The replayed bodies for our window of `bits` (9..=15), built once; `None` when there are too
    /// many sizes or bytes to replay.
    pub fn templates(&self, book: &PayloadBook, sizes: &SizeDist, bits: u8) -> Option<&Templates> {
        let slot = self.replay.get(usize::from(bits.saturating_sub(8)))?;
        slot.get_or_init(|| Templates::build(book, sizes, bits)).as_ref()
    }
}

/// The compressed bodies (the pattern after the sequence number) of each message size, compressed
/// from an empty window with one window size.
#[derive(Debug)]
pub struct Templates {
    sizes: Vec<u32>,
    ends: Vec<usize>,
    bytes: Vec<u8>,
}

impl Templates {
    /// The bodies of every size `sizes` can draw, with a window of `bits`; `None` if over
    /// [`REPLAY_SIZES`] sizes or [`REPLAY_BYTES`] bytes.
    pub fn build(book: &PayloadBook, sizes: &SizeDist, bits: u8) -> Option<Templates> {
        let list: Vec<u32> = match sizes {
            SizeDist::Fixed(n) => vec![*n],
            SizeDist::Range { lo, hi } if ((hi - lo) as usize) < REPLAY_SIZES => (*lo..=*hi).collect(),
            SizeDist::Range { .. } => return None,
            SizeDist::Weighted(list) => {
                let mut v: Vec<u32> = list.iter().map(|(s, _)| *s).collect();
                v.sort_unstable();
                v.dedup();
                v
            }
        };
        if list.len() > REPLAY_SIZES || list.iter().map(|s| u64::from(*s)).sum::<u64>() > REPLAY_PLAIN {
            return None;
        }
        // RFC 7692 §7.1.1.2: each body from an empty window, so that it refers to no earlier message
        let mut compressor = Compressor::new(bits, LEVEL, true).ok()?;
        let mut t = Templates { sizes: Vec::new(), ends: Vec::new(), bytes: Vec::new() };
        for size in list {
            let (_, head, rest) = book.plain(0, size as usize);
            if head == SEQ_LEN && !rest.is_empty() {
                compressor.compress_into(&[rest], &mut t.bytes).ok()?;
            }
            if t.bytes.len() > REPLAY_BYTES {
                return None;
            }
            t.sizes.push(size);
            t.ends.push(t.bytes.len());
        }
        Some(t)
    }

    /// The body of messages of `size` bytes (empty when the size leaves nothing after the
    /// sequence number); `None` for a size not built.
    pub fn body(&self, size: u32) -> Option<&[u8]> {
        let i = self.sizes.binary_search(&size).ok()?;
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        self.bytes.get(start..self.ends[i])
    }

    /// Bytes held.
    pub fn held(&self) -> usize {
        self.bytes.len()
    }
}

/// How a connection's messages are compressed.
enum Sending {
    ContextTakeover(Box<Compressor>),
    Replay,
    Independent,
    Stored,
}

impl std::fmt::Debug for Sending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Sending::ContextTakeover(_) => "ContextTakeover",
            Sending::Replay => "Replay",
            Sending::Independent => "Independent",
            Sending::Stored => "Stored",
        })
    }
}

/// Why a compressed echo could not be taken.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum EchoError {
    /// It inflates to more than the message it echoes.
    #[error("inflates past the message it echoes")]
    TooLong,
    /// It is not DEFLATE data (RFC 7692 §7.2.2).
    #[error("invalid DEFLATE data")]
    Corrupt,
}

impl EchoError {
    /// The error the connection ends with.
    pub fn load_error(&self) -> LoadError {
        match self {
            EchoError::TooLong => LoadError::EchoTooLong,
            // RFC 7692 §7.2.2: the payload with 00 00 ff ff appended is DEFLATE data
            EchoError::Corrupt => LoadError::Protocol("invalid DEFLATE data"),
        }
    }
}

impl From<InflateError> for EchoError {
    fn from(e: InflateError) -> EchoError {
        match e {
            InflateError::OverLimit { .. } => EchoError::TooLong,
            _ => EchoError::Corrupt,
        }
    }
}

thread_local! {
    /// Inflated bytes land here before they are checked (one buffer per thread).
    static SCRATCH: RefCell<Vec<u8>> = RefCell::new(vec![0; INFLATE_CHUNK]);
    /// The zlib stream of [`Mode::Independent`] messages (reset after each), by window bits.
    static INDEPENDENT: RefCell<Option<(u8, Compressor)>> = const { RefCell::new(None) };
}

/// One connection's permessage-deflate state.
#[derive(Debug)]
pub struct Deflate {
    negotiated: Negotiated,
    sending: Sending,
    inflater: Inflater,
}

impl Deflate {
    /// The state of a connection of `plan` that negotiated `n`.
    pub fn new(plan: &Plan, n: Negotiated) -> Deflate {
        let mode = match &plan.deflate {
            Some(d) => d.mode(&plan.book, &plan.sizes, &n),
            None => Mode::Independent,
        };
        let sending = match mode {
            Mode::Stored => Sending::Stored,
            Mode::Replay => Sending::Replay,
            Mode::Independent => Sending::Independent,
            // RFC 7692 §7.1.2.2: our window at most 2^client_max_window_bits bytes
            Mode::ContextTakeover => match Compressor::for_client(&n, LEVEL) {
                Ok(c) => Sending::ContextTakeover(Box::new(c)),
                Err(_) => Sending::Stored,
            },
        };
        // the limit is set per message (its size) when the message begins
        Deflate { negotiated: n, sending, inflater: Inflater::for_server(&n, 0) }
    }

    /// What was negotiated.
    pub fn negotiated(&self) -> &Negotiated {
        &self.negotiated
    }

    /// Appends message `seq` of `size` bytes, compressed, as one masked frame with RSV1 set
    /// (RFC 7692 §6.1); returns its payload length on the wire.
    pub fn write_message(&mut self, plan: &Plan, out: &mut Outbox, seq: u64, size: usize) -> usize {
        let book = &plan.book;
        let (tag, head, rest) = book.plain(seq, size);
        let parts: [&[u8]; 2] = [&tag.0[..head], rest];
        let wire = match &mut self.sending {
            Sending::Replay => {
                let bits = self.negotiated.client_max_window_bits;
                let templates = plan.deflate.as_ref().and_then(|d| d.templates(book, &plan.sizes, bits));
                // ok: a message size fits in u32 (64 MiB at most)
                let body = templates.and_then(|t| t.body(size as u32));
                match body {
                    Some(body) => replayed(book, out, seq, &tag, head, body),
                    None => book.write_frame_with(out, seq, true, send_bound(size), |own| {
                        independent(&self.negotiated, &parts, own)
                    }),
                }
            }
            Sending::ContextTakeover(c) => book.write_frame_with(out, seq, true, send_bound(size), |own| {
                if c.compress_into(&parts, own).is_err() {
                    // the compressor starts afresh after an error; this message goes as it is
                    stored_into(&parts, own);
                }
            }),
            Sending::Independent => book
                .write_frame_with(out, seq, true, send_bound(size), |own| independent(&self.negotiated, &parts, own)),
            Sending::Stored => book.write_frame_with(out, seq, true, send_bound(size), |own| stored_into(&parts, own)),
        };
        wire
    }

    /// A compressed echo of a `size`-byte message begins.
    pub fn begin_echo(&mut self, size: usize) {
        self.inflater.begin(size);
    }

    /// Inflates a piece of the compressed echo, handing its bytes to `check` as they come.
    pub fn echo_bytes(&mut self, payload: &[u8], check: &mut dyn FnMut(&[u8])) -> Result<(), EchoError> {
        with_scratch(|scratch| self.inflater.feed(payload, scratch, check)).map_err(EchoError::from)
    }

    /// The compressed echo is complete: its last bytes go to `check` (RFC 7692 §7.2.2).
    pub fn end_echo(&mut self, check: &mut dyn FnMut(&[u8])) -> Result<(), EchoError> {
        with_scratch(|scratch| self.inflater.end(scratch, check)).map_err(EchoError::from)
    }
}

/// Runs `f` with the thread's inflate buffer (a fresh one if it is in use).
fn with_scratch<R>(f: impl FnOnce(&mut [u8]) -> R) -> R {
    SCRATCH.with(|s| match s.try_borrow_mut() {
        Ok(mut buf) => f(&mut buf),
        Err(_) => f(&mut vec![0; INFLATE_CHUNK]),
    })
}

/// A replayed message: the sequence number in a stored block, then the body compressed once.
fn replayed(book: &PayloadBook, out: &mut Outbox, seq: u64, tag: &Tag, head: usize, body: &[u8]) -> usize {
    let len = if head == 0 { 1 } else { 5 + head + body.len().max(1) };
    book.write_frame_with(out, seq, true, len, |own| {
        if head > 0 {
            // RFC 1951 §3.2.4: a stored block, not final: BFINAL 0, BTYPE 00, padding, LEN, NLEN, the bytes
            // ok: head ≤ 8
            let n = head as u8;
            own.extend_from_slice(&[0x00, n, 0x00, !n, 0xff]);
            own.extend_from_slice(&tag.0[..head]);
        }
        if body.is_empty() {
            // RFC 7692 §7.2.1: the data ends with an empty stored block, its 00 00 ff ff removed
            own.push(0x00);
        } else {
            // compressed from an empty window with a sync flush and its tail removed (RFC 7692 §7.2.1)
            own.extend_from_slice(body);
        }
    })
}

/// `parts` compressed alone by the thread's zlib stream for this window (stored if zlib fails).
fn independent(n: &Negotiated, parts: &[&[u8]], own: &mut Vec<u8>) {
    let bits = n.client_max_window_bits;
    let done = INDEPENDENT.with(|slot| {
        let Ok(mut slot) = slot.try_borrow_mut() else { return false };
        if slot.as_ref().is_none_or(|(b, _)| *b != bits) {
            *slot = Compressor::new(bits, LEVEL, true).ok().map(|c| (bits, c));
        }
        // RFC 7692 §7.1.1.2: the stream is reset after each message
        slot.as_mut().is_some_and(|(_, c)| c.compress_into(parts, own).is_ok())
    });
    if !done {
        stored_into(parts, own);
    }
}

/// `parts` in stored blocks, as a message's payload: valid under any window (RFC 7692 §7.2.3.3).
pub fn stored_into(parts: &[&[u8]], own: &mut Vec<u8>) {
    for part in parts {
        for chunk in part.chunks(usize::from(u16::MAX)) {
            // RFC 1951 §3.2.4: BFINAL 0, BTYPE 00, padding, LEN, NLEN (one's complement), the bytes
            // ok: a chunk is at most 65,535 bytes
            let len = chunk.len() as u16;
            own.push(0x00);
            own.extend_from_slice(&len.to_le_bytes());
            own.extend_from_slice(&(!len).to_le_bytes());
            own.extend_from_slice(chunk);
        }
    }
    // RFC 7692 §7.2.1: the data ends with an empty stored block, its 00 00 ff ff removed
    own.push(0x00);
}

#[cfg(test)]
mod tests;
