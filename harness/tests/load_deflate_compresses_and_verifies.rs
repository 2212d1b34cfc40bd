//! `wsharness load --deflate` against the reference server: messages go out compressed, echoes come
//! back compressed and are verified, the report has the bytes and ratios, through both drivers; a
//! server that declines (or answers against RFC 7692) fails the run before it starts, as does an
//! offer a server would have to decline.

use std::path::Path;

use crate::load_support::{temp_dir, wsharness, Behavior, TestServer};
use crate::reports_written_by_runs::assert_valid;

/// Runs `load` with `args` in a fresh folder; the exit code, stdout, stderr and the report (if written).
fn run(name: &str, args: &[&str]) -> (Option<i32>, String, String, Option<serde_json::Value>) {
    let dir = temp_dir(name);
    let mut all = vec!["load", "--quiet", "--out", "run"];
    all.extend_from_slice(args);
    let out = wsharness(&all, &dir);
    let report = dir.join("run/report.json");
    let report = Path::new(&report).exists().then(|| assert_valid(&report));
    let _ = std::fs::remove_dir_all(&dir);
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (out.status.code(), text(&out.stdout), text(&out.stderr), report)
}

#[test]
fn compressed_messages_are_echoed_compressed_and_verified_through_both_drivers() {
    let _turn = crate::support::turn(module_path!());
    for (io, params) in
        [("tokio", "--deflate"), ("io-uring", "--deflate"), ("tokio", "--deflate=client_no_context_takeover")]
    {
        let args = [params, "--io", io, "-c", "2", "--in-flight", "2", "-d", "1s", "--size", "4KiB", "--timeout", "2s"];
        let (code, stdout, stderr, report) = run("deflate", &args);
        if io == "io-uring" && code == Some(2) && stderr.contains("io_uring is not available") {
            eprintln!("io_uring unavailable here, nothing to check: {stderr}");
            continue;
        }
        assert_eq!(code, Some(0), "{io} {params}: {stdout}\n{stderr}");
        let r = report.expect("report.json");
        let (s, d) = (&r["summary"], &r["summary"]["deflate"]);
        let received = s["messages_received"].as_u64().unwrap();
        assert!(received > 20 && received == s["messages_sent"].as_u64().unwrap(), "{s}");
        assert_eq!(s["errors"], 0, "{}", r["errors"]);
        // 4 KiB of a 64-byte text pattern: well over 1 each way, and the reference server compresses every echo
        assert!(d["ratio_sent"].as_f64().unwrap() > 4.0 && d["ratio_received"].as_f64().unwrap() > 4.0, "{d}");
        assert_eq!(d["messages_compressed_received"].as_u64(), Some(received), "{d}");
        assert_eq!(d["plain_bytes_sent"], s["payload_bytes_sent"]);
        assert_eq!(d["plain_bytes_received"].as_u64(), Some(received * 4096));
        let replay = params.contains("client_no_context_takeover");
        assert_eq!(d["compression"], if replay { "replay" } else { "context_takeover" }, "{d}");
        assert!(d["negotiated"].as_str().unwrap().contains("client_max_window_bits="), "{d}");
        let offer = if replay {
            "permessage-deflate; client_no_context_takeover"
        } else {
            "permessage-deflate; client_max_window_bits"
        };
        assert_eq!(r["settings"]["deflate"], offer);
        assert_eq!(r["generator"]["io"], io.replace('-', "_"));
        assert!(stdout.contains("permessage-deflate (") && stdout.contains("(ratio "), "{stdout}");
    }
}

#[test]
fn a_server_that_declines_deflate_fails_the_run_before_it_starts() {
    let _turn = crate::support::turn(module_path!());
    let server = TestServer::start(Behavior::Echo);
    let (code, stdout, stderr, report) = run("deflate-declined", &[&server.url, "--deflate", "-c", "2", "-d", "1s"]);
    assert_eq!(code, Some(2), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("the server declined permessage-deflate")
            && stderr.contains("offered Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits")
            && stderr.contains("run without --deflate"),
        "{stderr}"
    );
    assert!(report.is_none() && stderr.lines().count() == 1, "{stderr}");
    // without --deflate the same server is loaded as before
    let (code, _, stderr, report) = run("deflate-none", &[&server.url, "-c", "2", "-d", "300ms"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(report.is_some_and(|r| r["summary"].get("deflate").is_none()));
}

#[test]
fn an_answer_against_rfc_7692_fails_the_run_naming_the_rule() {
    let _turn = crate::support::turn(module_path!());
    // client_max_window_bits answered to an offer without it (RFC 7692 §7.1.2.2)
    let server = TestServer::start(Behavior::Extensions("permessage-deflate; client_max_window_bits=10"));
    let (code, stdout, stderr, _) = run("deflate-wrong", &[&server.url, "--deflate=", "-c", "1", "-d", "1s"]);
    assert_eq!(code, Some(2), "{stdout}\n{stderr}");
    assert!(stderr.contains("breaks RFC 7692 §7.1.2.2") && stderr.contains("client_max_window_bits=10"), "{stderr}");
}

#[test]
fn params_a_server_must_decline_are_a_usage_error_naming_the_problem() {
    let _turn = crate::support::turn(module_path!());
    for (params, needle) in [
        ("--deflate=client_max_window_bits=16", "client_max_window_bits=16 is outside 8..=15"),
        ("--deflate=server_max_window_bits", "server_max_window_bits without a value"),
        ("--deflate=permessage-deflate", "write the parameters only"),
        ("--deflate=a;;b", "expected a parameter token"),
    ] {
        let (code, stdout, stderr, report) = run("deflate-params", &[params, "-d", "1s"]);
        assert_eq!(code, Some(2), "{params}: {stdout}\n{stderr}");
        assert!(stderr.contains(needle) && stderr.contains("--deflate"), "{params}: {stderr}");
        assert!(report.is_none());
    }
}

#[test]
fn shards_merge_their_deflate_bytes_exactly() {
    let _turn = crate::support::turn(module_path!());
    let dir = temp_dir("deflate-shards");
    // the embedded reference server of each shard: a 2-size distribution, compressed with context takeover
    for i in 0..2 {
        let shard = format!("{i}/2");
        let out_dir = format!("shard{i}");
        let args = ["load", "--deflate", "-c", "4", "--messages", "401", "--size", "100:1,3000:1", "--shard", &shard];
        let out = wsharness(&[&args[..], &["--quiet", "--out", &out_dir]].concat(), &dir);
        assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let out = wsharness(&["merge", "shard0/report.json", "shard1/report.json", "--out", "total.json"], &dir);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let shards: Vec<_> = (0..2).map(|i| assert_valid(&dir.join(format!("shard{i}/report.json")))).collect();
    let merged = assert_valid(&dir.join("total.json"));
    let d = &merged["summary"]["deflate"];
    for key in ["plain_bytes_sent", "wire_bytes_sent", "plain_bytes_received", "wire_bytes_received"] {
        let sum: u64 = shards.iter().map(|r| r["summary"]["deflate"][key].as_u64().unwrap()).sum();
        assert_eq!(d[key].as_u64(), Some(sum), "{key}");
    }
    let (plain, wire) = (d["plain_bytes_sent"].as_f64().unwrap(), d["wire_bytes_sent"].as_f64().unwrap());
    assert_eq!(d["ratio_sent"].as_f64(), Some((plain / wire * 1000.0).round() / 1000.0));
    assert_eq!(merged["summary"]["messages_received"], 401);
    let _ = std::fs::remove_dir_all(&dir);
}
