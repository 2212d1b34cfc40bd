//! The server's side of permessage-deflate (RFC 7692 §6, §7), sans-IO: every
//! compressed message is inflated with the negotiated parameters and its
//! DEFLATE stream judged, and both directions are counted for the report.
//!
//! Two decoders serve: flate2 (fast) inflates, and our own
//! [`StreamAnalyzer`] (slower, it reports each back-reference's reach) judges.
//! When the negotiation restricts the server (a window under 15 bits, or no
//! context takeover) every message goes through the analyzer, which decodes
//! what flate2 would refuse, so that the rule broken is reported with its
//! evidence instead of a bare inflate error. Otherwise the analyzer checks the
//! first [`ANALYZED_FIRST`] messages (how the server ends its data, whether it
//! removes the tail) and flate2 alone inflates the rest: a 12.x case moves
//! 128 MiB each way and the analyzer is the slower decoder.

use super::opening::Deflate;
use crate::wire::deflate::params::MAX_WINDOW_BITS;
use crate::wire::deflate::{InflateError, Inflater, Negotiated, StreamAnalyzer};
use crate::wire::{Endpoint, Violation, ViolationKind};

/// Messages of an unrestricted negotiation whose stream the analyzer judges.
pub const ANALYZED_FIRST: u64 = 32;

/// A server message smaller than this is not expected to be compressed (compressing 16 bytes makes them
/// longer, and servers such as Node's `ws` skip messages under 1 KiB): only larger ones count when a
/// server that negotiated permessage-deflate is reported as never compressing.
pub const WORTH_COMPRESSING: u64 = 1024;

/// Messages and bytes one way.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DirectionStats {
    /// Data messages.
    pub messages: u64,
    /// Of which compressed (RSV1).
    pub compressed: u64,
    /// Payload bytes before compression (after inflating, for what we received).
    pub plain_bytes: u64,
    /// Payload bytes on the wire.
    pub wire_bytes: u64,
    /// The largest message before compression.
    pub largest: u64,
}

impl DirectionStats {
    /// Counts one message.
    pub fn add(&mut self, plain: u64, wire: u64, compressed: bool) {
        self.messages += 1;
        self.compressed += u64::from(compressed);
        self.plain_bytes += plain;
        self.wire_bytes += wire;
        self.largest = self.largest.max(plain);
    }
}

/// permessage-deflate on one case's connection, for the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeflateSummary {
    /// The `Sec-WebSocket-Extensions` value of the 101 (the server's, or ours when testing a client).
    pub response: String,
    /// What we sent.
    pub sent: DirectionStats,
    /// What the peer under test sent.
    pub received: DirectionStats,
}

/// The compressed stream of the peer under test (the server, or the client when we play the server)
/// on one connection.
#[derive(Debug)]
pub struct PeerDeflate {
    /// What the 101 accepted.
    pub deflate: Deflate,
    /// Who sends the stream judged: its window and context takeover are the ones that bind it.
    pub peer: Endpoint,
    inflater: Inflater,
    analyzer: StreamAnalyzer,
    /// Every message goes through the analyzer.
    analyze_all: bool,
    /// What we sent.
    pub sent: DirectionStats,
    /// What the peer under test sent.
    pub received: DirectionStats,
    /// Rules of RFC 7692 the stream broke: the first of each kind, with its evidence.
    pub violations: Vec<Violation>,
}

impl PeerDeflate {
    /// The judge of a server's stream on a connection that negotiated `deflate`, messages inflating to
    /// at most `limit` bytes.
    pub fn new(deflate: Deflate, limit: usize) -> PeerDeflate {
        PeerDeflate::of(Endpoint::Server, deflate, limit)
    }

