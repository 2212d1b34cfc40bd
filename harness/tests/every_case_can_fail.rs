//! Every conformance case is shown able to fail: a fixture server that breaks the case's own rule gets FAILED.
//!
//! The table below names, for each family of cases, the flaws that break the rule the family checks. Broad
//! flaws (a server that stalls, or botches the handshake) would fail every case and prove nothing, so they
//! are not used here. The test also checks that the flawless fixture fails no case, that every case has an
//! entry, and that every entry still matches a case.

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use globset::Glob;
use support::flawed_server::{Flaw, FlawedServer};
use wsharness::case::{Case, Step};
use wsharness::conformance::{run_all, CaseOutcome, RunOptions, Target};
use wsharness::embedded::embedded_cases;
use wsharness::verdict::Verdict;

/// Case-id glob, and the flaws that break the rule those cases check (tried in order).
const FLAWS_BY_CASE: &[(&str, &[Flaw])] = &[
    // §5.2 framing: lengths, split delivery and the echo itself
    ("rfc6455/5.2/*-payload-*-in-*-writes", &[Flaw::NoPartialFrameBuffering]),
    ("rfc6455/5.2/text-payload-*", &[Flaw::Mangles16BitLength, Flaw::Mangles64BitLength, Flaw::EchoesAsBinary]),
    ("rfc6455/5.2/binary-payload-*", &[Flaw::Mangles16BitLength, Flaw::Mangles64BitLength, Flaw::FragmentsEchoWrongly]),
    ("rfc6455/5.2/opcode-*", &[Flaw::IgnoresReservedOpcodes]),
    ("rfc6455/5.2/rsv*", &[Flaw::IgnoresRsv]),
    // §5.5 control frames
    ("rfc6455/5.5/*-payload-126", &[Flaw::AcceptsLongControl]),
    ("rfc6455/5.5.2/ping-*", &[Flaw::NoPong, Flaw::PongWrongPayload]),
    ("rfc6455/5.5.3/unsolicited-pong-*", &[Flaw::PongsUnsolicitedPongs]),
    ("rfc6455/5.5.3/ping-answered-after-unsolicited-pong", &[Flaw::PongsUnsolicitedPongs, Flaw::NoPong]),
    ("rfc6455/5.5.3/ten-pings-*", &[Flaw::NoPong, Flaw::PongWrongPayload]),
    // §5.5.1 close frames
    ("rfc6455/5.5.1/close-after-echo", &[Flaw::DropsTcpWithoutClose, Flaw::WrongCloseEchoCode]),
    ("rfc6455/5.5.1/second-close-ignored", &[Flaw::SendsAfterClose, Flaw::DropsTcpWithoutClose]),
    ("rfc6455/5.5.1/*-after-close-not-*", &[Flaw::SendsAfterClose]),
    ("rfc6455/5.5.1/close-between-fragments", &[Flaw::WrongCloseEchoCode, Flaw::DropsTcpWithoutClose]),
    ("rfc6455/5.5.1/close-after-*-message", &[Flaw::WrongCloseEchoCode, Flaw::DropsTcpWithoutClose]),
    ("rfc6455/5.5.1/close-behind-large-message", &[Flaw::DropsTcpWithoutClose, Flaw::WrongCloseEchoCode]),
    ("rfc6455/5.5.1/close-empty-payload", &[Flaw::SendsReservedCloseCode, Flaw::DropsTcpWithoutClose]),
    ("rfc6455/5.5.1/close-payload-1-byte", &[Flaw::AcceptsOneByteClose]),
    ("rfc6455/5.5.1/close-1000-*", &[Flaw::WrongCloseEchoCode, Flaw::DropsTcpWithoutClose]),
    ("rfc6455/8.1/close-reason-invalid-utf8", &[Flaw::AcceptsInvalidCloseReason]),
    // §5.6 data frames
    ("rfc6455/5.6/binary-payload-not-utf8", &[Flaw::FragmentsEchoWrongly]),
    // §7.1.1 the closing handshake (seed 004: TCP dropped without a close frame)
    ("rfc6455/7.1.1/close-reply-before-tcp-close", &[Flaw::DropsTcpWithoutClose]),
    ("rfc6455/7.1.1/tcp-closed-after-close-reply", &[Flaw::NeverClosesTcp]),
    // §7.4 close codes
    ("rfc6455/7.4.1/close-code-1000", &[Flaw::WrongCloseEchoCode]),
    ("rfc6455/7.4.1/close-code-{1001,1003,1007,1008,1009,1010,1011}", &[Flaw::RejectsValidCloseCodes]),
    // rejecting 1002 with 1002 looks the same on the wire as echoing it: what can break is the reply itself
    ("rfc6455/7.4.1/close-code-1002", &[Flaw::DropsTcpWithoutClose]),
    ("rfc6455/7.4.2/close-code-{3000,3999,4000,4999}", &[Flaw::RejectsValidCloseCodes]),
    ("rfc6455/7.4.{1,2}/close-code-{0,999,1004,1005,1006,1015,1016,1100,2000,2999}", &[Flaw::AcceptsInvalidCloseCodes]),
    ("rfc6455/7.4.2/close-code-{5000,65535}", &[Flaw::AcceptsInvalidCloseCodes]),
    ("rfc6455/11.7/close-code-*", &[Flaw::AcceptsInvalidCloseCodes]),
];

