//! `wsharness load --scenario`: the shipped scenarios against the example application on both
//! drivers (`--io tokio`, `--io io-uring`), replies matched by id and out of order with none given to
//! the wrong request, per-step histograms and thresholds, and a mistake in a scenario file as
//! `file:line` and exit 2.

use std::path::{Path, PathBuf};

use crate::load_support::{report, temp_dir, wsharness, Behavior, TestServer};

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

/// The drivers a scenario runs on (`--io`).
const DRIVERS: [&str; 2] = ["tokio", "io-uring"];

/// `wsharness load --scenario FILE URL -d DURATION --io IO EXTRA... --out run` in `dir`: its
/// (valid) report, on the driver asked for; `None` when the kernel refuses io_uring (said why).
fn run_on(io: &str, file: &str, url: &str, duration: &str, extra: &[&str], dir: &Path) -> Option<serde_json::Value> {
    let mut args = vec!["load", "--scenario", file, url, "-d", duration, "--io", io, "--out", "run"];
    args.extend_from_slice(extra);
    let out = wsharness(&args, dir);
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    if io == "io-uring" && out.status.code() == Some(2) && stderr.contains("io_uring is not available") {
        eprintln!("io_uring unavailable here, the io_uring run is not checked: {stderr}");
        return None;
    }
    assert_eq!(out.status.code(), Some(0), "--io {io}: {stdout}\n{stderr}");
    let r = crate::reports_written_by_runs::assert_valid(&dir.join("run/report.json"));
    assert_eq!(r["generator"]["io"], if io == "tokio" { "tokio" } else { "io_uring" }, "--io {io}");
    Some(r)
}

/// A step's (matched, timeouts) in a report.
fn step(r: &serde_json::Value, name: &str) -> (u64, u64) {
    let steps = r["scenario"]["steps"].as_array().cloned().unwrap_or_default();
    let s = steps.into_iter().find(|s| s["name"] == name).unwrap_or_default();
    (s["latency_us"]["count"].as_u64().unwrap_or(u64::MAX), s["timeouts"].as_u64().unwrap_or(u64::MAX))
}

#[test]
fn json_rpc_with_sixteen_in_flight_and_reordered_replies_gives_no_reply_to_the_wrong_request() {
    let _turn = crate::support::turn(module_path!());
    let url = example_server();
    let file = scenario("jsonrpc.toml");
    for io in DRIVERS {
        let dir = temp_dir(&format!("scenario-rpc-{io}"));
        let extra = ["--threshold", "step.call.timeouts==0"];
        let Some(r) = run_on(io, &file, &url, "2s", &extra, &dir) else { continue };
        let sc = &r["scenario"];
        assert_eq!(sc["steps"][0]["name"], "call");
        // each reply had to carry its own request's id, connection and send time: one given to another
        // request would have matched nothing (unsolicited) and left its own to time out. Every request
        // sent (the run drains) has its one reply, and each iteration is one request
        let (calls, timeouts) = step(&r, "call");
        assert!(calls > 1000, "--io {io}: {sc}");
        assert_eq!((calls, timeouts), (r["summary"]["messages_sent"].as_u64().unwrap_or(0), 0), "--io {io}: {sc}");
        assert_eq!(sc["roles"][0]["iterations"].as_u64(), Some(calls), "--io {io}: {}", sc["roles"]);
        assert_eq!(sc["roles"][0]["unsolicited"], 0, "--io {io}: {}", sc["roles"]);
        assert_eq!(r["summary"]["errors"], 0, "--io {io}: {}", r["errors"]);
        assert_eq!(r["thresholds"][0]["passed"], true);
        let html = std::fs::read_to_string(dir.join("run/report.html")).unwrap_or_default();
        assert!(
            html.contains("id=\"steps\"") && html.contains("<td class=\"mono\">call</td>"),
            "the page lists the steps"
        );
    }
}

