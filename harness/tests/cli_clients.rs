//! Testing clients as a user does: `wsharness client-conformance --exec` launches the fixture client (this test
//! binary, run as a process) once per case and writes the reports; a client that crashes, never connects or
//! cannot be started costs a verdict or a clear error, never a hung run; `wsharness serve` answers Autobahn's
//! URL API, runs cases for a runner, and writes index.json and the report when stopped.

use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::support::flawed_client::{Flaw, FlawedClient, Settings};

fn wsharness(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wsharness")).args(args).current_dir(dir).output().expect("wsharness runs")
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("wsharness-clients-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// The fixture client as a command line: this test binary, running `flawed_client_as_a_process` with the URL.
fn fixture_command(flaws: &str) -> String {
    let exe = std::env::current_exe().expect("the test binary");
    format!(
        "sh -c 'WSHARNESS_FLAWED_CLIENT_URL=\"$1\" WSHARNESS_FLAWED_CLIENT_FLAWS={flaws} exec \"$0\" --exact \
         flawed_client_fixture::flawed_client_as_a_process --nocapture --test-threads 1' {} {{url}}",
        exe.display()
    )
}

fn report(dir: &Path, agent: &str) -> serde_json::Value {
    let path = dir.join("out").join(agent).join("report.json");
    serde_json::from_slice(&std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))).expect("json")
}

#[test]
fn exec_runs_the_client_once_per_case_and_writes_a_client_report() {
    let _turn = crate::support::turn(module_path!());
    let dir = temp_dir("exec");
    let exec = fixture_command("");
    let args = ["client-conformance", "--exec", &exec, "--filter", "client/4.1/*", "--out", "out", "--quiet"];
    let out = wsharness(&args, &dir);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("cases against the client \"exec\""), "{stdout}");
    let r = report(&dir, "exec");
    assert_eq!((r["role"].as_str(), r["target"]["agent"].as_str()), (Some("client"), Some("exec")));
    assert_eq!(r["cases"].as_array().map(Vec::len), Some(24), "{r}");
    let index = std::fs::read_to_string(dir.join("out/index.json")).expect("index.json");
    assert!(index.contains("\"client/4.1/accept-other-key\": {"), "{index}");

    // the same cases against a client that ignores the accept value: those cases fail, exit 1
    let exec = fixture_command("IgnoresAccept");
    let args = ["client-conformance", "--exec", &exec, "--filter", "client/4.1/accept-*", "--out", "out", "--quiet"];
    let out = wsharness(&args, &dir);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("FAILED        client/4.1/accept-other-key"), "{stdout}");
}

#[test]
fn a_client_that_crashes_or_never_connects_costs_each_case_a_verdict_within_its_budget() {
    let _turn = crate::support::turn(module_path!());
    let dir = temp_dir("broken");
    let started = Instant::now();
    let args = ["client-conformance", "--exec", "sh -c 'echo boom >&2; exit 3' {url}", "--filter", "client/5.1/*"];
    let out = wsharness(&[&args[..], &["--out", "out", "--quiet"]].concat(), &dir);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("the client exited (exit code 3) without connecting"), "{stdout}");
    let r = report(&dir, "exec");
    let trace = r["cases"][0]["wire"].to_string();
    assert!(trace.contains("boom"), "the client's stderr is in the case's trace: {trace}");

    let args = [
        "client-conformance",
        "--exec",
        "sh -c 'sleep 30' {url}",
        "--connect-timeout",
        "300ms",
        "--filter",
        "client/5.1/*",
    ];
    let out = wsharness(&[&args[..], &["--out", "out2", "--quiet"]].concat(), &dir);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("the client did not connect within 0.3 s"), "{stdout}");
    // each case bounded by the connect timeout: a hung client never holds the run
    assert!(started.elapsed() < Duration::from_secs(20), "took {:?}", started.elapsed());
}

#[test]
fn a_command_that_cannot_start_is_one_error_and_exit_2() {
    let dir = temp_dir("nocmd");
    let out = wsharness(&["client-conformance", "--exec", "wsharness-no-such-client {url}", "--out", "out"], &dir);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("wsharness-no-such-client"), "{stderr}");
    let out = wsharness(&["client-conformance", "--exec", "'unclosed {url}", "--out", "out"], &dir);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("quote"), "{:?}", out);
}

/// Asks the API at `base` (`ws://host:port`) for `path`: the text messages of the answer, until its close, which is
/// answered (a minimal client on the harness's own wire types: the API is not what is under test here).
fn api(base: &str, path: &str) -> Vec<String> {
    use std::io::{Read, Write};
    use wsharness::wire::{ClientRequest, FrameReader, FrameSpec, Opcode};
    let host = base.trim_start_matches("ws://");
    let mut tcp = TcpStream::connect(host).expect("the API listens");
    tcp.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
    tcp.write_all(&ClientRequest::new(host.to_string(), path.to_string()).encode()).expect("request sent");
    let (mut buf, mut head) = (Vec::new(), None::<usize>);
    let mut reader = FrameReader::new();
    let mut texts = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = tcp.read(&mut chunk).unwrap_or(0);
        if n == 0 {
            return texts;
        }
        match head {
            Some(_) => reader.push(&chunk[..n]),
            None => {
                buf.extend_from_slice(&chunk[..n]);
                if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                    assert!(buf.starts_with(b"HTTP/1.1 101"), "{}", String::from_utf8_lossy(&buf));
                    head = Some(at + 4);
                    reader.push(&buf[at + 4..]);
                }
            }
        }
        while let Ok(Some(frame)) = reader.next_frame() {
            match frame.header.defined_opcode() {
                Some(Opcode::Text) => texts.push(String::from_utf8_lossy(&frame.payload).into_owned()),
                Some(Opcode::Close) => {
                    let _ = tcp.write_all(&FrameSpec::close_empty().encode().expect("a close frame"));
                    return texts;
                }
                _ => {}
            }
        }
    }
}

