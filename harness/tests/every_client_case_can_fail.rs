//! Every case that tests clients is shown able to fail: the flawed client (`support::flawed_client`) with a flaw
//! that breaks the case's rule gets FAILED (or, for a case whose misses are all rated milder, anything but OK),
//! and the flawless client fails no case. The twin of `every_case_can_fail`, with the sides swapped: we play the
//! server (`run_client_case`) on the connection the fixture client opens.
//!
//! The table names, for each family of cases, the flawed clients (each a set of flaws, most often one) that break
//! the rule the family checks (tried in order, the first that shows it is enough). Flaws that break every case (unmasked frames, a zero or repeated masking
//! key, a request without Host) prove nothing about a case's own rule: they are shown once, on one case, below.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use globset::Glob;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio::time::Instant;
use wsharness::case::{Case, Step};
use wsharness::conformance::observe::Io;
use wsharness::conformance::{read_request, run_client_case, Accepted, CaseOutcome, RunOptions};
use wsharness::embedded::embedded_cases;
use wsharness::verdict::Verdict;
use wsharness::wire::Endpoint;

use crate::support::flawed_client::{spawn, Flaw, Settings};

/// Case-id glob, and the flawed clients (their flaws) that break the rule those cases check (tried in order). The first entry whose glob
/// matches a case is the case's entry.
const FLAWS_BY_CASE: &[(&str, &[&[Flaw]])] = &[
    // §4.1 the client's request, judged in every case; `client/4.1/request` shows it alone
    (
        "client/4.1/request",
        &[
            &[Flaw::NoHostHeader],
            &[Flaw::NoUpgradeHeader],
            &[Flaw::NoConnectionHeader],
            &[Flaw::Version8],
            &[Flaw::PostMethod],
            &[Flaw::Http10],
            &[Flaw::ShortKey],
        ],
    ),
    // §4.1 the client's checks of our 101
    ("client/4.1/accept-*", &[&[Flaw::IgnoresAccept]]),
    ("client/4.1/upgrade-*", &[&[Flaw::IgnoresUpgradeHeader]]),
    ("client/4.1/connection-*", &[&[Flaw::IgnoresConnectionHeader]]),
    ("client/4.1/status-*", &[&[Flaw::AcceptsAnyStatus]]),
    ("client/4.1/extension-not-offered", &[&[Flaw::AcceptsUnofferedExtension]]),
    ("client/4.1/subprotocol-not-offered", &[&[Flaw::AcceptsUnofferedSubprotocol]]),
    ("client/4.1/valid-*", &[&[Flaw::ExactResponseHead]]),
    // §5.1, §5.3 masking
    ("client/5.1/masked-*", &[&[Flaw::AcceptsMaskedFrames]]),
    ("client/5.3/*", &[&[Flaw::RepeatedMaskKey], &[Flaw::ZeroMaskKey]]),
    // §5.2, §5.4 frames as a byte stream, fragments
    ("client/5.2/*", &[&[Flaw::OneFramePerRead], &[Flaw::DropsPartialFrames]]),
    ("client/5.4/message-in-*-fragments", &[&[Flaw::EchoesEachFragment]]),
    // §7.1.1, §5.5.1 the server's close
    ("client/7.1.1/server-close-*-answered-*", &[&[Flaw::NoCloseReply], &[Flaw::WrongCloseCodeInReply]]),
    ("client/7.1.1/server-close-with-reason", &[&[Flaw::WrongCloseCodeInReply], &[Flaw::NoCloseReply]]),
    ("client/5.5.1/server-close-then-ping", &[&[Flaw::NoCloseReply]]),
    // the cases of both roles: §5.2 framing
    ("rfc6455/5.2/*-payload-*-in-*-writes", &[&[Flaw::DropsPartialFrames]]),
    ("rfc6455/5.2/{text,binary}-payload-*", &[&[Flaw::SwapsMessageType], &[Flaw::TruncatesLargeMessages]]),
    ("rfc6455/5.2/opcode-*", &[&[Flaw::AcceptsReservedOpcodes]]),
    ("rfc6455/5.2/rsv*", &[&[Flaw::IgnoresRsv]]),
    // §5.5 control frames
    ("rfc6455/5.5/*-payload-126", &[&[Flaw::AcceptsLongControl]]),
    ("rfc6455/5.5.2/ping-*", &[&[Flaw::NoPong], &[Flaw::PongWithEmptyPayload]]),
    ("rfc6455/5.5.3/unsolicited-pong-*", &[&[Flaw::PongsUnsolicitedPongs]]),
    ("rfc6455/5.5.3/ping-answered-after-unsolicited-pong", &[&[Flaw::PongsUnsolicitedPongs], &[Flaw::NoPong]]),
    ("rfc6455/5.5.3/ten-pings-*", &[&[Flaw::NoPong], &[Flaw::PongWithEmptyPayload]]),
    // §5.5.1 close frames
    ("rfc6455/5.5.1/*-after-close-not-*", &[&[Flaw::EchoesAfterClose], &[Flaw::NoCloseReply]]),
    ("rfc6455/5.5.1/close-payload-1-byte", &[&[Flaw::AcceptsOneByteClose]]),
    ("rfc6455/5.5.1/*", &[&[Flaw::WrongCloseCodeInReply], &[Flaw::NoCloseReply]]),
    ("rfc6455/8.1/close-reason-invalid-utf8", &[&[Flaw::AcceptsInvalidCloseReason]]),
    // §5.6 data frames
    ("rfc6455/5.6/*", &[&[Flaw::SwapsMessageType]]),
    // §7.1.1 the closing handshake
    ("rfc6455/7.1.1/*", &[&[Flaw::NoCloseReply], &[Flaw::NeverCloses]]),
    // §7.4 close codes
    ("rfc6455/7.4.1/close-code-1002", &[&[Flaw::NoCloseReply]]),
    ("rfc6455/7.4.1/close-code-{1000,1001,1003,1007,1008,1009,1010,1011}", &[&[Flaw::WrongCloseCodeInReply]]),
    ("rfc6455/7.4.2/close-code-{3000,3999,4000,4999}", &[&[Flaw::WrongCloseCodeInReply]]),
    ("rfc6455/7.4.{1,2}/close-code-*", &[&[Flaw::AcceptsInvalidCloseCode]]),
    ("rfc6455/11.7/close-code-*", &[&[Flaw::WrongCloseCodeInReply]]),
    // §5.4 fragmentation
    (
        "rfc6455/5.4/{ping,pong,close}-fragmented",
        &[&[Flaw::AcceptsFragmentedControl], &[Flaw::AcceptsFragmentedControl, Flaw::AcceptsBadContinuation]],
    ),
    ("rfc6455/5.4/{ping-between-fragments*,pings-inside-*}", &[&[Flaw::RejectsInterleavedControl], &[Flaw::NoPong]]),
    ("rfc6455/5.4/pong-between-fragments", &[&[Flaw::RejectsInterleavedControl]]),
    ("rfc6455/5.4/{continuation-*,*-frame-inside-text-message}", &[&[Flaw::AcceptsBadContinuation]]),
    ("rfc6455/5.4/*", &[&[Flaw::EchoesEachFragment]]),
    // §8.1 UTF-8: invalid text fails the connection (fast), valid text is echoed as text
    ("rfc6455/8.1/*", &[&[Flaw::SkipsUtf8Validation], &[Flaw::SwapsMessageType]]),
    // Autobahn 9.x: large messages, many fragments, small writes, many messages
    ("limits/9.{1,2}/*", &[&[Flaw::TruncatesLargeMessages]]),
    ("limits/9.{3,4}/*", &[&[Flaw::EchoesEachFragment], &[Flaw::TruncatesLargeMessages]]),
    ("limits/9.{5,6}/*", &[&[Flaw::DropsPartialFrames]]),
    ("limits/9.{7,8}/*", &[&[Flaw::OneFramePerRead]]),
    // Autobahn 13.x: the parameters our response sets for the client (RFC 7692 §7.1.1.2, §7.1.2.2) bind its stream;
    // 13.2, 13.5-13.7 ask for client_no_context_takeover, 13.3 (and 13.5, 13.7) for client_max_window_bits=9
    (
        "rfc7692/7.1/{server-no-context-takeover,server-no-context-takeover-window-*,three-offers}/*",
        &[&[Flaw::DeflateKeepsContext], &[Flaw::DeflateLeavesTail]],
    ),
    ("rfc7692/7.1/server-window-9/*", &[&[Flaw::DeflateIgnoresClientWindow], &[Flaw::DeflateLeavesTail]]),
    ("rfc7692/7.1/{default,server-window-15}/*", &[&[Flaw::DeflateInflatesWithoutContext], &[Flaw::DeflateLeavesTail]]),
    // Autobahn 12.x: text sets are UTF-8 only once inflated; every set keeps our context from message to message
    ("rfc7692/7.2/{json,html}/*", &[&[Flaw::DeflateUtf8BeforeInflating], &[Flaw::DeflateLeavesTail]]),
    ("rfc7692/7.2/*/*", &[&[Flaw::DeflateInflatesWithoutContext], &[Flaw::DeflateLeavesTail]]),
];

