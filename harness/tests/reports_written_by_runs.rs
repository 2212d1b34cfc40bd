//! Every report a run writes validates against the committed schema, and `render` and `compare` work on them.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::support::flawed_server::{Flaw, FlawedServer};
use serde_json::Value;

/// Everything but the limits/performance section, whose megabytes are slow in a debug build.
const QUICK: &str = "!{limits/**,rfc7692/*-x1000}";

fn wsharness(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wsharness")).args(args).current_dir(dir).output().expect("wsharness runs")
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("wsharness-reports-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Validates a report against `reports/schema/<kind>.schema.json`, and checks what a schema cannot
/// express: the summary counts the cases.
pub(crate) fn assert_valid(path: &Path) -> Value {
    let report = read_json(path);
    let kind = report["kind"].as_str().expect("kind").to_string();
    let schema_path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../reports/schema/{kind}.schema.json"));
    let schema = read_json(&schema_path);
    let validator = jsonschema::validator_for(&schema).expect("the schema compiles");
    let errors: Vec<String> =
        validator.iter_errors(&report).map(|e| format!("{}: {e}", e.instance_path())).take(10).collect();
    assert!(errors.is_empty(), "{} does not match {}:\n{}", path.display(), schema_path.display(), errors.join("\n"));
    if kind == "conformance" {
        let cases = report["cases"].as_array().expect("cases");
        assert_eq!(report["summary"]["total"].as_u64(), Some(cases.len() as u64));
        for verdict in ["OK", "NON-STRICT", "INFORMATIONAL", "UNIMPLEMENTED", "FAILED", "ERRORED"] {
            let n = cases.iter().filter(|c| c["verdict"] == verdict).count() as u64;
            assert_eq!(report["summary"][verdict].as_u64(), Some(n), "summary of {verdict}");
        }
    }
    report
}

/// The three outputs of a run, checked against each other.
fn assert_outputs_agree(dir: &Path) -> Value {
    let report = assert_valid(&dir.join("report.json"));
    let html = std::fs::read_to_string(dir.join("report.html")).expect("report.html");
    let junit = std::fs::read_to_string(dir.join("junit.xml")).expect("junit.xml");
    let cases = report["cases"].as_array().expect("cases");
    let testcases = junit.matches("<testcase name=\"").count() - junit.matches("<testcase name=\"wsharness/").count();
    assert_eq!(testcases, cases.len(), "one testcase per case");
    for c in cases {
        let id = c["id"].as_str().expect("id");
        assert!(html.contains(&format!("id=\"case-{id}\"")), "report.html lacks {id}");
    }
    let leftovers: Vec<_> = std::fs::read_dir(dir)
        .expect("dir")
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .map(|e| e.file_name())
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
    report
}

/// Runs wsharness off the async runtime that serves the fixture.
async fn run_blocking(args: Vec<String>, dir: PathBuf) -> Output {
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        wsharness(&args, &dir)
    })
    .await
    .expect("join")
}

