//! Hostile servers for the load generator: each completes a valid opening handshake, then does one
//! thing a peer may do to a client's memory or time (flood, ping without reading, stream one
//! message without end, read slowly). Each listens on 127.0.0.1:0 with a small receive buffer, so
//! that "does not read" shows within milliseconds rather than once megabytes of kernel buffers
//! have filled.

use std::io::{Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use wsharness::wire::{accept_for, FrameReader, FrameSpec, Opcode};

/// What the server does after its 101.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hostile {
    /// (a) Floods text frames as fast as it can, never reads.
    DataFlood,
    /// (b) Floods unsolicited pings (125-byte payloads), never reads.
    PingFlood,
    /// (c) Waits for the first message, then answers it with one fragmented message that never
    /// ends (a text frame without FIN, then continuation frames forever); never reads again.
    EndlessMessage,
    /// (d) Floods pings while reading 1 KiB every 20 ms.
    SlowReaderPingFlood,
    /// (e) Floods unsolicited empty pongs (faster than a client parses them), never reads (and
    /// never echoes).
    PongFlood,
    /// (e) Floods text frames with RSV1 set (no extension was negotiated), never reads.
    Rsv1Flood,
    /// A correct echo server that floods unsolicited empty pongs between its echoes (which RFC
    /// 6455 §5.5.3 allows), until it answers the client's close.
    EchoUnderPongFlood,
}

/// Receive buffer of the server's sockets.
const RCVBUF: u32 = 4096;

/// A running hostile server.
pub struct HostileServer {
    /// `ws://127.0.0.1:PORT/`.
    pub url: String,
    runtime: Option<tokio::runtime::Runtime>,
}

impl HostileServer {
    /// Starts a server on its own runtime.
    pub fn start(behavior: Hostile) -> HostileServer {
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
        let listener = runtime.block_on(async {
            let socket = TcpSocket::new_v4().unwrap();
            socket.set_recv_buffer_size(RCVBUF).unwrap();
            socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
            socket.listen(64).unwrap()
        });
        let url = format!("ws://{}/", listener.local_addr().unwrap());
        runtime.spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve(stream, behavior));
            }
        });
        HostileServer { url, runtime: Some(runtime) }
    }
}

impl Drop for HostileServer {
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_timeout(Duration::from_millis(100));
        }
    }
}

/// Reads the client's request and answers 101; `None` if the client went away.
async fn handshake(s: &mut TcpStream) -> Option<()> {
    let mut buf = Vec::new();
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        let mut chunk = [0u8; 4096];
        let n = s.read(&mut chunk).await.ok().filter(|n| *n > 0)?;
        buf.extend_from_slice(&chunk[..n]);
    }
    let head = String::from_utf8_lossy(&buf);
    let key = head
        .lines()
        .find_map(|l| l.split_once(':').filter(|(k, _)| k.trim().eq_ignore_ascii_case("sec-websocket-key")))
        .map(|(_, v)| v.trim().to_string())?;
    let response = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n\r\n",
        accept_for(&key)
    );
    s.write_all(response.as_bytes()).await.ok()
}

/// `frame` repeated to about 64 KiB, so that each write is one system call's worth.
fn repeated(frame: FrameSpec) -> Vec<u8> {
    let one = frame.unmasked().encode().unwrap();
    one.repeat((64 * 1024 / one.len()).max(1))
}

async fn serve(mut s: TcpStream, behavior: Hostile) {
    if handshake(&mut s).await.is_none() {
        return;
    }
    let payload = vec![b'p'; 125];
    let block = match behavior {
        Hostile::DataFlood => repeated(FrameSpec::text("flood")),
        Hostile::PingFlood | Hostile::SlowReaderPingFlood => repeated(FrameSpec::ping(payload)),
        // empty pongs: two bytes a frame, the most frames for the bytes, the most work to parse
        Hostile::PongFlood => repeated(FrameSpec::pong("")),
        Hostile::EchoUnderPongFlood => return echo_under_flood(s, repeated(FrameSpec::pong(""))).await,
        Hostile::Rsv1Flood => repeated(FrameSpec::text("x").rsv(0b100)),
        Hostile::EndlessMessage => {
            // the first message's bytes arrive, then its "echo" starts and never ends
            let mut first = [0u8; 1];
            if s.read(&mut first).await.ok().filter(|n| *n > 0).is_none() {
                return;
            }
            let start = FrameSpec::text("x").fin(false).unmasked().encode().unwrap();
            if s.write_all(&start).await.is_err() {
                return;
            }
            repeated(FrameSpec::continuation("x").fin(false))
        }
    };
    // the flood from a thread of its own, with blocking writes: as fast as the kernel takes them
    let Ok(s) = s.into_std() else { return };
    if s.set_nonblocking(false).is_err() {
        return;
    }
    if behavior == Hostile::SlowReaderPingFlood {
        let Ok(mut rd) = s.try_clone() else { return };
        std::thread::spawn(move || {
            let mut chunk = [0u8; 1024];
            loop {
                std::thread::sleep(Duration::from_millis(20));
                if matches!(rd.read(&mut chunk), Ok(0) | Err(_)) {
                    return;
                }
            }
        });
    }
    std::thread::spawn(move || {
        let mut s = s;
        while s.write_all(&block).is_ok() {}
    });
}

/// Echoes every message and answers the close, while another task writes `flood` between the
/// echoes until then (frames are never interleaved: one lock around each write).
async fn echo_under_flood(s: TcpStream, flood: Vec<u8>) {
    let (mut rd, wr) = s.into_split();
    let wr = Arc::new(tokio::sync::Mutex::new(wr));
    let stop = Arc::new(AtomicBool::new(false));
    let flooding = {
        let (wr, stop) = (Arc::clone(&wr), Arc::clone(&stop));
        tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) && wr.lock().await.write_all(&flood).await.is_ok() {}
        })
    };
    let mut reader = FrameReader::new();
    let mut chunk = vec![0u8; 16384];
    'read: loop {
        match rd.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(n) => reader.push(&chunk[..n]),
        }
        while let Ok(Some(frame)) = reader.next_frame() {
            let opcode = frame.opcode();
            if opcode == Opcode::Close as u8 {
                // the flood stops between two of its writes, never inside a frame
                stop.store(true, Ordering::Relaxed);
                let _ = flooding.await;
                let reply = FrameSpec::new(opcode, frame.payload).unmasked().encode().unwrap();
                let _ = wr.lock().await.write_all(&reply).await;
                break 'read;
            }
            if opcode == Opcode::Text as u8 || opcode == Opcode::Binary as u8 {
                let echo = FrameSpec::new(opcode, frame.payload).unmasked().encode().unwrap();
                if wr.lock().await.write_all(&echo).await.is_err() {
                    break 'read;
                }
            }
        }
    }
    stop.store(true, Ordering::Relaxed);
}