/// The 1000-message permessage-deflate cases (Autobahn 12.x/13.x) of more than this many bytes are left out of
/// the flawless pass (a debug build compresses and inflates them at a few MB/s, 128 MiB each way for the
/// largest); `ci/clients.sh` runs them all against real clients. Their flaws still run here: each stops at the
/// first message that breaks its rule.
const FLAWLESS_PASS_BYTES: usize = 1 << 20;

/// Whether the flawless pass runs a case (all but the large 1000-message permessage-deflate ones).
fn in_flawless_pass(case: &Case) -> bool {
    !case.steps.iter().any(|s| matches!(s, Step::Messages(m) if m.source.plain_len() * m.count > FLAWLESS_PASS_BYTES))
}

/// The fixture's permessage-deflate offer: the one Python `websockets` and Node `ws` send by default.
const DEFLATE_OFFER: &str = "permessage-deflate; client_max_window_bits";

/// The fixture client's settings: it offers permessage-deflate (the 12.x/13.x cases accept it; the others
/// decline it by answering without it).
fn settings() -> Settings {
    Settings { extensions: vec![DEFLATE_OFFER.to_owned()], ..Settings::default() }
}

/// Cases run at once.
const JOBS: usize = 8;

/// Passes over each case's flaws: a flaw that depends on how TCP cuts the bytes into reads can miss when the
/// machine is busy; a case not shown in the first pass gets a second one.
const PASSES: usize = 2;

