//! Hostile servers (floods, pings without reading, a message without end, a slow reader) cost each
//! connection one error with a reason, never the run's memory or time, on both drivers; Ctrl-C
//! ends a run during a flood at once. Every run is measured from outside: its wall time against
//! `--duration` + drain (`--timeout`) + [`SLACK`], its peak resident memory against [`MAX_RSS_KIB`].
//!
//! `cargo test -p wsharness --test load_hostile_servers_cost_errors_not_memory -- --nocapture`
//! prints each run's figures.

use std::path::Path;
use std::time::Duration;

use crate::load_support::hostile::{Hostile, HostileServer};
use crate::load_support::{temp_dir, wsharness_measured};

/// Measured phase of every run here.
const DURATION: Duration = Duration::from_secs(2);
/// `--timeout`, which is also the longest drain.
const TIMEOUT: Duration = Duration::from_secs(1);
/// What a run may take beyond its measured phase and drain: start-up, the report, and a debug
/// build sharing two cores with the hostile server and another test.
const SLACK: Duration = Duration::from_secs(2);
/// Peak resident memory of a run, KiB: measured at 18-22 MiB (tokio) and 25-32 MiB (io_uring)
/// for every server here (debug build); the build before the caps took 133 MB within the ping
/// flood's first second (`WSHARNESS_BIN`, see `crate::load_support::binary`). Twice the largest leaves
/// room for a busier machine, none for a pile-up.
const MAX_RSS_KIB: u64 = 64 * 1024;
/// Connections per run.
const CONNECTIONS: u64 = 2;
/// Messages that fill the kernel's send buffer at once (Linux grows it up to 4 MB), so that the
/// pongs a ping flood owes pile up in the generator within milliseconds and the write cap is what
/// ends the connection; with 64-byte messages the kernel holds seconds of pongs first, and the
/// echo timeout ends it.
const LARGE_IN_FLIGHT: &[&str] = &["--size", "1MiB", "--in-flight", "4", "--binary"];

/// One run against a hostile server.
struct Run {
    io: &'static str,
    report: serde_json::Value,
}

/// Runs against a server behaving so, once per driver (io_uring skipped where the kernel refuses it).
fn runs(behavior: Hostile, name: &str, extra: &[&str]) -> Vec<Run> {
    ["tokio", "io-uring"].into_iter().filter_map(|io| run_one(behavior, &format!("{name}-{io}"), io, extra)).collect()
}

fn run_one(behavior: Hostile, name: &str, io: &'static str, extra: &[&str]) -> Option<Run> {
    let server = HostileServer::start(behavior);
    let dir = temp_dir(name);
    let (duration, timeout) = (secs(DURATION), secs(TIMEOUT));
    let args = [
        "load",
        server.url.as_str(),
        "-c",
        "2",
        "-d",
        duration.as_str(),
        "--timeout",
        timeout.as_str(),
        "--io",
        io,
        "--threshold",
        "errors==0",
        "--quiet",
        "--out",
        "run",
    ];
    let args = [&args[..], extra].concat();
    let budget = DURATION + TIMEOUT + SLACK;
    let measured = wsharness_measured(&args, &dir, budget + Duration::from_secs(20), None);
    if io == "io-uring" && measured.code == Some(2) && measured.stderr.contains("io_uring is not available") {
        eprintln!("{name}: io_uring unavailable here, nothing to check: {}", measured.stderr);
        return None;
    }
    let report = outputs(&dir.join("run"), name);
    eprintln!(
        "{name}: exit {:?}, wall {:.2} s, peak RSS {} KiB, errors {}",
        measured.code,
        measured.wall.as_secs_f64(),
        measured.max_rss_kib,
        report["errors"]["by_detail"]
    );
    assert!(measured.wall < budget, "{name}: took {:?}, budget {budget:?}", measured.wall);
    assert!(measured.max_rss_kib < MAX_RSS_KIB, "{name}: peak RSS {} KiB", measured.max_rss_kib);
    // errors, and a threshold on them: exit 1
    assert_eq!(measured.code, Some(1), "{name}: {}\n{}", measured.stdout, measured.stderr);
    let junit = std::fs::read_to_string(dir.join("run/junit.xml")).expect("junit.xml");
    assert!(junit.contains("errors==0") && junit.contains("<failure"), "{name}: {junit}");
    assert_eq!(report["complete"], true, "{name}");
    assert_eq!(report["generator"]["io"], if io == "tokio" { "tokio" } else { "io_uring" });
    let timeouts = report["errors"]["by_kind"]["timeout"].as_u64().unwrap_or(0);
    let sent = report["summary"]["messages_sent"].as_u64().unwrap_or(0);
    assert!(timeouts <= sent, "{name}: {timeouts} timeouts for {sent} messages sent");
    let _ = std::fs::remove_dir_all(&dir);
    Some(Run { io, report })
}

