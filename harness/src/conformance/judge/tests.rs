//! The judge without sockets: each test writes the server's side of a wire exchange as data (an HTTP
//! head, frame bytes in hex, a TCP close, a deadline) and checks the typed result. One test per
//! expectation kind and per verdict path, and the close phase state by state.

use std::time::Duration;

use tokio::time::Instant;

use super::*;

mod client;
use crate::case::Expectation;
use crate::conformance::event::{Closed, Event};
use crate::verdict::{CloseVerdict, Verdict};
use crate::wire::{accept_for, parse_response, FrameReader, FrameSpec, Message};

const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

/// The server's bytes, written as hex, read as the events the runner would hand over.
pub(super) fn server(hex: &str) -> Vec<Event> {
    let bytes: Vec<u8> =
        hex.split_whitespace().map(|b| u8::from_str_radix(b, 16).expect("test hex is valid")).collect();
    let mut reader = FrameReader::new();
    reader.push(&bytes);
    let mut events = Vec::new();
    while let Some(f) = reader.next_frame().expect("test frames are within the limit") {
        events.push(Event::Frame(f));
    }
    events
}

pub(super) fn eof() -> Event {
    Event::Closed(Closed::Eof)
}

fn response(head: &str) -> Opening {
    let (r, _) = parse_response(head.as_bytes()).expect("valid head").expect("complete head");
    Opening::judge(Ok(r), KEY, &[], &[])
}

pub(super) fn upgraded() -> Opening {
    response(&format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n\r\n",
        accept_for(KEY)
    ))
}

pub(super) fn state(opening: Opening) -> CaseState {
    CaseState::new(opening, 1 << 20)
}

/// Feeds `events` to a step judge for `what` (rated `mismatch`) until it decides; `Pending` if they run out.
pub(super) fn judge(state: &mut CaseState, what: &Expectation, mismatch: Verdict, events: Vec<Event>) -> Judgement {
    let mut step = StepJudge::new(what, mismatch, 1);
    let mut j = step.begin(state);
    for e in events {
        if !matches!(j, Judgement::Pending) {
            break;
        }
        j = step.on_event(state, e);
    }
    j
}

fn met(j: &Judgement) -> bool {
    matches!(j, Judgement::Met(_))
}

fn miss(j: Judgement) -> (Miss, Option<Event>) {
    match j {
        Judgement::Miss { miss, unread } => (miss, unread),
        other => panic!("expected a miss, got {other:?}"),
    }
}

/// The case sends `frame`; its echo is then due.
fn sent(state: &mut CaseState, frame: FrameSpec) {
    state.sent.track(&frame.encode().expect("a valid test frame"));
}

#[test]
fn status_is_met_by_the_listed_status_and_fields() {
    let mut s = state(upgraded());
    let what = Expectation::Status {
        codes: vec![101],
        headers: vec![("upgrade".into(), "WebSocket".into())],
        absent: vec!["Sec-WebSocket-Protocol".into()],
    };
    assert!(met(&judge(&mut s, &what, Verdict::Failed, vec![])));
}

#[test]
fn status_miss_takes_the_steps_rating() {
    let mut s = state(response("HTTP/1.1 400 Bad Request\r\n\r\n"));
    let what = Expectation::Status { codes: vec![426], headers: vec![], absent: vec![] };
    let (m, _) = miss(judge(&mut s, &what, Verdict::NonStrict, vec![]));
    assert_eq!(m.verdict, Verdict::NonStrict);
    assert_eq!(m.expected, "HTTP status 426");
    assert_eq!(m.actual, Actual::Saw("400 Bad Request".into()));
}

#[test]
fn a_broken_101_is_failed_whatever_the_rating() {
    let mut s = state(response("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: wrong\r\n\r\n"));
    let what = Expectation::Status { codes: vec![101], headers: vec![], absent: vec![] };
    let (m, _) = miss(judge(&mut s, &what, Verdict::Informational, vec![]));
    assert_eq!(m.verdict, Verdict::Failed);
    assert!(m.actual.describe().starts_with("101 with a broken handshake"), "{:?}", m.actual);
}

#[test]
fn status_misses_a_required_field_and_a_field_that_must_be_absent() {
    let mut s = state(upgraded());
    let what =
        Expectation::Status { codes: vec![101], headers: vec![("X-Missing".into(), "*".into())], absent: vec![] };
    assert_eq!(miss(judge(&mut s, &what, Verdict::Failed, vec![])).0.actual, Actual::Saw("no X-Missing header".into()));
    let what = Expectation::Status { codes: vec![101], headers: vec![], absent: vec!["Upgrade".into()] };
    assert_eq!(miss(judge(&mut s, &what, Verdict::Failed, vec![])).0.actual, Actual::Saw("Upgrade: websocket".into()));
}

