//! Random, mutated and re-split client bytes never panic a parser, outgrow a limit, or change the server's answer.

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::{select, Index};
use proptest::test_runner::TestCaseError;
use reference_server::conn::{Connection, Limits, State};
use reference_server::frame::{
    apply_mask, apply_mask_bytewise, CloseCode, FrameHeader, MaskingKey, Rsv, MAX_HEADER_LEN,
};
use reference_server::handshake::{parse_request, HandshakePolicy};
use reference_server::HandshakeError;

/// Small limits, so that "memory stays bounded by the limit" means something.
const SMALL: Limits = Limits { max_message_size: 4096, max_frame_size: 4096 };

/// Limits some generated messages and frames exceed, so that 1009 is an outcome too.
const TIGHT: Limits = Limits { max_message_size: 2048, max_frame_size: 1024 };

/// Limits large enough for every valid stream the generators build, 64-bit lengths included.
const ROOMY: Limits = Limits { max_message_size: 1 << 20, max_frame_size: 1 << 20 };

/// The longest frame a server ever sends unprompted: a close with a 123-byte reason.
const MAX_CLOSE_FRAME: usize = 2 + 125;

/// A request every strict server accepts (RFC 6455 §1.3 and §4.1).
const GOOD_REQUEST: &str = "GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: chat, superchat\r\nOrigin: http://example.com\r\n\r\n";

/// Fixed cases and no regression files: this suite must stay fast and write nothing.
fn cases(cases: u32) -> ProptestConfig {
    ProptestConfig { cases, failure_persistence: None, ..ProptestConfig::default() }
}

// ---------------------------------------------------------------------------
// The wire, written independently of the crate under test
// ---------------------------------------------------------------------------

fn push_len(frame: &mut Vec<u8>, mask_bit: u8, len: usize) {
    if len < 126 {
        frame.push(mask_bit | len as u8);
    } else if len <= 0xFFFF {
        frame.push(mask_bit | 126);
        frame.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        frame.push(mask_bit | 127);
        frame.extend_from_slice(&(len as u64).to_be_bytes());
    }
}

/// A masked client frame with the minimal length encoding (§5.2, §5.3).
fn client_frame(fin: bool, opcode: u8, key: [u8; 4], payload: &[u8]) -> Vec<u8> {
    let mut frame = vec![(u8::from(fin) << 7) | opcode];
    push_len(&mut frame, 0x80, payload.len());
    frame.extend_from_slice(&key);
    frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
    frame
}

/// An unmasked, final server frame with the minimal length encoding.
fn server_frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
    let mut frame = vec![0x80 | opcode];
    push_len(&mut frame, 0, payload.len());
    frame.extend_from_slice(payload);
    frame
}

/// One frame the server sent.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Sent {
    opcode: u8,
    payload: Vec<u8>,
}

/// Splits the server's output into frames, checking every rule a server frame obeys.
fn server_frames(out: &[u8]) -> Result<Vec<Sent>, TestCaseError> {
    let mut frames = Vec::new();
    let mut rest = out;
    while !rest.is_empty() {
        prop_assert!(rest.len() >= 2, "truncated server frame {:02x?}", rest);
        let (b0, b1) = (rest[0], rest[1]);
        prop_assert_eq!(b0 & 0xF0, 0x80, "server frames are final, with RSV 0");
        prop_assert_eq!(b1 & 0x80, 0, "server frames are unmasked (§5.1)");
        let (len, header_len) = match b1 {
            126 => {
                prop_assert!(rest.len() >= 4, "truncated 16-bit length");
                (u64::from(u16::from_be_bytes([rest[2], rest[3]])), 4)
            }
            127 => {
                prop_assert!(rest.len() >= 10, "truncated 64-bit length");
                let mut be = [0u8; 8];
                be.copy_from_slice(&rest[2..10]);
                (u64::from_be_bytes(be), 10)
            }
            n => (u64::from(n), 2),
        };
        let minimal = match header_len {
            2 => len < 126,
            4 => len >= 126,
            _ => len > 0xFFFF,
        };
        prop_assert!(minimal, "length {} not minimally encoded (§5.2)", len);
        prop_assert!((rest.len() - header_len) as u64 >= len, "server frame of {} bytes is truncated", len);
        let len = len as usize;
        let opcode = b0 & 0x0F;
        let payload = rest[header_len..header_len + len].to_vec();
        prop_assert!(matches!(opcode, 0x1 | 0x2 | 0x8 | 0xA), "server sent opcode {:#x}", opcode);
        if opcode >= 0x8 {
            prop_assert!(len <= 125, "control frame of {} bytes (§5.5)", len);
        }
        if opcode == 0x1 {
            prop_assert!(std::str::from_utf8(&payload).is_ok(), "server echoed invalid UTF-8 as text (§8.1)");
        }
        frames.push(Sent { opcode, payload });
        rest = &rest[header_len + len..];
    }
    if let Some(close) = frames.iter().position(|f| f.opcode == 0x8) {
        prop_assert_eq!(close, frames.len() - 1, "nothing is sent after a close frame");
    }
    Ok(frames)
}