#[test]
fn the_embedded_run_writes_three_outputs_that_validate_and_agree() {
    let _turn = crate::support::turn(module_path!());
    let dir = temp_dir("embedded");
    let out = wsharness(&["conformance", "--quiet", "--filter", QUICK, "--out", "run"], &dir);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("html: run/report.html") && stdout.contains("junit: run/junit.xml"), "{stdout}");
    let report = assert_outputs_agree(&dir.join("run"));
    assert_eq!(report["complete"], true);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_against_a_flawed_server_fails_cases_in_all_three_outputs() {
    let _turn = crate::support::turn(module_path!());
    let dir = temp_dir("flawed");
    let server = FlawedServer::start(&[Flaw::IgnoresRsv, Flaw::DropsTcpWithoutClose, Flaw::PongWrongPayload]).await;
    let args = ["conformance", &server.url(), "--quiet", "--filter", QUICK, "--case-timeout", "2s", "--out", "run"];
    let out = run_blocking(args.iter().map(|s| s.to_string()).collect(), dir.clone()).await;
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let report = assert_outputs_agree(&dir.join("run"));
    let cases = report["cases"].as_array().expect("cases");
    let failed = cases.iter().filter(|c| c["verdict"] == "FAILED").count();
    assert!(failed > 0, "the flaws cost no case");
    assert!(
        cases.iter().any(|c| c["verdict"] == "FAILED" && c["id"].as_str().is_some_and(|id| id.contains("rsv"))),
        "IgnoresRsv fails the RSV cases"
    );
    let junit = std::fs::read_to_string(dir.join("run/junit.xml")).expect("junit");
    assert!(junit.contains("<failure message="), "{junit}");
    let html = std::fs::read_to_string(dir.join("run/report.html")).expect("html");
    let not_ok = &html[html.find("id=\"not-ok\"").expect("not-ok")..html.find("id=\"all-ok\"").expect("all-ok")];
    assert!(not_ok.contains("data-verdict=\"FAILED\""), "the failures are listed first");
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_interrupted_run_writes_all_three_marked_incomplete() {
    let _turn = crate::support::turn(module_path!());
    let dir = temp_dir("interrupt");
    // accepts TCP and never answers: every case waits out its timeout
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("ws://{}/", listener.local_addr().expect("addr"));
    let (first_tx, first_rx) = std::sync::mpsc::channel();
    let holder = std::thread::spawn(move || {
        let mut held = Vec::new();
        let mut incoming = listener.incoming().flatten();
        // the preflight's handshake gets its 101, so that the run starts
        if let Some(s) = incoming.next() {
            answer_101(s);
        }
        for s in incoming.take(400) {
            held.push(s);
            let _ = first_tx.send(());
        }
    });
    let mut child = Command::new(env!("CARGO_BIN_EXE_wsharness"))
        .args(["conformance", &url, "--case-timeout", "30s", "--jobs", "2", "--quiet", "--out", "run"])
        .current_dir(&dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    // interrupt once cases are running (the first connection), not while the binary is still starting
    first_rx.recv_timeout(Duration::from_secs(20)).expect("wsharness connects to the server");
    std::thread::sleep(Duration::from_millis(200));
    assert!(Command::new("kill").args(["-INT", &child.id().to_string()]).status().expect("kill").success());
    let started = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "wsharness did not stop after SIGINT");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(130));
    let report = assert_outputs_agree(&dir.join("run"));
    assert_eq!(report["complete"], false);
    let html = std::fs::read_to_string(dir.join("run/report.html")).expect("html");
    assert!(html.contains("id=\"incomplete\""), "the page says the run was interrupted");
    let junit = std::fs::read_to_string(dir.join("run/junit.xml")).expect("junit");
    assert!(junit.contains("wsharness/run-complete") && junit.contains("<error"), "{junit}");
    drop(holder);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn render_rewrites_the_same_html_and_junit_from_the_json() {
    let _turn = crate::support::turn(module_path!());
    let dir = temp_dir("render");
    let out = wsharness(&["conformance", "--quiet", "--filter", QUICK, "--out", "run"], &dir);
    assert_eq!(out.status.code(), Some(0));
    let out = wsharness(&["render", "run/report.json", "--html", "again.html", "--junit", "again.xml"], &dir);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let same = |a: &str, b: &str| std::fs::read(dir.join(a)).expect(a) == std::fs::read(dir.join(b)).expect(b);
    assert!(same("run/report.html", "again.html"), "render gives the page the run wrote");
    assert!(same("run/junit.xml", "again.xml"), "render gives the JUnit XML the run wrote");
    // no flag: both, beside the JSON
    std::fs::remove_file(dir.join("run/report.html")).expect("rm");
    std::fs::remove_file(dir.join("run/junit.xml")).expect("rm");
    let out = wsharness(&["render", "run/report.json"], &dir);
    assert_eq!(out.status.code(), Some(0));
    assert!(dir.join("run/report.html").exists() && dir.join("run/junit.xml").exists());
    let _ = std::fs::remove_dir_all(&dir);
}

/// Every case of a report given `events` events each, one in four a read of 2048 bytes (as the harness keeps them).
fn with_long_traces(report: &mut Value, events: u64) {
    let hex = vec!["fe"; 2048].join(" ");
    for case in report["cases"].as_array_mut().expect("cases") {
        let wire: Vec<Value> = (0..events)
            .map(|i| match i % 4 {
                0 => serde_json::json!({"at_us": i, "dir": "received", "type": "bytes", "len": 65536, "hex": hex, "text": null}),
                _ => serde_json::json!({"at_us": i, "dir": "received", "type": "frame", "len": null, "hex": null, "text": "binary 65536 bytes [fe fe fe]"}),
            })
            .collect();
        case["wire"] = wire.into();
        case.as_object_mut().expect("case").remove("wire_trimmed");
    }
    report.as_object_mut().expect("report").remove("trimmed");
}

#[test]
fn runs_and_render_keep_report_json_and_report_html_under_the_size_budget_and_say_what_they_cut() {
    let _turn = crate::support::turn(module_path!());
    let dir = temp_dir("budget");
    let out = wsharness(&["conformance", "--quiet", "--filter", QUICK, "--out", "run"], &dir);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let budget = reports::budget::REPORT_BUDGET_BYTES;
    let size = |name: &str| std::fs::metadata(dir.join(name)).expect(name).len();
    assert!(size("run/report.json") <= budget && size("run/report.html") <= budget);
    // the same run with traces far too long for the budget: render cuts them for the page, and the page says so
    let mut report: Value =
        serde_json::from_slice(&std::fs::read(dir.join("run/report.json")).expect("json")).expect("json");
    with_long_traces(&mut report, 40);
    std::fs::write(dir.join("big.json"), serde_json::to_vec(&report).expect("json")).expect("write");
    assert!(size("big.json") > 4 * budget, "{} bytes", size("big.json"));
    let out = wsharness(&["render", "big.json", "--html", "big.html"], &dir);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(size("big.html") <= budget, "big.html is {} bytes", size("big.html"));
    let html = std::fs::read_to_string(dir.join("big.html")).expect("html");
    assert!(html.contains("id=\"trimmed\"") && html.contains("Run one case alone"), "the page says what it cut");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn compare_names_the_case_that_went_from_ok_to_failed_and_exits_1_and_0_on_identical_reports() {
    let _turn = crate::support::turn(module_path!());
    let dir = temp_dir("compare");
    let out = wsharness(&["conformance", "--quiet", "--filter", QUICK, "--out", "base"], &dir);
    assert_eq!(out.status.code(), Some(0));
    let mut report = read_json(&dir.join("base/report.json"));
    let case =
        report["cases"].as_array_mut().expect("cases").iter_mut().find(|c| c["verdict"] == "OK").expect("an OK case");
    case["verdict"] = "FAILED".into();
    case["reason"] = "the echo was binary".into();
    let id = case["id"].as_str().expect("id").to_string();
    std::fs::write(dir.join("new.json"), serde_json::to_vec_pretty(&report).expect("json")).expect("write");

    let out = wsharness(&["compare", "base/report.json", "new.json", "--html", "compare.html"], &dir);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains(&format!("REGRESSION {id}: OK -> FAILED")), "{stdout}");
    assert!(stdout.contains("worse (1):"), "{stdout}");
    let html = std::fs::read_to_string(dir.join("compare.html")).expect("compare.html");
    assert!(html.contains(&id) && html.contains("1 regression(s)"), "the page names the case");

    let out = wsharness(&["compare", "base/report.json", "base/report.json"], &dir);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("no regression"), "{stdout}");

    // the reverse is an improvement, not a regression
    let out = wsharness(&["compare", "new.json", "base/report.json"], &dir);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
    assert!(String::from_utf8_lossy(&out.stdout).contains("better (1):"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn compare_and_render_refuse_unreadable_input_with_exit_2_saying_why() {
    let _turn = crate::support::turn(module_path!());
    let dir = temp_dir("unreadable");
    let out = wsharness(&["conformance", "--quiet", "--filter", QUICK, "--out", "base"], &dir);
    assert_eq!(out.status.code(), Some(0));
    let mut report = read_json(&dir.join("base/report.json"));
    report["schema_version"] = 2.into();
    std::fs::write(dir.join("v2.json"), serde_json::to_vec(&report).expect("json")).expect("write");
    std::fs::write(dir.join("junk.json"), b"<html>").expect("write");

    let cases: [(&[&str], &str); 5] = [
        (&["compare", "base/report.json", "v2.json"], "v2.json is a report of schema_version 2; this wsharness"),
        (&["compare", "base/report.json", "v2.json"], "reads schema_version 1"),
        (&["compare", "junk.json", "base/report.json"], "junk.json is not JSON"),
        (&["compare", "base/report.json", "missing.json"], "cannot read missing.json"),
        (&["render", "v2.json"], "schema_version 2"),
    ];
    for (args, says) in cases {
        let out = wsharness(args, &dir);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "{args:?}: one line: {stderr}");
    }
    let out = wsharness(&["compare", "base/report.json", "base/report.json", "--max-regression", "ten"], &dir);
    assert_eq!(out.status.code(), Some(2), "a bad --max-regression is a usage error");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn load_and_merge_reports_validate_render_and_compare_catches_a_p99_20_percent_worse() {
    let _turn = crate::support::turn(module_path!());
    let dir = temp_dir("load");
    let out = wsharness(
        &[
            "load",
            "--connections",
            "4",
            "--duration",
            "1s",
            "--rate",
            "400",
            "--threshold",
            "errors==0",
            "--out",
            "run",
        ],
        &dir,
    );
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let mut report = assert_valid(&dir.join("run/report.json"));
    assert_eq!(report["kind"], "load");

    // the report of `wsharness merge` validates too
    let out = wsharness(&["merge", "run/report.json", "run/report.json", "--out", "merged.json"], &dir);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let merged = assert_valid(&dir.join("merged.json"));
    assert_eq!(merged["merged_from"].as_array().map(Vec::len), Some(2));

    let out = wsharness(&["render", "run/report.json"], &dir);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let html = std::fs::read_to_string(dir.join("run/report.html")).expect("report.html");
    assert!(html.contains("id=\"percentile-distribution\"") && html.contains("<svg"));
    let junit = std::fs::read_to_string(dir.join("run/junit.xml")).expect("junit.xml");
    assert!(junit.contains("<testcase name=\"errors==0\""), "{junit}");

    let p99 = report["latency_us"]["p99"].as_u64().expect("p99");
    assert!(p99 > 0, "the run measured echoes");
    report["latency_us"]["p99"] = (p99 * 12 / 10).into();
    std::fs::write(dir.join("worse.json"), serde_json::to_vec(&report).expect("json")).expect("write");
    let out = wsharness(&["compare", "run/report.json", "worse.json", "--max-regression", "10%"], &dir);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("REGRESSION p99 latency:") && stdout.contains("limit +10%)"), "{stdout}");
    let out = wsharness(&["compare", "run/report.json", "worse.json", "--max-regression", "25%"], &dir);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
    let out = wsharness(&["compare", "run/report.json", "run/report.json"], &dir);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
    let _ = std::fs::remove_dir_all(&dir);
}

/// Reads a request head and answers it with a valid 101, then closes.
fn answer_101(mut s: std::net::TcpStream) {
    use std::io::{Read, Write};
    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    let (mut head, mut buf) = (Vec::new(), [0u8; 1024]);
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    let text = String::from_utf8_lossy(&head);
    let key = text
        .lines()
        .find_map(|l| l.split_once(':').filter(|(k, _)| k.trim().eq_ignore_ascii_case("sec-websocket-key")))
        .map(|(_, v)| v.trim().to_string())
        .unwrap_or_default();
    let accept = wsharness::wire::accept_for(&key);
    let _ = write!(s, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n");
}
