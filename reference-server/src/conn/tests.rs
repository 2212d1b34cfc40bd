//! Unit tests of the connection core: every rule, without sockets.

use super::*;
use crate::frame::apply_mask_bytewise;

const KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

/// A masked client frame with a minimal length encoding.
fn frame(fin: bool, opcode: u8, payload: &[u8]) -> Vec<u8> {
    client_frame(if fin { 0x80 } else { 0 } | opcode, payload)
}

/// A masked client frame with a minimal length encoding: `b0` is the first byte as sent (FIN, RSV, opcode).
pub(super) fn client_frame(b0: u8, payload: &[u8]) -> Vec<u8> {
    let mut f = vec![b0];
    let len = payload.len();
    if len < 126 {
        f.push(0x80 | len as u8);
    } else if len <= 0xFFFF {
        f.push(0x80 | 126);
        f.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        f.push(0x80 | 127);
        f.extend_from_slice(&(len as u64).to_be_bytes());
    }
    f.extend_from_slice(&KEY);
    let start = f.len();
    f.extend_from_slice(payload);
    apply_mask_bytewise(&mut f[start..], crate::frame::MaskingKey(KEY), 0);
    f
}

fn close_frame(code: u16, reason: &[u8]) -> Vec<u8> {
    frame(true, 0x8, &[&code.to_be_bytes()[..], reason].concat())
}

const LIMITS: Limits = Limits { max_message_size: 1 << 20, max_frame_size: 1 << 20 };

/// Feeds `input` in pieces of `chunk` bytes, carrying unconsumed bytes over as the I/O layer does.
fn run_chunked(input: &[u8], chunk: usize) -> (Connection, Vec<u8>) {
    let mut conn = Connection::new(LIMITS);
    let mut out = Vec::new();
    let mut carry: Vec<u8> = Vec::new();
    for piece in input.chunks(chunk.max(1)) {
        carry.extend_from_slice(piece);
        let n = conn.process(&carry, &mut out);
        carry.drain(..n);
        assert!(carry.len() < MAX_HEADER_LEN, "carried {} bytes", carry.len());
    }
    (conn, out)
}

fn run(input: &[u8]) -> (Connection, Vec<u8>) {
    run_chunked(input, input.len())
}

/// The server's frames in `out`, as (opcode byte, payload).
fn server_frames(out: &[u8]) -> Vec<(u8, Vec<u8>)> {
    let mut frames = Vec::new();
    let mut i = 0;
    while i < out.len() {
        let b0 = out[i];
        assert_eq!(out[i + 1] & 0x80, 0, "server frames are unmasked");
        let (len, hl) = match out[i + 1] {
            126 => (u16::from_be_bytes([out[i + 2], out[i + 3]]) as usize, 4),
            127 => (u64::from_be_bytes(out[i + 2..i + 10].try_into().unwrap()) as usize, 10),
            n => (n as usize, 2),
        };
        frames.push((b0, out[i + hl..i + hl + len].to_vec()));
        i += hl + len;
    }
    frames
}

fn close_code_sent(out: &[u8]) -> Option<u16> {
    let frames = server_frames(out);
    let (b0, p) = frames.last()?;
    (*b0 == 0x88 && p.len() >= 2).then(|| u16::from_be_bytes([p[0], p[1]]))
}

fn assert_fails_with(input: &[u8], code: u16) {
    for chunk in [input.len(), 1, 3] {
        let (conn, out) = run_chunked(input, chunk);
        assert_eq!(conn.state(), State::Closed, "chunk {chunk}");
        assert_eq!(close_code_sent(&out), Some(code), "chunk {chunk}: {:?}", conn.failure());
        assert_eq!(conn.failure().map(|e| e.close_code().0), Some(code));
    }
}

#[test]
fn echoes_text_and_binary_of_boundary_sizes_as_one_frame() {
    for len in [0usize, 1, 125, 126, 127, 65535, 65536, 100_000] {
        let payload: Vec<u8> = (0..len).map(|i| b'a' + (i % 26) as u8).collect();
        for opcode in [0x1u8, 0x2] {
            for chunk in [usize::MAX, 7, 1000] {
                if chunk == 7 && len > 1000 {
                    continue;
                }
                let (conn, out) = run_chunked(&frame(true, opcode, &payload), chunk);
                assert_eq!(conn.state(), State::Open);
                assert_eq!(server_frames(&out), vec![(0x80 | opcode, payload.clone())], "len {len} chunk {chunk}");
            }
        }
    }
}

