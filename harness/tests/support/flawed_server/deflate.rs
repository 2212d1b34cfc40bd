//! permessage-deflate (RFC 7692) for the fixture, on flate2 directly: the negotiation of one offer and
//! the compression state of a connection. It shares no code with the harness's own deflate (a fixture
//! must not share bugs with the judge it tests), and it keeps to what is simple: an offer it does not
//! take exactly as it likes (a quoted value, window 8) is declined, which RFC 7692 §7 always allows.

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

use super::{Flaw, Flaws};

/// What an accepted offer agreed on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Agreement {
    pub server_no_context_takeover: bool,
    pub client_no_context_takeover: bool,
    pub server_bits: u8,
    pub client_bits: u8,
}

/// The response value and the agreement for the first offer the fixture takes; `None`: all declined.
pub(crate) fn accept(elements: &[Vec<&str>]) -> Option<(String, Agreement)> {
    elements.iter().find_map(|params| accept_one(&params[1..]))
}

fn accept_one(params: &[&str]) -> Option<(String, Agreement)> {
    let mut a = Agreement {
        server_no_context_takeover: false,
        client_no_context_takeover: false,
        server_bits: 15,
        client_bits: 15,
    };
    let (mut seen, mut server_window, mut client_window) = (Vec::new(), None, false);
    for p in params {
        let (name, value) = match p.split_once('=') {
            Some((n, v)) => (n.trim(), Some(v.trim())),
            None => (p.trim(), None),
        };
        // RFC 7692 §7: a repeated parameter makes the offer invalid
        if seen.contains(&name) {
            return None;
        }
        seen.push(name);
        match (name, value) {
            ("server_no_context_takeover", None) => a.server_no_context_takeover = true,
            ("client_no_context_takeover", None) => a.client_no_context_takeover = true,
            ("server_max_window_bits", Some(v)) => server_window = Some(bits(v).filter(|b| *b >= 9)?),
            ("client_max_window_bits", None) => client_window = true,
            ("client_max_window_bits", Some(v)) => a.client_bits = bits(v)?,
            _ => return None,
        }
    }
    let mut answer = String::from("permessage-deflate");
    if a.server_no_context_takeover {
        answer.push_str("; server_no_context_takeover");
    }
    if a.client_no_context_takeover {
        answer.push_str("; client_no_context_takeover");
    }
    if let Some(b) = server_window {
        a.server_bits = b;
        answer.push_str(&format!("; server_max_window_bits={b}"));
    }
    if client_window && a.client_bits == 15 {
        // the offer allows asking: the fixture asks for nothing smaller, and says so
        answer.push_str("; client_max_window_bits=15");
    }
    Some((answer, a))
}

/// A window size parameter: 8..=15 written plainly (no quotes, no leading zero).
fn bits(v: &str) -> Option<u8> {
    let ok = !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) && !v.starts_with('0');
    ok.then(|| v.parse().ok()).flatten().filter(|b| (8..=15).contains(b))
}

/// Why a compressed message could not be inflated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum InflateFail {
    /// Over the message limit (1009).
    TooBig,
    /// Not DEFLATE data (1007).
    Corrupt,
}

/// One connection's inflater and deflater.
pub(crate) struct Codec {
    agreed: Agreement,
    flaws: Flaws,
    inflater: Decompress,
    deflater: Compress,
}

impl std::fmt::Debug for Codec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Codec").field("agreed", &self.agreed).finish_non_exhaustive()
    }
}

impl Codec {
    pub(crate) fn new(agreed: Agreement, flaws: Flaws) -> Codec {
        let server_bits = if flaws.has(Flaw::DeflateIgnoresServerWindow) { 15 } else { agreed.server_bits };
        Codec {
            inflater: Decompress::new_with_window_bits(false, agreed.client_bits.max(9)),
            deflater: Compress::new_with_window_bits(Compression::new(6), false, server_bits),
            agreed,
            flaws,
        }
    }

    /// Inflates one message (RFC 7692 §7.2.2: the tail appended), at most `limit` bytes. A corrupt
    /// message under [`Flaw::DeflateIgnoresCorruptData`] gives what was inflated before the error.
    pub(crate) fn inflate(&mut self, payload: &[u8], limit: u64) -> Result<Vec<u8>, InflateFail> {
        if self.agreed.client_no_context_takeover || self.flaws.has(Flaw::DeflateResetsClientContext) {
            self.inflater.reset(false);
        }
        let mut input = payload.to_vec();
        input.extend_from_slice(&[0, 0, 0xff, 0xff]);
        let mut out = Vec::new();
        let mut at = 0;
        loop {
            let room = (limit + 1).saturating_sub(out.len() as u64).min(64 * 1024) as usize;
            let (before_in, before_out) = (self.inflater.total_in(), out.len());
            out.reserve(room);
            match self.inflater.decompress_vec(&input[at..], &mut out, FlushDecompress::Sync) {
                Ok(status) => {
                    at += (self.inflater.total_in() - before_in) as usize;
                    if out.len() as u64 > limit {
                        return Err(InflateFail::TooBig);
                    }
                    let stuck = out.len() == before_out && self.inflater.total_in() == before_in;
                    if at >= input.len() && out.len() < out.capacity() || status == Status::StreamEnd || stuck {
                        return Ok(out);
                    }
                }
                Err(_) if self.flaws.has(Flaw::DeflateIgnoresCorruptData) => return Ok(out),
                Err(_) => return Err(InflateFail::Corrupt),
            }
        }
    }

    /// Compresses one echo (RFC 7692 §7.2.1: sync flush, the 4-octet tail removed).
    pub(crate) fn compress(&mut self, message: &[u8]) -> Vec<u8> {
        let keep_context = self.flaws.has(Flaw::DeflateKeepsContext);
        if self.agreed.server_no_context_takeover && !keep_context {
            self.deflater.reset();
        }
        let mut out = Vec::with_capacity(message.len() + 64);
        let start = self.deflater.total_in();
        loop {
            let done = (self.deflater.total_in() - start) as usize;
            out.reserve(message.len() - done.min(message.len()) + 64);
            if self.deflater.compress_vec(&message[done..], &mut out, FlushCompress::Sync).is_err() {
                break;
            }
            let all_in = (self.deflater.total_in() - start) as usize >= message.len();
            if all_in && out.len() < out.capacity() {
                break;
            }
        }
        if out.ends_with(&[0, 0, 0xff, 0xff]) && !self.flaws.has(Flaw::DeflateLeavesTail) {
            out.truncate(out.len() - 4);
        }
        if out.is_empty() {
            out.push(0);
        }
        out
    }
}