fn api_text(base: &str, path: &str) -> String {
    api(base, path).concat()
}

#[test]
fn serve_answers_autobahns_api_runs_cases_and_writes_the_reports_when_stopped() {
    let _turn = crate::support::turn(module_path!());
    let dir = temp_dir("serve");
    let (mut child, base, lines) = start_serve(&dir, "client/5.1/*");
    assert!(TcpStream::connect(base.trim_start_matches("ws://")).is_ok(), "{base}");

    assert_eq!(api_text(&base, "/getCaseCount"), "5");
    let info = api_text(&base, "/getCaseInfo?case=1");
    assert!(info.starts_with("{\"id\": \"client/5.1/"), "{info}");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    for n in 1..=5 {
        let flaws: &[Flaw] = if n == 1 { &[Flaw::AcceptsMaskedFrames] } else { &[] };
        let url = format!("{base}/runCase?case={n}&agent=fixture");
        let _ = runtime.block_on(FlawedClient::run(&url, flaws, &Settings::default()));
    }
    let status = api_text(&base, "/getCaseStatus?case=2&agent=fixture");
    assert_eq!(status, "{\"behavior\": \"OK\"}");
    assert!(api(&base, "/updateReports?agent=fixture").is_empty());
    let index = std::fs::read_to_string(dir.join("out/index.json")).expect("index.json after updateReports");
    assert!(index.contains("\"fixture\": {"), "{index}");

    // Ctrl-C: the reports are written again, the summary printed, exit 1 (case 1 failed)
    // SAFETY: kill(2) on our own child's pid
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    let status = child.wait().expect("serve exits");
    assert_eq!(status.code(), Some(1), "{rest:?}");
    assert!(rest.iter().any(|l| l.contains("5 cases against the client \"fixture\"")), "{rest:?}");
    let r = report(&dir, "fixture");
    assert_eq!(r["role"], "client");
    assert_eq!(r["summary"]["FAILED"], 1, "{}", r["summary"]);
}

/// Starts `wsharness serve` on a free port in `dir`; the child and its base URL.
fn start_serve(
    dir: &Path,
    filter: &str,
) -> (std::process::Child, String, std::io::Lines<BufReader<std::process::ChildStdout>>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_wsharness"))
        .args(["serve", "--port", "0", "--filter", filter, "--out", "out"])
        .current_dir(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("serve starts");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let first = lines.next().and_then(Result::ok).unwrap_or_default();
    let base = first.split_whitespace().find(|w| w.starts_with("ws://")).expect("the URL").to_string();
    (child, base.trim_end_matches(|c: char| !c.is_ascii_digit()).to_string(), lines)
}

/// Sends `bytes` on a fresh connection to `base` and reads what comes back until the server closes (at most 10 s).
fn exchange(base: &str, bytes: &[u8]) -> String {
    use std::io::{Read, Write};
    let mut tcp = TcpStream::connect(base.trim_start_matches("ws://")).expect("serve listens");
    tcp.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
    tcp.write_all(bytes).expect("sent");
    let mut answer = Vec::new();
    let _ = tcp.read_to_end(&mut answer);
    String::from_utf8_lossy(&answer).into_owned()
}

#[test]
fn serve_answers_what_is_not_its_api_with_an_http_error_and_stays_up() {
    let _turn = crate::support::turn(module_path!());
    let dir = temp_dir("serve-hostile");
    let (mut child, base, lines) = start_serve(&dir, "client/5.1/*");
    let garbage = exchange(&base, b"\x16\x03\x01 not http at all\r\n\r\n");
    assert!(garbage.starts_with("HTTP/1.1 400"), "{garbage}");
    let unknown = exchange(&base, b"GET /nope HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(unknown.starts_with("HTTP/1.1 404"), "{unknown}");
    let out_of_range = exchange(&base, b"GET /runCase?case=99&agent=a HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(out_of_range.starts_with("HTTP/1.1 400") && out_of_range.contains("99"), "{out_of_range}");
    let no_agent = exchange(&base, b"GET /runCase?case=1 HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(no_agent.starts_with("HTTP/1.1 400"), "{no_agent}");
    // still serving
    assert_eq!(api_text(&base, "/getCaseCount"), "5");
    // SAFETY: kill(2) on our own child's pid
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    assert_eq!(child.wait().expect("serve exits").code(), Some(0), "{rest:?}");
    assert!(rest.iter().any(|l| l.contains("no client ran a case")), "{rest:?}");
}