#[test]
fn refused_is_met_by_an_error_status_or_a_closed_connection_and_missed_by_101_or_silence() {
    let mut s = state(response("HTTP/1.1 400 Bad Request\r\n\r\n"));
    assert!(met(&judge(&mut s, &Expectation::Refused, Verdict::Failed, vec![])));
    let mut s = state(Opening::judge(Err(NoResponse::Closed), KEY, &[], &[]));
    assert!(met(&judge(&mut s, &Expectation::Refused, Verdict::Failed, vec![])));
    let mut s = state(upgraded());
    assert_eq!(miss(judge(&mut s, &Expectation::Refused, Verdict::Failed, vec![])).0.verdict, Verdict::Failed);
    let timeout = NoResponse::Timeout { waited: Duration::from_secs(2) };
    let mut s = state(Opening::judge(Err(timeout), KEY, &[], &[]));
    let (m, _) = miss(judge(&mut s, &Expectation::Refused, Verdict::Failed, vec![]));
    assert_eq!(m.actual, Actual::Saw("no HTTP response within 2.0 s after sending the request".into()));
}

#[test]
fn echo_is_met_by_the_same_message_even_in_fragments() {
    let mut s = state(upgraded());
    sent(&mut s, FrameSpec::text("Hello"));
    // "Hel" FIN=0, then "lo" FIN=1
    let j = judge(&mut s, &Expectation::Echo, Verdict::Failed, server("01 03 48 65 6c 80 02 6c 6f"));
    assert!(met(&j), "{j:?}");
}

#[test]
fn echo_with_nothing_due_is_met_at_once() {
    let mut s = state(upgraded());
    assert!(met(&judge(&mut s, &Expectation::Echo, Verdict::Failed, vec![])));
}

#[test]
fn a_corrupted_echo_is_failed_even_when_the_step_is_rated_milder() {
    let mut s = state(upgraded());
    sent(&mut s, FrameSpec::text("Hello"));
    let (m, _) = miss(judge(&mut s, &Expectation::Echo, Verdict::NonStrict, server("81 05 48 65 6c 6c 21")));
    assert_eq!(m.verdict, Verdict::Failed);
    assert!(m.actual.describe().contains("differing at byte 4"), "{:?}", m.actual);
}

#[test]
fn an_echo_of_the_wrong_type_is_failed() {
    let mut s = state(upgraded());
    sent(&mut s, FrameSpec::text("Hello"));
    let (m, _) = miss(judge(&mut s, &Expectation::Echo, Verdict::Failed, server("82 05 48 65 6c 6c 6f")));
    assert!(m.actual.describe().starts_with("binary message of 5 bytes"), "{:?}", m.actual);
}

#[test]
fn no_echo_before_the_deadline_is_nothing_rated_as_the_step_says() {
    let mut s = state(upgraded());
    sent(&mut s, FrameSpec::binary(vec![1, 2, 3]));
    let (m, unread) = miss(judge(&mut s, &Expectation::Echo, Verdict::NonStrict, vec![Event::Timeout]));
    assert_eq!((m.verdict, m.actual), (Verdict::NonStrict, Actual::Nothing));
    assert!(unread.is_none());
}

#[test]
fn a_control_frame_where_an_echo_is_due_is_a_miss_and_goes_back_unread() {
    let mut s = state(upgraded());
    sent(&mut s, FrameSpec::text("Hi"));
    let (m, unread) = miss(judge(&mut s, &Expectation::Echo, Verdict::Failed, server("89 00")));
    assert_eq!(m.actual, Actual::Saw("ping 0 bytes".into()));
    assert!(matches!(unread, Some(Event::Frame(_))));
}

#[test]
fn a_message_that_breaks_the_fragmentation_sequence_is_a_miss() {
    let mut s = state(upgraded());
    let what = Expectation::Message { opcode: 1, payload: b"a".to_vec() };
    // a continuation frame with no message started (RFC 6455 §5.4)
    let (m, _) = miss(judge(&mut s, &what, Verdict::Failed, server("80 01 61")));
    assert!(m.actual.describe().contains("§5.4"), "{:?}", m.actual);
}

