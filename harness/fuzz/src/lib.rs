//! Input formats shared by the harness's fuzz targets and the seed generator.
//!
//! Each target reads a plain byte layout, written down here once, so that
//! `examples/seeds.rs` can write seeds from the case library in that layout:
//!
//! - [`Split`]: `[n][n × u16 LE cut][data]`, a byte stream and where the socket
//!   cut it into reads (`response`; `frame_reader` and `session` after a config byte);
//! - `frame_reader`: `[config][Split]`, limits from [`ReaderConfig::from_byte`];
//! - `session`: `[config][Split]`, the load plan from [`plan_for`] (with permessage-deflate: [`deflate_for`]);
//! - `wire_roundtrip`: `[n][n × u16 LE cut][frame descriptions]`, see [`FrameDesc`];
//! - `cases`: the text of a case file.
//!
//! `Split` and its helpers come from the `fuzz-split` crate, which the reference server's fuzz crate uses too:
//! one definition of the layout for both crates and the seed generator.

use wsharness::load::deflate::{DeflatePlan, Offer};
use wsharness::load::payload::PayloadBook;
use wsharness::load::session::{Pace, Plan};
use wsharness::load::size::SizeDist;
use wsharness::load::stats::Window;
use wsharness::wire::deflate::Negotiated;
use wsharness::wire::{FrameSpec, LengthEncoding};

pub use fuzz_split::{cuts_for, pieces, prefix_agrees, raw_cuts, Split, MAX_CUTS};

/// Limits the `frame_reader` target picks from (3 bits each of the config byte).
const LIMITS: [u64; 8] = [64 << 20, 0, 1, 125, 126, 300, 65_535, 65_536];

/// The `frame_reader` target's limits, from its first input byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReaderConfig {
    /// `FrameReader::with_max_payload`.
    pub max_payload: u64,
    /// `MessageAssembler::with_max_message`.
    pub max_message: u64,
}

impl ReaderConfig {
    /// Bits 0-2: the payload limit; bits 3-5: the message limit. Byte 0: the defaults (64 MiB).
    pub fn from_byte(b: u8) -> ReaderConfig {
        ReaderConfig { max_payload: LIMITS[usize::from(b & 7)], max_message: LIMITS[usize::from((b >> 3) & 7)] }
    }
}

/// One frame of the `wire_roundtrip` layout:
/// `[b0][b1][len: u16 LE][key: 4 bytes if masked][payload: len bytes]`, where
/// `b0` is the frame's first byte as on the wire (FIN, RSV, opcode), `b1` bit 7
/// is MASK and bits 0-1 the length encoding (minimal, 7, 16, 64 bits). A
/// description cut short takes what is there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameDesc {
    /// The frame.
    pub spec: FrameSpec,
}

impl FrameDesc {
    /// Reads descriptions until `input` is used up.
    pub fn parse_all(mut input: &[u8]) -> Vec<FrameDesc> {
        let mut frames = Vec::new();
        while let [b0, b1, rest @ ..] = input {
            let (len, rest) = match rest {
                [lo, hi, rest @ ..] => (usize::from(u16::from_le_bytes([*lo, *hi])), rest),
                _ => (0, &[][..]),
            };
            let (key, rest) = match (b1 & 0x80 != 0, rest) {
                (true, [a, b, c, d, rest @ ..]) => (Some([*a, *b, *c, *d]), rest),
                (true, _) => (Some([0; 4]), &[][..]),
                (false, rest) => (None, rest),
            };
            let (payload, rest) = rest.split_at(len.min(rest.len()));
            let length =
                [LengthEncoding::Minimal, LengthEncoding::Bits7, LengthEncoding::Bits16, LengthEncoding::Bits64]
                    [usize::from(b1 & 3)];
            let spec = FrameSpec::new(b0 & 0x0F, payload).fin(b0 & 0x80 != 0).rsv((b0 >> 4) & 7).length(length);
            let spec = match key {
                Some(k) => spec.mask_key(k),
                None => spec.unmasked(),
            };
            frames.push(FrameDesc { spec });
            input = rest;
        }
        frames
    }