#[test]
fn echoes_byte_by_byte_delivery_of_many_frames() {
    let input = [frame(true, 1, b"Hello"), frame(true, 2, &[0, 1, 2]), frame(true, 9, b"p")].concat();
    let (_, out) = run_chunked(&input, 1);
    assert_eq!(server_frames(&out), vec![(0x81, b"Hello".to_vec()), (0x82, vec![0, 1, 2]), (0x8A, b"p".to_vec())]);
}

#[test]
fn reassembles_fragments_with_pings_between() {
    let input = [
        frame(false, 1, b"frag"),
        frame(true, 9, b"ping1"),
        frame(false, 0, b"ment"),
        frame(true, 0xA, b"unsolicited"),
        frame(true, 9, b""),
        frame(true, 0, b"ed"),
    ]
    .concat();
    for chunk in [input.len(), 1, 5] {
        let (_, out) = run_chunked(&input, chunk);
        assert_eq!(
            server_frames(&out),
            vec![(0x8A, b"ping1".to_vec()), (0x8A, vec![]), (0x81, b"fragmented".to_vec())]
        );
    }
}

#[test]
fn echoes_the_close_code_and_stops() {
    let (conn, out) = run(&[close_frame(1000, b"bye"), frame(true, 1, b"after")].concat());
    assert_eq!(conn.state(), State::Closed);
    assert_eq!(server_frames(&out), vec![(0x88, vec![0x03, 0xE8])]);
    let (_, out) = run(&frame(true, 8, b""));
    assert_eq!(server_frames(&out), vec![(0x88, vec![])]);
    for code in [1000u16, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999] {
        let (_, out) = run(&close_frame(code, b""));
        assert_eq!(close_code_sent(&out), Some(code));
    }
}

#[test]
fn closes_with_1002_on_unmasked_frame() {
    assert_fails_with(&[0x81, 0x02, b'h', b'i'], 1002);
}

#[test]
fn closes_with_1002_on_reserved_bits() {
    for rsv in [0x10u8, 0x20, 0x40, 0x70] {
        let mut f = frame(true, 1, b"x");
        f[0] |= rsv;
        assert_fails_with(&f, 1002);
    }
}

#[test]
fn closes_with_1002_on_reserved_opcodes() {
    for op in [3u8, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF] {
        assert_fails_with(&frame(true, op, b"x"), 1002);
    }
}

#[test]
fn closes_with_1002_on_fragmented_or_oversized_control_frames() {
    assert_fails_with(&frame(false, 9, b"x"), 1002);
    assert_fails_with(&frame(true, 9, &[0; 126]), 1002);
    assert_fails_with(&frame(true, 8, &[&1000u16.to_be_bytes()[..], &[b'a'; 124]].concat()), 1002);
}

#[test]
fn closes_with_1002_on_64_bit_length_msb() {
    let mut f = vec![0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 0];
    f.extend_from_slice(&KEY);
    assert_fails_with(&f, 1002);
}

#[test]
fn closes_with_1002_on_non_minimal_length() {
    let mut f = vec![0x82, 0x80 | 126, 0, 5];
    f.extend_from_slice(&KEY);
    f.extend_from_slice(&[0; 5]);
    assert_fails_with(&f, 1002);
}

#[test]
fn closes_with_1002_on_bad_fragment_sequence() {
    assert_fails_with(&frame(true, 0, b"orphan"), 1002);
    assert_fails_with(&[frame(false, 1, b"a"), frame(true, 2, b"b")].concat(), 1002);
    assert_fails_with(&[frame(false, 1, b"a"), frame(false, 1, b"b")].concat(), 1002);
}

#[test]
fn echoes_before_an_error_and_sends_nothing_after() {
    let mut bad = frame(true, 1, b"x");
    bad[0] |= 0x20;
    let input = [frame(true, 1, b"first"), bad, frame(true, 9, b"ping")].concat();
    let (_, out) = run(&input);
    let frames = server_frames(&out);
    assert_eq!(frames.len(), 2);
    assert_eq!(frames[0], (0x81, b"first".to_vec()));
    assert_eq!(close_code_sent(&out), Some(1002));
}

