//! The engine with wire exchanges written as data: what it sends, which reply goes to which step.

use super::*;
use crate::scenario::file::parse;

fn role(toml: &str) -> Arc<Role> {
    let scenario = parse("t.toml", toml, "t").unwrap_or_else(|e| panic!("{e}"));
    Arc::clone(&scenario.roles[0])
}

const RPC: &str = r#"
[[role]]
name = "caller"
in_flight = 3
[[role.step]]
send = '{"id":{{seq}},"t":{{now_ns}}}'
[[role.step]]
name = "call"
expect = { json = { "/id" = "{{seq}}", "/t" = "{{now_ns}}" } }
timeout = "1s"
"#;

#[test]
fn three_requests_in_flight_are_answered_out_of_order_each_to_its_own_step() {
    let mut tally = Tally::default();
    let mut e = Engine::new(role(RPC), 0, 1_000, 0);
    e.poll(1_000, &mut tally);
    let sent: Vec<String> = e.take_outgoing().into_iter().map(|o| o.text).collect();
    assert_eq!(sent, [r#"{"id":0,"t":1000}"#, r#"{"id":1,"t":1000}"#, r#"{"id":2,"t":1000}"#]);
    // replies in reverse order, 5, 6 and 7 µs later
    assert!(e.on_message(r#"{"id":2,"t":1000}"#, 6_000, &mut tally));
    assert!(e.on_message(r#"{"id":1,"t":1000}"#, 7_000, &mut tally));
    // a reply that names the right id but another send time belongs to no request
    assert!(!e.on_message(r#"{"id":0,"t":999}"#, 7_500, &mut tally));
    assert!(e.on_message(r#"{"id":0,"t":1000}"#, 8_000, &mut tally));
    let call = &tally.steps["call"];
    assert_eq!((call.latency.len(), call.latency.min(), call.latency.max()), (3, 5, 7));
    assert_eq!(tally.roles["caller"], crate::scenario::stats::RoleTally { iterations: 3, unsolicited: 1 });
    // the I/O layer polls after each read: every free slot starts the next iteration (closed loop)
    e.poll(8_000, &mut tally);
    let next: Vec<String> = e.take_outgoing().into_iter().map(|o| o.text).collect();
    assert_eq!(next, [r#"{"id":3,"t":8000}"#, r#"{"id":4,"t":8000}"#, r#"{"id":5,"t":8000}"#]);
}

#[test]
fn a_setup_runs_once_before_the_loop_and_a_reply_burst_is_taken_step_by_step() {
    let toml = r#"
[[role]]
name = "sub"
[[role.setup]]
send = "init"
[[role.setup]]
name = "ack"
expect = { regex = "^ack$" }
[[role.step]]
send = "sub {{seq}}"
[[role.step]]
name = "next"
expect = { regex = '^next (\d+)$', equals = "{{seq}}" }
count = 2
[[role.step]]
name = "done"
expect = { regex = '^done (\d+)$', equals = "{{seq}}" }
"#;
    let mut tally = Tally::default();
    let mut e = Engine::new(role(toml), 0, 0, 0);
    e.poll(0, &mut tally);
    assert_eq!(e.take_outgoing(), [Outgoing { text: "init".into(), binary: false }]);
    assert!(e.on_message("ack", 10, &mut tally));
    assert!(e.take_outgoing().is_empty(), "the loop waits for the next poll");
    e.poll(10, &mut tally);
    assert_eq!(e.take_outgoing()[0].text, "sub 0");
    // the server's whole answer in one read: each message arms the next wait before the next one
    for m in ["next 0", "next 0", "done 0"] {
        assert!(e.on_message(m, 20, &mut tally), "{m}");
    }
    assert_eq!(tally.roles["sub"].iterations, 1, "the setup is not an iteration");
    assert_eq!((tally.steps["next"].latency.len(), tally.steps["done"].latency.len()), (2, 1));
    e.poll(20, &mut tally);
    assert_eq!(e.take_outgoing()[0].text, "sub 1");
}

#[test]
fn a_wait_that_runs_out_is_a_timeout_of_its_step_and_stop_drains() {
    let mut tally = Tally::default();
    let mut e = Engine::new(role(RPC), 0, 0, 0);
    e.poll(0, &mut tally);
    e.stop();
    assert!(!e.drained());
    e.poll(1_000_000_001, &mut tally);
    assert_eq!(tally.steps["call"].timeouts, 3);
    assert_eq!(tally.errors.get("timeout step call"), Some(&3));
    assert!(e.drained() && e.take_outgoing().len() == 3, "no new iteration after stop");
}

#[test]
fn open_loop_iterations_start_on_schedule_and_count_from_it() {
    let toml = r#"
[[role]]
name = "r"
connections = 1
rate = 1000
in_flight = 1
[[role.step]]
send = "m{{seq}}"
[[role.step]]
name = "echo"
expect = { regex = '^m(\d+)$', equals = "{{seq}}" }
"#;
    let mut tally = Tally::default();
    let mut e = Engine::new(role(toml), 0, 0, 0);
    assert_eq!(e.poll(0, &mut tally), Some(1_000_000_000 * 10), "waits for its reply (the 10 s timeout)");
    assert_eq!(e.take_outgoing().len(), 1);
    // the reply comes 3 ms late: the next two iterations were due at 1 and 2 ms and start now
    assert!(e.on_message("m0", 3_000_000, &mut tally));
    e.poll(3_000_000, &mut tally);
    assert_eq!(e.take_outgoing()[0].text, "m1");
    assert!(e.on_message("m1", 3_100_000, &mut tally));
    // m0 took 3 ms; m1 was due at 1 ms: its latency counts from then (2.1 ms), not from its late send
    let echo = &tally.steps["echo"].latency;
    assert_eq!(echo.len(), 2);
    assert!(echo.equivalent(echo.min(), 2_100) && echo.equivalent(echo.max(), 3_000), "{} {}", echo.min(), echo.max());
    assert!(tally.send_lag.max() >= 1_999, "the late start is a send lag");
}

#[test]
fn a_receiver_times_its_own_process_stamps_counts_others_and_runs_no_loop() {
    let toml = r#"
[[role]]
name = "rx"
[role.receive]
match = { json = { "/type" = "broadcast" } }
sent_ns = "/t"
run = "/run"
seq = "/seq"
"#;
    let mut tally = Tally::default();
    let mut e = Engine::new(role(toml), 0, 0, 0);
    assert_eq!(e.poll(0, &mut tally), None);
    assert!(e.take_outgoing().is_empty() && e.drained(), "nothing to send, nothing in flight");
    let run = crate::scenario::template::run_id();
    let msg = |seq: u64, run: &str| format!(r#"{{"type":"broadcast","seq":{seq},"t":1000,"run":"{run}"}}"#);
    for (seq, r) in [(0, run), (1, run), (1, run), (3, "another-process")] {
        assert!(e.on_message(&msg(seq, r), 6_000, &mut tally));
    }
    assert!(!e.on_message(r#"{"type":"other"}"#, 6_000, &mut tally), "not a published message");
    e.finish(&mut tally);
    let d = &tally.deliveries["rx.receive"];
    assert_eq!((d.received, d.duplicates, d.untimed, d.latency.len()), (3, 1, 1, 2));
    assert_eq!(d.latency.max(), 5, "6 µs - 1 µs");
    let span = crate::scenario::fanout::Span { publisher: String::new(), first: 0, last: 3, distinct: 3, timed: true };
    assert_eq!(d.spans, vec![span]);
    assert_eq!(tally.roles["rx"], crate::scenario::stats::RoleTally { iterations: 0, unsolicited: 1 });
}