#[test]
fn a_message_step_is_met_by_that_message() {
    let mut s = state(upgraded());
    let what = Expectation::Message { opcode: 2, payload: vec![0xfe, 0xfe] };
    assert!(met(&judge(&mut s, &what, Verdict::Failed, server("82 02 fe fe"))));
}

#[test]
fn pong_is_met_by_its_payload_and_missed_by_another() {
    let mut s = state(upgraded());
    let what = Expectation::Pong { payload: b"ab".to_vec() };
    assert!(met(&judge(&mut s, &what, Verdict::Failed, server("8a 02 61 62"))));
    let (m, unread) = miss(judge(&mut s, &what, Verdict::Failed, server("8a 01 61")));
    assert_eq!(m.expected, "a pong with \"ab\"");
    assert!(unread.is_some());
    let (m, _) = miss(judge(&mut s, &what, Verdict::Failed, vec![Event::Timeout]));
    assert_eq!(m.actual, Actual::Nothing);
}

#[test]
fn repeat_needs_every_repetition() {
    let mut s = state(upgraded());
    let what = Expectation::Pong { payload: vec![] };
    let mut step = StepJudge::new(&what, Verdict::Failed, 2);
    assert!(matches!(step.begin(&mut s), Judgement::Pending));
    let e = server("8a 00 8a 00");
    let mut it = e.into_iter();
    assert!(matches!(step.on_event(&mut s, it.next().expect("two pongs")), Judgement::Pending));
    assert!(met(&step.on_event(&mut s, it.next().expect("two pongs"))));
}

#[test]
fn close_is_met_by_a_listed_code_and_stands_for_a_later_close_step() {
    let mut s = state(upgraded());
    let what = Expectation::Close { codes: vec![1002], allow_drop: false };
    let j = judge(&mut s, &what, Verdict::Failed, server("88 02 03 ea"));
    assert!(matches!(&j, Judgement::Met(Some(seen)) if seen == "close 1002"), "{j:?}");
    // the server sent one close: a later step judges the same frame again, without events
    let what_any = Expectation::Close { codes: vec![], allow_drop: false };
    assert!(
        matches!(judge(&mut s, &what_any, Verdict::Failed, vec![]), Judgement::Met(Some(seen)) if seen.ends_with("(received earlier)"))
    );
    let what_other = Expectation::Close { codes: vec![1007], allow_drop: false };
    assert_eq!(miss(judge(&mut s, &what_other, Verdict::Failed, vec![])).0.expected, "a close frame with code 1007");
}

#[test]
fn a_close_with_another_code_is_a_miss_and_goes_back_for_a_later_step() {
    let mut s = state(upgraded());
    let what = Expectation::Close { codes: vec![1002], allow_drop: false };
    let (m, unread) = miss(judge(&mut s, &what, Verdict::NonStrict, server("88 02 03 e8")));
    assert_eq!((m.verdict, m.actual), (Verdict::NonStrict, Actual::Saw("close 1000".into())));
    assert!(unread.is_some());
    assert!(s.close_taken.is_none());
}

#[test]
fn a_close_without_code_meets_1005() {
    let mut s = state(upgraded());
    let what = Expectation::Close { codes: vec![1005], allow_drop: false };
    assert!(met(&judge(&mut s, &what, Verdict::Failed, server("88 00"))));
}

#[test]
fn a_dropped_connection_meets_close_only_where_allowed() {
    let mut s = state(upgraded());
    let allowed = Expectation::Close { codes: vec![1002], allow_drop: true };
    assert!(met(&judge(&mut s, &allowed, Verdict::Failed, vec![eof()])));
    let strict = Expectation::Close { codes: vec![1002], allow_drop: false };
    let (m, _) = miss(judge(&mut s, &strict, Verdict::Failed, vec![eof()]));
    assert!(m.actual.describe().contains("a browser reports 1006"), "{:?}", m.actual);
}

#[test]
fn dropped_passes_over_a_close_frame_and_misses_data() {
    let mut s = state(upgraded());
    let mut events = server("88 02 03 ea");
    events.push(eof());
    assert!(
        matches!(judge(&mut s, &Expectation::Dropped, Verdict::Failed, events), Judgement::Met(Some(seen)) if seen == "TCP closed (EOF)")
    );
    let (m, unread) = miss(judge(&mut s, &Expectation::Dropped, Verdict::Failed, server("81 00")));
    assert_eq!(m.expected, "the server to close TCP");
    assert!(unread.is_some());
}

