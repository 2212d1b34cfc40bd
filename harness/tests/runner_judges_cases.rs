//! The runner gives OK to a correct server and FAILED, with a reason, to one that breaks the rule or stalls.

use std::time::Duration;

use reference_server::{Config, Server};
use wsharness::case::parse_cases;
use wsharness::conformance::{run_case, CaseOutcome, RunOptions, Target};
use wsharness::verdict::{CloseVerdict, Verdict};

const CASES: &str = r#"
section = "runner"
rfc = "6455 §5"

[[case]]
id = "t/echo"
title = "echo"
why = "w"
[[case.step]]
send = "text"
payload = "Hello"
chunk = 1
[[case.step]]
send = "binary"
payload_len = 70000
[[case.step]]
expect = "echo"

[[case]]
id = "t/unmasked"
title = "unmasked"
why = "w"
[[case.step]]
send = "text"
payload = "x"
mask = false
[[case.step]]
expect = "close"
codes = [1002]

[[case]]
id = "t/ping"
title = "ping"
why = "w"
[[case.step]]
send = "ping"
payload = "p"
[[case.step]]
expect = "pong"
payload = "p"

[[case]]
id = "t/version"
title = "version 8"
why = "w"
handshake.headers = { Sec-WebSocket-Version = "8" }
handshake.expect_101 = false
[[case.step]]
expect = "status"
status = [426]
headers = { Sec-WebSocket-Version = "13" }

[[case]]
id = "t/wrong-expectation"
title = "expects a pong that never comes"
why = "w"
[[case.step]]
send = "text"
payload = "no pong for this"
[[case.step]]
expect = "pong"
payload = "x"
"#;

fn cases() -> Vec<wsharness::case::Case> {
    parse_cases("inline.toml", CASES).expect("inline cases are valid")
}

async fn run_all(url: &str, timeout: Duration) -> Vec<CaseOutcome> {
    let target = Target::parse(url).expect("valid url");
    let options = RunOptions { case_timeout: timeout, close_timeout: Duration::from_millis(500), tls: None };
    let mut out = Vec::new();
    for c in cases() {
        out.push(run_case(&c, &target, &options).await);
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_correct_server_gets_ok_in_behaviour_and_close() {
    let _turn = crate::support::turn(module_path!());
    let server = Server::bind("127.0.0.1:0".parse().unwrap(), Config::default()).await.unwrap().spawn();
    let outcomes = run_all(&server.url(), Duration::from_secs(5)).await;
    for o in &outcomes[..4] {
        assert_eq!(o.verdict, Verdict::Ok, "{}: {:?}\n{:#?}", o.id, o.reason, o.trace);
        if o.id != "t/version" {
            let close = o.close.as_ref().expect("close judged");
            assert_eq!(close.verdict, CloseVerdict::Ok, "{}: {:?}", o.id, close.reason);
            assert!(close.server_closed_tcp);
        }
    }
    let unmasked = &outcomes[1];
    assert_eq!(
        unmasked.close.as_ref().map(|c| (c.initiated_by, c.server_code)),
        Some((wsharness::conformance::Initiator::Server, Some(1002)))
    );
    // a case whose expectation the server cannot meet is FAILED, with the reason
    let wrong = &outcomes[4];
    assert_eq!(wrong.verdict, Verdict::Failed);
    let reason = wrong.reason.as_deref().unwrap_or_default();
    assert!(reason.starts_with("expected a pong with \"x\"; got text"), "{reason}");
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_never_answers_fails_every_case_within_the_timeout() {
    let _turn = crate::support::turn(module_path!());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/", listener.local_addr().unwrap());
    let hold = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = listener.accept().await {
            held.push(s);
        }
    });
    let started = std::time::Instant::now();
    let outcomes = run_all(&url, Duration::from_millis(300)).await;
    assert!(started.elapsed() < Duration::from_secs(3), "took {:?}", started.elapsed());
    for o in &outcomes {
        assert_eq!(o.verdict, Verdict::Failed, "{}", o.id);
        let reason = o.reason.as_deref().unwrap_or_default();
        assert!(reason.contains("no HTTP response within 0.3 s"), "{}: {reason}", o.id);
    }
    hold.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_answers_garbage_fails_with_the_reason() {
    let _turn = crate::support::turn(module_path!());
    use tokio::io::AsyncWriteExt;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/", listener.local_addr().unwrap());
    let serve = tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            tokio::spawn(async move {
                let _ = s.write_all(b"\x00\xffSSH-2.0-not-http\r\n\r\n").await;
                tokio::time::sleep(Duration::from_secs(2)).await;
            });
        }
    });
    for o in run_all(&url, Duration::from_millis(500)).await {
        assert_eq!(o.verdict, Verdict::Failed, "{}", o.id);
        assert!(o.reason.as_deref().unwrap_or_default().contains("not an HTTP response"), "{}: {:?}", o.id, o.reason);
    }
    serve.abort();
}
