//! Session tests: a fake echo server in memory, any segmentation, hostile frames.

use super::*;
use crate::load::payload::Outbox;
use crate::wire::{FrameReader, FrameSpec};

fn plan(pace: Pace, in_flight: usize, size: &str) -> Plan {
    let sizes = SizeDist::parse(size).unwrap();
    Plan {
        book: PayloadBook::new(sizes.max() as usize, false),
        sizes,
        in_flight,
        pace,
        ping_interval_ns: None,
        timeout_ns: 5_000_000_000,
        window: Window { start_ns: 0, end_ns: u64::MAX },
        tickets: None,
        deflate: None,
    }
}

/// Unmasked server frames echoing every data frame in `client_bytes`.
fn echo_of(client_bytes: &[u8]) -> Vec<u8> {
    let mut r = FrameReader::new();
    r.push(client_bytes);
    let mut out = Vec::new();
    while let Some(f) = r.next_frame().unwrap() {
        if f.opcode() == op::TEXT || f.opcode() == op::BINARY {
            out.extend(FrameSpec::new(f.opcode(), f.payload).unmasked().encode().unwrap());
        }
    }
    out
}

#[test]
fn closed_loop_keeps_in_flight_outstanding_and_records_every_echo_in_any_segmentation() {
    let p = plan(Pace::Closed, 4, "64");
    for chop in [1usize, 2, 3, 7, 70, 10_000] {
        let mut s = Session::new(&p, 0, 1, 0);
        let mut t = Tally::default();
        let mut out = Outbox::default();
        let mut now = 1_000;
        for _ in 0..5 {
            out.clear(usize::MAX);
            assert!(matches!(s.fill(&p, now, &mut out, &mut t), Next::WakeAt(_)));
            assert_eq!(s.outstanding(), 4);
            let echo = echo_of(&out.to_vec(&p.book));
            now += 20_000;
            for part in echo.chunks(chop) {
                assert!(s.on_bytes(&p, part, now, &mut t));
            }
            assert_eq!(s.outstanding(), 0, "chop {chop}");
        }
        assert_eq!((t.sent, t.received, t.errors.len()), (20, 20, 0), "chop {chop}");
        assert_eq!(t.measured_latency().max(), 20);
    }
}

#[test]
fn fragmented_echoes_verify() {
    let p = plan(Pace::Closed, 1, "100");
    let mut s = Session::new(&p, 0, 1, 0);
    let (mut t, mut out) = (Tally::default(), Outbox::default());
    s.fill(&p, 0, &mut out, &mut t);
    let mut r = FrameReader::new();
    r.push(&out.to_vec(&p.book));
    let payload = r.next_frame().unwrap().unwrap().payload;
    let mut echo = FrameSpec::text(payload[..30].to_vec()).fin(false).unmasked().encode().unwrap();
    echo.extend(FrameSpec::continuation(payload[30..].to_vec()).unmasked().encode().unwrap());
    assert!(s.on_bytes(&p, &echo, 5_000, &mut t));
    assert_eq!((t.received, t.errors.len()), (1, 0));
}

#[test]
fn a_changed_byte_is_a_payload_mismatch_and_the_connection_goes_on() {
    let p = plan(Pace::Closed, 2, "64");
    let mut s = Session::new(&p, 0, 1, 0);
    let (mut t, mut out) = (Tally::default(), Outbox::default());
    s.fill(&p, 0, &mut out, &mut t);
    let mut echo = echo_of(&out.to_vec(&p.book));
    echo[20] ^= 0x01;
    assert!(s.on_bytes(&p, &echo, 5_000, &mut t));
    assert_eq!(t.received, 1);
    assert_eq!(t.errors.get(&LoadError::PayloadMismatch), Some(&1));
    assert_eq!(s.outstanding(), 0);
}

