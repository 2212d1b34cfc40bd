//! The `reference-server` binary shuts down gracefully on SIGTERM and SIGINT (close 1001 to every client, exit 0)
//! and exits 2 with a one-line error when it cannot start.

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::common::*;

const BIN: &str = env!("CARGO_BIN_EXE_reference-server");

/// The binary running as a child process; killed on drop if still alive, so a failing test leaves nothing behind.
struct ServerProcess {
    child: Child,
    addr: SocketAddr,
    stderr: Arc<Mutex<String>>,
}

/// Collects everything `pipe` yields into `into`, on a thread of its own.
fn drain(mut pipe: impl Read + Send + 'static, into: Arc<Mutex<String>>) {
    std::thread::spawn(move || {
        let mut text = String::new();
        let _ = pipe.read_to_string(&mut text);
        into.lock().expect("stderr lock").push_str(&text);
    });
}

impl ServerProcess {
    /// Starts the binary on `127.0.0.1:0` and reads the address from its first line of output.
    fn start() -> ServerProcess {
        let mut child = Command::new(BIN)
            .args(["--listen", "127.0.0.1:0", "--log", "debug"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn the reference-server binary");
        let stderr = Arc::new(Mutex::new(String::new()));
        drain(child.stderr.take().expect("piped stderr"), Arc::clone(&stderr));
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut line = String::new();
            let _ = reader.read_line(&mut line);
            let _ = tx.send(line);
            // keep the pipe open (and drained) for as long as the child lives
            let _ = std::io::copy(&mut reader, &mut std::io::sink());
        });
        let mut process = ServerProcess { child, addr: "0.0.0.0:0".parse().expect("literal"), stderr };
        let line = rx
            .recv_timeout(WAIT)
            .unwrap_or_else(|_| panic!("no startup line on stdout within {WAIT:?}; stderr: {}", process.stderr()));
        process.addr = parse_listening_line(&line);
        process
    }

    fn stderr(&self) -> String {
        self.stderr.lock().expect("stderr lock").clone()
    }

    /// Sends `signal` (e.g. "TERM") with kill(1).
    fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.child.id().to_string())
            .status()
            .expect("run kill(1)");
        assert!(status.success(), "kill -{signal} {} failed: {status}", self.child.id());
    }

    /// Waits for the process to exit, at most `limit`.
    async fn wait_exit(&mut self, limit: Duration) -> ExitStatus {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status;
            }
            if Instant::now() >= deadline {
                panic!("the server did not exit within {limit:?}; stderr so far:\n{}", self.stderr());
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// `reference-server listening on ws://127.0.0.1:PORT/` -> the address.
fn parse_listening_line(line: &str) -> SocketAddr {
    let rest = line
        .trim_end()
        .strip_prefix("reference-server listening on ws://")
        .unwrap_or_else(|| panic!("unexpected startup line {line:?}"));
    rest.trim_end_matches('/').parse().unwrap_or_else(|e| panic!("no address in startup line {line:?}: {e}"))
}

/// A connected client gets close 1001 on `signal`, answers it, and the process exits 0.
async fn graceful_on(signal: &str) {
    let mut server = ServerProcess::start();
    let mut c = RawClient::connect(server.addr).await;
    c.send_frames(&[Frame::text("hello")]).await;
    c.expect_frame(TEXT, b"hello").await;

    let signalled = Instant::now();
    server.signal(signal);
    let close = match c.next_event().await {
        Event::Frame(f) => f,
        other => panic!("SIG{signal}: expected close 1001, got {other:?}; stderr:\n{}", server.stderr()),
    };
    assert_eq!(
        (opcode_name(close.opcode), close.close_code()),
        (opcode_name(CLOSE), Some(1001)),
        "SIG{signal}: expected close 1001, got {close:?}"
    );
    c.send_frames(&[Frame::close(1001, b"")]).await;
    c.expect_eof().await;
    drop(c);

    let status = server.wait_exit(Duration::from_secs(5)).await;
    assert_eq!(status.code(), Some(0), "SIG{signal}: exit status {status}; stderr:\n{}", server.stderr());
    assert!(signalled.elapsed() < Duration::from_secs(5), "took {:?}", signalled.elapsed());
}

#[tokio::test]
async fn sigterm_closes_connections_with_1001_and_exits_0() {
    graceful_on("TERM").await;
}

#[tokio::test]
async fn sigint_closes_connections_with_1001_and_exits_0() {
    graceful_on("INT").await;
}

/// Runs the binary with `args` to completion (bounded), returning its status and stderr.
async fn run_to_exit(args: &[&str]) -> (ExitStatus, String) {
    let mut child = Command::new(BIN)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn the reference-server binary");
    let stderr = Arc::new(Mutex::new(String::new()));
    drain(child.stderr.take().expect("piped stderr"), Arc::clone(&stderr));
    let mut process = ServerProcess { child, addr: "0.0.0.0:0".parse().expect("literal"), stderr };
    let status = process.wait_exit(WAIT).await;
    // the drain thread finishes once the pipe closes with the process
    let deadline = Instant::now() + WAIT;
    let mut text = process.stderr();
    while text.is_empty() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
        text = process.stderr();
    }
    (status, text)
}

#[tokio::test]
async fn exits_2_naming_the_address_when_the_listen_address_is_in_use() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a port to occupy");
    let addr = taken.local_addr().expect("local_addr").to_string();
    let (status, stderr) = run_to_exit(&["--listen", &addr]).await;
    assert_eq!(status.code(), Some(2), "exit status {status}; stderr:\n{stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "expected a one-line error, got:\n{stderr}");
    assert!(lines[0].contains(&addr), "the error does not name {addr}: {:?}", lines[0]);
    drop(taken);
}

#[tokio::test]
async fn exits_2_with_a_one_line_error_on_an_invalid_setting() {
    let (status, stderr) = run_to_exit(&["--listen", "127.0.0.1:0", "--max-connections", "0"]).await;
    assert_eq!(status.code(), Some(2), "exit status {status}; stderr:\n{stderr}");
    assert_eq!(stderr.lines().count(), 1, "expected a one-line error, got:\n{stderr}");
    assert!(stderr.contains("--max-connections"), "the error does not name the flag: {stderr:?}");
}

#[tokio::test]
async fn sigterm_right_after_the_startup_line_still_exits_0() {
    // a supervisor that waits for the startup line and then stops the server must get a clean shutdown
    for attempt in 1..=30 {
        let mut server = ServerProcess::start();
        server.signal("TERM");
        let status = server.wait_exit(Duration::from_secs(5)).await;
        assert_eq!(
            status.code(),
            Some(0),
            "attempt {attempt}: SIGTERM right after the startup line gave {status}; stderr:\n{}",
            server.stderr()
        );
    }
}
