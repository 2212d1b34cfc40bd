//! `--churn R`: R connections a second close cleanly and open again, each reopening a timed
//! handshake, while the echoes keep being verified.

use crate::load_support::{report, temp_dir, wsharness};

#[test]
fn churn_closes_and_reopens_connections_at_its_rate_without_errors() {
    let _turn = crate::support::turn(module_path!());
    let dir = temp_dir("churn");
    let out = wsharness(&["load", "-c", "10", "--churn", "20", "-d", "2s", "--out", "run"], &dir);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("churn 20/s"), "{stdout}");
    let r = report(&dir.join("run/report.json"));
    assert_eq!(r["summary"]["errors"], 0, "{}", r["errors"]);
    assert_eq!(r["settings"]["churn_per_s"].as_f64(), Some(20.0));
    // 10 first connections, then about 20 a second for 2 s: every reopening is a handshake
    let handshakes = r["handshake_latency_us"]["count"].as_u64().unwrap_or(0);
    assert!((40..=60).contains(&handshakes), "{handshakes} handshakes\n{stdout}");
    assert_eq!(r["summary"]["connections"].as_u64(), Some(handshakes));
    assert!(r["summary"]["connections_peak"].as_u64().unwrap_or(99) <= 10, "{}", r["summary"]);
    assert!(r["summary"]["messages_received"].as_u64().unwrap_or(0) > 1000, "{}", r["summary"]);
}

#[test]
fn churn_that_is_not_a_positive_rate_or_asks_for_io_uring_is_one_line_and_exit_2() {
    let _turn = crate::support::turn(module_path!());
    let dir = temp_dir("churn-usage");
    for (args, says) in [
        (&["load", "--churn", "0"][..], "--churn must be a positive number"),
        (&["load", "--churn", "5", "--io", "io-uring"][..], "--churn reopens connections with the tokio driver"),
    ] {
        let out = wsharness(args, &dir);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    }
}