#[test]
fn a_run_of_echoes_checks_each_one_whatever_comes_between_them() {
    let p = plan(Pace::Closed, 20, "64");
    let frame = 2 + 64;
    let batch = |s: &mut Session, t: &mut Tally| {
        let mut out = Outbox::default();
        s.fill(&p, 0, &mut out, t);
        echo_of(&out.to_vec(&p.book))
    };
    // a changed byte, a changed header (binary for text), a ping: the echoes around them still count
    for (at, flip) in [(10 * frame + 30, 0x01), (10 * frame, op::TEXT ^ op::BINARY)] {
        let mut s = Session::new(&p, 0, 1, 0);
        let mut t = Tally::default();
        let mut echo = batch(&mut s, &mut t);
        echo[at] ^= flip;
        assert!(s.on_bytes(&p, &echo, 5_000, &mut t));
        assert_eq!((t.received, t.errors.get(&LoadError::PayloadMismatch)), (19, Some(&1)), "byte {at}");
        assert_eq!(s.outstanding(), 0);
    }
    let mut s = Session::new(&p, 0, 1, 0);
    let mut t = Tally::default();
    let mut echo = batch(&mut s, &mut t);
    let ping = FrameSpec::ping("p").unmasked().encode().unwrap();
    echo.splice(10 * frame..10 * frame, ping);
    assert!(s.on_bytes(&p, &echo, 5_000, &mut t));
    assert_eq!((t.received, t.errors.len()), (20, 0));
    let mut out = Outbox::default();
    s.fill(&p, 6_000, &mut out, &mut t);
    assert_eq!(frames_of(&p, &out)[0], (op::PONG, b"p".to_vec()));
}

#[test]
fn reordered_echoes_are_mismatches() {
    let p = plan(Pace::Closed, 2, "16");
    let mut s = Session::new(&p, 0, 1, 0);
    let (mut t, mut out) = (Tally::default(), Outbox::default());
    s.fill(&p, 0, &mut out, &mut t);
    let echo = echo_of(&out.to_vec(&p.book));
    let (a, b) = echo.split_at(echo.len() / 2);
    let swapped = [b, a].concat();
    assert!(s.on_bytes(&p, &swapped, 5_000, &mut t));
    assert_eq!(t.errors.get(&LoadError::PayloadMismatch), Some(&2));
}

#[test]
fn hostile_frames_are_protocol_errors_that_end_the_connection() {
    let p = plan(Pace::Closed, 1, "8");
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (FrameSpec::text("x").encode().unwrap(), "masked server frame"),
        (FrameSpec::text("x").rsv(0b100).unmasked().encode().unwrap(), "rsv bits set"),
        (FrameSpec::new(0x3, "x").unmasked().encode().unwrap(), "reserved opcode"),
        (FrameSpec::ping("x").fin(false).unmasked().encode().unwrap(), "fragmented or oversized control frame"),
        (FrameSpec::continuation("x").unmasked().encode().unwrap(), "continuation frame without a message"),
        (vec![0x82, 0x7F, 0x7F, 0, 0, 0, 0, 0, 0, 0], "frame over the load reader's limit"),
    ];
    for (bytes, rule) in cases {
        let mut s = Session::new(&p, 0, 1, 0);
        let (mut t, mut out) = (Tally::default(), Outbox::default());
        s.fill(&p, 0, &mut out, &mut t);
        assert!(!s.on_bytes(&p, &bytes, 10, &mut t), "{rule}");
        assert_eq!(t.errors.get(&LoadError::Protocol(rule)), Some(&1), "{rule}: {:?}", t.errors);
        assert_eq!(s.fill(&p, 20, &mut out, &mut t), Next::End);
    }
}

