//! Session tests with permessage-deflate: a fake echo server in memory that inflates what it gets
//! and compresses (or not) what it echoes; any segmentation; what a server must not do.

use std::collections::HashMap;

use super::super::*;
use crate::load::deflate::{DeflatePlan, Offer};
use crate::load::payload::Outbox;
use crate::wire::deflate::{Compressor, Inflater};
use crate::wire::{FrameReader, FrameSpec};

fn plan(in_flight: usize, size: &str, binary: bool) -> Plan {
    let sizes = SizeDist::parse(size).unwrap();
    Plan {
        book: PayloadBook::new(sizes.max() as usize, binary),
        sizes,
        in_flight,
        pace: Pace::Closed,
        ping_interval_ns: None,
        timeout_ns: 5_000_000_000,
        window: Window { start_ns: 0, end_ns: u64::MAX },
        tickets: None,
        deflate: Some(DeflatePlan::new(Offer::parse("client_max_window_bits").unwrap())),
    }
}

fn negotiated(client_takeover: bool, server_takeover: bool, client_bits: u8, server_bits: u8) -> Negotiated {
    Negotiated {
        server_no_context_takeover: !server_takeover,
        client_no_context_takeover: !client_takeover,
        server_max_window_bits: server_bits,
        client_max_window_bits: client_bits,
    }
}

/// An echo server with permessage-deflate: inflates our messages, echoes each compressed (with
/// its own stream) or plain.
struct Server {
    inflater: Inflater,
    compressor: Option<Compressor>,
    /// Our messages' payloads as they were on the wire.
    wire: Vec<Vec<u8>>,
}

impl Server {
    fn new(n: &Negotiated, compress: bool) -> Server {
        let inflater = Inflater::new(n.client_max_window_bits, n.client_no_context_takeover, 1 << 26);
        let bits = n.server_max_window_bits.max(9);
        let compressor = compress.then(|| Compressor::new(bits, 6, n.server_no_context_takeover).unwrap());
        Server { inflater, compressor, wire: Vec::new() }
    }

    /// The plain payloads of our messages, and the server's echo of them (each `fragment` bytes a frame).
    fn echo(&mut self, client: &[u8], fragment: usize) -> (Vec<Vec<u8>>, Vec<u8>) {
        let mut r = FrameReader::new();
        r.push(client);
        let (mut plain, mut out) = (Vec::new(), Vec::new());
        while let Some(f) = r.next_frame().unwrap() {
            if f.opcode() != op::TEXT && f.opcode() != op::BINARY {
                continue;
            }
            // RFC 7692 §6.1: every message of ours is compressed, one frame, RSV1 set
            assert!(f.fin() && f.masked() && f.rsv() == 0b100, "rsv {}", f.rsv());
            let message = self.inflater.inflate(&f.payload).expect("our message inflates");
            self.wire.push(f.payload.clone());
            let (payload, rsv) = match &mut self.compressor {
                Some(c) => (c.compress(&message).unwrap(), 0b100),
                None => (message.clone(), 0),
            };
            let mut pieces = payload.chunks(fragment.max(1)).peekable();
            let mut first = true;
            if payload.is_empty() {
                out.extend(FrameSpec::new(f.opcode(), vec![]).rsv(rsv).unmasked().encode().unwrap());
            }
            while let Some(piece) = pieces.next() {
                let opcode = if first { f.opcode() } else { op::CONTINUATION };
                let spec = FrameSpec::new(opcode, piece.to_vec()).fin(pieces.peek().is_none());
                out.extend(spec.rsv(if first { rsv } else { 0 }).unmasked().encode().unwrap());
                first = false;
            }
            plain.push(message);
        }
        (plain, out)
    }
}

/// Runs `rounds` closed-loop batches through `server`, the echoes cut into `chop`-byte reads.
fn exchange(p: &Plan, s: &mut Session, server: &mut Server, rounds: usize, chop: usize, fragment: usize) -> Tally {
    let mut t = Tally::default();
    let mut out = Outbox::default();
    let mut now = 1_000;
    for _ in 0..rounds {
        out.clear(usize::MAX);
        s.fill(p, now, &mut out, &mut t);
        let (plain, echo) = server.echo(&out.to_vec(&p.book), fragment);
        for (i, m) in plain.iter().enumerate() {
            assert!(m.len() <= p.sizes.max() as usize, "message {i}");
        }
        now += 1_000;
        for part in echo.chunks(chop.max(1)) {
            if !s.on_bytes(p, part, now, &mut t) {
                break;
            }
        }
    }
    t
}

