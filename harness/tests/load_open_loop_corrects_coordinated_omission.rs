//! Open loop against a server that stalls for 1 s mid-run: the corrected p99.9 shows the stall, the
//! uncorrected one (what a naive tool reports) hides it, as in wrk2.

use crate::load_support::{report, temp_dir, wsharness, Behavior, TestServer};
use std::time::Duration;

#[test]
fn corrected_p999_shows_a_one_second_stall_and_uncorrected_p999_does_not() {
    let _turn = crate::support::turn(module_path!());
    let server =
        TestServer::start(Behavior::StallOnce { after: Duration::from_secs(2), stall: Duration::from_secs(1) });
    let dir = temp_dir("co");
    // 2000 messages/s over 4 connections for 6 s: 12,000 measured messages, one outstanding per connection
    let out = wsharness(
        &["load", &server.url, "-c", "4", "--rate", "2000", "-d", "6s", "--in-flight", "1", "--quiet", "--out", "run"],
        &dir,
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let r = report(&dir.join("run/report.json"));
    assert_eq!(r["settings"]["loop_mode"], "open");
    assert_eq!(r["summary"]["errors"], 0, "{}", r["errors"]);
    let sent = r["summary"]["messages_sent"].as_u64().unwrap();
    assert!((11_000..=12_100).contains(&sent), "sent {sent}");
    assert_eq!(r["summary"]["messages_received"].as_u64(), Some(sent));

    let corrected = r["latency_us"]["p999"].as_u64().unwrap();
    let uncorrected = r["latency_uncorrected_us"]["p999"].as_u64().unwrap();
    let uncorrected_max = r["latency_uncorrected_us"]["max"].as_u64().unwrap();
    eprintln!(
        "corrected p99.9 {corrected} µs, uncorrected p99.9 {uncorrected} µs, uncorrected max {uncorrected_max} µs"
    );
    // about 1 s: the messages scheduled during the stall waited for it
    assert!((800_000..=1_300_000).contains(&corrected), "corrected p99.9 {corrected} µs\n{stdout}");
    // the four messages caught in the stall are the only slow ones the naive measure sees
    assert!(uncorrected < 100_000, "uncorrected p99.9 {uncorrected} µs\n{stdout}");
    assert!(uncorrected_max >= 800_000, "uncorrected max {uncorrected_max} µs");
    // the stall spreads over many corrected samples: p99 is high as well, uncorrected p99 is not
    assert!(r["latency_us"]["p90"].as_u64().unwrap() > 100_000, "{}", r["latency_us"]);
    assert!(r["latency_uncorrected_us"]["p99"].as_u64().unwrap() < 100_000, "{}", r["latency_uncorrected_us"]);
    // with one message in flight, the stall held sending back: the report says so
    assert_eq!(r["summary"]["schedule"]["behind"], true, "{}", r["summary"]["schedule"]);
    assert!(stdout.contains("sending fell behind the schedule"), "{stdout}");
    assert!(stdout.contains("Uncorrected Latency"), "{stdout}");
    let _ = std::fs::remove_dir_all(&dir);
}
