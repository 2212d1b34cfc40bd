//! One pass/fail rule for every output: for each (verdict, close verdict, --fail-on) the exit code, the terminal
//! summary, the JUnit XML and the HTML page all agree with `reports::verdict::fails`, and so do real runs.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use crate::support::flawed_server::{Flaw, FlawedServer};
use reports::conformance::{CaseReport, ConformanceReport, TargetInfo};
use wsharness::commands::conformance::{exit_code, summary_text};
use wsharness::commands::{EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK};
use wsharness::report::conformance_report;
use wsharness::verdict::{fails, CloseVerdict, FailOn, Verdict};

fn wsharness(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wsharness")).args(args).current_dir(dir).output().expect("wsharness runs")
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("wsharness-one-rule-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

pub(crate) fn case(id: &str, verdict: Verdict, close_verdict: Option<CloseVerdict>) -> CaseReport {
    CaseReport {
        id: id.into(),
        title: format!("{verdict} with close {close_verdict:?}"),
        section: "one rule".into(),
        rfc: "6455 §5.5.1".into(),
        autobahn: None,
        why: "every output must fail the same cases".into(),
        verdict,
        close_verdict,
        reason: (verdict != Verdict::Ok).then(|| format!("the reason of {verdict}")),
        expected: None,
        observed: None,
        close: None,
        duration_ms: 1,
        source: "cases/test.toml:1".into(),
        wire: vec![],
        wire_trimmed: None,
        deflate: None,
    }
}

pub(crate) fn report(cases: Vec<CaseReport>, fail_on: FailOn) -> ConformanceReport {
    let target = TargetInfo { url: "ws://127.0.0.1:9/".into(), embedded: false, server_header: None, agent: None };
    conformance_report(target, "2026-11-21T06:40:00Z".into(), 5, true, fail_on, cases)
}

/// The value of `name="N"` in `element`.
fn attr(element: &str, name: &str) -> u64 {
    let key = format!(" {name}=\"");
    let at = element.find(&key).unwrap_or_else(|| panic!("no {name} in {element}")) + key.len();
    element[at..at + element[at..].find('"').expect("closing quote")].parse().expect("a number")
}

/// The text from `from` to the next `to`.
fn between<'a>(text: &'a str, from: &str, to: &str) -> &'a str {
    let start = text.find(from).unwrap_or_else(|| panic!("no {from}"));
    &text[start..start + text[start..].find(to).unwrap_or_else(|| panic!("no {to} after {from}"))]
}

/// What each output of a report says about one case (each output's own consistency is asserted on the way).
struct Outputs {
    exit: u8,
    junit_fails: bool,
    junit_error: bool,
    junit_skipped: bool,
    html_fails: bool,
    terminal_fails: bool,
}

/// Writes the report, renders it with the real `wsharness render`, reads everything back.
fn outputs(report: &ConformanceReport, dir: &Path, id: &str) -> Outputs {
    let json = dir.join("report.json");
    reports::write_json(&json, report).expect("write report.json");
    let out = wsharness(&["render", "report.json"], dir);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    // the exit code is decided on the report as read back, so on the gate recorded in the file
    let reports::Report::Conformance(read) = reports::read_report(&json).expect("read back") else {
        panic!("a conformance report")
    };
    let junit = std::fs::read_to_string(dir.join("junit.xml")).expect("junit.xml");
    let html = std::fs::read_to_string(dir.join("report.html")).expect("report.html");
    let root = between(&junit, "<testsuites ", ">");
    let testcase = between(&junit, &format!("<testcase name=\"{id}\""), "</testcase>");
    let (failures, errors) = (attr(root, "failures"), attr(root, "errors"));
    assert_eq!(failures + errors, u64::from(testcase.contains("<failure") || testcase.contains("<error")));
    let banner = between(&html, "id=\"verdict\"", "</div>");
    let failing_group = between(&html, "id=\"failing\"", "id=\"not-ok-passing\"");
    let in_group = failing_group.contains(&format!("id=\"case-{id}\""));
    let says = banner.contains(&format!("1 of {} cases fail the gate", read.cases.len()));
    assert_eq!(in_group, says, "the banner and the failing group agree: {banner}");
    let text = summary_text(&read, Duration::from_millis(5), "ws://127.0.0.1:9/", false);
    let terminal_fails = text.contains(&format!("failing (--fail-on {}): 1,", read.fail_on));
    assert_eq!(terminal_fails, text.contains(": 1 fail --fail-on"), "{text}");
    Outputs {
        exit: exit_code(&read),
        junit_fails: failures + errors == 1,
        junit_error: errors == 1,
        junit_skipped: attr(root, "skipped") == 1,
        html_fails: in_group,
        terminal_fails,
    }
}

