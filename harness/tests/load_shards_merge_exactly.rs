//! Three shards run as separate processes against one server; `wsharness merge` gives the counts of
//! the whole and the percentiles of one histogram of every sample (not averages of percentiles).

use std::process::{Command, Stdio};

use crate::load_support::{report, temp_dir, wsharness, Behavior, TestServer};
use reports::load::{decode_histogram, new_histogram, Percentiles};

#[test]
fn merged_report_of_three_shards_equals_one_histogram_of_all_samples() {
    let _turn = crate::support::turn(module_path!());
    let server = TestServer::start(Behavior::Echo);
    let dir = temp_dir("shards");
    let children: Vec<_> = (0..3)
        .map(|i| {
            Command::new(env!("CARGO_BIN_EXE_wsharness"))
                .args(["load", &server.url, "-c", "7", "--messages", "3001", "--in-flight", "2", "--quiet"])
                .args(["--shard", &format!("{i}/3"), "--out", &format!("shard{i}")])
                .current_dir(&dir)
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let shards: Vec<serde_json::Value> = (0..3).map(|i| report(&dir.join(format!("shard{i}/report.json")))).collect();
    // 7 connections split 3/2/2, 3001 messages split 1001/1000/1000
    let conns: Vec<u64> = shards.iter().map(|r| r["summary"]["connections"].as_u64().unwrap()).collect();
    assert_eq!(conns, [3, 2, 2]);
    let sent: Vec<u64> = shards.iter().map(|r| r["summary"]["messages_sent"].as_u64().unwrap()).collect();
    assert_eq!(sent, [1001, 1000, 1000]);

    let out = wsharness(
        &["merge", "shard0/report.json", "shard1/report.json", "shard2/report.json", "--out", "total.json"],
        &dir,
    );
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let merged = report(&dir.join("total.json"));
    assert_eq!(merged["kind"], "load");
    assert_eq!(merged["summary"]["messages_sent"], 3001);
    assert_eq!(merged["summary"]["messages_received"], 3001);
    assert_eq!(merged["summary"]["connections"], 7);
    assert_eq!(merged["summary"]["errors"], 0);
    assert_eq!(merged["merged_from"].as_array().unwrap().len(), 3);

    // one histogram of every sample, recorded value by value from the shards' lossless histograms
    let mut all = new_histogram();
    for r in &shards {
        let h = decode_histogram(r["histograms"]["latency"].as_str().unwrap()).unwrap();
        for v in h.iter_recorded() {
            for _ in 0..v.count_at_value() {
                all.record(v.value_iterated_to()).unwrap();
            }
        }
    }
    assert_eq!(all.len(), 3001);
    let merged_hist = decode_histogram(merged["histograms"]["latency"].as_str().unwrap()).unwrap();
    assert_eq!(merged_hist, all, "the merged histogram is the histogram of all samples");
    let expect = serde_json::to_value(Percentiles::of(&all)).unwrap();
    assert_eq!(merged["latency_us"], expect);
    // handshakes too: one per connection
    assert_eq!(merged["handshake_latency_us"]["count"], 7);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn merging_something_that_is_not_a_load_report_exits_2() {
    let _turn = crate::support::turn(module_path!());
    let dir = temp_dir("merge-bad");
    std::fs::write(dir.join("x.json"), "{\"kind\": \"conformance\"}").unwrap();
    let out = wsharness(&["merge", "x.json", "missing.json", "--out", "t.json"], &dir);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("x.json is not a load report"));
    let _ = std::fs::remove_dir_all(&dir);
}