#[test]
fn silence_is_met_by_the_deadline_and_missed_by_any_event() {
    let mut s = state(upgraded());
    let what = Expectation::Silence(Duration::from_millis(100));
    assert!(met(&judge(&mut s, &what, Verdict::Failed, vec![Event::Timeout])));
    let (m, unread) = miss(judge(&mut s, &what, Verdict::Informational, server("81 01 61")));
    assert_eq!((m.verdict, m.expected.as_str()), (Verdict::Informational, "nothing"));
    assert!(unread.is_some());
}

#[test]
fn silence_waits_its_own_time_and_the_others_until_the_step_deadline() {
    let now = Instant::now();
    let (step, case) = (now + Duration::from_secs(1), now + Duration::from_secs(5));
    let silence = Expectation::Silence(Duration::from_millis(100));
    assert_eq!(
        StepJudge::new(&silence, Verdict::Failed, 1).wait_until(step, case, now),
        now + Duration::from_millis(100)
    );
    assert_eq!(StepJudge::new(&Expectation::Echo, Verdict::Failed, 1).wait_until(step, case, now), step);
}

#[test]
fn alive_takes_the_probes_result() {
    let mut s = state(upgraded());
    let mut step = StepJudge::new(&Expectation::Alive, Verdict::Failed, 1);
    assert!(step.needs_probe());
    assert!(matches!(step.begin(&mut s), Judgement::Pending));
    assert!(met(&step.on_probe(&mut s, Ok("still there".into()))));
    let mut step = StepJudge::new(&Expectation::Alive, Verdict::Failed, 1);
    step.begin(&mut s);
    let (m, _) = miss(step.on_probe(&mut s, Err(Mismatch::rated("alive", Actual::Saw("refused".into())))));
    assert_eq!(m.verdict, Verdict::Failed);
}

#[test]
fn frame_expectations_after_a_refused_handshake_are_misses_without_events() {
    let mut s = state(response("HTTP/1.1 404 Not Found\r\n\r\n"));
    let (m, _) = miss(judge(&mut s, &Expectation::Pong { payload: vec![] }, Verdict::Failed, vec![]));
    assert_eq!(m.actual, Actual::Saw("no WebSocket connection (the handshake did not succeed)".into()));
}

#[test]
fn a_required_101_that_did_not_come_names_the_status() {
    let o = response("HTTP/1.1 404 Not Found\r\n\r\n");
    assert_eq!(
        o.not_upgraded_reason().as_deref(),
        Some("opening handshake refused or invalid: server answered 404 Not Found instead of 101")
    );
    assert_eq!(upgraded().not_upgraded_reason(), None);
}

#[test]
fn a_failed_miss_stops_the_case_and_a_milder_one_does_not() {
    let mut s = state(upgraded());
    s.last_sent = "text 5 bytes".into();
    let what = Expectation::Echo;
    let end = StepEnd {
        what: &what,
        line: 7,
        repeat: 1,
        took: Duration::ZERO,
        budget: Duration::from_secs(2),
        tcp_closed: false,
    };
    let mild = Miss { verdict: Verdict::NonStrict, expected: "e".into(), actual: Actual::Nothing };
    let (note, stop) = s.conclude(&end, Err(mild));
    assert!(!stop);
    assert_eq!(note, "line 7: NON-STRICT: expected e; no response within 2.0 s after sending text 5 bytes");
    let hard = Miss { verdict: Verdict::Failed, expected: "e".into(), actual: Actual::Saw("x".into()) };
    assert!(s.conclude(&end, Err(hard)).1);
    assert_eq!((s.judgement.verdict, s.judgement.reason.as_deref()), (Verdict::Failed, Some("expected e; got x")));
}

#[test]
fn what_the_server_did_is_reported_when_all_is_well() {
    let mut s = state(upgraded());
    let what = Expectation::Close { codes: vec![1009], allow_drop: false };
    let end = StepEnd {
        what: &what,
        line: 3,
        repeat: 1,
        took: Duration::from_millis(3),
        budget: Duration::ZERO,
        tcp_closed: true,
    };
    s.conclude(&end, Ok(Some("close 1009".into())));
    assert_eq!(s.judgement.observed.as_deref(), Some("close 1009 after 3 ms"));
    assert!(s.accepted_drop);
}

/// What the server's frames (hex) show, as the connection records it when they are read.
fn facts_of(hex: &str) -> WireFacts {
    let mut facts = WireFacts::default();
    for e in server(hex) {
        if let Event::Frame(f) = &e {
            facts.on_frame(&f.header, &f.payload);
        }
    }
    facts
}