#[test]
fn compressed_messages_inflate_to_their_payloads_and_compressed_echoes_verify_in_any_segmentation() {
    for (size, binary) in [("4KiB", false), ("64", false), ("0..20", true), ("300", true), ("70000", false)] {
        for (client_takeover, server_takeover) in [(true, true), (false, false), (true, false), (false, true)] {
            for chop in [1usize, 7, 1000, 1 << 20] {
                let p = plan(3, size, binary);
                let n = negotiated(client_takeover, server_takeover, 15, 15);
                let mut s = Session::new(&p, 0, 1, 0);
                s.set_deflate(&p, n);
                let mut server = Server::new(&n, true);
                let t = exchange(&p, &mut s, &mut server, 4, chop, usize::MAX);
                let what =
                    format!("size {size} binary {binary} takeover {client_takeover}/{server_takeover} chop {chop}");
                assert_eq!(t.errors, HashMap::new(), "{what}");
                assert_eq!((t.sent, t.received), (12, 12), "{what}");
                assert_eq!(t.deflate.compressed_received, 12, "{what}");
                assert_eq!(t.deflate.plain_received, t.payload_bytes, "{what}");
                let wire_sent: usize = server.wire.iter().map(Vec::len).sum();
                assert_eq!(t.deflate.wire_sent, wire_sent as u64, "{what}");
            }
        }
    }
}

#[test]
fn fragmented_compressed_echoes_and_plain_echoes_verify() {
    let p = plan(4, "3000", false);
    let n = negotiated(true, true, 15, 15);
    for (compress, fragment) in [(true, 1), (true, 2), (true, 100), (false, 7), (false, usize::MAX)] {
        let mut s = Session::new(&p, 0, 1, 0);
        s.set_deflate(&p, n);
        let mut server = Server::new(&n, compress);
        let t = exchange(&p, &mut s, &mut server, 3, 5, fragment);
        let what = format!("compress {compress} fragment {fragment}");
        assert_eq!(t.errors, HashMap::new(), "{what}");
        assert_eq!(t.received, 12, "{what}");
        // a server may compress each message or not (RFC 7692 §6): plain echoes count as they came
        assert_eq!(t.deflate.compressed_received, if compress { 12 } else { 0 }, "{what}");
        if !compress {
            assert_eq!(t.deflate.wire_received, t.deflate.plain_received, "{what}");
        }
    }
}

/// The client payloads of the next `in_flight` messages.
fn sent_payloads(p: &Plan, n: Negotiated) -> Vec<Vec<u8>> {
    let mut s = Session::new(p, 0, 1, 0);
    s.set_deflate(p, n);
    let (mut t, mut out) = (Tally::default(), Outbox::default());
    s.fill(p, 0, &mut out, &mut t);
    let mut r = FrameReader::new();
    r.push(&out.to_vec(&p.book));
    std::iter::from_fn(|| r.next_frame().unwrap()).map(|f| f.payload).collect()
}

#[test]
fn without_context_takeover_each_size_is_compressed_once_and_replayed_after_a_stored_sequence_number() {
    let p = plan(3, "4KiB", false);
    let n = negotiated(false, true, 12, 15);
    let mut s = Session::new(&p, 0, 1, 0);
    s.set_deflate(&p, n);
    assert_eq!(p.deflate.as_ref().unwrap().mode(&p.book, &p.sizes, &n), crate::load::deflate::Mode::Replay);
    let payloads = sent_payloads(&p, n);
    assert_eq!(payloads.len(), 3);
    for (seq, payload) in payloads.iter().enumerate() {
        // RFC 1951 §3.2.4: a stored block of the 8 sequence-number bytes (LEN 8, NLEN !8), then the body
        assert_eq!(&payload[..5], &[0x00, 0x08, 0x00, 0xf7, 0xff]);
        assert_eq!(&payload[5..13], &p.book.tag(seq as u64).0);
        assert_eq!(payload[13..], payloads[0][13..], "the body is replayed");
        // each message inflates alone, from an empty window (RFC 7692 §7.1.1.2)
        let plain = Inflater::new(12, true, 1 << 20).inflate(payload).unwrap();
        assert!(p.book.verify(p.book.tag(seq as u64), 0, &plain) && plain.len() == 4096);
    }
    assert!(payloads[0].len() < 200, "4 KiB of text compress well: {}", payloads[0].len());
}

#[test]
fn a_window_of_8_bits_sends_stored_blocks_and_many_sizes_are_compressed_each_alone() {
    let cases = [
        (negotiated(true, true, 8, 15), "100..200", crate::load::deflate::Mode::Stored),
        (negotiated(false, true, 10, 15), "1..9000", crate::load::deflate::Mode::Independent),
        (negotiated(false, false, 9, 9), "1:1,1000:3", crate::load::deflate::Mode::Replay),
        (negotiated(true, false, 9, 9), "1000", crate::load::deflate::Mode::ContextTakeover),
    ];
    for (n, size, mode) in cases {
        let p = plan(4, size, true);
        assert_eq!(p.deflate.as_ref().unwrap().mode(&p.book, &p.sizes, &n), mode, "{size}");
        let mut s = Session::new(&p, 0, 1, 0);
        s.set_deflate(&p, n);
        let mut server = Server::new(&n, true);
        let t = exchange(&p, &mut s, &mut server, 5, 1 << 20, usize::MAX);
        assert_eq!((t.errors.len(), t.received), (0, 20), "{mode:?}: {:?}", t.errors);
        if mode == crate::load::deflate::Mode::Stored {
            // stored blocks refer to nothing: valid under a 256-byte window, a little longer than the message
            assert!(t.deflate.wire_sent > t.payload_bytes, "{t:?}");
        }
    }
}