#[test]
fn a_server_close_is_an_unexpected_close_with_its_code_and_is_answered() {
    let p = plan(Pace::Closed, 1, "8");
    let mut s = Session::new(&p, 0, 1, 0);
    let (mut t, mut out) = (Tally::default(), Outbox::default());
    s.fill(&p, 0, &mut out, &mut t);
    let close = FrameSpec::close(crate::wire::CloseCode(1001), "bye").unmasked().encode().unwrap();
    assert!(!s.on_bytes(&p, &close, 10, &mut t));
    assert_eq!(t.errors.get(&LoadError::UnexpectedClose(Some(1001))), Some(&1));
    out.clear(usize::MAX);
    assert_eq!(s.fill(&p, 20, &mut out, &mut t), Next::End);
    let mut r = FrameReader::new();
    r.push(&out.to_vec(&p.book));
    let reply = r.next_frame().unwrap().unwrap();
    assert_eq!((reply.opcode(), reply.payload.as_slice()), (op::CLOSE, &[0x03, 0xE9][..]));
}

#[test]
fn server_pings_get_pongs_and_our_pings_are_timed() {
    let mut p = plan(Pace::Closed, 0, "8");
    p.ping_interval_ns = Some(1_000_000);
    let mut s = Session::new(&p, 0, 1, 0);
    let (mut t, mut out) = (Tally::default(), Outbox::default());
    assert!(s.on_bytes(&p, &FrameSpec::ping("hi").unmasked().encode().unwrap(), 5, &mut t));
    s.fill(&p, 1_000_000, &mut out, &mut t);
    let mut r = FrameReader::new();
    r.push(&out.to_vec(&p.book));
    let pong = r.next_frame().unwrap().unwrap();
    assert_eq!((pong.opcode(), pong.payload.as_slice()), (op::PONG, &b"hi"[..]));
    let ping = r.next_frame().unwrap().unwrap();
    assert_eq!(ping.opcode(), op::PING);
    let answer = FrameSpec::pong(ping.payload).unmasked().encode().unwrap();
    assert!(s.on_bytes(&p, &answer, 1_250_000, &mut t));
    assert_eq!((t.ping.len(), t.ping.max()), (1, 250));
}

#[test]
fn a_missing_echo_times_out() {
    let p = plan(Pace::Closed, 1, "8");
    let mut s = Session::new(&p, 0, 1, 0);
    let (mut t, mut out) = (Tally::default(), Outbox::default());
    assert_eq!(s.fill(&p, 0, &mut out, &mut t), Next::WakeAt(p.timeout_ns));
    assert_eq!(s.fill(&p, p.timeout_ns, &mut out, &mut t), Next::End);
    assert_eq!(t.errors.get(&LoadError::Timeout(Waiting::Echo)), Some(&1));
}

#[test]
fn open_loop_sends_on_schedule_and_counts_waits_for_the_cap_as_latency() {
    // one connection at 1000 messages/s, at most one outstanding
    let p = plan(Pace::Open { period_ns: 1_000_000.0 }, 1, "8");
    let mut s = Session::new(&p, 0, 1, 0);
    let (mut t, mut out) = (Tally::default(), Outbox::default());
    // message 0 at t=0; the next is due at 1 ms, so wake 1 ms early at 0
    assert_eq!(s.fill(&p, 0, &mut out, &mut t), Next::WakeAt(p.timeout_ns));
    assert_eq!(t.iv_sent, 1);
    // the echo takes 5 ms: messages 1..5 were due meanwhile and wait for the cap
    let echo = echo_of(&out.to_vec(&p.book));
    assert!(s.on_bytes(&p, &echo, 5_000_000, &mut t));
    out.clear(usize::MAX);
    s.fill(&p, 5_000_000, &mut out, &mut t);
    assert_eq!(t.iv_sent, 2);
    assert!(s.on_bytes(&p, &echo_of(&out.to_vec(&p.book)), 5_010_000, &mut t));
    // message 1 was scheduled at 1 ms, sent at 5 ms, echoed at 5.01 ms
    let same = |h: &hdrhistogram::Histogram<u64>, q: f64, v: u64| h.equivalent(h.value_at_quantile(q), v);
    let corrected = t.measured_latency();
    assert!(same(&corrected, 1.0, 5_000) && same(&t.latency_uncorrected, 1.0, 5_000));
    assert!(same(&corrected, 0.0, 4_010), "{}", corrected.value_at_quantile(0.0));
    assert!(same(&t.latency_uncorrected, 0.0, 10));
}