#[test]
fn every_verdict_close_and_gate_fails_or_passes_alike_in_the_exit_code_junit_html_and_terminal() {
    let _turn = crate::support::turn(module_path!());
    let dir = temp_dir("table");
    let closes = std::iter::once(None).chain(CloseVerdict::ALL.map(Some));
    let mut checked = 0;
    let mut disagreements = Vec::new();
    for verdict in Verdict::ALL {
        for close in closes.clone() {
            for fail_on in FailOn::ALL {
                let fails = fails(verdict, close, fail_on);
                // a passing OK case beside the one under test: the outputs must single it out
                let cases =
                    vec![case("one/ok", Verdict::Ok, Some(CloseVerdict::Ok)), case("one/subject", verdict, close)];
                let o = outputs(&report(cases, fail_on), &dir, "one/subject");
                let no_result = matches!(verdict, Verdict::Errored | Verdict::NotRun);
                let got = [
                    ("exit code", o.exit == if fails { EXIT_FAILED } else { EXIT_OK }),
                    ("junit failure or error", o.junit_fails == fails),
                    ("junit error for no result", o.junit_error == (fails && no_result)),
                    ("junit skipped", o.junit_skipped == (!fails && verdict == Verdict::Unimplemented)),
                    ("html failing group and banner", o.html_fails == fails),
                    ("terminal failing list", o.terminal_fails == fails),
                ];
                for (what, agrees) in got {
                    if !agrees {
                        disagreements
                            .push(format!("{verdict} close {close:?} --fail-on {fail_on}: {what} (fails: {fails})"));
                    }
                }
                checked += 1;
            }
        }
    }
    assert_eq!(checked, 7 * 6 * 2, "every combination");
    assert!(disagreements.is_empty(), "outputs disagree with the rule:\n{}", disagreements.join("\n"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_exit_code_of_an_interrupted_run_is_130_whatever_failed() {
    let _turn = crate::support::turn(module_path!());
    let mut r = report(vec![case("one/failed", Verdict::Failed, None)], FailOn::Failed);
    r.complete = false;
    assert_eq!(exit_code(&r), EXIT_INTERRUPTED);
    r.complete = true;
    assert_eq!(exit_code(&r), EXIT_FAILED);
}

#[test]
fn the_terminal_lists_failing_cases_first_then_the_other_not_ok_ones_worst_first() {
    let _turn = crate::support::turn(module_path!());
    let cases = vec![
        case("c/unimplemented", Verdict::Unimplemented, None),
        case("c/non-strict", Verdict::NonStrict, Some(CloseVerdict::Ok)),
        case("c/informational-unclean", Verdict::Informational, Some(CloseVerdict::Unclean)),
        case("c/ok", Verdict::Ok, Some(CloseVerdict::Ok)),
        case("c/failed", Verdict::Failed, Some(CloseVerdict::Ok)),
        case("c/not-run", Verdict::NotRun, None),
        case("c/errored", Verdict::Errored, None),
    ];
    let order = |fail_on| {
        let text = summary_text(&report(cases.clone(), fail_on), Duration::from_secs(1), "ws://x/", false);
        let ids: Vec<String> =
            text.lines().filter_map(|l| l.split_whitespace().find(|w| w.starts_with("c/")).map(String::from)).collect();
        (text, ids)
    };
    let (text, ids) = order(FailOn::Failed);
    assert_eq!(
        ids,
        ["c/failed", "c/not-run", "c/errored", "c/informational-unclean", "c/non-strict", "c/unimplemented"],
        "{text}"
    );
    assert!(text.contains("failing (--fail-on failed): 4, 1 NOT RUN, 1 ERRORED, 1 FAILED, 1 INFORMATIONAL with a close that is not OK"), "{text}");
    assert!(text.contains("not OK, passing --fail-on failed: 2\n"), "{text}");
    assert!(text.contains("7 cases against ws://x/ in 1.00 s: 4 fail --fail-on failed"), "{text}");
    // the section table: every verdict has a column and the row adds up
    let total = text.lines().find(|l| l.starts_with("total")).expect("total row");
    assert_eq!(total.split_whitespace().collect::<Vec<_>>(), ["total", "7", "1", "1", "1", "1", "1", "1", "1"]);
    let (text, ids) = order(FailOn::NonStrict);
    assert_eq!(
        ids,
        ["c/failed", "c/not-run", "c/errored", "c/informational-unclean", "c/non-strict", "c/unimplemented"],
        "{text}"
    );
    assert!(text.contains("failing (--fail-on non-strict): 5,"), "{text}");
    assert!(text.contains("not OK, passing --fail-on non-strict: 1\n"), "{text}");
}

/// One real run: a flawed server, one case, a gate, and the verdicts the run must produce.
struct Run {
    flaws: &'static [Flaw],
    case: &'static str,
    fail_on: FailOn,
    verdict: Verdict,
    close: Option<CloseVerdict>,
}

const UTF8_LATE: &str = "rfc6455/8.1/fail-fast-on-frame-with-invalid-sequence";
const ECHO: &str = "delivery/byte-by-byte/text-13-bytes";
const CODE_1012: &str = "rfc6455/11.7/close-code-1012";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_runs_against_the_flawed_server_exit_as_their_junit_and_html_say() {
    let _turn = crate::support::turn(module_path!());
    use CloseVerdict as C;
    let runs = [
        Run { flaws: &[], case: ECHO, fail_on: FailOn::NonStrict, verdict: Verdict::Ok, close: Some(C::Ok) },
        Run {
            flaws: &[Flaw::LateUtf8Failure],
            case: UTF8_LATE,
            fail_on: FailOn::Failed,
            verdict: Verdict::NonStrict,
            close: Some(C::Ok),
        },
        Run {
            flaws: &[Flaw::LateUtf8Failure],
            case: UTF8_LATE,
            fail_on: FailOn::NonStrict,
            verdict: Verdict::NonStrict,
            close: Some(C::Ok),
        },
        // NON-STRICT with a failed close fails --fail-on failed (the exit code used to say 0 here)
        Run {
            flaws: &[Flaw::LateUtf8Failure, Flaw::NeverClosesTcp],
            case: UTF8_LATE,
            fail_on: FailOn::Failed,
            verdict: Verdict::NonStrict,
            close: Some(C::Failed),
        },
        Run {
            flaws: &[Flaw::DropsTcpWithoutClose],
            case: ECHO,
            fail_on: FailOn::Failed,
            verdict: Verdict::Ok,
            close: Some(C::Unclean),
        },
        Run {
            flaws: &[Flaw::DropsTcpWithoutClose],
            case: CODE_1012,
            fail_on: FailOn::Failed,
            verdict: Verdict::Informational,
            close: Some(C::Unclean),
        },
        Run {
            flaws: &[Flaw::WrongCloseEchoCode],
            case: ECHO,
            fail_on: FailOn::Failed,
            verdict: Verdict::Ok,
            close: Some(C::WrongCode),
        },
    ];
    let dir = temp_dir("runs");
    for (i, run) in runs.iter().enumerate() {
        let server = FlawedServer::start(run.flaws).await;
        let out_dir = format!("run{i}");
        let args: Vec<String> = [
            "conformance",
            &server.url(),
            "--quiet",
            "--filter",
            run.case,
            "--case-timeout",
            "3s",
            "--fail-on",
            run.fail_on.as_str(),
            "--out",
            &out_dir,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let run_dir = dir.clone();
        let out = tokio::task::spawn_blocking(move || {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            wsharness(&args, &run_dir)
        })
        .await
        .expect("join");
        server.stop().await;
        let what = format!("{:?} {} --fail-on {}", run.flaws, run.case, run.fail_on);
        let json = dir.join(&out_dir).join("report.json");
        let reports::Report::Conformance(report) = reports::read_report(&json).expect("report.json") else {
            panic!("a conformance report")
        };
        let c = &report.cases[..];
        assert_eq!(c.len(), 1, "{what}");
        assert_eq!((c[0].verdict, c[0].close_verdict), (run.verdict, run.close), "{what}: {:?}", c[0].reason);
        assert_eq!(report.fail_on, run.fail_on, "{what}: the gate is recorded");
        let fails = fails(run.verdict, run.close, run.fail_on);
        let expected = if fails { EXIT_FAILED } else { EXIT_OK };
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            out.status.code(),
            Some(i32::from(expected)),
            "{what}\n{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let junit = std::fs::read_to_string(dir.join(&out_dir).join("junit.xml")).expect("junit.xml");
        let root = between(&junit, "<testsuites ", ">");
        assert_eq!(attr(root, "failures") + attr(root, "errors"), u64::from(fails), "{what}: {root}");
        let html = std::fs::read_to_string(dir.join(&out_dir).join("report.html")).expect("report.html");
        let banner = between(&html, "id=\"verdict\"", "</div>");
        let says = if fails { "1 of 1 cases fail the gate" } else { "No case fails the gate" };
        assert!(banner.contains(says), "{what}: {banner}");
        assert_eq!(stdout.contains(&format!("failing (--fail-on {}): 1,", run.fail_on)), fails, "{what}: {stdout}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// The README's verdict tables are the text of `reports::verdict::meaning` (the HTML legend, the terminal and
/// `--help` print the same): edit the meanings there, then paste `markdown()` into the README.
#[test]
fn the_readme_explains_the_verdicts_in_the_words_of_the_code() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).expect("README.md");
    let tables = reports::verdict::meaning::markdown();
    assert!(readme.contains(&tables), "README.md must carry these tables verbatim:\n{tables}");
}