/// A session awaiting the echo of its first message (with permessage-deflate if `deflate`).
fn awaiting(p: &Plan, deflate: bool) -> Session {
    let mut s = Session::new(p, 0, 1, 0);
    if deflate {
        s.set_deflate(p, negotiated(true, true, 15, 15));
    }
    let (mut t, mut out) = (Tally::default(), Outbox::default());
    s.fill(p, 0, &mut out, &mut t);
    s
}

#[test]
fn what_a_server_must_not_do_with_rsv1_or_deflate_data_ends_the_connection_with_its_error() {
    let p = plan(1, "64", false);
    let (tag, head, rest) = p.book.plain(0, 64);
    let message = [&tag.0[..head], rest].concat();
    let compressed = Compressor::new(15, 6, false).unwrap().compress(&message).unwrap();
    let text = |payload: &[u8], rsv: u8| FrameSpec::text(payload.to_vec()).rsv(rsv).unmasked().encode().unwrap();
    let first_half = FrameSpec::text(compressed[..3].to_vec()).rsv(0b100).fin(false).unmasked().encode().unwrap();
    let cont_rsv1 = FrameSpec::continuation(compressed[3..].to_vec()).rsv(0b100).unmasked().encode().unwrap();
    let bomb = crate::wire::deflate::craft::bomb_message(10_000);
    let endless = [0u8, 0, 0, 0xff, 0xff].repeat(400);
    let cases: Vec<(Vec<u8>, LoadError)> = vec![
        // RFC 7692 §6.1: RSV1 only on the first frame of a data message
        ([first_half, cont_rsv1].concat(), LoadError::Protocol("rsv1 on a continuation frame")),
        (FrameSpec::ping("x").rsv(0b100).unmasked().encode().unwrap(), LoadError::Protocol("rsv1 on a control frame")),
        (text(&compressed, 0b110), LoadError::Protocol("rsv2 or rsv3 set")),
        // RFC 7692 §7.2.2: the payload is DEFLATE data
        (
            text(&crate::wire::deflate::craft::CORRUPT_RESERVED_BLOCK, 0b100),
            LoadError::Protocol("invalid DEFLATE data"),
        ),
        // inflating stops at the message it echoes; empty blocks without end stop at the wire cap
        (text(&bomb, 0b100), LoadError::EchoTooLong),
        (text(&endless, 0b100), LoadError::EchoTooLong),
    ];
    for (bytes, error) in cases {
        for chop in [1, 3, bytes.len()] {
            let mut s = awaiting(&p, true);
            let mut t = Tally::default();
            let alive = bytes.chunks(chop).all(|part| s.on_bytes(&p, part, 10, &mut t));
            assert!(!alive, "{error:?} chop {chop}");
            assert_eq!(t.errors, HashMap::from([(error.clone(), 1)]), "chop {chop}");
        }
    }
    // the right echo goes through, and without permessage-deflate RSV1 is any reserved bit
    let mut s = awaiting(&p, true);
    let mut t = Tally::default();
    assert!(s.on_bytes(&p, &text(&compressed, 0b100), 10, &mut t));
    assert_eq!((t.received, t.errors.len()), (1, 0));
    let mut s = awaiting(&p, false);
    assert!(!s.on_bytes(&p, &text(&compressed, 0b100), 10, &mut t));
    assert_eq!(t.errors, HashMap::from([(LoadError::Protocol("rsv bits set"), 1)]));
}

#[test]
fn a_compressed_echo_shorter_or_different_is_a_payload_mismatch_and_the_connection_goes_on() {
    let p = plan(1, "64", false);
    let (tag, head, rest) = p.book.plain(0, 64);
    let mut message = [&tag.0[..head], rest].concat();
    for change in [|m: &mut Vec<u8>| m[40] ^= 1, |m: &mut Vec<u8>| m.truncate(60)] {
        change(&mut message);
        let compressed = Compressor::new(15, 1, true).unwrap().compress(&message).unwrap();
        let mut s = awaiting(&p, true);
        let mut t = Tally::default();
        assert!(s.on_bytes(&p, &FrameSpec::text(compressed).rsv(0b100).unmasked().encode().unwrap(), 10, &mut t));
        assert_eq!(t.errors, HashMap::from([(LoadError::PayloadMismatch, 1)]));
        assert_eq!(s.outstanding(), 0);
    }
}

#[test]
fn the_write_cap_holds_whole_compressed_messages() {
    let mut p = plan(8, "64KiB", true);
    let with = p.write_cap();
    p.deflate = None;
    // a plain large message is sent from the pattern (its header only is held); a compressed one is held whole
    assert!(with > 8 * 65_536 && p.write_cap() < 8 * 2048 + WRITE_SLACK, "{with} {}", p.write_cap());
}
