//! Hostile servers: a valid opening handshake, then one way of trying to break the client that tests
//! them (floods, endless messages, pings without reading, a slow reader that floods, a server that stops
//! accepting connections, endpoints that are no WebSocket endpoint at all). Each is a few lines; every
//! wait is bounded, and dropping the server stops it.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinSet;

/// What the server does after (or instead of) the handshake.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hostile {
    /// One text message that never ends: 1-byte continuation frames, forever.
    EndlessFragments,
    /// Continuation frames with no message started, forever.
    EndlessContinuations,
    /// Text frames with RSV1 set (no extension negotiated), forever.
    Rsv1Flood,
    /// Reads one byte every 50 ms, and floods text messages meanwhile.
    SlowReaderFlood,
    /// Pings as fast as it can and never reads.
    PingsNeverReads,
    /// Unsolicited binary messages of 1 KiB, as fast as it can, while echoing nothing.
    UnsolicitedFlood,
    /// Answers every request with 404 Not Found.
    NotFound,
    /// A correct-looking 101 for the first `n` connections, then stops listening (a crashed server).
    DiesAfter(usize),
}

impl Hostile {
    /// The floods, for tests that try each.
    pub const FLOODS: [Hostile; 6] = [
        Hostile::EndlessFragments,
        Hostile::EndlessContinuations,
        Hostile::Rsv1Flood,
        Hostile::SlowReaderFlood,
        Hostile::PingsNeverReads,
        Hostile::UnsolicitedFlood,
    ];
}

/// A running hostile server on 127.0.0.1.
pub struct HostileServer {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
}

impl HostileServer {
    /// Starts the server on a free port.
    pub async fn start(how: Hostile) -> HostileServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local address");
        let (stop, mut stopped) = oneshot::channel();
        tokio::spawn(async move {
            let mut conns = JoinSet::new();
            let mut accepted = 0;
            let mut stop_seen = false;
            loop {
                tokio::select! {
                    _ = &mut stopped => {
                        stop_seen = true;
                        break;
                    }
                    a = listener.accept() => {
                        let Ok((stream, _)) = a else { continue };
                        accepted += 1;
                        conns.spawn(serve(stream, how));
                        if matches!(how, Hostile::DiesAfter(n) if accepted >= n) {
                            break;
                        }
                    }
                }
            }
            // the listener closes here: new connections are refused; a dying server's connections end too
            if matches!(how, Hostile::DiesAfter(_)) {
                conns.abort_all();
            }
            drop(listener);
            if !stop_seen {
                let _ = stopped.await;
            }
            conns.abort_all();
        });
        HostileServer { addr, stop: Some(stop) }
    }

    /// `ws://127.0.0.1:PORT/`.
    pub fn url(&self) -> String {
        format!("ws://{}/", self.addr)
    }
}

impl Drop for HostileServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Reads a request head (at most 16 KiB, 5 s) and returns its Sec-WebSocket-Key.
async fn read_key(stream: &mut TcpStream) -> Option<String> {
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf)).await.ok()?.ok()?;
        if n == 0 || head.len() > 16 * 1024 {
            return None;
        }
        head.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8_lossy(&head);
    text.lines()
        .find_map(|l| l.split_once(':').filter(|(k, _)| k.trim().eq_ignore_ascii_case("sec-websocket-key")))
        .map(|(_, v)| v.trim().to_string())
}

async fn serve(mut stream: TcpStream, how: Hostile) {
    let Some(key) = read_key(&mut stream).await else { return };
    if how == Hostile::NotFound {
        let _ = stream.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\nnot found").await;
        return;
    }
    let accept = wsharness::wire::accept_for(&key);
    let head = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"
    );
    if stream.write_all(head.as_bytes()).await.is_err() {
        return;
    }
    let _ = match how {
        Hostile::EndlessFragments => flood_after(&mut stream, &[0x01, 0x01, b'a'], &[0x00, 0x01, b'a']).await,
        Hostile::EndlessContinuations => flood_after(&mut stream, &[], &[0x00, 0x01, b'a']).await,
        Hostile::Rsv1Flood => flood_after(&mut stream, &[], &[0xc1, 0x01, b'a']).await,
        Hostile::PingsNeverReads => flood_after(&mut stream, &[], &[0x89, 0x04, b'p', b'i', b'n', b'g']).await,
        Hostile::UnsolicitedFlood => {
            let mut frame = vec![0x82, 126, 0x04, 0x00];
            frame.resize(4 + 1024, 0xab);
            flood_after(&mut stream, &[], &frame).await
        }
        Hostile::SlowReaderFlood => slow_reader_flood(stream).await,
        Hostile::DiesAfter(_) => echo_nothing(stream).await,
        Hostile::NotFound => Ok(()),
    };
}

/// Writes `first`, then `frame` again and again (many copies per write) until the peer goes away.
async fn flood_after(stream: &mut TcpStream, first: &[u8], frame: &[u8]) -> std::io::Result<()> {
    stream.write_all(first).await?;
    let batch: Vec<u8> = frame.iter().copied().cycle().take(frame.len() * (64 * 1024 / frame.len()).max(1)).collect();
    loop {
        stream.write_all(&batch).await?;
    }
}

/// Reads a byte every 50 ms in one task while another floods text messages.
async fn slow_reader_flood(stream: TcpStream) -> std::io::Result<()> {
    let (mut rd, mut wr) = stream.into_split();
    let reader = tokio::spawn(async move {
        let mut byte = [0u8; 1];
        loop {
            tokio::time::sleep(Duration::from_millis(50)).await;
            match rd.read(&mut byte).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    });
    let batch: Vec<u8> = [0x81u8, 0x05, b'h', b'e', b'l', b'l', b'o'].iter().copied().cycle().take(7 * 9000).collect();
    let result = loop {
        if let Err(e) = wr.write_all(&batch).await {
            break Err(e);
        }
    };
    reader.abort();
    result
}

/// Reads and discards until the peer goes away (a connection that does nothing).
async fn echo_nothing(mut stream: TcpStream) -> std::io::Result<()> {
    let mut buf = [0u8; 4096];
    while stream.read(&mut buf).await? > 0 {}
    Ok(())
}
