//! The HTML reports open in headless Chromium with no console message and no fetch, show their summary, need no
//! horizontal scrolling on a laptop screen, and show the first failing case on the first screen
//! (`ci/html_check.sh`); the check itself is shown to catch each fault.
//!
//! Needs Debian's `chromium`: the tests are ignored by a plain `cargo test` and run by `.ci/run` with `--ignored`,
//! after it installs Chromium when missing. `WSHARNESS_UPDATE_EXAMPLES=1` also copies the screenshots to
//! `reports/examples/` (the README shows them).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::support::flawed_server::{Flaw, FlawedServer};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn work_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("reports-chromium-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("work dir");
    dir
}

/// `bash ci/html_check.sh PAGE ARGS...`.
fn html_check(page: &Path, args: &[&str]) -> Output {
    Command::new("bash")
        .arg(repo().join("ci/html_check.sh"))
        .arg(page)
        .args(args)
        .output()
        .expect("bash runs ci/html_check.sh")
}

fn assert_clean(page: &Path, screenshot: &Path, required: &[&str], extra: &[&str]) -> String {
    let dom = page.with_extension("dom.html");
    let mut args =
        vec!["--screenshot", screenshot.to_str().expect("utf-8 path"), "--dom", dom.to_str().expect("utf-8")];
    args.extend(extra);
    for id in required {
        args.extend(["--require", id]);
    }
    let out = html_check(page, &args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(3), "{stderr}");
    assert_eq!(out.status.code(), Some(0), "{}\n{stderr}", String::from_utf8_lossy(&out.stdout));
    let png = std::fs::read(screenshot).expect("screenshot");
    assert!(png.starts_with(b"\x89PNG") && png.len() > 10_000, "a real screenshot ({} bytes)", png.len());
    std::fs::read_to_string(dom).expect("dom")
}

fn keep_example(screenshot: &Path, name: &str) {
    if std::env::var_os("WSHARNESS_UPDATE_EXAMPLES").is_some() {
        let to = repo().join("reports/examples").join(name);
        std::fs::create_dir_all(to.parent().expect("parent")).expect("examples dir");
        std::fs::copy(screenshot, &to).expect("copy the screenshot");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Debian's chromium; .ci/run installs it and runs this with --ignored"]
async fn a_conformance_report_with_failures_opens_cleanly_in_chromium() {
    let dir = work_dir("conformance");
    let server = FlawedServer::start(&[
        Flaw::IgnoresRsv,
        Flaw::PongWrongPayload,
        Flaw::AcceptsInvalidCloseCodes,
        Flaw::WrongCloseEchoCode,
        Flaw::LateUtf8Failure,
    ])
    .await;
    let url = server.url();
    let run_dir = dir.clone();
    let out = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_wsharness"))
            // the 1000-message permessage-deflate cases take minutes in a debug build and add nothing to the page
            .args([
                "conformance",
                &url,
                "--quiet",
                "--filter",
                "!rfc7692/*-x1000",
                "--case-timeout",
                "2s",
                "--out",
                "run",
            ])
            .current_dir(&run_dir)
            .output()
            .expect("wsharness runs")
    })
    .await
    .expect("join");
    drop(server);
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let page = dir.join("run/report.html");
    let shot = dir.join("conformance.png");
    // the first failing case is on the first screen, however long the traces of the cases before it
    let dom = assert_clean(
        &page,
        &shot,
        &["summary", "counts", "matrix", "filter", "not-ok", "all-ok"],
        &["--first-screen", "#failing details.case"],
    );
    for file in ["report.html", "report.json"] {
        let size = std::fs::metadata(dir.join("run").join(file)).expect(file).len();
        assert!(size <= reports::budget::REPORT_BUDGET_BYTES, "{file} is {size} bytes");
    }
    // the filter script ran: it unhid its form and counted the cases
    assert!(dom.contains("<form id=\"filter\">"), "the filter is shown once its script runs");
    assert!(dom.contains("cases shown</span>"), "the filter counted the cases");
    keep_example(&shot, "conformance.png");
}