#[test]
fn message_tickets_bound_the_measured_messages() {
    let mut p = plan(Pace::Closed, 8, "8");
    p.tickets = Some(AtomicI64::new(20));
    let mut a = Session::new(&p, 0, 2, 0);
    let mut b = Session::new(&p, 1, 2, 0);
    let mut t = Tally::default();
    for round in 0..10u64 {
        for s in [&mut a, &mut b] {
            let mut out = Outbox::default();
            s.fill(&p, round, &mut out, &mut t);
            let echo = echo_of(&out.to_vec(&p.book));
            s.on_bytes(&p, &echo, round + 1, &mut t);
        }
    }
    assert_eq!((t.sent, t.received), (20, 20));
}

#[test]
fn closing_handshake_completes_on_the_servers_reply() {
    let p = plan(Pace::Closed, 1, "8");
    let mut s = Session::new(&p, 0, 1, 0);
    let (mut t, mut out) = (Tally::default(), Outbox::default());
    s.stop_sending();
    s.begin_close(&p, 0, &mut out);
    assert!(s.closing());
    let reply = FrameSpec::close(crate::wire::CloseCode(1000), "").unmasked().encode().unwrap();
    assert!(!s.on_bytes(&p, &reply, 10, &mut t));
    assert!(s.done());
    assert!(t.errors.is_empty());
}

#[test]
fn open_loop_connections_share_one_grid_and_send_the_total_rate_once_open() {
    // 4 connections, 1000 messages/s in total: each sends every 4 ms, offset by 1 ms from the next
    let mut p = plan(Pace::Open { period_ns: 4_000_000.0 }, 8, "8");
    p.window = Window { start_ns: 10_000_000, end_ns: 30_000_000 };
    let opened_at = [0u64, 1_000_000, 5_500_000, 9_000_000];
    let mut sessions: Vec<Session> =
        opened_at.iter().enumerate().map(|(i, t)| Session::new(&p, i as u64, 4, *t)).collect();
    let mut t = Tally::default();
    let mut now = 9_000_000;
    while now < 40_000_000 {
        for s in &mut sessions {
            let mut out = Outbox::default();
            s.fill(&p, now, &mut out, &mut t);
            let echo = echo_of(&out.to_vec(&p.book));
            assert!(s.on_bytes(&p, &echo, now + 1_000, &mut t));
        }
        now += 100_000;
    }
    // 20 ms of measured window at 1 message per ms
    assert_eq!((t.sent, t.received), (20, 20));
}

/// The echo of `client_bytes` as a server may send it: every message in `pieces` fragments, a
/// ping before each message.
fn fragmented_echo_with_pings(client_bytes: &[u8], pieces: usize) -> Vec<u8> {
    let mut r = FrameReader::new();
    r.push(client_bytes);
    let mut out = Vec::new();
    while let Some(f) = r.next_frame().unwrap() {
        if f.opcode() != op::TEXT && f.opcode() != op::BINARY {
            continue;
        }
        out.extend(FrameSpec::ping("p").unmasked().encode().unwrap());
        let step = f.payload.len().div_ceil(pieces).max(1);
        let parts: Vec<&[u8]> = if f.payload.is_empty() { vec![&[]] } else { f.payload.chunks(step).collect() };
        for (i, part) in parts.iter().enumerate() {
            let opcode = if i == 0 { f.opcode() } else { op::CONTINUATION };
            out.extend(FrameSpec::new(opcode, part.to_vec()).fin(i + 1 == parts.len()).unmasked().encode().unwrap());
        }
    }
    out
}

