//! A case file that would crash or exhaust a run is refused by `cases validate` and `conformance --cases`, with
//! `file:line: message` and exit code 2, before anything is built, expanded or connected.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_wsharness");

/// A case whose first step (line 7) is `step`.
fn one_step(step: &str) -> String {
    format!(
        "section = \"s\"\nrfc = \"6455 §5\"\n[[case]]\nid = \"cost/a\"\ntitle = \"t\"\nwhy = \"w\"\n[[case.step]]\n{step}\n\
         [[case.step]]\nexpect = \"echo\"\n"
    )
}

/// `repeat = 1000000` on a 64 MiB payload: 61 TiB.
fn repeat_bomb() -> Vec<u8> {
    one_step("send = \"binary\"\npayload_len = 67108864\nrepeat = 1000000").into_bytes()
}

/// A fresh folder holding `bad.toml`; its name is `wsharness-cost-NAME-PID`.
fn dir_with(name: &str, file: &[u8]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("wsharness-cost-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    std::fs::write(dir.join("bad.toml"), file).expect("write case file");
    dir
}

/// Runs the binary, killing it after `limit`.
fn run(args: &[&std::ffi::OsStr], limit: Duration) -> Output {
    let mut child = Command::new(BIN)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the wsharness binary runs");
    let began = Instant::now();
    while child.try_wait().expect("wait").is_none() {
        if began.elapsed() > limit {
            let _ = child.kill();
            panic!("wsharness {args:?} still running after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    child.wait_with_output().expect("output")
}

/// `cases validate DIR` on a folder holding `file`: exit 2, and stderr's first line.
fn validate(name: &str, file: &[u8]) -> (String, PathBuf) {
    let dir = dir_with(name, file);
    let out = run(&["cases".as_ref(), "validate".as_ref(), dir.as_os_str()], Duration::from_secs(30));
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(2), "stderr: {stderr}");
    let first = stderr.lines().next().unwrap_or_default().to_string();
    let _ = std::fs::remove_dir_all(&dir);
    (first, dir)
}

/// How `validate` names the file in errors.
fn name(dir: &std::path::Path) -> String {
    format!("{}/bad.toml", dir.file_name().and_then(|n| n.to_str()).unwrap_or_default())
}

#[test]
fn a_large_payload_repeated_a_million_times_is_refused_with_its_line() {
    let _turn = crate::support::turn(module_path!());
    let (first, dir) = validate("repeat", &repeat_bomb());
    let at = format!("{}:7: case 'cost/a', step 1: payload_len = 67108864, repeat = 1000000: ", name(&dir));
    assert!(first.starts_with(&at), "{first}");
    assert!(first.contains("67108878000000 bytes (61 TiB) on the wire; a case may send at most"), "{first}");
}

#[test]
fn a_large_payload_in_one_byte_fragments_is_refused_with_its_line() {
    let _turn = crate::support::turn(module_path!());
    let (first, dir) =
        validate("fragment", one_step("send = \"text\"\npayload_len = 67108864\nfragment = 1").as_bytes());
    let at = format!("{}:7: case 'cost/a', step 1: payload_len = 67108864, fragment = 1: 67108864 frames", name(&dir));
    assert!(first.starts_with(&at), "{first}");
    assert!(first.ends_with("raise fragment, or lower payload_len or repeat"), "{first}");
}

/// The peak resident memory of the largest child waited for, in KiB.
fn children_max_rss_kib() -> i64 {
    // SAFETY: getrusage writes into the struct it is given
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: a valid pointer to a rusage
    let ok = unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) } == 0;
    assert!(ok, "getrusage");
    usage.ru_maxrss
}

#[test]
fn a_matrix_of_four_billion_cases_is_refused_in_a_moment_and_a_few_megabytes() {
    let _turn = crate::support::turn(module_path!());
    let values: Vec<String> = (0..40).map(|v| v.to_string()).collect();
    let mut file = String::from("section = \"s\"\nrfc = \"6455 §5\"\n[[case]]\nid = \"x/{a}-{b}-{c}-{d}-{e}-{f}\"\n");
    file.push_str("title = \"t\"\nwhy = \"w\"\n");
    for n in ["a", "b", "c", "d", "e", "f"] {
        file.push_str(&format!("matrix.{n} = [{}]\n", values.join(", ")));
    }
    file.push_str("[[case.step]]\nexpect = \"close\"\n");
    assert!(file.len() < 1200, "a 1.2 KB file: {}", file.len());
    let began = Instant::now();
    let (first, dir) = validate("matrix", file.as_bytes());
    assert!(began.elapsed() < Duration::from_secs(5), "took {:?}", began.elapsed());
    assert!(first.starts_with(&format!("{}:3: matrix.a (40 values) x ", name(&dir))), "{first}");
    assert!(first.contains(": 4096000000 cases; a [[case]] may generate at most 1024"), "{first}");
    // every child of this test binary validates a small file: none came near the 4 GB the expansion took
    let rss = children_max_rss_kib();
    assert!(rss < 256 * 1024, "a child peaked at {rss} KiB");
}

#[test]
fn a_file_that_is_not_utf8_is_refused_at_the_line_and_column_of_its_first_bad_byte() {
    let _turn = crate::support::turn(module_path!());
    let mut file = one_step("send = \"text\"\npayload = \"caf\u{e9}\"").into_bytes();
    // `payload = "café"` is line 9: Latin-1 é (0xe9) where UTF-8 has c3 a9
    let at = file.windows(2).position(|w| w == [0xc3, 0xa9]).expect("é");
    file.splice(at..at + 2, [0xe9]);
    let (first, dir) = validate("utf8", &file);
    assert_eq!(first, format!("{}:9: not UTF-8 (byte 0xe9 at column 15): save the file as UTF-8", name(&dir)));
}

#[test]
fn conformance_refuses_the_repeat_bomb_before_connecting() {
    let _turn = crate::support::turn(module_path!());
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.set_nonblocking(true).expect("nonblocking");
    let url = format!("ws://{}/", listener.local_addr().expect("addr"));
    let dir = dir_with("conformance", &repeat_bomb());
    let out_dir = dir.join("report");
    let args = [
        "conformance".as_ref(),
        url.as_ref(),
        "--cases".as_ref(),
        dir.as_os_str(),
        "--out".as_ref(),
        out_dir.as_os_str(),
    ];
    let out = run(&args, Duration::from_secs(30));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr: {stderr}");
    assert!(
        stderr.contains(&format!("{}:7: case 'cost/a', step 1: payload_len = 67108864, repeat = 1000000", name(&dir))),
        "{stderr}"
    );
    match listener.accept() {
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
        other => panic!("the server was contacted: {other:?}"),
    }
    assert!(!out_dir.join("report.json").exists(), "no report for a run that never started");
    let _ = std::fs::remove_dir_all(&dir);
}
