//! Test support for the load tests: run the `wsharness` binary, and a small echo server over
//! loopback that can misbehave on purpose (stall, refuse, close, corrupt, go silent); hostile
//! servers that attack the generator's memory and time are in [`hostile`].

#![allow(dead_code)]

pub mod hostile;

pub use crate::support::process::{binary, wsharness_measured};

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use wsharness::wire::{accept_for, FrameReader, FrameSpec};

/// Runs the binary to its end.
pub fn wsharness(args: &[&str], dir: &Path) -> Output {
    wsharness_env(args, dir, &[])
}

/// Runs the wsharness binary in `dir` with these environment variables set.
pub fn wsharness_env(args: &[&str], dir: &Path, env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(binary());
    cmd.args(args).current_dir(dir);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("wsharness runs")
}

/// A fresh temporary folder.
pub fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("wsharness-load-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// The report.json of a run.
pub fn report(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).expect("report.json exists")).expect("report.json is JSON")
}

/// How the test server behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behavior {
    /// A plain echo server.
    Echo,
    /// Echoes, but from `after` past the first message it stops reading and echoing for `stall`.
    StallOnce { after: Duration, stall: Duration },
    /// Answers the handshake with 503.
    Status503,
    /// Echoes `n` messages per connection, then closes with 1001.
    CloseAfter(u64),
    /// Flips a byte of every echo.
    Corrupt,
    /// Completes the handshake, then never answers.
    Silent,
    /// Answers each message with a masked frame (a server must not mask).
    MaskedEcho,
    /// A plain echo server whose 101 carries this `Sec-WebSocket-Extensions` value (and compresses nothing).
    Extensions(&'static str),
}

/// A running test server.
pub struct TestServer {
    /// `ws://127.0.0.1:PORT/`.
    pub url: String,
    /// Messages echoed.
    pub echoed: Arc<AtomicU64>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl TestServer {
    /// Starts a server on its own runtime (so that a blocking test thread can run the binary).
    pub fn start(behavior: Behavior) -> TestServer {
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
        let listener = runtime.block_on(TcpListener::bind("127.0.0.1:0")).unwrap();
        let url = format!("ws://{}/", listener.local_addr().unwrap());
        let echoed = Arc::new(AtomicU64::new(0));
        let first: Arc<Mutex<Option<Instant>>> = Arc::new(Mutex::new(None));
        let counter = Arc::clone(&echoed);
        runtime.spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve(stream, behavior, Arc::clone(&counter), Arc::clone(&first)));
            }
        });
        TestServer { url, echoed, runtime: Some(runtime) }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        // connections end with the runtime
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_timeout(Duration::from_millis(100));
        }
    }
}

async fn serve(mut s: TcpStream, behavior: Behavior, echoed: Arc<AtomicU64>, first: Arc<Mutex<Option<Instant>>>) {
    let _ = s.set_nodelay(true);
    let mut buf = Vec::new();
    let head_end = loop {
        let mut chunk = [0u8; 4096];
        let Ok(n) = s.read(&mut chunk).await else { return };
        if n == 0 {
            return;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    if behavior == Behavior::Status503 {
        let _ = s.write_all(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n").await;
        return;
    }
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let key = head
        .lines()
        .find_map(|l| l.split_once(':').filter(|(k, _)| k.trim().eq_ignore_ascii_case("sec-websocket-key")))
        .map(|(_, v)| v.trim().to_string())
        .unwrap_or_default();
    let extensions = match behavior {
        Behavior::Extensions(value) => format!("Sec-WebSocket-Extensions: {value}\r\n"),
        _ => String::new(),
    };
    let response = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n{extensions}\r\n",
        accept_for(&key)
    );
    if s.write_all(response.as_bytes()).await.is_err() {
        return;
    }
    let mut reader = FrameReader::new();
    reader.push(&buf[head_end..]);
    let mut count = 0u64;
    loop {
        while let Ok(Some(frame)) = reader.next_frame() {
            let opcode = frame.opcode();
            if opcode == 0x8 {
                let reply = FrameSpec::new(0x8, frame.payload).unmasked().encode().unwrap();
                let _ = s.write_all(&reply).await;
                return;
            }
            if opcode != 0x1 && opcode != 0x2 {
                if opcode == 0x9 {
                    let _ = s.write_all(&FrameSpec::pong(frame.payload).unmasked().encode().unwrap()).await;
                }
                continue;
            }
            let started = *first.lock().unwrap().get_or_insert_with(Instant::now);
            count += 1;
            let mut payload = frame.payload;
            match behavior {
                Behavior::Silent => continue,
                Behavior::StallOnce { after, stall } => {
                    let (from, to) = (started + after, started + after + stall);
                    let now = Instant::now();
                    if now >= from && now < to {
                        tokio::time::sleep_until(to.into()).await;
                    }
                }
                Behavior::CloseAfter(n) if count > n => {
                    let close = FrameSpec::close(wsharness::wire::CloseCode(1001), "going away").unmasked();
                    let _ = s.write_all(&close.encode().unwrap()).await;
                    return;
                }
                Behavior::Corrupt if !payload.is_empty() => {
                    let last = payload.len() - 1;
                    payload[last] ^= 0x20;
                }
                _ => {}
            }
            let spec = FrameSpec::new(opcode, payload);
            let spec = if behavior == Behavior::MaskedEcho { spec } else { spec.unmasked() };
            if s.write_all(&spec.encode().unwrap()).await.is_err() {
                return;
            }
            echoed.fetch_add(1, Ordering::Relaxed);
        }
        let mut chunk = [0u8; 16384];
        match s.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => reader.push(&chunk[..n]),
        }
    }
}
