//! `wsharness conformance` as a user runs it, against servers that try to break it: floods, endless
//! messages, pings without reading, a slow reader that floods (with a 16 MiB message to write); a server that is no WebSocket endpoint; a
//! server that dies mid-run. Each run ends within its bound, writes all three outputs, and stays under a
//! stated peak memory; a target that is no WebSocket endpoint is one line and exit 2.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::support::process::{wsharness_measured, Measured};
use std::time::Duration;

use crate::support::hostile_server::{Hostile, HostileServer};

/// Peak resident memory a run against any of the floods may reach (debug build, `VmHWM`; measured 56-69 MiB,
/// see the note of issue 11).
const PEAK_RSS_LIMIT_KIB: u64 = 96 * 1024;

/// The flood runs go at once, the other runs of this module one at a time after them.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("wsharness-hostile-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// Runs `wsharness ARGS` in `dir` on a blocking thread (the servers of the test keep running), killed after
/// `limit`: its exit code, output, wall time and peak memory.
async fn wsharness(args: &[&str], dir: &Path, limit: Duration) -> Measured {
    let (args, dir): (Vec<String>, PathBuf) = (args.iter().map(|a| a.to_string()).collect(), dir.to_path_buf());
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        wsharness_measured(&args, &dir, limit, None)
    })
    .await
    .expect("the measuring thread does not panic")
}

