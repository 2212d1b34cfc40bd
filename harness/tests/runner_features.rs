//! The step features big and odd cases need, end to end against the reference server: fragmented and repeated
//! sends, megabytes written while the echo streams back, a slow reader, a half-close, the `alive` probe,
//! absent response fields, and the time a close took.

use std::time::Duration;

use reference_server::{Config, Server};
use wsharness::case::parse_cases;
use wsharness::conformance::trace::{Direction, TraceKind};
use wsharness::conformance::{run_case, CaseOutcome, RunOptions, Target};
use wsharness::verdict::{CloseVerdict, Verdict};

async fn run(url: &str, case_text: &str) -> CaseOutcome {
    let text = format!("section = \"features\"\nrfc = \"6455 §5\"\n{case_text}");
    let cases = parse_cases("inline.toml", &text).expect("inline case is valid");
    let target = Target::parse(url).expect("valid url");
    let options =
        RunOptions { case_timeout: Duration::from_secs(10), close_timeout: Duration::from_secs(1), tls: None };
    run_case(&cases[0], &target, &options).await
}

async fn reference() -> reference_server::RunningServer {
    Server::bind("127.0.0.1:0".parse().unwrap(), Config::default()).await.unwrap().spawn()
}

fn assert_ok(o: &CaseOutcome) {
    assert_eq!(o.verdict, Verdict::Ok, "{}: {:?}", o.id, o.reason);
    let close = o.close.as_ref().map(|c| (c.verdict, c.reason.clone()));
    assert!(matches!(close, None | Some((CloseVerdict::Ok, _))), "{}: close {close:?}", o.id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fragmented_and_repeated_messages_are_echoed_whole() {
    let _turn = crate::support::turn(module_path!());
    let server = reference().await;
    let o = run(
        &server.url(),
        r#"
[[case]]
id = "t/fragments"
title = "t"
why = "w"
[[case.step]]
send = "text"
payload_len = 1000
fragment = 7
repeat = 3
[[case.step]]
send = "binary"
payload_len = 300
fill_hex = "fe"
repeat = 50
[[case.step]]
expect = "echo"
"#,
    )
    .await;
    assert_ok(&o);
    let frames_sent =
        o.trace.iter().filter(|e| format!("{:?}", e.kind).contains("more frames sent like these")).count();
    assert_eq!(frames_sent, 2, "long sends are summarised in the trace");
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixteen_mib_written_while_the_echo_streams_back_does_not_deadlock() {
    let _turn = crate::support::turn(module_path!());
    let server = reference().await;
    let o = run(
        &server.url(),
        r#"
[[case]]
id = "t/big"
title = "t"
why = "w"
[[case.step]]
send = "binary"
payload_len = 1048576
repeat = 16
[[case.step]]
expect = "echo"
"#,
    )
    .await;
    assert_ok(&o);
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_reader_still_gets_every_byte() {
    let _turn = crate::support::turn(module_path!());
    let server = reference().await;
    let o = run(
        &server.url(),
        r#"
[[case]]
id = "t/slow"
title = "t"
why = "w"
read = { chunk = 4096, pause_ms = 1 }
[[case.step]]
send = "binary"
payload_len = 65536
repeat = 16
[[case.step]]
expect = "echo"
"#,
    )
    .await;
    assert_ok(&o);
    let biggest_read = o
        .trace
        .iter()
        .filter_map(|e| match &e.kind {
            TraceKind::Bytes { dir: Direction::Received, len, .. } => Some(*len),
            _ => None,
        })
        .max();
    assert!(biggest_read.is_some_and(|n| n <= 4096), "reads are capped: {biggest_read:?}");
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_half_closed_client_still_gets_the_echo_and_the_close_reply() {
    let _turn = crate::support::turn(module_path!());
    let server = reference().await;
    let o = run(
        &server.url(),
        r#"
[[case]]
id = "t/half-close"
title = "t"
why = "w"
[[case.step]]
send = "text"
payload = "before the FIN"
[[case.step]]
send = "close"
close_code = 1000
[[case.step]]
shutdown = "write"
[[case.step]]
expect = "echo"
[[case.step]]
expect = "close"
codes = [1000]
[[case.step]]
expect = "dropped"
"#,
    )
    .await;
    assert_ok(&o);
    let observed = o.observed.as_deref().unwrap_or_default();
    assert!(observed.starts_with("TCP closed (EOF) after "), "the report says what the server did: {observed}");
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alive_holds_for_a_running_server_and_fails_for_a_dead_one() {
    let _turn = crate::support::turn(module_path!());
    let server = reference().await;
    let url = server.url();
    let case = r#"
[[case]]
id = "t/alive"
title = "t"
why = "w"
handshake.expect_101 = false
[[case.step]]
expect = "status"
status = [101]
absent = ["Sec-WebSocket-Extensions", "Sec-WebSocket-Protocol"]
[[case.step]]
expect = "alive"
"#;
    assert_ok(&run(&url, case).await);
    // a server that accepts one connection and then dies
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let dying = format!("ws://{}/", listener.local_addr().unwrap());
    let forward = tokio::spawn(async move {
        if let Ok((mut client, _)) = listener.accept().await {
            drop(listener);
            let addr = server.local_addr();
            let mut upstream = tokio::net::TcpStream::connect(addr).await.unwrap();
            let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
        }
        server
    });
    let o = run(&dying, case).await;
    assert_eq!(o.verdict, Verdict::Failed, "{:?}", o.reason);
    assert!(o.reason.as_deref().unwrap_or_default().contains("no new connection"), "{:?}", o.reason);
    forward.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_present_field_that_must_be_absent_fails() {
    let _turn = crate::support::turn(module_path!());
    let server =
        Server::bind("127.0.0.1:0".parse().unwrap(), Config { subprotocols: vec!["chat".into()], ..Config::default() })
            .await
            .unwrap()
            .spawn();
    let o = run(
        &server.url(),
        r#"
[[case]]
id = "t/absent"
title = "t"
why = "w"
handshake.headers = { Sec-WebSocket-Protocol = "chat" }
handshake.expect_101 = false
[[case.step]]
expect = "status"
status = [101]
absent = ["Sec-WebSocket-Protocol"]
"#,
    )
    .await;
    assert_eq!(o.verdict, Verdict::Failed);
    assert!(o.reason.as_deref().unwrap_or_default().contains("Sec-WebSocket-Protocol: chat"), "{:?}", o.reason);
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_is_met_by_a_4xx_and_missed_by_a_101() {
    let _turn = crate::support::turn(module_path!());
    let server = reference().await;
    let refused = |headers: &str| {
        format!(
            r#"
[[case]]
id = "t/refused"
title = "t"
why = "w"
handshake.expect_101 = false
handshake.headers = {{ {headers} }}
[[case.step]]
expect = "refused"
[[case.step]]
expect = "alive"
"#
        )
    };
    let o = run(&server.url(), &refused("Sec-WebSocket-Version = \"8\"")).await;
    assert_ok(&o);
    let o = run(&server.url(), &refused("Sec-WebSocket-Version = \"13\"")).await;
    assert_eq!(o.verdict, Verdict::Failed);
    assert!(o.reason.as_deref().unwrap_or_default().contains("got 101 Switching Protocols"), "{:?}", o.reason);
    server.shutdown().await.unwrap();
}
