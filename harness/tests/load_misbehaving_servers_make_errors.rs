//! A misbehaving server makes errors of the right kind in the report, never a crash or a hang,
//! with either driver (tokio, io_uring).

use std::time::{Duration, Instant};

use crate::load_support::{report, temp_dir, wsharness, Behavior, TestServer};

/// Runs against a server behaving so, once per driver; each run's (report, stdout, wall time).
fn run_against(behavior: Behavior, extra: &[&str], name: &str) -> Vec<(serde_json::Value, String, Duration)> {
    ["tokio", "io-uring"].iter().map(|io| run_one(behavior, extra, &format!("{name}-{io}"), io)).collect()
}

fn run_one(behavior: Behavior, extra: &[&str], name: &str, io: &str) -> (serde_json::Value, String, Duration) {
    let server = TestServer::start(behavior);
    let dir = temp_dir(name);
    let mut args = vec![
        "load",
        server.url.as_str(),
        "-c",
        "3",
        "-d",
        "1s",
        "--timeout",
        "1s",
        "--io",
        io,
        "--quiet",
        "--out",
        "run",
    ];
    args.extend_from_slice(extra);
    let started = Instant::now();
    let out = wsharness(&args, &dir);
    let elapsed = started.elapsed();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert_eq!(out.status.code(), Some(0), "{name}: {stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let r = report(&dir.join("run/report.json"));
    let _ = std::fs::remove_dir_all(&dir);
    (r, stdout, elapsed)
}

fn count(r: &serde_json::Value, detail: &str) -> u64 {
    r["errors"]["by_detail"][detail].as_u64().unwrap_or(0)
}

#[test]
fn a_503_is_a_handshake_status_error_per_connection() {
    let _turn = crate::support::turn(module_path!());
    for (r, stdout, _) in run_against(Behavior::Status503, &[], "503") {
        assert_eq!(count(&r, "handshake_status 503"), 3, "{}", r["errors"]);
        assert_eq!(r["errors"]["by_kind"]["handshake_status"], 3);
        assert_eq!(
            (r["summary"]["connections"].as_u64(), r["summary"]["connections_failed"].as_u64()),
            (Some(0), Some(3))
        );
        assert!(stdout.contains("handshake_status 503: 3"), "{stdout}");
    }
}

#[test]
fn a_close_mid_run_is_an_unexpected_close_with_its_code() {
    let _turn = crate::support::turn(module_path!());
    for (r, _, _) in run_against(Behavior::CloseAfter(5), &[], "close") {
        assert_eq!(count(&r, "unexpected_close 1001"), 3, "{}", r["errors"]);
        assert_eq!(r["summary"]["messages_received"], 15);
    }
}

#[test]
fn a_corrupted_echo_is_a_payload_mismatch() {
    let _turn = crate::support::turn(module_path!());
    for (r, _, _) in run_against(Behavior::Corrupt, &[], "corrupt") {
        let n = r["errors"]["by_kind"]["payload_mismatch"].as_u64().unwrap_or(0);
        assert!(n > 10, "{}", r["errors"]);
        assert_eq!(r["summary"]["messages_received"], 0);
    }
}

#[test]
fn a_silent_server_costs_echo_timeouts_within_the_timeout() {
    let _turn = crate::support::turn(module_path!());
    for (r, _, elapsed) in run_against(Behavior::Silent, &[], "silent") {
        assert_eq!(count(&r, "timeout echo"), 3, "{}", r["errors"]);
        assert!(elapsed < Duration::from_secs(6), "took {elapsed:?}");
    }
}

#[test]
fn a_masked_server_frame_is_a_protocol_error() {
    let _turn = crate::support::turn(module_path!());
    for (r, _, _) in run_against(Behavior::MaskedEcho, &[], "masked") {
        assert_eq!(count(&r, "protocol_error masked server frame"), 3, "{}", r["errors"]);
    }
}

#[test]
fn a_stall_longer_than_the_timeout_in_open_loop_ends_in_bounded_time() {
    let _turn = crate::support::turn(module_path!());
    let stall = Behavior::StallOnce { after: Duration::from_millis(300), stall: Duration::from_secs(5) };
    for (r, _, elapsed) in run_against(stall, &["--rate", "300"], "stall") {
        assert_eq!(count(&r, "timeout echo"), 3, "{}", r["errors"]);
        assert!(elapsed < Duration::from_secs(6), "took {elapsed:?}");
    }
}