#[test]
fn closes_with_1007_on_invalid_utf8_whole_or_fragmented() {
    assert_fails_with(&frame(true, 1, &[0xCE, 0xBA, 0xED, 0xA0, 0x80]), 1007);
    assert_fails_with(&[frame(false, 1, &[0xCE]), frame(true, 0, &[0x28])].concat(), 1007);
    assert_fails_with(&[frame(false, 1, b"ok"), frame(true, 0, &[0xF0, 0x9D])].concat(), 1007);
}

#[test]
fn fails_fast_inside_a_fragment_before_the_message_ends() {
    // first fragment already holds an impossible sequence; the message never finishes
    let input = [frame(false, 1, &[b'a', 0xED, 0xA0, 0x80]), frame(false, 0, b"more")].concat();
    let (conn, out) = run_chunked(&input[..9], 1);
    assert_eq!(conn.state(), State::Closed);
    assert_eq!(close_code_sent(&out), Some(1007));
    // and inside a single frame whose payload has only partly arrived
    let f = frame(true, 1, &[&[0xF4, 0x90][..], &[b'a'; 200]].concat());
    let (conn, out) = run(&f[..10]);
    assert_eq!(conn.state(), State::Closed);
    assert_eq!(close_code_sent(&out), Some(1007));
}

#[test]
fn closes_with_1002_or_1007_on_bad_close_payloads() {
    assert_fails_with(&frame(true, 8, &[0x03]), 1002);
    for code in [0u16, 999, 1004, 1005, 1006, 1012, 1013, 1014, 1015, 1016, 1100, 2000, 2999, 5000, 65535] {
        assert_fails_with(&close_frame(code, b""), 1002);
    }
    assert_fails_with(&close_frame(1000, &[0xCE, 0xBA, 0xFF]), 1007);
}

#[test]
fn closes_with_1009_on_oversized_frame_or_message() {
    let limits = Limits { max_message_size: 100, max_frame_size: 60 };
    let check = |input: &[u8]| {
        let mut conn = Connection::new(limits);
        let mut out = Vec::new();
        conn.process(input, &mut out);
        assert_eq!(close_code_sent(&out), Some(1009), "{:?}", conn.failure());
    };
    check(&frame(true, 2, &[0; 61]));
    check(&[frame(false, 2, &[0; 60]), frame(true, 0, &[0; 41])].concat());
    // a declared 2^63-1 is refused from its header alone, allocating nothing
    let mut huge = vec![0x82, 0xFF];
    huge.extend_from_slice(&(i64::MAX as u64).to_be_bytes());
    huge.extend_from_slice(&KEY);
    let mut conn = Connection::new(LIMITS);
    let mut out = Vec::new();
    conn.process(&huge, &mut out);
    assert_eq!(close_code_sent(&out), Some(1009));
    assert_eq!(conn.buffered_capacity(), 0);
}

#[test]
fn accepts_messages_of_exactly_the_limit() {
    let limits = Limits { max_message_size: 100, max_frame_size: 100 };
    let mut conn = Connection::new(limits);
    let mut out = Vec::new();
    conn.process(&[frame(false, 2, &[7; 50]), frame(true, 0, &[7; 50])].concat(), &mut out);
    assert_eq!(server_frames(&out), vec![(0x82, vec![7; 100])]);
}

#[test]
fn server_initiated_close_waits_for_reply_and_discards_data() {
    let mut conn = Connection::new(LIMITS);
    let mut out = Vec::new();
    conn.initiate_close(CloseCode::GOING_AWAY, "shutdown", &mut out);
    assert_eq!(conn.state(), State::CloseSent);
    out.clear();
    conn.process(&[frame(true, 1, b"late"), frame(true, 9, b"p")].concat(), &mut out);
    assert!(out.is_empty(), "nothing is sent after a close frame");
    conn.process(&close_frame(1001, b""), &mut out);
    assert!(out.is_empty());
    assert_eq!(conn.state(), State::Closed);
    assert_eq!(conn.peer_close(), Some(Some(CloseCode::GOING_AWAY)));
}

#[test]
fn releases_a_large_reassembly_buffer_after_the_message() {
    let mut conn = Connection::new(LIMITS);
    let mut out = Vec::new();
    let big = vec![1u8; 200_000];
    conn.process(&[frame(false, 2, &big), frame(true, 0, b"")].concat(), &mut out);
    assert_eq!(conn.buffered_capacity(), 0);
    assert!(!conn.is_mid_message());
}
