//! The sans-IO connection core (RFC 6455 §5-§7) on any bytes after the handshake, in any reads.
//!
//! Input: `[config][Split]` (see `src/lib.rs`): the config byte picks the size
//! limits and whether the server starts a close of its own after the first
//! read. The bytes are fed as the I/O layer feeds them (unconsumed bytes carried
//! into the next read). Checked:
//! - never a panic; at most an unfinished header (< 14 bytes) is left unconsumed;
//!   once closed, everything is consumed and nothing more is sent;
//! - the output is RFC 6455 server frames (read by an oracle that shares no
//!   code with the server), with at most one close frame, last, whose code may
//!   be sent on the wire, whose reason is UTF-8; a failed connection's close
//!   carries the failure's code, a client's close is echoed;
//! - the server never sends more than it received plus one close frame, and
//!   holds no message over its limit;
//! - the same bytes in one read give the same output and end state.
#![no_main]

use fuzz_input::{close_code_allowed, read_server_frames, ConnConfig, Split};
use libfuzzer_sys::fuzz_target;
use reference_server::conn::{Connection, State};
use reference_server::frame::{CloseCode, MAX_HEADER_LEN};
use reference_server::ProtocolError;

/// The longest close frame the server writes: 2 header bytes, code, 123 bytes of reason.
const MAX_CLOSE_FRAME: usize = 2 + 125;

fuzz_target!(|input: &[u8]| {
    let Some((&config, rest)) = input.split_first() else { return };
    let config = ConnConfig::from_byte(config);
    let mut split = Split::parse(rest);
    // the server's own close comes after the first read, so both runs read there
    let server_close_at = config.server_close.then(|| *split.cuts.first().unwrap_or(&0));
    if split.cuts.is_empty() {
        split.cuts.extend(server_close_at);
    }
    let one_read = Split { cuts: server_close_at.into_iter().collect(), data: split.data };
    let a = drive(config, &one_read, server_close_at);
    let b = drive(config, &split, server_close_at);
    assert_eq!(a, b, "cuts {:?}", split.cuts);
    judge(config, split.data.len(), &b);
});

/// What a connection did with the bytes.
#[derive(Debug, PartialEq)]
struct Outcome {
    /// Every byte the server wrote, its own close included.
    out: Vec<u8>,
    /// Bytes of `out` written by `initiate_close`.
    own_close: usize,
    state: State,
    failure: Option<ProtocolError>,
    peer_close: Option<Option<CloseCode>>,
}

fn drive(config: ConnConfig, split: &Split<'_>, server_close_at: Option<usize>) -> Outcome {
    let mut conn = Connection::new(config.limits);
    let (mut out, mut own_close, mut carry) = (Vec::new(), 0, Vec::new());
    let mut from = 0;
    for &cut in split.cuts.iter().chain([&split.data.len()]) {
        carry.extend_from_slice(&split.data[from..cut]);
        from = cut;
        let before = conn.state();
        let written = out.len();
        let n = conn.process(&carry, &mut out);
        assert!(n <= carry.len());
        if conn.state() == State::Closed {
            // RFC 6455 §7.1.7: nothing after the close is processed
            assert_eq!(n, carry.len(), "a closed connection consumes everything");
        }
        if before != State::Open {
            // after its own close the server answers nothing (§5.5.1), once closed it sends nothing (§7.1.7)
            assert_eq!(out.len(), written, "wrote after {before:?}");
        }
        carry.drain(..n);
        assert!(carry.len() < MAX_HEADER_LEN, "{} bytes left unconsumed", carry.len());
        assert!(conn.buffered_len() as u64 <= config.limits.max_message_size, "held {} bytes", conn.buffered_len());
        if server_close_at == Some(cut) && own_close == 0 {
            let before = out.len();
            conn.initiate_close(CloseCode::GOING_AWAY, "server shutting down", &mut out);
            own_close = out.len() - before;
        }
    }
    Outcome { out, own_close, state: conn.state(), failure: conn.failure().cloned(), peer_close: conn.peer_close() }
}

fn judge(config: ConnConfig, received: usize, o: &Outcome) {
    let frames = read_server_frames(&o.out).unwrap_or_else(|e| panic!("not RFC 6455 server frames: {e}"));
    let closes: Vec<usize> = frames.iter().enumerate().filter(|(_, f)| f.opcode == 0x8).map(|(i, _)| i).collect();
    assert!(closes.len() <= 1, "{} close frames", closes.len());
    let close = closes.first().map(|&i| {
        assert_eq!(i, frames.len() - 1, "frames after the close frame");
        &frames[i].payload
    });
    if let Some(body) = close {
        // RFC 6455 §5.5.1: empty, or a code that may be sent (§7.4) and a UTF-8 reason
        if let [hi, lo, reason @ ..] = body.as_slice() {
            assert!(
                close_code_allowed(u16::from_be_bytes([*hi, *lo])),
                "close code {}",
                u16::from_be_bytes([*hi, *lo])
            );
            assert!(std::str::from_utf8(reason).is_ok());
        } else {
            assert!(body.is_empty(), "a close body of one byte");
        }
    }
    let code = close.and_then(|b| (b.len() >= 2).then(|| u16::from_be_bytes([b[0], b[1]])));
    match (&o.failure, o.own_close > 0) {
        // §7.1.7: fail the connection with the rule's code
        (Some(e), false) => assert_eq!(code, Some(e.close_code().0), "failure {e}"),
        (_, true) => assert_eq!(code, Some(CloseCode::GOING_AWAY.0)),
        (None, false) => match o.peer_close {
            // §5.5.1: the client's close is echoed with its code
            Some(peer) => assert_eq!(code, peer.map(|c| c.0)),
            None => assert!(close.is_none() && o.state == State::Open),
        },
    }
    if o.state == State::Open {
        assert!(o.failure.is_none() && o.peer_close.is_none());
    }
    // echoes, pongs and close replies are never longer than what they answer (a client frame
    // has a 4-byte key, a server frame none); a failure adds one close frame
    let answered = o.out.len() - o.own_close;
    assert!(answered <= received + MAX_CLOSE_FRAME, "wrote {answered} bytes for {received}, limits {config:?}");
}
