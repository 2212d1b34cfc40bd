//! The judge when the implementation under test is a client (we play the server): the close phase
//! (the server closes TCP first, RFC 6455 §7.1.1), a refused 101, and `dropped` after the close.

use super::*;

fn client_facts(client_close: Option<Option<u16>>, tcp_closed: bool) -> CloseFacts {
    CloseFacts { peer: Endpoint::Client, ..facts(client_close, tcp_closed) }
}

fn answered(start: CloseStart) -> (FrameSpec, CloseOutcome) {
    match start {
        CloseStart::Answer(frame, outcome) => (frame, outcome),
        other => panic!("expected an answer and a judgement, got {other:?}"),
    }
}

#[test]
fn the_clients_close_is_answered_with_its_code_and_we_close_tcp() {
    let (reply, o) = answered(CloseJudge::start(client_facts(Some(Some(1002)), false)));
    assert_eq!(reply.payload, vec![0x03, 0xea]);
    assert_eq!((o.verdict, o.initiated_by), (CloseVerdict::Ok, Initiator::Client));
}

#[test]
fn a_client_that_closed_tcp_before_us_is_informational() {
    let (_, o) = answered(CloseJudge::start(client_facts(Some(Some(1000)), true)));
    assert_eq!(o.verdict, CloseVerdict::Informational);
    assert!(o.reason.as_deref().is_some_and(|r| r.contains("§7.1.1")));
}

#[test]
fn a_close_exchange_the_steps_completed_needs_no_second_close() {
    let o = judged(CloseJudge::start(CloseFacts { we_closed: true, ..client_facts(Some(Some(1000)), false) }));
    assert_eq!((o.verdict, o.initiated_by), (CloseVerdict::Ok, Initiator::Server));
}

#[test]
fn our_close_1000_is_judged_at_the_clients_reply() {
    let (frame, mut judge) = sending(CloseJudge::start(client_facts(None, false)));
    assert_eq!(frame.payload, vec![0x03, 0xe8]);
    let o = judge.on_event(&server("88 82 00 00 00 00 03 e8").remove(0), false).expect("judged at the reply");
    assert_eq!((o.verdict, o.initiated_by, o.server_code), (CloseVerdict::Ok, Initiator::Server, Some(1000)));
    // a reply and the TCP close in one read: the client did not wait for us
    let (_, mut judge) = sending(CloseJudge::start(client_facts(None, false)));
    let o = judge.on_event(&server("88 80 00 00 00 00").remove(0), true).expect("judged");
    assert_eq!(o.verdict, CloseVerdict::Informational);
}

#[test]
fn a_client_that_drops_tcp_instead_of_replying_is_unclean_and_named() {
    let (_, mut judge) = sending(CloseJudge::start(client_facts(None, false)));
    let o = judge.on_event(&eof(), true).expect("judged");
    assert_eq!(o.verdict, CloseVerdict::Unclean);
    assert!(o.reason.as_deref().is_some_and(|r| r.starts_with("the client closed TCP")));
    let o = judged(CloseJudge::start(client_facts(None, true)));
    assert!(o.reason.as_deref().is_some_and(|r| r.starts_with("the client closed TCP")));
}

fn client_state(opening: Opening) -> CaseState {
    let mut s = state(opening);
    s.peer = Endpoint::Client;
    s
}

#[test]
fn a_refused_101_is_met_by_the_tcp_close_and_missed_by_a_data_frame() {
    let refused = Expectation::Refused;
    let mut s = client_state(upgraded());
    assert!(matches!(judge(&mut s, &refused, Verdict::Failed, vec![eof()]), Judgement::Met(_)));
    // a close frame on the way is passed over
    let mut s = client_state(upgraded());
    let events = vec![server("88 80 00 00 00 00").remove(0), eof()];
    assert!(matches!(judge(&mut s, &refused, Verdict::Failed, events), Judgement::Met(_)));
    // an echo shows the client took the connection as open: FAILED whatever the rating
    let mut s = client_state(upgraded());
    let echo = server("81 82 00 00 00 00 68 69");
    match judge(&mut s, &refused, Verdict::NonStrict, echo) {
        Judgement::Miss { miss, .. } => assert_eq!(miss.verdict, Verdict::Failed),
        other => panic!("expected a miss, got {other:?}"),
    }
    let mut s = client_state(upgraded());
    assert!(matches!(judge(&mut s, &refused, Verdict::Failed, vec![Event::Timeout]), Judgement::Miss { .. }));
}

#[test]
fn dropped_after_the_close_exchange_is_ours_to_do() {
    let mut s = client_state(upgraded());
    s.close_taken = Some((Some(1000), "close 1000".into()));
    assert!(matches!(judge(&mut s, &Expectation::Dropped, Verdict::Failed, vec![]), Judgement::Met(_)));
    // before the close exchange it waits for the TCP close, as for servers
    let mut s = client_state(upgraded());
    assert!(matches!(judge(&mut s, &Expectation::Dropped, Verdict::Failed, vec![]), Judgement::Pending));
}

#[test]
fn a_status_other_than_101_is_met_by_silence_and_missed_by_a_frame() {
    let refused = Expectation::Refused;
    let not_found = || response("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
    // RFC 6455 §4.1: an HTTP answer is handled per HTTP; keeping the connection quietly is no fault
    let mut s = client_state(not_found());
    assert!(matches!(judge(&mut s, &refused, Verdict::Failed, vec![Event::Timeout]), Judgement::Met(_)));
    let mut s = client_state(not_found());
    assert!(matches!(judge(&mut s, &refused, Verdict::Failed, vec![eof()]), Judgement::Met(_)));
    // a frame means the client took the 404 for an upgrade
    let mut s = client_state(not_found());
    let echo = server("81 82 00 00 00 00 68 69");
    assert!(matches!(judge(&mut s, &refused, Verdict::Failed, echo), Judgement::Miss { .. }));
}