#[test]
fn echoes_of_every_length_encoding_verify_in_any_segmentation_and_fragmentation() {
    // 7-bit, 16-bit and 64-bit lengths; the payload of a cut data frame is verified as it comes
    for size in ["0..130", "125..127", "65535..65537", "70000"] {
        let p = plan(Pace::Closed, 3, size);
        for pieces in [1usize, 3] {
            for chop in [1usize, 2, 5, 13, 127, 4096, 65_536, 1 << 20] {
                if size == "70000" && chop < 13 {
                    continue; // a byte at a time through 210 KB adds nothing the other chops miss
                }
                let mut s = Session::new(&p, 7, 1, 0);
                let (mut t, mut out) = (Tally::default(), Outbox::default());
                for round in 0..3u64 {
                    out.clear(usize::MAX);
                    s.fill(&p, round * 100, &mut out, &mut t);
                    let echo = fragmented_echo_with_pings(&out.to_vec(&p.book), pieces);
                    for part in echo.chunks(chop) {
                        assert!(s.on_bytes(&p, part, round * 100 + 50, &mut t), "size {size} chop {chop}");
                    }
                    assert_eq!(s.outstanding(), 0, "size {size} pieces {pieces} chop {chop}");
                }
                assert_eq!(
                    (t.received, t.errors.len()),
                    (9, 0),
                    "size {size} pieces {pieces} chop {chop}: {:?}",
                    t.errors
                );
            }
        }
    }
}

#[test]
fn a_changed_byte_in_a_cut_payload_is_a_mismatch() {
    let p = plan(Pace::Closed, 2, "70000");
    for chop in [1000usize, 69_999, 70_010] {
        let mut s = Session::new(&p, 0, 1, 0);
        let (mut t, mut out) = (Tally::default(), Outbox::default());
        s.fill(&p, 0, &mut out, &mut t);
        let mut echo = echo_of(&out.to_vec(&p.book));
        echo[10 + 69_000] ^= 0x01; // in the first message, past any first read
        for part in echo.chunks(chop) {
            assert!(s.on_bytes(&p, part, 5_000, &mut t));
        }
        assert_eq!(t.received, 1, "chop {chop}");
        assert_eq!(t.errors.get(&LoadError::PayloadMismatch), Some(&1), "chop {chop}");
        assert_eq!(s.outstanding(), 0);
    }
}

#[test]
fn a_cut_oversized_control_frame_fails_at_its_header() {
    // a ping declaring 70000 bytes: refused once the header is in, not buffered
    let p = plan(Pace::Closed, 1, "8");
    let frame = [0x89u8, 0x7F, 0, 0, 0, 0, 0, 1, 0x11, 0x70, b'x', b'x'];
    for cut in 1..frame.len() {
        let mut s = Session::new(&p, 0, 1, 0);
        let (mut t, mut out) = (Tally::default(), Outbox::default());
        s.fill(&p, 0, &mut out, &mut t);
        let first = s.on_bytes(&p, &frame[..cut], 10, &mut t);
        let alive = first && s.on_bytes(&p, &frame[cut..], 20, &mut t);
        assert!(!alive, "cut {cut}");
        let rule = "fragmented or oversized control frame";
        assert_eq!(t.errors.get(&LoadError::Protocol(rule)), Some(&1), "cut {cut}: {:?}", t.errors);
        assert!(s.carry.len() <= frame.len());
    }
}

/// The frames of `out`, as (opcode, payload).
fn frames_of(p: &Plan, out: &Outbox) -> Vec<(u8, Vec<u8>)> {
    let mut r = FrameReader::new();
    r.push(&out.to_vec(&p.book));
    std::iter::from_fn(|| r.next_frame().unwrap()).map(|f| (f.opcode(), f.payload)).collect()
}