/// The verdict the rules broken in `facts` earn, the case having sent close frames with `sent_codes`.
fn violations_judged(facts: &WireFacts, sent_codes: &[u16]) -> CaseJudgement {
    let mut j = CaseJudgement::default();
    j.judge_violations(facts, sent_codes);
    j
}

#[test]
fn the_servers_invalid_frames_fail_the_case_except_where_the_rfc_leaves_room() {
    // a masked server frame (RFC 6455 §5.1)
    let j = violations_judged(&facts_of("81 81 01 02 03 04 60"), &[]);
    assert_eq!(j.verdict, Verdict::Failed);
    assert!(j.reason.as_deref().is_some_and(|r| r.contains("§5.1")), "{:?}", j.reason);
    // 1012 was registered after the RFC: INFORMATIONAL
    let facts = facts_of("88 02 03 f4");
    assert_eq!(violations_judged(&facts, &[]).verdict, Verdict::Informational);
    assert_eq!(facts.server_close, Some(Some(1012)));
    // echoing back the invalid code the case itself sent (1006): INFORMATIONAL
    assert_eq!(violations_judged(&facts_of("88 02 03 ee"), &[1006]).verdict, Verdict::Informational);
}

/// What a client's frames (hex) show when we play the server (issue 13).
fn client_facts_of(hex: &str) -> WireFacts {
    let mut facts = WireFacts { peer: Endpoint::Client, ..WireFacts::default() };
    for e in server(hex) {
        if let Event::Frame(f) = &e {
            facts.on_frame(&f.header, &f.payload);
        }
    }
    facts
}

#[test]
fn a_clients_frames_keep_the_clients_rules() {
    // masked with fresh keys: nothing broken, and the same frames from a server break §5.1
    let fresh = "81 81 01 02 03 04 60  81 81 05 06 07 08 64";
    assert!(client_facts_of(fresh).violations.is_empty());
    assert_eq!(violations_judged(&facts_of(fresh), &[]).verdict, Verdict::Failed);
    // unmasked (RFC 6455 §5.1), one key twice in a row and an all-zero key (§5.3): FAILED, each named
    let kinds = |hex| client_facts_of(hex).violations.into_iter().map(|v| v.kind).collect::<Vec<_>>();
    assert_eq!(kinds("81 01 61"), [ViolationKind::UnmaskedClientFrame]);
    assert_eq!(kinds("81 81 01 02 03 04 60  81 81 01 02 03 04 60"), [ViolationKind::MaskingKeyRepeated]);
    assert_eq!(kinds("81 81 00 00 00 00 61"), [ViolationKind::MaskingKeyZero]);
    let j = violations_judged(&client_facts_of("81 81 01 02 03 04 60  81 81 01 02 03 04 60"), &[]);
    assert_eq!(j.verdict, Verdict::Failed);
    assert!(j.reason.as_deref().is_some_and(|r| r.contains("§5.3")), "{:?}", j.reason);
    let j = violations_judged(&client_facts_of("81 01 61"), &[]);
    assert!(j.reason.as_deref().is_some_and(|r| r.starts_with("the client sent an invalid frame")), "{:?}", j.reason);
}

#[test]
fn only_valid_messages_are_due_as_echoes() {
    let mut s = state(upgraded());
    sent(&mut s, FrameSpec::text(vec![0xff]));
    assert_eq!(s.sent.next_due(), None, "invalid UTF-8 is not echoed");
    let mut s = state(upgraded());
    sent(&mut s, FrameSpec::text("a").rsv(4));
    sent(&mut s, FrameSpec::text("b"));
    assert_eq!(s.sent.next_due(), None, "nothing after a frame that fails the connection");
    let mut s = state(upgraded());
    sent(&mut s, FrameSpec::binary(vec![1]));
    assert_eq!(s.sent.next_due(), Some(Message::Binary(vec![1])));
}

pub(super) fn facts(server_close: Option<Option<u16>>, tcp_closed: bool) -> CloseFacts {
    CloseFacts {
        peer: Endpoint::Server,
        server_close,
        tcp_closed,
        accepted_drop: false,
        mid_frame: false,
        we_closed: false,
        close_timeout: Duration::from_secs(2),
    }
}

pub(super) fn judged(start: CloseStart) -> CloseOutcome {
    match start {
        CloseStart::Judged(o) => o,
        CloseStart::Send(..) | CloseStart::Answer(..) => panic!("expected a judgement without sending"),
    }
}

