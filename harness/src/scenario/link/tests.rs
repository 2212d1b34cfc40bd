//! The link with the server's bytes written as data: pings, the server's close, the run's close and
//! its timeout, a receiver's linger.

use std::sync::Arc;
use std::time::Duration;

use super::*;
use crate::scenario::file::parse;
use crate::wire::Opcode;

const RPC: &str = r#"
[[role]]
name = "caller"
[[role.step]]
send = '{"id":{{seq}}}'
[[role.step]]
name = "call"
expect = { json = { "/id" = "{{seq}}" } }
timeout = "1s"
"#;

const TIMEOUT: Duration = Duration::from_millis(100);

fn link() -> Link {
    let scenario = parse("t.toml", RPC, "t").unwrap_or_else(|e| panic!("{e}"));
    Link::new(Engine::new(Arc::clone(&scenario.roles[0]), 0, 0, 0), TIMEOUT)
}

/// The frames in `bytes` (what the link sent), as (opcode, payload).
fn frames(bytes: &[u8]) -> Vec<(u8, Vec<u8>)> {
    let mut reader = FrameReader::with_max_payload(MAX_MESSAGE);
    reader.push(bytes);
    let mut out = Vec::new();
    while let Ok(Some(f)) = reader.next_frame() {
        assert!(f.masked(), "RFC 6455 §5.3: a client masks every frame");
        out.push((f.opcode(), f.payload));
    }
    out
}

/// A server frame (unmasked).
fn server(f: FrameSpec) -> Vec<u8> {
    f.unmasked().encode().unwrap_or_else(|e| panic!("{e}"))
}

fn poll(
    l: &mut Link,
    now: u64,
    stop: bool,
    senders: Option<u64>,
    t: &mut Tally,
) -> (Result<Option<u64>, End>, Vec<u8>) {
    let mut out = Vec::new();
    let r = l.poll(now, stop, senders, t, &mut out);
    (r, out)
}

#[test]
fn a_request_goes_out_its_reply_is_taken_a_ping_is_answered_and_the_servers_close_ends_it() {
    let (mut l, mut t) = (link(), Tally::default());
    let (r, out) = poll(&mut l, 0, false, None, &mut t);
    assert_eq!(r, Ok(Some(1_000_000_000)), "woken at the expect's timeout");
    assert_eq!(frames(&out), [(Opcode::Text as u8, br#"{"id":0}"#.to_vec())]);
    // the reply and a ping in one read: the reply completes the iteration, the next request and the pong go out
    let mut read = server(FrameSpec::text(r#"{"id":0}"#));
    read.extend(server(FrameSpec::ping("p")));
    assert!(l.on_bytes(&read, 5_000, &mut t));
    assert_eq!(t.steps["call"].latency.len(), 1);
    let (_, out) = poll(&mut l, 5_000, false, None, &mut t);
    assert_eq!(frames(&out), [(Opcode::Pong as u8, b"p".to_vec()), (Opcode::Text as u8, br#"{"id":1}"#.to_vec())]);
    // RFC 6455 §5.5.1: the server's close is answered, and ends the connection; unasked, it is an error
    assert!(!l.on_bytes(&server(FrameSpec::close(CloseCode(1001), "")), 6_000, &mut t));
    let (r, out) = poll(&mut l, 6_000, false, None, &mut t);
    assert_eq!(r, Err(End::Failed));
    assert_eq!(frames(&out).first().map(|f| f.0), Some(Opcode::Close as u8));
    assert_eq!(t.errors.get("unexpected_close 1001"), Some(&1), "{:?}", t.errors);
}

#[test]
fn at_the_end_it_closes_once_drained_and_a_server_that_never_closes_is_a_timeout() {
    let (mut l, mut t) = (link(), Tally::default());
    assert!(poll(&mut l, 0, false, None, &mut t).0.is_ok());
    // the measured phase ends with a request outstanding: no close before its reply
    let (r, out) = poll(&mut l, 1_000, true, None, &mut t);
    assert!(out.is_empty() && !l.closing() && r.is_ok());
    assert!(l.on_bytes(&server(FrameSpec::text(r#"{"id":0}"#)), 2_000, &mut t));
    let (r, out) = poll(&mut l, 2_000, true, None, &mut t);
    let close = frames(&out);
    assert_eq!(close.len(), 1);
    assert_eq!((close[0].0, &close[0].1[..2]), (Opcode::Close as u8, &1000u16.to_be_bytes()[..]));
    assert!(l.closing());
    let deadline = 2_000 + TIMEOUT.as_nanos() as u64;
    assert_eq!(r, Ok(Some(deadline)), "woken when the server's close is overdue");
    let (r, out) = poll(&mut l, deadline, true, None, &mut t);
    assert_eq!((r, out.is_empty()), (Err(End::Failed), true));
    assert_eq!(t.errors.get("timeout close"), Some(&1), "{:?}", t.errors);
    // once closing, the end of the stream is no error
    assert_eq!(l.on_eof(&mut t), End::Done);
    assert_eq!(t.errors.len(), 1);
}

#[test]
fn the_end_of_the_stream_unasked_is_1006_and_a_broken_frame_ends_it_without_a_reply() {
    let (mut l, mut t) = (link(), Tally::default());
    assert_eq!(l.on_eof(&mut t), End::Failed);
    assert_eq!(t.errors.get(EOF_DETAIL), Some(&1));
    let (mut l, mut t) = (link(), Tally::default());
    // a continuation with no message to continue (RFC 6455 §5.4)
    assert!(!l.on_bytes(&server(FrameSpec::continuation("x")), 0, &mut t));
    let (r, out) = poll(&mut l, 0, false, None, &mut t);
    assert_eq!((r, out.is_empty()), (Err(End::Failed), true));
    assert_eq!(t.errors.keys().filter(|k| k.starts_with("protocol_error")).count(), 1, "{:?}", t.errors);
}

#[test]
fn a_receiver_stays_until_every_sender_has_ended_and_the_grace_has_passed() {
    let (mut l, mut t) = (link(), Tally::default());
    let grace = RECEIVE_GRACE.as_nanos() as u64;
    // stopped before it started anything: drained, but two senders still run
    let (r, out) = poll(&mut l, 0, true, Some(2), &mut t);
    assert_eq!((r, out.is_empty(), l.closing()), (Ok(Some(LINGER_CHECK_NS)), true, false));
    // the last sender ended at 1 s: the receiver closes RECEIVE_GRACE later, not before
    let (_, out) = poll(&mut l, 1_000_000_000, true, Some(0), &mut t);
    assert!(out.is_empty() && !l.closing());
    let (_, out) = poll(&mut l, 1_000_000_000 + grace - 1, true, Some(0), &mut t);
    assert!(out.is_empty() && !l.closing());
    let (_, out) = poll(&mut l, 1_000_000_000 + grace, true, Some(0), &mut t);
    assert_eq!(frames(&out).first().map(|f| f.0), Some(Opcode::Close as u8));
    assert!(l.closing());
}