#[test]
fn a_reply_carrying_another_requests_send_time_is_not_counted_as_its_reply() {
    let _turn = crate::support::turn(module_path!());
    let url = example_server();
    // the control for the test above: a scenario that wants the send time where the server puts the
    // request's own matches no reply, on either driver (so a reply given to the wrong request shows)
    let text = std::fs::read_to_string(scenario("jsonrpc.toml")).expect("read");
    let wrong = text.replace("\"/result/sent_ns\" = \"{{now_ns}}\"", "\"/result/sent_ns\" = \"{{seq}}\"");
    assert_ne!(wrong, text, "the scenario names the send time");
    let wrong = wrong.replace("timeout = \"5s\"", "timeout = \"300ms\"");
    for io in DRIVERS {
        let dir = temp_dir(&format!("scenario-rpc-wrong-{io}"));
        std::fs::write(dir.join("wrong.toml"), &wrong).expect("write");
        let Some(r) = run_on(io, "wrong.toml", &url, "1s", &[], &dir) else { continue };
        let (calls, timeouts) = step(&r, "call");
        assert_eq!(calls, 0, "--io {io}: {}", r["scenario"]);
        assert!(timeouts >= 20 * 16, "--io {io}: every request in flight timed out: {}", r["scenario"]);
        assert!(r["scenario"]["roles"][0]["unsolicited"].as_u64().unwrap_or(0) >= 20 * 16, "{}", r["scenario"]);
    }
}

#[test]
fn a_graphql_transport_ws_flow_runs_setup_once_then_subscribe_next_complete() {
    let _turn = crate::support::turn(module_path!());
    let url = example_server();
    let file = scenario("graphql-subscription.toml");
    for io in DRIVERS {
        let dir = temp_dir(&format!("scenario-graphql-{io}"));
        let Some(r) = run_on(io, &file, &url, "2s", &[], &dir) else { continue };
        let steps = &r["scenario"]["steps"];
        let role = &r["scenario"]["roles"][0];
        let connections = role["connections"].as_u64().unwrap_or(0);
        assert_eq!(step(&r, "ack"), (connections, 0), "--io {io}: one connection_ack per connection");
        let (completes, timeouts) = step(&r, "complete");
        assert!(completes > 100 && timeouts == 0, "--io {io}: {steps}");
        // the run drains: every subscribe had its five next messages and its complete, nothing else
        assert_eq!(step(&r, "next"), (5 * completes, 0), "--io {io}: {steps}");
        assert_eq!(role["iterations"].as_u64(), Some(completes), "--io {io}: {role}");
        let sent = r["summary"]["messages_sent"].as_u64().unwrap_or(0);
        assert_eq!(sent, connections + completes, "--io {io}: a connection_init each, then a subscribe per flow");
        assert_eq!(role["unsolicited"], 0, "--io {io}: {role}");
        assert_eq!(r["summary"]["errors"], 0, "--io {io}: {}", r["errors"]);
    }
}

#[test]
fn a_server_that_closes_mid_run_or_never_answers_costs_errors_not_the_run_on_both_drivers() {
    let _turn = crate::support::turn(module_path!());
    let file = scenario("echo-text.toml");
    let (closes, silent) = (TestServer::start(Behavior::CloseAfter(5)), TestServer::start(Behavior::Silent));
    for io in DRIVERS {
        // 10 connections: each has its first five echoes, then the server's close (answered, an error)
        let dir = temp_dir(&format!("scenario-closes-{io}"));
        let Some(r) = run_on(io, &file, &closes.url, "1s", &["--timeout", "1s"], &dir) else { continue };
        assert_eq!(step(&r, "echo").0, 50, "--io {io}: {}", r["scenario"]);
        assert_eq!(r["errors"]["by_detail"]["unexpected_close 1001"], 10, "--io {io}: {}", r["errors"]);
        // 8 in flight on each of 10 connections, then nothing: each wait runs out (2 s), the run ends
        let dir = temp_dir(&format!("scenario-silent-{io}"));
        let started = std::time::Instant::now();
        let Some(r) = run_on(io, &file, &silent.url, "1s", &["--timeout", "1s"], &dir) else { continue };
        assert!(started.elapsed() < std::time::Duration::from_secs(8), "--io {io}: {:?}", started.elapsed());
        assert_eq!(step(&r, "echo"), (0, 80), "--io {io}: {}", r["scenario"]);
    }
}

#[test]
fn a_wss_scenario_on_io_uring_is_refused_with_the_reason() {
    let _turn = crate::support::turn(module_path!());
    // the refusal comes before any handshake: a listener that never answers is target enough
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("wss://{}", listener.local_addr().expect("addr"));
    let dir = temp_dir("scenario-wss-uring");
    let file = scenario("jsonrpc.toml");
    let out = wsharness(&["load", "--scenario", &file, &url, "-d", "1s", "--io", "io-uring", "--out", "run"], &dir);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("the io_uring driver does not speak TLS"), "{stderr}");
    assert!(!dir.join("run/report.json").exists(), "nothing ran");
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
                // the other fan-out test runs on --io auto (io_uring where the kernel allows it)
                .args(["--io", "tokio"])
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