pub(super) fn sending(start: CloseStart) -> (FrameSpec, CloseJudge) {
    match start {
        CloseStart::Send(frame, judge) => (frame, judge),
        CloseStart::Judged(o) | CloseStart::Answer(_, o) => panic!("expected a frame to send and a judge, got {o:?}"),
    }
}

#[test]
fn tcp_closed_without_a_close_frame_is_unclean_unless_a_step_accepted_it() {
    let o = judged(CloseJudge::start(facts(None, true)));
    assert_eq!((o.verdict, o.initiated_by), (CloseVerdict::Unclean, Initiator::None));
    let o = judged(CloseJudge::start(CloseFacts { accepted_drop: true, ..facts(None, true) }));
    assert_eq!(o.verdict, CloseVerdict::Ok);
}

#[test]
fn the_servers_close_is_answered_with_its_code_and_then_tcp_must_close() {
    let (reply, mut judge) = sending(CloseJudge::start(facts(Some(Some(1002)), false)));
    assert_eq!(reply.payload, vec![0x03, 0xea]);
    assert_eq!(judge.phase(), ClosePhase::AwaitingTcpClose);
    assert_eq!(judge.on_event(&server("81 00").remove(0), false), None);
    let o = judge.on_event(&eof(), true).expect("judged at the TCP close");
    assert_eq!((o.verdict, o.initiated_by, o.server_closed_tcp), (CloseVerdict::Ok, Initiator::Server, true));
}

#[test]
fn our_close_1000_wants_a_reply_with_1000_then_the_tcp_close() {
    let (frame, mut judge) = sending(CloseJudge::start(facts(None, false)));
    assert_eq!(frame.payload, vec![0x03, 0xe8]);
    assert_eq!(judge.on_event(&server("88 02 03 e8").remove(0), false), None);
    assert_eq!(judge.phase(), ClosePhase::AwaitingTcpClose);
    let o = judge.on_event(&eof(), true).expect("judged");
    assert_eq!((o.verdict, o.initiated_by), (CloseVerdict::Ok, Initiator::Client));
}

#[test]
fn a_reply_with_another_code_is_wrong_code() {
    let (_, mut judge) = sending(CloseJudge::start(facts(None, false)));
    judge.on_event(&server("88 02 03 ea").remove(0), false);
    let o = judge.on_event(&eof(), true).expect("judged");
    assert_eq!((o.verdict, o.server_code), (CloseVerdict::WrongCode, Some(1002)));
}

#[test]
fn no_reply_is_failed_and_a_tcp_close_instead_of_a_reply_is_unclean() {
    let (_, mut judge) = sending(CloseJudge::start(facts(None, false)));
    let o = judge.on_event(&Event::Timeout, false).expect("judged at the deadline");
    assert_eq!(o.verdict, CloseVerdict::Failed);
    assert_eq!(o.reason.as_deref(), Some("no close reply within 2.0 s after sending close 1000"));
    let (_, mut judge) = sending(CloseJudge::start(facts(None, false)));
    assert_eq!(judge.on_event(&eof(), true).expect("judged").verdict, CloseVerdict::Unclean);
}

#[test]
fn a_server_that_never_closes_tcp_after_the_handshake_is_failed() {
    let (_, mut judge) = sending(CloseJudge::start(facts(None, false)));
    judge.on_event(&server("88 00").remove(0), false);
    let o = judge.on_event(&Event::Timeout, false).expect("judged at the deadline");
    assert_eq!(o.verdict, CloseVerdict::Failed);
    assert!(o.reason.as_deref().is_some_and(|r| r.contains("§7.1.1")));
}

#[test]
fn an_unfinished_frame_of_ours_leaves_the_close_unjudged() {
    let o = judged(CloseJudge::start(CloseFacts { mid_frame: true, ..facts(None, false) }));
    assert_eq!(o.verdict, CloseVerdict::Informational);
}

#[test]
fn a_tls_record_is_told_from_http() {
    assert!(looks_like_tls(&[0x15, 0x03, 0x03, 0x00, 0x02]));
    assert!(!looks_like_tls(b"HTTP/1.1 200 OK"));
}

#[test]
fn a_flood_breaking_one_rule_is_held_as_one_violation() {
    let facts = facts_of(&"c1 01 61 ".repeat(1000));
    assert_eq!((facts.violations.len(), facts.repeated), (1, 999));
    assert_eq!(violations_judged(&facts, &[]).verdict, Verdict::Failed);
}
