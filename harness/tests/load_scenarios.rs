//! `wsharness load --scenario`: the shipped scenarios against the example application, replies
//! matched by id and out of order with none given to the wrong request, per-step histograms and
//! thresholds, and a mistake in a scenario file as `file:line` and exit 2.

use std::path::PathBuf;

use crate::load_support::{report, temp_dir, wsharness};

/// The example server on a free port, in its own runtime thread; its URL.
fn example_server() -> String {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let Ok(rt) = tokio::runtime::Runtime::new() else { return };
        rt.block_on(async move {
            let options = example_server::Options { jitter: std::time::Duration::from_millis(3), ..Default::default() };
            let Ok(server) = example_server::Server::bind("127.0.0.1:0".parse().expect("addr"), options).await else {
                return;
            };
            let _ = tx.send(server.local_addr().map(|a| format!("ws://{a}")));
            server.run().await;
        });
    });
    rx.recv().expect("the example server starts").expect("its address")
}

fn scenario(name: &str) -> String {
    let path: PathBuf = [env!("CARGO_MANIFEST_DIR"), "..", "scenarios", name].iter().collect();
    path.display().to_string()
}

#[test]
fn json_rpc_with_sixteen_in_flight_and_reordered_replies_gives_no_reply_to_the_wrong_request() {
    let _turn = crate::support::turn(module_path!());
    let url = example_server();
    let dir = temp_dir("scenario-rpc");
    let file = scenario("jsonrpc.toml");
    let args = ["load", "--scenario", &file, &url, "-d", "2s", "--threshold", "step.call.timeouts==0", "--out", "run"];
    let out = wsharness(&args, &dir);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let r = crate::reports_written_by_runs::assert_valid(&dir.join("run/report.json"));
    let sc = &r["scenario"];
    let call = &sc["steps"][0];
    assert_eq!(call["name"], "call");
    // each reply had to carry its own request's id, connection and send time: one given to another
    // request would have matched nothing (unsolicited) and left its own to time out
    assert!(call["latency_us"]["count"].as_u64().unwrap_or(0) > 1000, "{call}");
    assert_eq!(call["timeouts"], 0, "{call}");
    assert_eq!(sc["roles"][0]["unsolicited"], 0, "{}", sc["roles"]);
    assert_eq!(r["summary"]["errors"], 0, "{}", r["errors"]);
    assert_eq!(r["thresholds"][0]["passed"], true);
    let html = std::fs::read_to_string(dir.join("run/report.html")).unwrap_or_default();
    assert!(html.contains("id=\"steps\"") && html.contains("<td class=\"mono\">call</td>"), "the page lists the steps");
}

#[test]
fn a_graphql_transport_ws_flow_runs_setup_once_then_subscribe_next_complete() {
    let _turn = crate::support::turn(module_path!());
    let url = example_server();
    let dir = temp_dir("scenario-graphql");
    let file = scenario("graphql-subscription.toml");
    let out = wsharness(&["load", "--scenario", &file, &url, "-d", "2s", "--out", "run"], &dir);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let r = report(&dir.join("run/report.json"));
    let steps = &r["scenario"]["steps"];
    let count = |name: &str| {
        let step = steps.as_array().and_then(|s| s.iter().find(|s| s["name"] == name)).cloned().unwrap_or_default();
        (step["latency_us"]["count"].as_u64().unwrap_or(0), step["timeouts"].as_u64().unwrap_or(99))
    };
    let connections = r["scenario"]["roles"][0]["connections"].as_u64().unwrap_or(0);
    assert_eq!(count("ack"), (connections, 0), "one connection_ack per connection");
    let (completes, timeouts) = count("complete");
    assert!(completes > 100 && timeouts == 0, "{steps}");
    // every complete closed a subscription that had its five next messages (some may be in flight at the end)
    let (nexts, _) = count("next");
    assert!(nexts >= 5 * completes && nexts <= 5 * completes + 5 * 80, "{nexts} next, {completes} complete");
    assert_eq!(r["scenario"]["roles"][0]["unsolicited"], 0);
    assert_eq!(r["summary"]["errors"], 0, "{}", r["errors"]);
}

#[test]
fn a_step_threshold_breaks_and_a_mistake_in_the_file_is_its_line_and_exit_2() {
    let _turn = crate::support::turn(module_path!());
    let dir = temp_dir("scenario-mistakes");
    // against the embedded reference server, the echo scenario: a 1 ns p99 cannot hold
    let file = scenario("echo-text.toml");
    let out =
        wsharness(&["load", "--scenario", &file, "-d", "1s", "--threshold", "step.echo.p99<1ns", "--out", "run"], &dir);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("step.echo.p99<1ns"), "{stderr}");
    // an open-loop scenario: the schedule is judged as for echo runs, and the report is valid
    let r = crate::reports_written_by_runs::assert_valid(&dir.join("run/report.json"));
    assert!(r["summary"]["schedule"]["planned"].as_u64().unwrap_or(0) > 1000, "{}", r["summary"]);
    std::fs::write(dir.join("bad.toml"), "[[role]]\nname = \"r\"\n[[role.step]]\nsend = \"{{sequence}}\"\n")
        .expect("write");
    let out = wsharness(&["load", "--scenario", "bad.toml"], &dir);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("bad.toml:3: unknown variable {{sequence}}"), "{stderr}");
}

