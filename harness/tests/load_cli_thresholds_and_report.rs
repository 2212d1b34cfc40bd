//! `wsharness load` as a user runs it: a breached threshold exits 1 and says by how much, the report
//! carries the stable names CI reads, mistakes exit 2 with one line, Ctrl-C leaves an incomplete report.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::load_support::{report, temp_dir, wsharness};

#[test]
fn a_breached_threshold_exits_1_and_says_which_and_by_how_much() {
    let _turn = crate::support::turn(module_path!());
    let dir = temp_dir("threshold");
    let out = wsharness(
        &[
            "load",
            "-c",
            "2",
            "-d",
            "1s",
            "--threshold",
            "p99<1ns",
            "--threshold",
            "errors==0",
            "--quiet",
            "--out",
            "run",
        ],
        &dir,
    );
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(stdout.contains("✗ p99<1ns"), "{stdout}");
    assert!(stdout.contains("✓ errors==0"), "{stdout}");
    assert!(
        stderr.contains("threshold p99<1ns breached: observed ") && stderr.contains("over the limit by"),
        "{stderr}"
    );
    let r = report(&dir.join("run/report.json"));
    let t = r["thresholds"].as_array().expect("thresholds");
    assert_eq!(t.len(), 2);
    assert_eq!((t[0]["expr"].as_str(), t[0]["passed"].as_bool()), (Some("p99<1ns"), Some(false)));
    assert!(t[0]["observed"].as_str().unwrap().ends_with("µs") || t[0]["observed"].as_str().unwrap().ends_with("ms"));
    assert!(t[0]["detail"].as_str().unwrap().starts_with("over the limit by"), "{}", t[0]);
    assert_eq!(
        (t[1]["expr"].as_str(), t[1]["passed"].as_bool(), t[1]["observed"].as_str()),
        (Some("errors==0"), Some(true), Some("0"))
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn met_thresholds_exit_0_and_the_report_has_the_stable_names() {
    let _turn = crate::support::turn(module_path!());
    let dir = temp_dir("names");
    let out = wsharness(
        &[
            "load",
            "-c",
            "3",
            "-d",
            "1s",
            "--warmup",
            "200ms",
            "--in-flight",
            "4",
            "--ping-interval",
            "100ms",
            "--threshold",
            "p99<5s",
            "--threshold",
            "throughput>10",
            "--quiet",
            "--out",
            "run",
        ],
        &dir,
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        stdout.contains("Latency Distribution") && stdout.contains(" 99.900%") && stdout.contains("Messages/sec:"),
        "{stdout}"
    );
    let r = report(&dir.join("run/report.json"));
    assert_eq!(r["kind"], "load");
    assert_eq!(r["schema_version"], 1);
    assert_eq!(r["complete"], true);
    let s = &r["summary"];
    assert!(s["throughput_per_s"].as_f64().unwrap() > 10.0);
    let (sent, received) = (s["messages_sent"].as_u64().unwrap(), s["messages_received"].as_u64().unwrap());
    assert!(sent > 100 && received == sent, "{s}");
    assert_eq!(s["errors"], 0);
    assert_eq!(s["connections"], 3);
    for block in ["latency_us", "handshake_latency_us"] {
        for key in ["p50", "p90", "p99", "p999", "max"] {
            assert!(r[block][key].as_u64().is_some(), "{block}.{key}");
        }
        assert!(r[block]["p50"].as_u64().unwrap() <= r[block]["p99"].as_u64().unwrap());
        assert!(r[block]["p99"].as_u64().unwrap() <= r[block]["max"].as_u64().unwrap());
    }
    assert_eq!(r["latency_us"]["count"].as_u64(), Some(received));
    assert_eq!(r["handshake_latency_us"]["count"], 3);
    assert!(r["ping_latency_us"]["count"].as_u64().unwrap() >= 3, "{}", r["ping_latency_us"]);
    // a per-second series with the warmup marked and every point's numbers
    let series = r["series"].as_array().unwrap();
    assert!(series.iter().any(|p| p["phase"] == "warmup") && series.iter().any(|p| p["phase"] == "measured"));
    for p in series {
        for key in ["t_ms", "sent", "received", "throughput_per_s", "p50_us", "p99_us", "errors", "open_connections"] {
            assert!(!p[key].is_null(), "series point lacks {key}: {p}");
        }
    }
    // the lossless histogram decodes to the reported count
    let h = reports::load::decode_histogram(r["histograms"]["latency"].as_str().unwrap()).unwrap();
    assert_eq!(h.len(), received);
    assert!(r["thresholds"].as_array().unwrap().iter().all(|t| t["passed"] == true));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn count_bounded_runs_send_exactly_that_many_measured_messages() {
    let _turn = crate::support::turn(module_path!());
    let dir = temp_dir("messages");
    let out = wsharness(
        &[
            "load",
            "-c",
            "5",
            "--messages",
            "1234",
            "--in-flight",
            "3",
            "--binary",
            "--size",
            "10..200",
            "--quiet",
            "--out",
            "run",
        ],
        &dir,
    );
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let r = report(&dir.join("run/report.json"));
    assert_eq!(r["summary"]["messages_sent"], 1234);
    assert_eq!(r["summary"]["messages_received"], 1234);
    assert_eq!(r["settings"]["message_type"], "binary");
    assert_eq!(r["settings"]["size"], "10..200");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn mistakes_exit_2_with_one_line_naming_the_problem() {
    let _turn = crate::support::turn(module_path!());
    let dir = temp_dir("mistakes");
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    for (args, needle) in [
        (vec!["load".to_string(), format!("ws://127.0.0.1:{port}/")], "cannot reach"),
        (vec!["load".into(), "http://127.0.0.1:1/".into()], "not a WebSocket URL"),
        (vec!["load".into(), "--threshold".into(), "p99<5".into()], "--threshold 'p99<5'"),
        (vec!["load".into(), "--size".into(), "lots".into()], "--size 'lots'"),
        (vec!["load".into(), "--shard".into(), "3/3".into()], "--shard '3/3'"),
        (vec!["load".into(), "-c".into(), "0".into()], "--connections must be at least 1"),
    ] {
        let started = Instant::now();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = wsharness(&args, &dir);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "{args:?}: {stderr}");
        assert!(started.elapsed() < Duration::from_secs(5));
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn ctrl_c_writes_a_report_marked_incomplete_and_exits_130() {
    let _turn = crate::support::turn(module_path!());
    let dir = temp_dir("ctrl-c");
    let child = Command::new(env!("CARGO_BIN_EXE_wsharness"))
        .args(["load", "-c", "4", "-d", "60s", "--quiet", "--out", "run"])
        .current_dir(&dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    // SAFETY: signalling our own child process by its id
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGINT) }, 0);
    let started = Instant::now();
    let out = child.wait_with_output().unwrap();
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(out.status.code(), Some(130), "{}", String::from_utf8_lossy(&out.stderr));
    let r = report(&dir.join("run/report.json"));
    assert_eq!(r["complete"], false);
    assert!(r["summary"]["messages_received"].as_u64().unwrap() > 0);
    assert_eq!(r["summary"]["errors"], 0, "interrupting is not the server's fault: {}", r["errors"]);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_unwritable_out_is_refused_before_any_connection() {
    let _turn = crate::support::turn(module_path!());
    let dir = temp_dir("unwritable");
    std::fs::write(dir.join("a-file"), b"not a folder").expect("write");
    let started = Instant::now();
    let out = wsharness(&["load", "-c", "2", "-d", "5s", "--quiet", "--out", "a-file/run"], &dir);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(started.elapsed() < Duration::from_secs(3), "refused before the 5 s run: {:?}", started.elapsed());
    assert!(stderr.contains("a-file/run") && stderr.contains("--out"), "{stderr}");
}

#[test]
fn connections_the_run_ended_before_they_opened_are_counted_and_named() {
    let _turn = crate::support::turn(module_path!());
    let dir = temp_dir("not-tried");
    // a server that never answers a handshake: with one handshake slot, the first connection holds it
    // until its timeout, past the end of the measured phase; the other 49 never get to try
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("ws://{}/", listener.local_addr().expect("addr"));
    let out = wsharness(
        &[
            "load",
            &url,
            "-c",
            "50",
            "--max-handshakes",
            "1",
            "--timeout",
            "1s",
            "-d",
            "500ms",
            "--threshold",
            "connections==50",
            "--quiet",
            "--out",
            "run",
        ],
        &dir,
    );
    drop(listener);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("NOT OPENED: 49 of 50 connections never opened"), "{stdout}");
    let s = report(&dir.join("run/report.json"))["summary"].clone();
    assert_eq!(
        (s["connections"].as_u64(), s["connections_failed"].as_u64(), s["connections_not_tried"].as_u64()),
        (Some(0), Some(1), Some(49)),
        "{s}"
    );
}