fn secs(d: Duration) -> String {
    format!("{}s", d.as_secs())
}

/// Checks that report.json, report.html and junit.xml are in `dir`, whole, with no temporary file
/// left beside them; returns the report.
fn outputs(dir: &Path, name: &str) -> serde_json::Value {
    let files: Vec<String> = std::fs::read_dir(dir)
        .expect("the output folder exists")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert!(files.iter().all(|f| !f.ends_with(".tmp")), "{name}: {files:?}");
    assert!(reports::read_report(&dir.join("report.json")).is_ok(), "{name}: report.json reads as a report");
    let html = std::fs::read_to_string(dir.join("report.html")).expect("report.html");
    assert!(html.starts_with("<!DOCTYPE html>") && html.trim_end().ends_with("</html>"), "{name}: report.html");
    let junit = std::fs::read_to_string(dir.join("junit.xml")).expect("junit.xml");
    assert!(well_formed(&junit), "{name}: junit.xml is not well-formed: {junit}");
    serde_json::from_slice(&std::fs::read(dir.join("report.json")).expect("report.json")).expect("JSON")
}

/// Whether XML text has one root and every element closed in order (enough for a generated file).
fn well_formed(xml: &str) -> bool {
    let mut open: Vec<&str> = Vec::new();
    let mut roots = 0;
    let mut rest = xml.trim();
    while let Some(start) = rest.find('<') {
        let Some(len) = rest[start..].find('>') else { return false };
        let tag = &rest[start + 1..start + len];
        rest = &rest[start + len + 1..];
        if tag.starts_with('?') || tag.starts_with('!') {
            continue;
        }
        if let Some(name) = tag.strip_prefix('/') {
            if open.pop() != Some(name.trim()) {
                return false;
            }
            continue;
        }
        if open.is_empty() {
            roots += 1;
        }
        if !tag.ends_with('/') {
            open.push(tag.split_whitespace().next().unwrap_or(""));
        }
    }
    open.is_empty() && roots == 1
}

fn by_kind(run: &Run) -> Vec<(String, u64)> {
    let kinds = run.report["errors"]["by_kind"].as_object().cloned().unwrap_or_default();
    kinds.into_iter().map(|(k, v)| (k, v.as_u64().unwrap_or(0))).collect()
}

fn count(run: &Run, detail: &str) -> u64 {
    run.report["errors"]["by_detail"][detail].as_u64().unwrap_or(0)
}

#[test]
fn a_data_flood_costs_each_connection_one_unsolicited_message() {
    let _turn = crate::support::turn(module_path!());
    for run in runs(Hostile::DataFlood, "data-flood", &[]) {
        // the flood's first frame may be taken as the echo of the first message (a mismatch)
        assert_eq!(count(&run, "unsolicited_message"), CONNECTIONS, "{}: {}", run.io, run.report["errors"]);
        assert!(count(&run, "payload_mismatch") <= CONNECTIONS, "{}: {}", run.io, run.report["errors"]);
        assert!(by_kind(&run).iter().all(|(k, _)| k == "unsolicited_message" || k == "payload_mismatch"));
    }
}

#[test]
fn pings_without_reading_cost_each_connection_peer_not_reading() {
    let _turn = crate::support::turn(module_path!());
    for run in runs(Hostile::PingFlood, "ping-flood", LARGE_IN_FLIGHT) {
        assert_eq!(by_kind(&run), [("peer_not_reading".to_string(), CONNECTIONS)], "{}", run.io);
    }
}

#[test]
fn a_message_without_end_costs_each_connection_echo_too_long() {
    let _turn = crate::support::turn(module_path!());
    for run in runs(Hostile::EndlessMessage, "endless", &[]) {
        assert_eq!(by_kind(&run), [("echo_too_long".to_string(), CONNECTIONS)], "{}", run.io);
    }
}

#[test]
fn a_slow_reader_that_floods_pings_costs_each_connection_peer_not_reading() {
    let _turn = crate::support::turn(module_path!());
    for run in runs(Hostile::SlowReaderPingFlood, "slow-reader", LARGE_IN_FLIGHT) {
        assert_eq!(by_kind(&run), [("peer_not_reading".to_string(), CONNECTIONS)], "{}", run.io);
    }
}

#[test]
fn a_flood_of_unsolicited_pongs_is_ignored_and_the_echo_times_out_once_per_message() {
    let _turn = crate::support::turn(module_path!());
    for run in runs(Hostile::PongFlood, "pong-flood", &[]) {
        // one message in flight per connection, never echoed: one echo timeout each, on time
        assert_eq!(by_kind(&run), [("timeout".to_string(), CONNECTIONS)], "{}", run.io);
        assert_eq!(count(&run, "timeout echo"), CONNECTIONS, "{}", run.io);
        assert_eq!(run.report["summary"]["messages_sent"], CONNECTIONS, "{}", run.io);
    }
}