#[test]
fn a_flood_of_pings_owes_one_pong_for_the_most_recent() {
    let p = plan(Pace::Closed, 1, "8");
    let mut s = Session::new(&p, 0, 1, 0);
    let (mut t, mut out) = (Tally::default(), Outbox::default());
    let flood: Vec<u8> =
        (0..1000u32).flat_map(|i| FrameSpec::ping(i.to_be_bytes().to_vec()).unmasked().encode().unwrap()).collect();
    assert!(s.on_bytes(&p, &flood, 5, &mut t));
    s.fill(&p, 10, &mut out, &mut t);
    let pongs: Vec<_> = frames_of(&p, &out).into_iter().filter(|(o, _)| *o == op::PONG).collect();
    // RFC 6455 §5.5.3: the most recent ping's payload, once
    assert_eq!(pongs, [(op::PONG, 999u32.to_be_bytes().to_vec())]);
    out.clear(usize::MAX);
    s.fill(&p, 20, &mut out, &mut t);
    assert!(frames_of(&p, &out).iter().all(|(o, _)| *o != op::PONG), "nothing owed any more");
}

#[test]
fn a_peer_that_does_not_read_ends_the_connection_at_the_write_cap() {
    let p = plan(Pace::Closed, 4, "64");
    let mut s = Session::new(&p, 0, 1, 0);
    let (mut t, mut out) = (Tally::default(), Outbox::default());
    let ping = FrameSpec::ping(vec![b'p'; 125]).unmasked().encode().unwrap();
    // nothing is ever sent: each read owes a pong, which piles up in `out`
    let mut now = 0;
    let next = loop {
        now += 1;
        let next = s.fill(&p, now, &mut out, &mut t);
        if next == Next::End {
            break next;
        }
        assert!(out.own_bytes().len() <= p.write_cap() + 200, "{} bytes held", out.own_bytes().len());
        assert!(s.on_bytes(&p, &ping, now, &mut t));
    };
    assert_eq!(next, Next::End);
    assert_eq!(t.errors.get(&LoadError::PeerNotReading), Some(&1), "{:?}", t.errors);
    assert_eq!(t.errors.len(), 1, "{:?}", t.errors);
    assert!(s.done() && s.drained());
    // the messages it held are given up with it, not counted again when the run is abandoned
    assert_eq!(s.abandon(&mut t), 0);
    assert_eq!(t.errors.len(), 1);
}

#[test]
fn the_write_cap_makes_room_for_every_message_in_flight() {
    // a closed loop's batch, written while the socket takes nothing, stays under the cap
    for (in_flight, size) in [(1usize, "64"), (512, "1000"), (64, "64KiB"), (3, "0..2000")] {
        let p = plan(Pace::Closed, in_flight, size);
        let mut s = Session::new(&p, 0, 1, 0);
        let (mut t, mut out) = (Tally::default(), Outbox::default());
        assert_ne!(s.fill(&p, 0, &mut out, &mut t), Next::End);
        assert_eq!(s.outstanding(), in_flight);
        assert!(out.own_bytes().len() + WRITE_SLACK / 2 <= p.write_cap(), "{in_flight} x {size}");
        assert_ne!(s.fill(&p, 1, &mut out, &mut t), Next::End, "{in_flight} x {size}");
        assert!(t.errors.is_empty());
    }
}

#[test]
fn a_message_with_nothing_outstanding_ends_the_connection() {
    let p = plan(Pace::Closed, 1, "8");
    let mut s = Session::new(&p, 0, 1, 0);
    let mut t = Tally::default();
    let flood: Vec<u8> = (0..100).flat_map(|_| FrameSpec::text("flood").unmasked().encode().unwrap()).collect();
    assert!(!s.on_bytes(&p, &flood, 5, &mut t));
    assert_eq!(t.errors.get(&LoadError::UnsolicitedMessage), Some(&1), "{:?}", t.errors);
    assert_eq!(t.errors.len(), 1);
}