    /// The description of one frame (the payload is cut at 65535 bytes).
    pub fn encode(spec: &FrameSpec) -> Vec<u8> {
        let payload = &spec.payload[..spec.payload.len().min(0xFFFF)];
        let b0 = u8::from(spec.fin) << 7 | (spec.rsv & 7) << 4 | (spec.opcode & 0x0F);
        let length = match spec.length {
            LengthEncoding::Minimal => 0,
            LengthEncoding::Bits7 => 1,
            LengthEncoding::Bits16 => 2,
            LengthEncoding::Bits64 => 3,
        };
        let key = spec.mask.key();
        let mut out = vec![b0, length | if key.is_some() { 0x80 } else { 0 }];
        out.extend_from_slice(&(payload.len() as u16).to_le_bytes());
        if let Some(k) = key {
            out.extend_from_slice(&k.0);
        }
        out.extend_from_slice(payload);
        out
    }
}

/// How many load plans the `session` target has.
pub const PLANS: usize = 6;

/// Clock time of the first `fill` in the `session` target and the seed generator.
pub const T_OPEN: u64 = 1_000_000;
/// Clock time of the second `fill`, when the pinging plan's first ping is due.
pub const T_PING: u64 = T_OPEN + 1;
/// Clock time at which the server's bytes arrive.
pub const T_READ: u64 = T_OPEN + 250_000;

/// Load plan `variant % PLANS`: closed loop with text of 64 bytes (4 in flight),
/// binary of 130 (a 16-bit length, 2 in flight), text of 1-200 bytes with pings
/// (3 in flight), open loop with binary of 8 or 300 bytes (4 in flight); with permessage-deflate
/// ([`deflate_for`]): text of 1000 bytes (3 in flight), binary of 1-300 bytes (4 in flight).
pub fn plan_for(variant: u8) -> Plan {
    let (binary, size, in_flight, pace, ping) = match usize::from(variant) % PLANS {
        0 => (false, "64", 4, Pace::Closed, None),
        1 => (true, "130", 2, Pace::Closed, None),
        2 => (false, "1..200", 3, Pace::Closed, Some(1)),
        3 => (true, "8:1,300:1", 4, Pace::Open { period_ns: 1_000.0 }, None),
        4 => (false, "1000", 3, Pace::Closed, None),
        _ => (true, "1..300", 4, Pace::Closed, None),
    };
    // ok: the sizes above are constants that parse
    let sizes = SizeDist::parse(size).unwrap_or(SizeDist::Fixed(64));
    Plan {
        book: PayloadBook::new(sizes.max() as usize, binary),
        sizes,
        in_flight,
        pace,
        ping_interval_ns: ping,
        timeout_ns: 5_000_000_000,
        window: Window { start_ns: 0, end_ns: u64::MAX },
        tickets: None,
        deflate: deflate_for(variant).and_then(|(params, _)| Offer::parse(params).ok()).map(DeflatePlan::new),
    }
}

/// The permessage-deflate offer's parameters of plan `variant % PLANS` and what the reference server
/// negotiates for it (its default settings): context takeover both ways and 32 KiB windows (plan 4);
/// no context takeover either way and a server window of 512 bytes, our messages replayed (plan 5).
pub fn deflate_for(variant: u8) -> Option<(&'static str, Negotiated)> {
    let takeover = Negotiated::default();
    let neither = Negotiated {
        server_no_context_takeover: true,
        client_no_context_takeover: true,
        server_max_window_bits: 9,
        client_max_window_bits: 15,
    };
    match usize::from(variant) % PLANS {
        4 => Some(("client_max_window_bits", takeover)),
        5 => Some(("client_no_context_takeover; server_no_context_takeover; server_max_window_bits=9", neither)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_descriptions_read_back_what_encode_wrote() {
        let specs = [
            FrameSpec::text("hello").unmasked(),
            FrameSpec::binary(vec![7; 300]).mask_key([1, 2, 3, 4]).length(LengthEncoding::Bits64),
            FrameSpec::new(0xB, "").fin(false).rsv(5).unmasked(),
        ];
        let bytes: Vec<u8> = specs.iter().flat_map(FrameDesc::encode).collect();
        let back: Vec<FrameSpec> = FrameDesc::parse_all(&bytes).into_iter().map(|d| d.spec).collect();
        assert_eq!(back, specs);
    }
}