#[test]
fn a_flood_of_frames_with_rsv1_set_costs_each_connection_a_protocol_error() {
    let _turn = crate::support::turn(module_path!());
    for run in runs(Hostile::Rsv1Flood, "rsv1-flood", &[]) {
        assert_eq!(count(&run, "protocol_error rsv bits set"), CONNECTIONS, "{}: {}", run.io, run.report["errors"]);
        assert_eq!(by_kind(&run).len(), 1, "{}: {}", run.io, run.report["errors"]);
    }
}

#[test]
fn a_correct_server_that_floods_pongs_between_its_echoes_is_measured_for_the_whole_run() {
    let _turn = crate::support::turn(module_path!());
    for io in ["tokio", "io-uring"] {
        let name = format!("echo-under-flood-{io}");
        let server = HostileServer::start(Hostile::EchoUnderPongFlood);
        let dir = temp_dir(&name);
        let (duration, timeout) = (secs(DURATION), secs(TIMEOUT));
        let args = ["load", server.url.as_str(), "-c", "2", "-d", duration.as_str(), "--timeout", timeout.as_str()];
        let args = [&args[..], &["--io", io, "--threshold", "errors==0", "--quiet", "--out", "run"]].concat();
        let budget = DURATION + TIMEOUT + SLACK;
        let m = wsharness_measured(&args, &dir, budget + Duration::from_secs(20), None);
        if io == "io-uring" && m.code == Some(2) && m.stderr.contains("io_uring is not available") {
            eprintln!("{name}: io_uring unavailable here, nothing to check");
            continue;
        }
        let r = outputs(&dir.join("run"), &name);
        let received = r["summary"]["messages_received"].as_u64().unwrap_or(0);
        // echoes in each second of the measured phase
        let per_second: Vec<u64> = r["series"]
            .as_array()
            .map(|s| {
                s.iter().filter(|p| p["phase"] == "measured").map(|p| p["received"].as_u64().unwrap_or(0)).collect()
            })
            .unwrap_or_default();
        eprintln!(
            "{name}: exit {:?}, wall {:.2} s, peak RSS {} KiB, {received} echoes {per_second:?}, errors {}",
            m.code,
            m.wall.as_secs_f64(),
            m.max_rss_kib,
            r["errors"]["by_detail"]
        );
        // every echo found among the pongs, all through the run, and the closing handshake
        // completed: no error
        assert_eq!(m.code, Some(0), "{name}: {}\n{}", m.stdout, m.stderr);
        assert_eq!(r["summary"]["errors"], 0, "{name}: {}", r["errors"]);
        assert!(!per_second.is_empty() && per_second.iter().all(|n| *n > 0), "{name}: echoes {per_second:?}");
        assert!(m.wall >= DURATION && m.wall < budget, "{name}: took {:?}, budget {budget:?}", m.wall);
        assert!(m.max_rss_kib < MAX_RSS_KIB, "{name}: peak RSS {} KiB", m.max_rss_kib);
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[test]
fn ctrl_c_during_a_flood_ends_the_run_at_once_with_an_incomplete_report() {
    let _turn = crate::support::turn(module_path!());
    for io in ["tokio", "io-uring"] {
        let name = format!("sigint-{io}");
        let server = HostileServer::start(Hostile::PongFlood);
        let dir = temp_dir(&name);
        // one connection: the flood has a core of its own and outruns the parser
        let args = ["load", server.url.as_str(), "-c", "1", "-d", "60s", "--timeout", "30s", "--io", io];
        let args = [&args[..], &["--quiet", "--out", "run"]].concat();
        let m = wsharness_measured(&args, &dir, Duration::from_secs(30), Some(Duration::from_millis(1500)));
        if io == "io-uring" && m.code == Some(2) && m.stderr.contains("io_uring is not available") {
            eprintln!("{name}: io_uring unavailable here, nothing to check");
            continue;
        }
        let after = m.after_sigint.expect("SIGINT sent");
        eprintln!(
            "{name}: exit {:?}, {:.2} s after SIGINT, wall {:.2} s, peak RSS {} KiB",
            m.code,
            after.as_secs_f64(),
            m.wall.as_secs_f64(),
            m.max_rss_kib
        );
        assert_eq!(m.code, Some(130), "{name}: {}", m.stderr);
        assert!(after < Duration::from_secs(2), "{name}: ended {after:?} after SIGINT");
        assert!(m.max_rss_kib < MAX_RSS_KIB, "{name}: peak RSS {} KiB", m.max_rss_kib);
        let r = outputs(&dir.join("run"), &name);
        assert_eq!(r["complete"], false, "{name}");
        assert_eq!(r["summary"]["errors"], 0, "{name}: interrupting is not the server's fault: {}", r["errors"]);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