#[test]
fn an_echo_longer_than_its_message_ends_the_connection_in_any_segmentation() {
    let p = plan(Pace::Closed, 1, "100");
    // a message that never ends: a text frame without FIN, then continuation frames forever
    let mut endless = FrameSpec::text(vec![b'x'; 40]).fin(false).unmasked().encode().unwrap();
    for _ in 0..1000 {
        endless.extend(FrameSpec::continuation(vec![b'x'; 40]).fin(false).unmasked().encode().unwrap());
    }
    for chop in [1usize, 3, 41, 42, 4096, 1 << 20] {
        let mut s = Session::new(&p, 0, 1, 0);
        let (mut t, mut out) = (Tally::default(), Outbox::default());
        s.fill(&p, 0, &mut out, &mut t);
        let mut taken = 0;
        for part in endless.chunks(chop) {
            taken += part.len();
            if !s.on_bytes(&p, part, 10, &mut t) {
                break;
            }
        }
        // the third frame takes the echo past 100 bytes: refused at its header
        assert!(taken <= 2 * 42 + 2 + chop, "chop {chop}: {taken} bytes taken");
        assert_eq!(t.errors.get(&LoadError::EchoTooLong), Some(&1), "chop {chop}: {:?}", t.errors);
        assert_eq!(t.errors.len(), 1, "chop {chop}: {:?}", t.errors);
        assert_eq!(s.fill(&p, 20, &mut out, &mut t), Next::End);
    }
}

#[test]
fn a_batch_that_times_out_counts_one_timeout_per_message_once() {
    let p = plan(Pace::Closed, 4, "8");
    let mut s = Session::new(&p, 0, 1, 0);
    let (mut t, mut out) = (Tally::default(), Outbox::default());
    s.fill(&p, 0, &mut out, &mut t);
    assert_eq!((t.sent, s.outstanding()), (4, 4));
    assert_eq!(s.fill(&p, p.timeout_ns, &mut out, &mut t), Next::End);
    assert_eq!(t.errors.get(&LoadError::Timeout(Waiting::Echo)), Some(&4));
    // ended: nothing more to count, whoever asks
    assert_eq!(s.fill(&p, p.timeout_ns + 1, &mut out, &mut t), Next::End);
    assert_eq!(s.abandon(&mut t), 0);
    assert_eq!(t.errors.get(&LoadError::Timeout(Waiting::Echo)), Some(&4));
}

#[test]
fn only_messages_whose_wait_ran_out_are_timeouts() {
    // open loop, one message every 1 ms: at the first one's deadline, the later ones still had time
    let p = plan(Pace::Open { period_ns: 1_000_000.0 }, 8, "8");
    let mut s = Session::new(&p, 0, 1, 0);
    let (mut t, mut out) = (Tally::default(), Outbox::default());
    for ms in 0..4u64 {
        s.fill(&p, ms * 1_000_000, &mut out, &mut t);
    }
    // sent at 0 ms (with the one due at 1 ms: SEND_EARLY_NS), 1, 2 and 3 ms
    assert_eq!(s.outstanding(), 5);
    assert_eq!(s.fill(&p, p.timeout_ns + 1_500_000, &mut out, &mut t), Next::End);
    assert_eq!(t.errors.get(&LoadError::Timeout(Waiting::Echo)), Some(&3));
}

#[test]
fn what_a_session_carries_between_reads_is_bounded() {
    // any bytes, a byte at a time: a header or a control frame at most is carried
    let p = plan(Pace::Closed, 1, "8");
    let mut rng = Rng::new(7);
    for _ in 0..200 {
        let mut s = Session::new(&p, 0, 1, 0);
        let (mut t, mut out) = (Tally::default(), Outbox::default());
        s.fill(&p, 0, &mut out, &mut t);
        for _ in 0..300 {
            let b = rng.next_u64() as u8;
            if !s.on_bytes(&p, &[b], 10, &mut t) {
                break;
            }
            assert!(s.carry.len() <= CARRY_MAX, "{} bytes carried", s.carry.len());
        }
    }
}

/// The same with permessage-deflate.
mod deflate;