/// The run options: 5 s for the cases that move megabytes (a debug build), 2 s for the others.
fn options(case: &Case) -> RunOptions {
    let heavy = case.steps.iter().any(|s| matches!(s, Step::Frame { fill: Some(f), .. } if f.len >= 1 << 20));
    let case_timeout = Duration::from_secs(if heavy { 5 } else { 2 });
    RunOptions { case_timeout, close_timeout: Duration::from_millis(400), tls: None }
}

/// A case is FAILED-able when some expectation rates a miss FAILED; the others can at most become milder.
fn can_be_failed(case: &Case) -> bool {
    case.steps.iter().any(|s| matches!(s, Step::Expect { mismatch: Verdict::Failed, .. }))
}

/// Runs `case` as the server against the fixture client with `flaws`, on a loopback port of its own.
async fn run_against(case: &Case, flaws: &[Flaw], key_reused: bool) -> CaseOutcome {
    run_with(case, flaws, settings(), key_reused).await
}

/// [`run_against`] with the fixture client's settings.
async fn run_with(case: &Case, flaws: &[Flaw], settings: Settings, key_reused: bool) -> CaseOutcome {
    let began = Instant::now();
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("a loopback port");
    let url = format!("ws://{}/runCase?case=1&agent=fixture", listener.local_addr().expect("bound"));
    let client = spawn(&url, flaws, settings);
    let options = options(case);
    let accepted = tokio::time::timeout(Duration::from_secs(5), listener.accept()).await;
    let Ok(Ok((tcp, _))) = accepted else {
        client.abort();
        let why = "the fixture client did not connect".to_string();
        return CaseOutcome::not_judged(case, Verdict::Errored, why, began.elapsed());
    };
    let mut stream: Box<dyn Io> = Box::new(tcp);
    let start = Instant::now();
    let outcome = match read_request(&mut stream, start + options.case_timeout).await {
        Ok((request, rest)) => {
            run_client_case(case, Accepted { stream, request, rest, key_reused }, start, &options).await
        }
        Err(e) => CaseOutcome::not_judged(case, Verdict::Failed, e.to_string(), began.elapsed()),
    };
    client.abort();
    outcome
}

/// Runs each (flaws, case), [`JOBS`] at a time; the outcomes in order.
async fn run_each(runs: &[(Vec<Flaw>, Case)]) -> Vec<CaseOutcome> {
    let slots = Arc::new(Semaphore::new(JOBS));
    let mut set = JoinSet::new();
    for (i, (flaws, case)) in runs.iter().cloned().enumerate() {
        let slots = Arc::clone(&slots);
        set.spawn(async move {
            let _slot = slots.acquire_owned().await.expect("the semaphore is never closed");
            (i, run_against(&case, &flaws, false).await)
        });
    }
    let mut outcomes = Vec::with_capacity(runs.len());
    while let Some(done) = set.join_next().await {
        outcomes.push(done.expect("a case run does not panic"));
    }
    outcomes.sort_by_key(|(i, _)| *i);
    outcomes.into_iter().map(|(_, o)| o).collect()
}