    /// The judge of `peer`'s stream on a connection that negotiated `deflate`, messages inflating to at
    /// most `limit` bytes.
    pub fn of(peer: Endpoint, deflate: Deflate, limit: usize) -> PeerDeflate {
        let n = deflate.negotiated;
        PeerDeflate {
            inflater: Inflater::for_sender(&n, peer, limit),
            analyzer: StreamAnalyzer::new(limit),
            analyze_all: n.no_context_takeover(peer) || n.max_window_bits(peer) < MAX_WINDOW_BITS,
            deflate,
            peer,
            sent: DirectionStats::default(),
            received: DirectionStats::default(),
            violations: Vec::new(),
        }
    }

    /// What was negotiated.
    pub fn negotiated(&self) -> &Negotiated {
        &self.deflate.negotiated
    }

    /// An uncompressed data message from the server, counted.
    pub fn plain(&mut self, len: usize) {
        self.received.add(len as u64, len as u64, false);
    }

    /// A compressed message from the server (the frames' payloads joined): its inflated bytes, or
    /// why they cannot be had (the rule broken, in one line, also kept in [`PeerDeflate::violations`]).
    pub fn inflate(&mut self, payload: &[u8], text: bool) -> Result<Vec<u8>, String> {
        let index = self.received.messages + 1;
        let analyze = self.analyze_all || index <= ANALYZED_FIRST;
        let data = if analyze { self.analyzed(payload, index)? } else { self.inflated(payload, index)? };
        if !self.analyze_all && analyze {
            // keep flate2's window in step for the messages after the sample
            let _ = self.inflater.inflate(payload);
        }
        self.received.add(data.len() as u64, payload.len() as u64, true);
        if text && std::str::from_utf8(&data).is_err() {
            // RFC 7692 §6 with RFC 6455 §8.1: the inflated text is UTF-8
            let v = Violation::new(
                ViolationKind::DeflateTextNotUtf8,
                format!("message {index} ({} bytes inflated) is not UTF-8", data.len()),
            );
            return Err(self.keep(v));
        }
        Ok(data)
    }

    /// Decodes through the analyzer and judges the stream.
    fn analyzed(&mut self, payload: &[u8], index: u64) -> Result<Vec<u8>, String> {
        match self.analyzer.message(payload) {
            Ok(a) => {
                let negotiated = self.deflate.negotiated;
                for v in a.report.violations_of(&negotiated, self.peer) {
                    let detail = format!("message {index}: {}", v.observed);
                    self.keep(Violation::new(v.kind, detail));
                }
                Ok(a.data)
            }
            Err(e) => Err(match e.violation() {
                // RFC 7692 §7.2.2: the payload with the tail appended is DEFLATE data
                Some(v) => self.keep(Violation::new(v.kind, format!("message {index}: {}", v.observed))),
                None => format!("message {index}: {e}"),
            }),
        }
    }

    /// Inflates through flate2 (an unrestricted stream after the sample).
    fn inflated(&mut self, payload: &[u8], index: u64) -> Result<Vec<u8>, String> {
        self.inflater.inflate(payload).map_err(|e| match e {
            InflateError::OverLimit { .. } => format!("message {index}: {e}"),
            other => self.keep(Violation::new(ViolationKind::DeflateInvalidData, format!("message {index}: {other}"))),
        })
    }

    /// Keeps the first violation of each kind; returns its one-line description.
    fn keep(&mut self, v: Violation) -> String {
        let line = v.to_string();
        if !self.violations.iter().any(|seen| seen.kind == v.kind) {
            self.violations.push(v);
        }
        line
    }

    /// What the report shows: the extension accepted and the traffic each way.
    pub fn summary(&self) -> DeflateSummary {
        DeflateSummary { response: self.deflate.response.clone(), sent: self.sent, received: self.received }
    }

