//! The io_uring driver (connections parked in fixed-file tables) measures what the tokio driver does:
//! exact counts, verified echoes, pings, and errors of the right kind from a misbehaving server.

use crate::load_support::{report, temp_dir, wsharness_env, Behavior, TestServer};

/// Runs with `--io io-uring`; `None` when the kernel refuses io_uring (the run says so and exits 2).
fn run(url: &str, extra: &[&str], name: &str) -> Option<serde_json::Value> {
    run_env(url, extra, name, &[])
}

/// [`run`] with these environment variables.
fn run_env(url: &str, extra: &[&str], name: &str, env: &[(&str, &str)]) -> Option<serde_json::Value> {
    let dir = temp_dir(name);
    let mut args = vec!["load", url, "--io", "io-uring", "--timeout", "1s", "--quiet", "--out", "run"];
    args.extend_from_slice(extra);
    let out = wsharness_env(&args, &dir, env);
    let stderr = String::from_utf8_lossy(&out.stderr);
    if out.status.code() == Some(2) && stderr.contains("io_uring is not available") {
        eprintln!("io_uring unavailable here, nothing to check: {stderr}");
        return None;
    }
    assert_eq!(out.status.code(), Some(0), "{name}: {stderr}");
    let r = report(&dir.join("run/report.json"));
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(r["generator"]["io"], "io_uring");
    Some(r)
}

#[test]
fn counts_are_exact_and_pings_are_timed_through_io_uring() {
    let _turn = crate::support::turn(module_path!());
    let server = TestServer::start(Behavior::Echo);
    let extra = ["-c", "6", "--messages", "3000", "--in-flight", "4", "--ping-interval", "50ms", "--size", "1..300"];
    let Some(r) = run(&server.url, &extra, "uring-exact") else { return };
    assert_eq!(r["summary"]["messages_sent"], 3000);
    assert_eq!(r["summary"]["messages_received"], 3000);
    assert_eq!(r["summary"]["errors"], 0, "{}", r["errors"]);
    assert_eq!(r["summary"]["connections"], 6);
    assert_eq!(r["latency_us"]["count"], 3000);
}

#[test]
fn a_close_mid_run_is_an_unexpected_close_through_io_uring() {
    let _turn = crate::support::turn(module_path!());
    let server = TestServer::start(Behavior::CloseAfter(5));
    let Some(r) = run(&server.url, &["-c", "3", "-d", "1s"], "uring-close") else { return };
    assert_eq!(r["errors"]["by_detail"]["unexpected_close 1001"], 3, "{}", r["errors"]);
    assert_eq!(r["summary"]["messages_received"], 15);
}

#[test]
fn a_silent_server_costs_echo_timeouts_through_io_uring() {
    let _turn = crate::support::turn(module_path!());
    let server = TestServer::start(Behavior::Silent);
    let Some(r) = run(&server.url, &["-c", "3", "-d", "1s"], "uring-silent") else { return };
    assert_eq!(r["errors"]["by_detail"]["timeout echo"], 3, "{}", r["errors"]);
}

#[test]
fn counts_stay_exact_when_echoes_outrun_the_receive_buffers() {
    let _turn = crate::support::turn(module_path!());
    // 4 receive buffers of 4 KiB for 8 connections with 4 messages of 16 KiB in flight each: every
    // echo spans buffers and receives end for want of one (ENOBUFS), to be re-armed
    let server = TestServer::start(Behavior::Echo);
    let extra = ["-c", "8", "--messages", "2000", "--in-flight", "4", "--size", "16384", "--binary"];
    let env = [("WSHARNESS_URING_BUFFERS", "4,4096")];
    let Some(r) = run_env(&server.url, &extra, "uring-enobufs", &env) else { return };
    assert_eq!(r["summary"]["messages_sent"], 2000);
    assert_eq!(r["summary"]["messages_received"], 2000);
    assert_eq!(r["summary"]["errors"], 0, "{}", r["errors"]);
}