/// The example server with `delay` on every message it sends, on a free port; its URL.
fn example_server_delayed(delay: std::time::Duration) -> String {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let Ok(rt) = tokio::runtime::Runtime::new() else { return };
        rt.block_on(async move {
            let options = example_server::Options { delay, ..Default::default() };
            let Ok(server) = example_server::Server::bind("127.0.0.1:0".parse().expect("addr"), options).await else {
                return;
            };
            let _ = tx.send(server.local_addr().map(|a| format!("ws://{a}")));
            server.run().await;
        });
    });
    rx.recv().expect("the example server starts").expect("its address")
}

/// A fan-out run of `scenarios/fanout.toml` with 200 receivers against `url`: its delivery report.
fn fanout(url: &str, dir: &std::path::Path) -> serde_json::Value {
    let file = scenario("fanout.toml");
    std::fs::write(
        dir.join("fanout.toml"),
        std::fs::read_to_string(&file).expect("read").replace("connections = 1000", "connections = 200"),
    )
    .expect("write");
    let out = wsharness(&["load", "--scenario", "fanout.toml", url, "-d", "2s", "--out", "run"], dir);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    crate::reports_written_by_runs::assert_valid(&dir.join("run/report.json"))["scenario"]["deliveries"][0].clone()
}

#[test]
fn fan_out_times_every_receiver_on_one_clock_misses_nothing_and_a_server_delay_moves_it_by_that_much() {
    let _turn = crate::support::turn(module_path!());
    let (fast, slow) = (example_server(), example_server_delayed(std::time::Duration::from_millis(50)));
    let (a, b) = (temp_dir("fanout-fast"), temp_dir("fanout-slow"));
    let d = fanout(&fast, &a);
    // 10 messages a second for 2 s to 200 receivers: every one got every message, once, in order
    let messages = d["messages"].as_u64().unwrap_or(0);
    assert!((19..=21).contains(&messages), "{d}");
    assert_eq!(d["received"].as_u64(), Some(messages * 200), "{d}");
    assert_eq!(d["reached_all"].as_u64(), Some(messages), "{d}");
    for zero in ["missing", "duplicates", "out_of_order", "untimed"] {
        assert_eq!(d[zero], 0, "{zero}: {d}");
    }
    assert!(d["completion_us"]["p99"].as_u64().unwrap_or(0) >= d["latency_us"]["p50"].as_u64().unwrap_or(u64::MAX));
    // the same run against the server holding every message 50 ms: the median moves by about that
    let slow = fanout(&slow, &b);
    let (p50_fast, p50_slow) =
        (d["latency_us"]["p50"].as_u64().unwrap_or(0), slow["latency_us"]["p50"].as_u64().unwrap_or(0));
    let moved = p50_slow as i64 - p50_fast as i64;
    assert!((40_000..=70_000).contains(&moved), "p50 {p50_fast} µs -> {p50_slow} µs");
}

#[test]
fn fan_out_shards_time_their_own_publisher_count_the_others_and_merge_to_the_sum() {
    let _turn = crate::support::turn(module_path!());
    let url = example_server();
    let dir = temp_dir("fanout-shards");
    let text = std::fs::read_to_string(scenario("fanout.toml")).expect("read");
    std::fs::write(dir.join("fanout.toml"), text.replace("connections = 1000", "connections = 100")).expect("write");
    // two shards at once: the publisher (one connection) falls to shard 0, receivers to both
    let shards: Vec<std::process::Child> = (0..2)
        .map(|i| {
            std::process::Command::new(crate::support::process::binary())
                .args(["load", "--scenario", "fanout.toml", &url, "-d", "2s", "--quiet", "--shard", &format!("{i}/2")])
                .args(["--out", &format!("shard{i}")])
                .current_dir(&dir)
                .stdout(std::process::Stdio::null())
                .spawn()
                .expect("a shard starts")
        })
        .collect();
    for mut s in shards {
        assert!(s.wait().expect("the shard ends").success());
    }
    let out = wsharness(&["merge", "shard0/report.json", "shard1/report.json", "--out", "merged.json"], &dir);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let d = |path: &str| report(&dir.join(path))["scenario"]["deliveries"][0].clone();
    let (a, b, m) = (d("shard0/report.json"), d("shard1/report.json"), d("merged.json"));
    let n = |v: &serde_json::Value, k: &str| v[k].as_u64().unwrap_or(u64::MAX);
    // shard 0 stamped the messages: it times them; shard 1 only counts them
    assert!(n(&a, "received") > 0 && n(&a, "untimed") == 0, "{a}");
    assert!(n(&b, "received") > 0 && n(&b, "untimed") == n(&b, "received") && b["histogram"] == "", "{b}");
    for k in ["received", "untimed", "duplicates", "out_of_order", "missing"] {
        assert_eq!(n(&m, k), n(&a, k) + n(&b, k), "{k}: {m}");
    }
    assert_eq!(m["latency_us"]["count"], a["latency_us"]["count"], "only shard 0's deliveries are timed");
}