    /// Whether the server negotiated permessage-deflate and then compressed none of its messages worth
    /// compressing (reported, not a failure: RFC 7692 lets a sender choose per message).
    pub fn never_compressed(&self) -> bool {
        self.received.compressed == 0 && self.received.largest >= WORTH_COMPRESSING
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::deflate::{craft, Compressor};

    fn deflate(n: Negotiated) -> Deflate {
        Deflate { response: "permessage-deflate".into(), negotiated: n }
    }

    #[test]
    fn inflates_a_takeover_stream_and_counts_it() {
        let mut c = Compressor::new(15, 6, false).expect("compressor");
        let mut d = PeerDeflate::new(deflate(Negotiated::default()), 1 << 20);
        for i in 0..100u32 {
            let plain = format!("message {i} of a stream that repeats itself").into_bytes();
            let wire = c.compress(&plain).expect("compress");
            assert_eq!(d.inflate(&wire, true).expect("inflates"), plain);
        }
        assert_eq!(d.received.messages, 100);
        assert_eq!(d.received.compressed, 100);
        assert!(d.received.wire_bytes < d.received.plain_bytes);
        assert!(d.violations.is_empty(), "{:?}", d.violations);
    }

    #[test]
    fn a_reference_beyond_the_negotiated_window_is_kept_as_evidence() {
        let n = Negotiated { server_max_window_bits: 9, ..Negotiated::default() };
        let mut d = PeerDeflate::new(deflate(n), 1 << 20);
        let (wire, plain) = craft::reference_message(513);
        assert_eq!(d.inflate(&wire, false).expect("decodes"), plain);
        assert_eq!(d.violations.len(), 1);
        assert_eq!(d.violations[0].kind, ViolationKind::DeflateWindowExceeded);
        assert!(d.violations[0].observed.starts_with("message 1: back-reference distance 513"), "{}", d.violations[0]);
    }

    #[test]
    fn a_message_that_needs_the_previous_one_breaks_no_context_takeover() {
        let n = Negotiated { server_no_context_takeover: true, ..Negotiated::default() };
        let mut c = Compressor::new(15, 6, false).expect("compressor");
        let mut d = PeerDeflate::new(deflate(n), 1 << 20);
        let plain = b"the same message, twice, compressed with the context kept".to_vec();
        for _ in 0..2 {
            let wire = c.compress(&plain).expect("compress");
            assert_eq!(d.inflate(&wire, true).expect("decodes"), plain);
        }
        assert_eq!(d.violations.iter().map(|v| v.kind).collect::<Vec<_>>(), [ViolationKind::DeflateContextTakeover]);
    }

    #[test]
    fn corrupt_data_and_invalid_utf8_are_violations() {
        let mut d = PeerDeflate::new(deflate(Negotiated::default()), 1 << 20);
        assert!(d.inflate(&craft::CORRUPT_RESERVED_BLOCK, false).is_err());
        let bad_text = craft::stored_message(&[0xc0, 0x80]);
        assert!(d.inflate(&bad_text, true).is_err());
        let kinds: Vec<_> = d.violations.iter().map(|v| v.kind).collect();
        assert_eq!(kinds, [ViolationKind::DeflateInvalidData, ViolationKind::DeflateTextNotUtf8]);
    }

    #[test]
    fn after_the_sample_flate2_inflates_and_still_catches_corrupt_data() {
        let mut c = Compressor::new(15, 1, false).expect("compressor");
        let mut d = PeerDeflate::new(deflate(Negotiated::default()), 1 << 20);
        for i in 0..ANALYZED_FIRST + 10 {
            let plain = format!("{i:08}").repeat(40).into_bytes();
            let wire = c.compress(&plain).expect("compress");
            assert_eq!(d.inflate(&wire, false).expect("inflates"), plain, "message {i}");
        }
        assert!(d.inflate(&craft::CORRUPT_RESERVED_BLOCK, false).is_err());
        assert_eq!(d.violations.iter().map(|v| v.kind).collect::<Vec<_>>(), [ViolationKind::DeflateInvalidData]);
    }

    #[test]
    fn never_compressing_counts_only_messages_worth_it() {
        let mut d = PeerDeflate::new(deflate(Negotiated::default()), 1 << 20);
        d.plain(16);
        assert!(!d.never_compressed());
        d.plain(4096);
        assert!(d.never_compressed());
    }
}