#[test]
#[ignore = "needs Debian's chromium; .ci/run installs it and runs this with --ignored"]
fn the_check_fails_on_a_fetch_a_script_error_a_missing_policy_a_missing_element_a_too_wide_page_and_a_low_element() {
    let dir = work_dir("faults");
    let csp =
        format!("<meta http-equiv=\"Content-Security-Policy\" content=\"{}\">", reports::html::CONTENT_SECURITY_POLICY);
    let page = |name: &str, head: &str, body: &str| {
        let path = dir.join(name);
        std::fs::write(&path, format!("<!DOCTYPE html><html><head><meta charset=\"utf-8\">{head}<title>t</title></head><body>{body}</body></html>"))
            .expect("write");
        path
    };
    let faults = [
        (
            page("fetch.html", &csp, "<p id=\"summary\">x</p><img src=\"http://example.invalid/x.png\">"),
            "violates the following Content Security Policy",
        ),
        (page("script.html", &csp, "<p id=\"summary\">x</p><script>notDefined()</script>"), "Uncaught ReferenceError"),
        (page("no-policy.html", "", "<p id=\"summary\">x</p>"), "no Content-Security-Policy"),
        (page("missing.html", &csp, "<p>x</p>"), "no element with id=\"summary\""),
        (page("wide.html", &csp, "<p id=\"summary\" style=\"width:3000px\">x</p>"), "horizontal scrolling"),
    ];
    for (path, says) in faults {
        let out = html_check(&path, &["--require", "summary"]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{}: {stderr}", path.display());
        assert!(stderr.contains(says), "{}: {stderr}", path.display());
    }
    let low = page("low.html", &csp, "<p id=\"summary\" style=\"height:3000px\">x</p><p id=\"first\">y</p>");
    let out = html_check(&low, &["--first-screen", "#first"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("below the first screen"), "{out:?}");
    let out = html_check(&low, &["--first-screen", "#missing"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("no element matches"), "{out:?}");
    let out = html_check(&low, &["--first-screen", "#summary"]);
    assert_eq!(out.status.code(), Some(1), "an element taller than the screen does not fit in it");
    let fine = page(
        "fine.html",
        &csp,
        "<p id=\"summary\">x</p><script>document.getElementById('summary').textContent = 'y';</script>",
    );
    let out = html_check(&fine, &["--require", "summary", "--first-screen", "#summary"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
#[ignore = "needs Debian's chromium; .ci/run installs it and runs this with --ignored"]
fn a_load_report_opens_cleanly_in_chromium() {
    let dir = work_dir("load");
    let out = Command::new(env!("CARGO_BIN_EXE_wsharness"))
        .args([
            "load",
            "--connections",
            "20",
            "--ramp-up",
            "1s",
            "--warmup",
            "1s",
            "--duration",
            "4s",
            "--rate",
            "2000",
        ])
        .args(["--threshold", "p99<50ms", "--threshold", "errors==0", "--out", "run"])
        .current_dir(&dir)
        .output()
        .expect("wsharness runs");
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let out = Command::new(env!("CARGO_BIN_EXE_wsharness"))
        .args(["render", "run/report.json"])
        .current_dir(&dir)
        .output()
        .expect("wsharness runs");
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let shot = dir.join("load.png");
    let dom = assert_clean(
        &dir.join("run/report.html"),
        &shot,
        &[
            "summary",
            "thresholds",
            "counts",
            "percentile-distribution",
            "percentiles",
            "latency-over-time",
            "throughput-over-time",
            "connections-over-time",
            "errors",
            "settings",
        ],
        &[],
    );
    assert_eq!(dom.matches("<svg").count(), 4, "the four plots are in the page");
    keep_example(&shot, "load.png");
}