fn client_cases() -> Vec<Case> {
    let cases: Vec<Case> = embedded_cases()
        .expect("the shipped case files are valid")
        .into_iter()
        .filter(|c| c.tests(Endpoint::Client))
        .collect();
    assert!(cases.len() > 100, "the client suite is {} cases", cases.len());
    cases
}

/// Each case's flaws, from its entry; every case has one, and every entry is some case's.
fn flaws_of(cases: &[Case]) -> BTreeMap<String, &'static [&'static [Flaw]]> {
    let table: Vec<(globset::GlobMatcher, &[&[Flaw]], &str)> =
        FLAWS_BY_CASE.iter().map(|(g, f)| (Glob::new(g).expect("valid glob").compile_matcher(), *f, *g)).collect();
    let mut flaws_of = BTreeMap::new();
    let mut used = vec![false; table.len()];
    let mut missing = Vec::new();
    for c in cases {
        match table.iter().position(|(m, _, _)| m.is_match(&c.id)) {
            Some(k) => {
                used[k] = true;
                flaws_of.insert(c.id.clone(), table[k].1);
            }
            None => missing.push(format!("  {}", c.id)),
        }
    }
    assert!(missing.is_empty(), "client cases with no entry in FLAWS_BY_CASE:\n{}", missing.join("\n"));
    let unused: Vec<&str> = table.iter().zip(&used).filter(|(_, u)| !**u).map(|((_, _, g), _)| *g).collect();
    assert!(unused.is_empty(), "FLAWS_BY_CASE entries that are no case's entry: {unused:?}");
    flaws_of
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_client_case_fails_against_a_client_that_breaks_its_rule() {
    let _turn = crate::support::turn(module_path!());
    let cases = client_cases();
    let flaws_of = flaws_of(&cases);

    // the flawless fixture is a correct client: no case may fail against it
    let runs: Vec<(Vec<Flaw>, Case)> =
        cases.iter().filter(|c| in_flawless_pass(c)).map(|c| (Vec::new(), c.clone())).collect();
    let wrong: Vec<String> = run_each(&runs)
        .await
        .into_iter()
        .filter(|o| !matches!(o.verdict, Verdict::Ok | Verdict::Informational))
        .map(|o| format!("  {}: {} {}", o.id, o.verdict, o.reason.unwrap_or_default()))
        .collect();
    assert!(wrong.is_empty(), "client cases that fail against the flawless client:\n{}", wrong.join("\n"));

    let mut proven: BTreeMap<String, String> = BTreeMap::new();
    let mut tried: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for pass in 0..PASSES {
        for round in 0.. {
            let runs: Vec<(Vec<Flaw>, Case)> = cases
                .iter()
                .filter(|c| !proven.contains_key(&c.id))
                .filter_map(|c| flaws_of[&c.id].get(round).map(|f| (f.to_vec(), c.clone())))
                .collect();
            if runs.is_empty() {
                break;
            }
            for ((flaws, case), o) in runs.iter().zip(run_each(&runs).await) {
                let shown = if can_be_failed(case) { o.verdict == Verdict::Failed } else { o.verdict != Verdict::Ok };
                let flaw = flaws[0];
                if shown {
                    proven.insert(case.id.clone(), format!("{flaw:?}: {} {}", o.verdict, o.reason.unwrap_or_default()));
                } else {
                    tried.entry(case.id.clone()).or_default().push(format!(
                        "{flaw:?} (pass {}) gave {}",
                        pass + 1,
                        o.verdict
                    ));
                }
            }
        }
    }
    println!("{} client cases shown able to fail:", proven.len());
    for (id, how) in &proven {
        println!("  {id} <- {how}");
    }
    let unproven: Vec<String> = cases
        .iter()
        .filter(|c| !proven.contains_key(&c.id))
        .map(|c| format!("  {}: {}", c.id, tried.get(&c.id).map(|t| t.join(", ")).unwrap_or_default()))
        .collect();
    assert!(unproven.is_empty(), "client cases that no flaw of theirs makes fail:\n{}", unproven.join("\n"));
}

/// The flaws that break every case, each shown on the plainest one: the client's frames (§5.1, §5.3) and its
/// request (§4.1), judged whatever the case is about.
#[tokio::test]
async fn flaws_of_every_connection_fail_any_case() {
    let _turn = crate::support::turn(module_path!());
    let cases = client_cases();
    let case = cases.iter().find(|c| c.id == "rfc6455/5.6/binary-payload-not-utf8").expect("the case exists");
    let flawless = run_against(case, &[], false).await;
    assert_eq!(flawless.verdict, Verdict::Ok, "{:?}", flawless.reason);
    for (flaw, says) in [
        (Flaw::UnmaskedFrames, "RFC 6455 §5.1"),
        (Flaw::ZeroMaskKey, "RFC 6455 §5.3"),
        (Flaw::NoHostHeader, "opening request"),
        (Flaw::DropsQuery, ""),
    ] {
        let o = run_against(case, &[flaw], false).await;
        if flaw == Flaw::DropsQuery {
            // the target is the runner's business (Autobahn's API routes on it), not a rule of the case
            assert_eq!(o.verdict, Verdict::Ok, "{flaw:?}: {:?}", o.reason);
            continue;
        }
        assert_eq!(o.verdict, Verdict::Failed, "{flaw:?}: {:?}", o.reason);
        assert!(o.reason.as_deref().is_some_and(|r| r.contains(says)), "{flaw:?}: {:?}", o.reason);
    }
}

/// permessage-deflate as Autobahn's fuzzingserver rates it: a client that offers none gets UNIMPLEMENTED in
/// 12.x/13.x; one that accepts it and then sets RSV1 on a control frame is FAILED (RFC 7692 §6.1).
#[tokio::test]
async fn a_client_without_permessage_deflate_is_unimplemented_and_rsv1_on_its_close_is_failed() {
    let _turn = crate::support::turn(module_path!());
    let cases = client_cases();
    let case = cases.iter().find(|c| c.autobahn.as_deref() == Some("12.1.1")).expect("the case exists");
    let o = run_with(case, &[], Settings::default(), false).await;
    assert_eq!(o.verdict, Verdict::Unimplemented, "{:?}", o.reason);
    assert!(o.reason.as_deref().is_some_and(|r| r.contains("offered no permessage-deflate")), "{:?}", o.reason);
    let o = run_against(case, &[], false).await;
    assert_eq!(o.verdict, Verdict::Ok, "{:?}", o.reason);
    let o = run_against(case, &[Flaw::DeflateRsv1OnClose], false).await;
    assert_eq!(o.verdict, Verdict::Failed, "{:?}", o.reason);
    assert!(o.reason.as_deref().is_some_and(|r| r.contains("RFC 7692 §6")), "{:?}", o.reason);
}

/// RFC 6455 §4.1: a nonce fresh for each connection. The same key on a second connection is FAILED when the
/// caller (serve, or --exec) has seen it before.
#[tokio::test]
async fn a_key_seen_on_an_earlier_connection_fails_the_case() {
    let _turn = crate::support::turn(module_path!());
    let cases = client_cases();
    let case = cases.iter().find(|c| c.id == "client/4.1/request").expect("the case exists");
    let o = run_against(case, &[Flaw::FixedKey], true).await;
    assert_eq!(o.verdict, Verdict::Failed, "{:?}", o.reason);
    assert!(
        o.reason.as_deref().is_some_and(|r| r.contains("fresh") || r.contains("each connection")),
        "{:?}",
        o.reason
    );
    let o = run_against(case, &[Flaw::FixedKey], false).await;
    assert_eq!(o.verdict, Verdict::Ok, "a fixed key is a valid key once: {:?}", o.reason);
}

/// A client that closes while we are still sending a message (Node `ws` on Autobahn 9.3.1: 1008 after some of
/// 65,536 fragments) has not echoed it: the echo step is missed at that close, not met because the message was
/// never finished on the wire.
#[tokio::test]
async fn a_close_while_the_message_is_being_sent_misses_its_echo() {
    let _turn = crate::support::turn(module_path!());
    let cases = client_cases();
    let case = cases.iter().find(|c| c.autobahn.as_deref() == Some("9.3.1")).expect("the case exists");
    let settings = Settings { max_message: 64 * 1024, ..Settings::default() };
    let o = run_with(case, &[], settings, false).await;
    assert_eq!(o.verdict, Verdict::Failed, "{:?}", o.reason);
    assert!(o.reason.as_deref().is_some_and(|r| r.contains("echo") && r.contains("1009")), "{:?}", o.reason);
}