fn options() -> RunOptions {
    RunOptions { case_timeout: Duration::from_millis(1500), close_timeout: Duration::from_millis(400), tls: None }
}

/// A case is FAILED-able when some expectation rates a miss FAILED; the others can at most become INFORMATIONAL.
fn can_be_failed(case: &Case) -> bool {
    case.steps.iter().any(|s| matches!(s, Step::Expect { mismatch: Verdict::Failed, .. }))
}

async fn run_against(flaws: &[Flaw], cases: &[Case]) -> Vec<CaseOutcome> {
    let server = FlawedServer::start(flaws).await;
    let target = Target::parse(&server.url()).expect("fixture url");
    let (_stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let (outcomes, complete) = run_all(cases, &target, options(), 16, stop_rx, |_| {}).await;
    assert!(complete);
    server.stop().await;
    outcomes.into_iter().map(|(_, o)| o).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_case_fails_against_a_server_that_breaks_its_rule() {
    let cases = embedded_cases().expect("the shipped case files are valid");
    assert!(!cases.is_empty());

    // the flawless fixture is a correct server: no case may fail against it
    for o in run_against(&[], &cases).await {
        assert!(
            matches!(o.verdict, Verdict::Ok | Verdict::Informational),
            "{} on the flawless server: {:?}",
            o.id,
            o.reason
        );
    }

    // every case has an entry, and every entry still matches a case
    let table: Vec<(globset::GlobMatcher, &[Flaw], &str)> =
        FLAWS_BY_CASE.iter().map(|(g, f)| (Glob::new(g).expect("valid glob").compile_matcher(), *f, *g)).collect();
    let mut flaws_of: BTreeMap<String, Vec<Flaw>> = BTreeMap::new();
    for c in &cases {
        let flaws: Vec<Flaw> =
            table.iter().filter(|(m, _, _)| m.is_match(&c.id)).flat_map(|(_, f, _)| f.iter().copied()).collect();
        assert!(!flaws.is_empty(), "case {} has no flaw in FLAWS_BY_CASE: add the flaw that breaks its rule", c.id);
        flaws_of.insert(c.id.clone(), flaws);
    }
    for (m, _, glob) in &table {
        assert!(cases.iter().any(|c| m.is_match(&c.id)), "FLAWS_BY_CASE entry '{glob}' matches no case");
    }

    // round k tries each unproven case against its k-th flaw, grouped by flaw
    let mut proven: BTreeMap<String, String> = BTreeMap::new();
    let mut tried: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for round in 0.. {
        let mut groups: BTreeMap<String, (Flaw, Vec<Case>)> = BTreeMap::new();
        for c in &cases {
            if proven.contains_key(&c.id) {
                continue;
            }
            if let Some(flaw) = flaws_of[&c.id].get(round) {
                groups.entry(format!("{flaw:?}")).or_insert_with(|| (*flaw, Vec::new())).1.push(c.clone());
            }
        }
        if groups.is_empty() {
            break;
        }
        for (name, (flaw, group)) in groups {
            for (case, o) in group.iter().zip(run_against(&[flaw], &group).await) {
                let shown = if can_be_failed(case) { o.verdict == Verdict::Failed } else { o.verdict != Verdict::Ok };
                if shown {
                    proven.insert(case.id.clone(), format!("{name}: {} {}", o.verdict, o.reason.unwrap_or_default()));
                } else {
                    tried.entry(case.id.clone()).or_default().push(format!("{name} gave {}", o.verdict));
                }
            }
        }
    }
    let unproven: Vec<String> = cases
        .iter()
        .filter(|c| !proven.contains_key(&c.id))
        .map(|c| format!("  {}: {}", c.id, tried.get(&c.id).map(|t| t.join(", ")).unwrap_or_default()))
        .collect();
    assert!(unproven.is_empty(), "cases that no flaw of theirs makes fail:\n{}", unproven.join("\n"));
    println!("{} cases, each shown able to fail:", proven.len());
    for (id, how) in &proven {
        println!("  {id} <- {how}");
    }
}