fn read_json(path: &Path) -> serde_json::Value {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The three outputs exist and parse; the report's cases, for further checks.
fn assert_three_outputs(out: &Path) -> serde_json::Value {
    let report = read_json(&out.join("report.json"));
    let html = std::fs::read_to_string(out.join("report.html")).expect("report.html");
    assert!(html.contains("</html>"), "report.html is complete");
    let junit = std::fs::read_to_string(out.join("junit.xml")).expect("junit.xml");
    assert!(junit.contains("</testsuites>") || junit.contains("</testsuite>"), "junit.xml is complete");
    report
}

/// The cases of the flood runs: the framing section (57 cases) and one 16 MiB message (its own budget: 10 s).
const FLOOD_FILTERS: [&str; 4] = ["--filter", "rfc6455/5.2/*", "--filter", "limits/9.2/binary-message-16777216"];
const CASE_TIMEOUT: Duration = Duration::from_secs(1);
/// How far past its budget a case may end: the time to notice the deadline on a busy 2-core machine.
const CASE_SLACK: Duration = Duration::from_millis(1500);

/// Runs the flood cases against one hostile server; what is wrong, if anything.
async fn flood_run(how: Hostile) -> Vec<String> {
    let server = HostileServer::start(how).await;
    let dir = temp_dir(&format!("{how:?}"));
    let url = server.url();
    let mut args = vec!["conformance", url.as_str(), "--quiet", "--case-timeout", "1s", "--out", "run"];
    args.extend(FLOOD_FILTERS);
    let run = wsharness(&args, &dir, Duration::from_secs(120)).await;
    println!(
        "{how:?}: exit {:?} in {:.1} s, peak RSS {} MiB",
        run.code,
        run.wall.as_secs_f64(),
        run.max_rss_kib / 1024
    );
    let mut wrong = Vec::new();
    if run.code != Some(1) || run.stderr.contains("panicked") {
        wrong.push(format!("{how:?}: exit {:?}\n{}\n{}", run.code, run.stdout, run.stderr));
        return wrong;
    }
    let report = assert_three_outputs(&dir.join("run"));
    let cases = report["cases"].as_array().expect("cases");
    assert!(cases.len() > 50, "{} cases", cases.len());
    // every case within its budget, and the run within the sum of the budgets over the jobs
    let mut budgets = Duration::ZERO;
    for c in cases {
        let took = Duration::from_millis(c["duration_ms"].as_u64().unwrap_or(u64::MAX));
        let budget = case_budget(&c["id"]);
        budgets += budget;
        if took > budget + CASE_SLACK {
            wrong.push(format!("{how:?}: {} took {took:?}, budget {budget:?}", c["id"]));
        }
        if c["verdict"] == "OK" {
            wrong.push(format!("{how:?}: {} is OK against a hostile server", c["id"]));
        }
    }
    let jobs = 4 * std::thread::available_parallelism().map_or(1, |n| n.get()) as u32;
    let bound = budgets / jobs + Duration::from_secs(20) + CASE_SLACK * 2;
    if run.wall > bound {
        wrong.push(format!("{how:?}: the run took {:?}, over {bound:?}", run.wall));
    }
    if run.max_rss_kib > PEAK_RSS_LIMIT_KIB {
        wrong.push(format!("{how:?}: peak RSS {} MiB, over {} MiB", run.max_rss_kib / 1024, PEAK_RSS_LIMIT_KIB / 1024));
    }
    let _ = std::fs::remove_dir_all(&dir);
    wrong
}

/// A case's budget: its own `timeout_ms` where larger than the run's.
fn case_budget(id: &serde_json::Value) -> Duration {
    static OWN: std::sync::OnceLock<std::collections::HashMap<String, Duration>> = std::sync::OnceLock::new();
    let own = OWN.get_or_init(|| {
        let cases = wsharness::embedded::embedded_cases().expect("the shipped case files are valid");
        cases.into_iter().filter_map(|c| c.timeout.map(|t| (c.id, t))).collect()
    });
    own.get(id.as_str().unwrap_or_default()).map_or(CASE_TIMEOUT, |t| (*t).max(CASE_TIMEOUT))
}

/// The six floods, two at a time (each run is its own process, measured on its own; more at once would starve
/// each other's timers on a 2-core machine).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn floods_endless_messages_pings_and_slow_readers_cost_verdicts_not_memory() {
    let _turn = crate::support::turn(module_path!());
    let _alone = ONE_AT_A_TIME.lock().await;
    let slots = std::sync::Arc::new(tokio::sync::Semaphore::new(2));
    let runs = Hostile::FLOODS.map(|how| {
        let slots = std::sync::Arc::clone(&slots);
        tokio::spawn(async move {
            let _slot = slots.acquire_owned().await.expect("the semaphore is never closed");
            flood_run(how).await
        })
    });
    let mut wrong = Vec::new();
    for run in runs {
        wrong.extend(run.await.expect("a flood run does not panic"));
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_404_endpoint_is_one_line_and_exit_2_before_any_case() {
    let _turn = crate::support::turn(module_path!());
    let _turn = ONE_AT_A_TIME.lock().await;
    let server = HostileServer::start(Hostile::NotFound).await;
    let dir = temp_dir("404");
    let run = wsharness(&["conformance", &server.url(), "--out", "run"], &dir, Duration::from_secs(10)).await;
    assert_eq!(run.code, Some(2), "{}{}", run.stdout, run.stderr);
    assert!(run.wall < Duration::from_secs(3), "took {:?}", run.wall);
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    assert!(run.stderr.contains("404 Not Found") && run.stderr.contains("path"), "{}", run.stderr);
    assert!(run.stdout.is_empty(), "{}", run.stdout);
    assert!(!dir.join("run/report.json").exists(), "no report for a run that never started");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wss_against_a_plain_server_is_one_line_naming_ws_and_exit_2() {
    let _turn = crate::support::turn(module_path!());
    let _turn = ONE_AT_A_TIME.lock().await;
    let server =
        reference_server::Server::bind("127.0.0.1:0".parse().expect("addr"), reference_server::Config::default())
            .await
            .expect("the reference server binds")
            .spawn();
    let url = server.url().replace("ws://", "wss://");
    let dir = temp_dir("wss-plain");
    let run = wsharness(&["conformance", &url, "--out", "run"], &dir, Duration::from_secs(10)).await;
    let _ = server.shutdown().await;
    assert_eq!(run.code, Some(2), "{}{}", run.stdout, run.stderr);
    assert!(run.wall < Duration::from_secs(3), "took {:?}", run.wall);
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    assert!(run.stderr.contains("ws://"), "names the cure: {}", run.stderr);
    assert!(!run.stderr.contains("--insecure"), "not the wrong cure: {}", run.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_that_dies_mid_run_is_said_once_and_its_cases_are_not_run() {
    let _turn = crate::support::turn(module_path!());
    let _turn = ONE_AT_A_TIME.lock().await;
    // the preflight and the first cases connect; then the server stops listening
    let server = HostileServer::start(Hostile::DiesAfter(6)).await;
    let dir = temp_dir("dies");
    let url = server.url();
    let args = [
        "conformance",
        url.as_str(),
        "--quiet",
        "--case-timeout",
        "500ms",
        "-j",
        "2",
        "--filter",
        "rfc6455/5.2/*",
        "--out",
        "run",
    ];
    let run = wsharness(&args, &dir, Duration::from_secs(60)).await;
    assert_eq!(run.code, Some(1), "{}{}", run.stdout, run.stderr);
    assert_eq!(run.stdout.matches("the target went away").count(), 1, "said once:\n{}", run.stdout);
    // the cases not run are one line (the verdict footer's own NOT RUN line names no case)
    let not_run_lines = run.stdout.lines().filter(|l| l.trim_start().starts_with("NOT RUN") && l.contains("rfc6455/"));
    assert_eq!(not_run_lines.count(), 1, "{}", run.stdout);
    assert!(run.stdout.contains("after rfc6455/5.2/"), "names the cases before: {}", run.stdout);
    assert!(run.stdout.lines().count() < 40, "no wall of identical lines:\n{}", run.stdout);
    let report = assert_three_outputs(&dir.join("run"));
    let not_run = report["cases"].as_array().expect("cases").iter().filter(|c| c["verdict"] == "NOT RUN").count();
    assert!(not_run > 40, "{not_run} cases not run");
    assert_eq!(report["summary"]["NOT RUN"].as_u64(), Some(not_run as u64));
    let junit = std::fs::read_to_string(dir.join("run/junit.xml")).expect("junit.xml");
    assert!(junit.matches("not run").count() >= not_run, "every not-run case says so in junit.xml");
    let html = std::fs::read_to_string(dir.join("run/report.html")).expect("report.html");
    assert!(html.contains("NOT RUN"), "the page shows the cases not run");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unwritable_out_is_refused_before_the_run() {
    let _turn = crate::support::turn(module_path!());
    let _turn = ONE_AT_A_TIME.lock().await;
    let dir = temp_dir("unwritable");
    std::fs::write(dir.join("a-file"), b"not a folder").expect("write");
    let run = wsharness(&["conformance", "--out", "a-file/run"], &dir, Duration::from_secs(10)).await;
    assert_eq!(run.code, Some(2), "{}{}", run.stdout, run.stderr);
    assert!(run.wall < Duration::from_secs(2), "refused before the run: took {:?}", run.wall);
    assert!(run.stderr.contains("a-file/run") && run.stderr.contains("--out"), "{}", run.stderr);
    assert!(run.stdout.is_empty(), "{}", run.stdout);
}

#[test]
fn cases_list_into_a_closed_pipe_exits_0_without_a_panic() {
    let _turn = crate::support::turn(module_path!());
    let mut child = Command::new(env!("CARGO_BIN_EXE_wsharness"))
        .args(["cases", "list"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("wsharness starts");
    let mut stdout = child.stdout.take().expect("piped stdout");
    let mut first = [0u8; 64];
    let n = std::io::Read::read(&mut stdout, &mut first).expect("a first line");
    assert!(n > 0);
    drop(stdout); // `| head -1` has read its line and gone
    let out = child.wait_with_output().expect("wsharness ends");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}
