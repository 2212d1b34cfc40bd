//! Messages of every size, small ones copied and large ones sent from the payload book (vectored
//! writes), echo exactly through both drivers.

use crate::load_support::{report, temp_dir, wsharness, Behavior, TestServer};

#[test]
fn mixed_small_and_large_messages_echo_exactly_through_both_drivers() {
    let _turn = crate::support::turn(module_path!());
    let server = TestServer::start(Behavior::Echo);
    for io in ["tokio", "io-uring"] {
        let dir = temp_dir(&format!("large-{io}"));
        let args = [
            "load",
            &server.url,
            "--io",
            io,
            "-c",
            "4",
            "--messages",
            "400",
            "--in-flight",
            "6",
            "--size",
            "1000..70000",
            "--binary",
            "--timeout",
            "5s",
            "--quiet",
            "--out",
            "run",
        ];
        let out = wsharness(&args, &dir);
        let stderr = String::from_utf8_lossy(&out.stderr);
        if io == "io-uring" && out.status.code() == Some(2) && stderr.contains("io_uring is not available") {
            continue;
        }
        assert_eq!(out.status.code(), Some(0), "{io}: {stderr}");
        let r = report(&dir.join("run/report.json"));
        assert_eq!(r["summary"]["messages_sent"], 400, "{io}");
        assert_eq!(r["summary"]["messages_received"], 400, "{io}");
        assert_eq!(r["summary"]["errors"], 0, "{io}: {}", r["errors"]);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