// ---------------------------------------------------------------------------
// Delivery, as the I/O layer does it
// ---------------------------------------------------------------------------

/// Feeds `input` in pieces of `sizes` bytes (cycled), carrying the unconsumed
/// bytes into the next call as the I/O layer does, and checks after every call
/// what must always hold: fewer than 14 bytes carried, reassembly memory within
/// twice the message limit, no more output than input plus one close frame,
/// and silence once closed.
fn deliver(limits: Limits, input: &[u8], sizes: &[usize]) -> Result<(Connection, Vec<u8>), TestCaseError> {
    deliver_to(Connection::new(limits), limits, Vec::new(), input, sizes)
}

/// [`deliver`] to a connection that may have sent `out` already.
fn deliver_to(
    mut conn: Connection,
    limits: Limits,
    mut out: Vec<u8>,
    input: &[u8],
    sizes: &[usize],
) -> Result<(Connection, Vec<u8>), TestCaseError> {
    let mut carry: Vec<u8> = Vec::new();
    let mut fed = 0;
    let capacity_bound = 2 * limits.max_message_size as usize;
    for &size in sizes.iter().cycle() {
        if fed == input.len() {
            break;
        }
        let end = fed.saturating_add(size.max(1)).min(input.len());
        carry.extend_from_slice(&input[fed..end]);
        fed = end;
        let was_closed = conn.state() == State::Closed;
        let out_before = out.len();
        let consumed = conn.process(&carry, &mut out);
        prop_assert!(consumed <= carry.len());
        carry.drain(..consumed);
        prop_assert!(carry.len() < MAX_HEADER_LEN, "{} bytes left unconsumed", carry.len());
        prop_assert!(
            conn.buffered_capacity() <= capacity_bound,
            "reassembly holds {} bytes of capacity, limit {}",
            conn.buffered_capacity(),
            limits.max_message_size
        );
        prop_assert!(out.len() <= fed + MAX_CLOSE_FRAME, "{} bytes sent for {} received", out.len(), fed);
        if was_closed {
            prop_assert_eq!(out.len(), out_before, "output after Closed");
            prop_assert!(carry.is_empty(), "bytes kept after Closed");
        }
    }
    if conn.state() == State::Closed {
        // one more read, of a perfectly valid ping: still nothing (§7.1.7)
        let ping = client_frame(true, 0x9, [1, 2, 3, 4], b"late");
        let before = out.len();
        prop_assert_eq!(conn.process(&ping, &mut out), ping.len());
        prop_assert_eq!(out.len(), before, "output after Closed");
    }
    Ok((conn, out))
}

/// Piece sizes: mostly tiny (headers split everywhere), sometimes large.
fn pieces() -> impl Strategy<Value = Vec<usize>> {
    prop_oneof![vec(1usize..=16, 1..8), vec(1usize..=4096, 1..8)]
}

/// What a closed connection must have sent last: the echo of the client's
/// close, or the close code of the rule the client broke (1002, 1007 or 1009).
fn check_ending(conn: &Connection, frames: &[Sent]) -> Result<(), TestCaseError> {
    match conn.state() {
        State::Open => {
            prop_assert!(frames.iter().all(|f| f.opcode != 0x8), "close sent while Open");
        }
        State::CloseSent => prop_assert!(false, "the server never initiated a close"),
        State::Closed => {
            let last = frames.last();
            prop_assert!(last.is_some_and(|f| f.opcode == 0x8), "Closed without a close frame");
            let body = &last.map(|f| f.payload.clone()).unwrap_or_default();
            let code = (body.len() >= 2).then(|| u16::from_be_bytes([body[0], body[1]]));
            match (conn.failure(), conn.peer_close()) {
                (Some(error), _) => {
                    prop_assert_eq!(code, Some(error.close_code().0));
                    prop_assert!(matches!(code, Some(1002 | 1007 | 1009)), "failed with {:?}", code);
                }
                (None, Some(peer)) => {
                    prop_assert_eq!(code, peer.map(|c| c.0), "close code not echoed");
                    prop_assert_eq!(body.len(), if peer.is_some() { 2 } else { 0 });
                }
                (None, None) => prop_assert!(false, "Closed with neither a failure nor a close"),
            }
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Streams of valid frames, and what the server must answer to them
// ---------------------------------------------------------------------------

/// One message, its fragmentation, and the control frames sent between its fragments.
#[derive(Debug, Clone)]
struct Message {
    text: bool,
    payload: Vec<u8>,
    /// Where the payload is cut into fragments; repeats make empty fragments.
    cuts: Vec<Index>,
    /// Control frames sent after a fragment: (which fragment, is a ping, payload).
    controls: Vec<(Index, bool, Vec<u8>)>,
    key: [u8; 4],
}

/// A conversation: messages, then perhaps a close with a code and reason.
#[derive(Debug, Clone)]
struct Conversation {
    messages: Vec<Message>,
    close: Option<(u16, String)>,
}

impl Conversation {
    /// The client's bytes, and the exact bytes a correct server answers.
    fn encode(&self) -> (Vec<u8>, Vec<u8>) {
        let (mut wire, mut expected) = (Vec::new(), Vec::new());
        for m in &self.messages {
            let mut bounds: Vec<usize> = m.cuts.iter().map(|c| c.index(m.payload.len() + 1)).collect();
            bounds.sort_unstable();
            bounds.insert(0, 0);
            bounds.push(m.payload.len());
            let fragments = bounds.len() - 1;
            for i in 0..fragments {
                let opcode = match (i, m.text) {
                    (0, true) => 0x1,
                    (0, false) => 0x2,
                    _ => 0x0,
                };
                let last = i + 1 == fragments;
                let key = [m.key[0], m.key[1] ^ i as u8, m.key[2], m.key[3]];
                let part = &m.payload[bounds[i]..bounds[i + 1]];
                wire.extend(client_frame(last, opcode, key, part));
                if last {
                    expected.extend(server_frame(if m.text { 0x1 } else { 0x2 }, &m.payload));
                }
                for (_, ping, body) in m.controls.iter().filter(|c| c.0.index(fragments) == i) {
                    wire.extend(client_frame(true, if *ping { 0x9 } else { 0xA }, m.key, body));
                    if *ping {
                        expected.extend(server_frame(0xA, body));
                    }
                }
            }
        }
        if let Some((code, reason)) = &self.close {
            let body = [&code.to_be_bytes()[..], reason.as_bytes()].concat();
            wire.extend(client_frame(true, 0x8, [9, 8, 7, 6], &body));
            // §5.5.1: the reply echoes the status code
            expected.extend(server_frame(0x8, &code.to_be_bytes()));
        }
        (wire, expected)
    }
}

/// A message payload: text (valid UTF-8, cut anywhere) or binary, of every length encoding.
fn payload(allow_64_bit: bool) -> BoxedStrategy<(bool, Vec<u8>)> {
    let text = |re: &'static str| re.prop_map(|s: String| (true, s.into_bytes()));
    let binary = |len: std::ops::Range<usize>| vec(any::<u8>(), len).prop_map(|b| (false, b));
    let common = prop_oneof![
        4 => text("(?s).{0,40}"),
        1 => text("(?s).{40,400}"),
        4 => binary(0..130),
        1 => binary(126..3000),
    ];
    if allow_64_bit {
        prop_oneof![12 => common, 1 => binary(65536..65700)].boxed()
    } else {
        common.boxed()
    }
}

fn message(allow_64_bit: bool) -> impl Strategy<Value = Message> {
    let control = (any::<Index>(), any::<bool>(), vec(any::<u8>(), 0..=125));
    (payload(allow_64_bit), vec(any::<Index>(), 0..4), vec(control, 0..3), any::<[u8; 4]>())
        .prop_map(|((text, payload), cuts, controls, key)| Message { text, payload, cuts, controls, key })
}

fn conversation(allow_64_bit: bool) -> impl Strategy<Value = Conversation> {
    let close = (select(vec![1000u16, 1001, 1003, 3000, 4999]), "\\PC{0,20}");
    (vec(message(allow_64_bit), 0..6), proptest::option::of(close))
        .prop_map(|(messages, close)| Conversation { messages, close })
}

// ---------------------------------------------------------------------------
// Bytes shaped like frames, with every field possibly wrong
// ---------------------------------------------------------------------------

/// A frame-like byte string: plausible or arbitrary first bytes, a mask bit
/// usually set, a declared length that may lie and an encoding that may not be
/// minimal, and a payload that may unmask to ASCII.
fn hostile_frame() -> impl Strategy<Value = Vec<u8>> {
    let b0 = prop_oneof![
        3 => select(vec![0x00u8, 0x01, 0x02, 0x80, 0x81, 0x82, 0x88, 0x89, 0x8A]),
        1 => any::<u8>(),
    ];
    let declared = prop_oneof![
        4 => Just(None),
        2 => (0u64..300).prop_map(Some),
        1 => (0u64..=0x1_0000).prop_map(Some),
        1 => any::<u64>().prop_map(Some),
    ];
    (
        b0,
        prop::bool::weighted(0.9),
        declared,
        prop_oneof![3 => Just(None), 1 => (0u8..3).prop_map(Some)],
        any::<[u8; 4]>(),
        vec(any::<u8>(), 0..600),
        any::<bool>(),
    )
        .prop_map(|(b0, masked, declared, encoding, key, mut payload, ascii)| {
            if ascii {
                for (i, b) in payload.iter_mut().enumerate() {
                    *b = ((*b & 0x3F) | 0x20) ^ key[i % 4];
                }
            }
            let len = declared.unwrap_or(payload.len() as u64);
            let mask_bit = if masked { 0x80 } else { 0 };
            let mut frame = vec![b0];
            match encoding {
                None => push_len(&mut frame, mask_bit, len as usize),
                Some(0) => frame.push(mask_bit | (len as u8 & 0x7F)),
                Some(1) => {
                    frame.push(mask_bit | 126);
                    frame.extend_from_slice(&(len as u16).to_be_bytes());
                }
                Some(_) => {
                    frame.push(mask_bit | 127);
                    frame.extend_from_slice(&len.to_be_bytes());
                }
            }
            if masked {
                frame.extend_from_slice(&key);
            }
            frame.extend_from_slice(&payload);
            frame
        })
}

fn hostile_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![vec(any::<u8>(), 0..1024), vec(hostile_frame(), 0..10).prop_map(|frames| frames.concat())]
}

// ---------------------------------------------------------------------------
// HTTP-shaped bytes
// ---------------------------------------------------------------------------

/// Bytes built from pieces of HTTP requests, so that heads complete, break
/// and outgrow the limit in every way, mixed with arbitrary bytes.
fn http_ish() -> impl Strategy<Value = Vec<u8>> {
    let token = prop_oneof![
        select(vec![
            &b"GET / HTTP/1.1\r\n"[..],
            b"GET /chat HTTP/1.0\r\n",
            b"POST / HTTP/1.1\r\n",
            b"Host: a\r\n",
            b"Upgrade: websocket\r\n",
            b"Connection: Upgrade\r\n",
            b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n",
            b"Sec-WebSocket-Version: 13\r\n",
            b"X-Pad: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n",
            b"\r\n",
            b"\n",
            b": ",
            b" ",
        ])
        .prop_map(<[u8]>::to_vec),
        vec(any::<u8>(), 1..8),
    ];
    prop_oneof![vec(any::<u8>(), 0..1200), vec(token, 0..60).prop_map(|t| t.concat())]
}

/// A byte-level edit of a request.
#[derive(Debug, Clone)]
enum Edit {
    Flip(Index, u8),
    Insert(Index, u8),
    Delete(Index),
}

fn edits() -> impl Strategy<Value = Vec<Edit>> {
    let edit = prop_oneof![
        (any::<Index>(), 0u8..8).prop_map(|(i, bit)| Edit::Flip(i, bit)),
        (any::<Index>(), any::<u8>()).prop_map(|(i, b)| Edit::Insert(i, b)),
        any::<Index>().prop_map(Edit::Delete),
    ];
    vec(edit, 1..8)
}

fn apply_edits(bytes: &mut Vec<u8>, edits: &[Edit]) {
    for edit in edits {
        match *edit {
            Edit::Flip(i, bit) if !bytes.is_empty() => {
                let i = i.index(bytes.len());
                bytes[i] ^= 1 << bit;
            }
            Edit::Insert(i, b) => bytes.insert(i.index(bytes.len() + 1), b),
            Edit::Delete(i) if !bytes.is_empty() => {
                bytes.remove(i.index(bytes.len()));
            }
            _ => {}
        }
    }
}

/// What `parse_request` may answer, whatever the bytes: "need more" only below
/// the head limit, a head no longer than the limit or the input, a 431 that
/// names the configured limit.
fn check_request(bytes: &[u8], policy: &HandshakePolicy) -> Result<(), TestCaseError> {
    match parse_request(bytes, policy) {
        Ok(None) => prop_assert!(
            bytes.len() < policy.max_head_size,
            "asked for more with {} bytes, limit {}",
            bytes.len(),
            policy.max_head_size
        ),
        Ok(Some((accepted, head_len))) => {
            prop_assert!(head_len <= bytes.len() && head_len <= policy.max_head_size);
            prop_assert_eq!(accepted.accept.len(), 28, "base64 of a SHA-1");
            // the same head, delivered a byte short at any point, is incomplete
            for cut in 0..head_len {
                prop_assert_eq!(parse_request(&bytes[..cut], policy), Ok(None), "cut {}", cut);
            }
        }
        Err(HandshakeError::HeadTooLarge(limit)) => {
            prop_assert_eq!(limit, policy.max_head_size)
        }
        Err(_) => {}
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// The properties
// ---------------------------------------------------------------------------

proptest! {
    #![proptest_config(cases(512))]

    #[test]
    fn parse_request_asks_for_more_only_below_the_head_limit_and_never_panics(
        bytes in http_ish(),
        max_head_size in prop_oneof![1usize..64, 64usize..1024],
    ) {
        let policy = HandshakePolicy { max_head_size, ..HandshakePolicy::default() };
        check_request(&bytes, &policy)?;
        if bytes.len() >= max_head_size {
            prop_assert_ne!(parse_request(&bytes, &policy), Ok(None));
        }
    }

    #[test]
    fn parse_request_survives_edited_valid_requests(
        edits in edits(),
        max_head_size in prop_oneof![3 => Just(16 * 1024), 1 => 150usize..260],
    ) {
        let mut bytes = GOOD_REQUEST.as_bytes().to_vec();
        apply_edits(&mut bytes, &edits);
        let policy = HandshakePolicy {
            max_head_size,
            subprotocols: vec!["chat".into()],
            allowed_origins: vec![],
            deflate: Some(Default::default()),
        };
        check_request(&bytes, &policy)?;
    }

    #[test]
    fn header_parse_never_panics_and_never_claims_more_than_it_read(
        mut bytes in vec(any::<u8>(), 0..=20),
        plausible in any::<bool>(),
        b0 in select(vec![0x00u8, 0x01, 0x02, 0x80, 0x81, 0x82, 0x88, 0x89, 0x8A]),
        encoding in 0u8..3,
        allowed_rsv in prop_oneof![3 => Just(0u8), 1 => 0u8..8],
    ) {
        if plausible && bytes.len() >= 3 {
            bytes[0] = b0;
            bytes[1] = 0x80 | [bytes[1] & 0x7F, 126, 127][usize::from(encoding)];
            bytes[2] &= 0x7F;
        }
        let rsv = Rsv(allowed_rsv);
        let whole = FrameHeader::parse(&bytes, rsv);
        match &whole {
            Ok(Some((header, n))) => {
                let n = *n;
                prop_assert!(n <= MAX_HEADER_LEN && n <= bytes.len(), "claimed {} bytes", n);
                let minimal = match header.payload_len {
                    0..=125 => 6,
                    126..=0xFFFF => 8,
                    _ => 14,
                };
                prop_assert_eq!(n, minimal, "length {}", header.payload_len);
                prop_assert_eq!(header.fin, bytes[0] & 0x80 != 0);
                prop_assert_eq!(header.opcode.as_nibble(), bytes[0] & 0x0F);
                prop_assert_eq!(header.mask, MaskingKey([bytes[n - 4], bytes[n - 3], bytes[n - 2], bytes[n - 1]]));
                for cut in 0..n {
                    prop_assert_eq!(FrameHeader::parse(&bytes[..cut], rsv), Ok(None), "cut {}", cut);
                }
            }
            Ok(None) => prop_assert!(bytes.len() < MAX_HEADER_LEN),
            Err(_) => {}
        }
        for cut in 0..bytes.len() {
            let prefix = FrameHeader::parse(&bytes[..cut], rsv);
            match (&prefix, &whole) {
                (_, Ok(Some((_, n)))) if cut >= *n => prop_assert_eq!(&prefix, &whole, "cut {}", cut),
                (Ok(None), _) => {}
                // what is broken in a prefix stays broken, by the same rule and with the same message
                (Err(p), Err(w)) => prop_assert_eq!(p, w, "cut {}", cut),
                _ => prop_assert!(false, "cut {}: {:?}, whole: {:?}", cut, prefix, whole),
            }
        }
    }

    #[test]
    fn word_masking_equals_bytewise_for_any_data_key_alignment_and_offset(
        data in vec(any::<u8>(), 0..300),
        start in 0usize..8,
        key in any::<[u8; 4]>(),
        offset in prop_oneof![0usize..16, 0usize..(1 << 48)],
        split in any::<Index>(),
    ) {
        let key = MaskingKey(key);
        let start = start.min(data.len());
        let mut word = data.clone();
        let mut bytewise = data.clone();
        apply_mask(&mut word[start..], key, offset);
        apply_mask_bytewise(&mut bytewise[start..], key, offset);
        prop_assert_eq!(&word, &bytewise);
        // unmasking in two pieces at any point equals unmasking at once
        let mut pieces = data.clone();
        let (a, b) = pieces[start..].split_at_mut(split.index(data.len() - start + 1));
        let a_len = a.len();
        apply_mask(a, key, offset);
        apply_mask(b, key, offset + a_len);
        prop_assert_eq!(&pieces, &word);
        // masking is its own inverse
        apply_mask(&mut word[start..], key, offset);
        prop_assert_eq!(&word, &data);
    }
}

proptest! {
    #![proptest_config(cases(512))]

    #[test]
    fn random_bytes_in_random_pieces_never_panic_nor_outgrow_the_limits(
        input in hostile_bytes(),
        sizes in pieces(),
    ) {
        let (conn, out) = deliver(SMALL, &input, &sizes)?;
        let frames = server_frames(&out)?;
        check_ending(&conn, &frames)?;
    }

    /// A flipped bit breaks a rule (1002, 1007 or 1009), or turns a frame into
    /// another valid one: a ping into a close, whose code the server echoes.
    #[test]
    fn bit_flipped_valid_streams_keep_echoing_or_close_with_1002_1007_1009_or_the_clients_code(
        conversation in conversation(false),
        flips in vec((any::<Index>(), 0u8..8), 1..6),
        sizes in pieces(),
    ) {
        let (mut wire, _) = conversation.encode();
        if !wire.is_empty() {
            for (i, bit) in &flips {
                let i = i.index(wire.len());
                wire[i] ^= 1 << bit;
            }
        }
        let (conn, out) = deliver(TIGHT, &wire, &sizes)?;
        let frames = server_frames(&out)?;
        check_ending(&conn, &frames)?;
        // the same bytes in one piece get the same answer, byte for byte
        let (whole_conn, whole_out) = deliver(TIGHT, &wire, &[usize::MAX])?;
        prop_assert_eq!(whole_conn.state(), conn.state());
        prop_assert_eq!(whole_conn.failure().map(|e| e.close_code()), conn.failure().map(|e| e.close_code()));
        prop_assert!(whole_out == out, "split delivery answers differently from one piece");
    }
}

proptest! {
    #![proptest_config(cases(192))]

    #[test]
    fn valid_streams_get_the_same_answer_however_they_are_split(
        conversation in conversation(true),
        sizes in pieces(),
    ) {
        let (wire, expected) = conversation.encode();
        let (whole_conn, whole) = deliver(ROOMY, &wire, &[usize::MAX])?;
        let (split_conn, split) = deliver(ROOMY, &wire, &sizes)?;
        prop_assert!(whole == expected, "one piece: answer differs from the model");
        prop_assert!(split == whole, "split delivery answers differently from one piece");
        let expected_state = if conversation.close.is_some() { State::Closed } else { State::Open };
        prop_assert_eq!(whole_conn.state(), expected_state);
        prop_assert_eq!(split_conn.state(), expected_state);
        prop_assert!(whole_conn.failure().is_none() && split_conn.failure().is_none());
        prop_assert!(!split_conn.is_mid_message());
        // the echoes are the messages, in order, each as one frame of its type
        let echoes: Vec<Sent> = server_frames(&split)?
            .into_iter()
            .filter(|f| f.opcode == 0x1 || f.opcode == 0x2)
            .collect();
        let sent: Vec<Sent> = conversation
            .messages
            .iter()
            .map(|m| Sent { opcode: if m.text { 0x1 } else { 0x2 }, payload: m.payload.clone() })
            .collect();
        prop_assert!(echoes == sent, "echoes differ from the messages sent");
    }
}

proptest! {
    #![proptest_config(cases(256))]

    #[test]
    fn after_its_own_close_the_server_sends_nothing_whatever_arrives(
        input in prop_oneof![
            hostile_bytes(),
            conversation(false).prop_map(|c| c.encode().0),
        ],
        sizes in pieces(),
    ) {
        let mut conn = Connection::new(SMALL);
        let mut out = Vec::new();
        conn.initiate_close(CloseCode::GOING_AWAY, "shutdown", &mut out);
        let our_close = out.clone();
        let (conn, out) = deliver_to(conn, SMALL, out, &input, &sizes)?;
        // §5.5.1: after sending a close frame, an endpoint sends no more data
        prop_assert!(out == our_close, "sent {} more bytes after its close", out.len() - our_close.len());
        prop_assert!(matches!(conn.state(), State::CloseSent | State::Closed));
    }
}

#[test]
fn oversized_control_frame_gets_the_same_close_however_the_header_is_split() {
    // pings declaring a 16-bit length (§5.5 allows at most 125, in 7 bits): 200, and 0
    for ping in [[0x89, 0xFE, 0x00, 0xC8, 1, 2, 3, 4], [0x89, 0xFE, 0x00, 0x00, 1, 2, 3, 4]] {
        let reason = |sizes: &[usize]| {
            let (_, out) = deliver(SMALL, &ping, sizes).expect("invariants hold");
            String::from_utf8_lossy(&out[4..]).into_owned()
        };
        assert_eq!(reason(&[2, 6]), reason(&[8]), "ping {ping:02x?}");
    }
}
