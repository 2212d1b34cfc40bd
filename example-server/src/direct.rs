//! A connection's socket, shared by its WebSocket stream and the broadcasts: a broadcast writes one
//! frame, encoded once for all its receivers, straight to each receiver's socket from the
//! broadcasting task, instead of queueing a message for each receiver's writer task to encode and
//! send (a task woken, a message built and a frame encoded per receiver per broadcast).
//!
//! Every write goes through [`Socket::write`], under the connection's lock: what the socket does not
//! take at once is kept, in order, and written by the connection's flusher task ([`Socket::flush`])
//! when the socket is writable again. Writes never wait, so a whole buffer is always taken at once and
//! frames from the two writers cannot interleave. What is kept is capped ([`MAX_PENDING`]): a client
//! that falls further behind is cut off.

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{ready, Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::Notify;

/// Bytes kept for a client that does not read, at most; past them it is cut off.
pub const MAX_PENDING: usize = 1 << 20;

/// A client fell [`MAX_PENDING`] bytes behind (or its socket failed): it is being cut off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CutOff;

#[derive(Debug, Default)]
struct Pending {
    bytes: Vec<u8>,
    cut: bool,
}

/// One connection's socket and the bytes it has not taken yet.
#[derive(Debug)]
pub struct Socket {
    tcp: TcpStream,
    pending: Mutex<Pending>,
    wake: Notify,
    gone: Notify,
}

impl Socket {
    /// Shares `tcp`.
    pub fn new(tcp: TcpStream) -> Arc<Socket> {
        Arc::new(Socket { tcp, pending: Mutex::new(Pending::default()), wake: Notify::new(), gone: Notify::new() })
    }

    fn lock(&self) -> MutexGuard<'_, Pending> {
        self.pending.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Writes all of `bytes` now or keeps the rest for the flusher, after what is already kept.
    pub fn write(&self, bytes: &[u8]) -> Result<(), CutOff> {
        let mut p = self.lock();
        if p.cut {
            return Err(CutOff);
        }
        let mut rest = bytes;
        if p.bytes.is_empty() {
            match self.tcp.try_write(bytes) {
                Ok(n) => rest = &bytes[n..],
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(_) => return Err(self.cut(&mut p)),
            }
        }
        if rest.is_empty() {
            return Ok(());
        }
        if p.bytes.len() + rest.len() > MAX_PENDING {
            return Err(self.cut(&mut p));
        }
        p.bytes.extend_from_slice(rest);
        self.wake.notify_one();
        Ok(())
    }

    /// Cuts the client off: nothing more is written, and the connection is told to end
    /// ([`Socket::cut_off`]).
    fn cut(&self, p: &mut Pending) -> CutOff {
        p.cut = true;
        p.bytes = Vec::new();
        self.wake.notify_one();
        self.gone.notify_one();
        CutOff
    }

    /// Completes once the client has been cut off.
    pub async fn cut_off(&self) {
        self.gone.notified().await;
    }

    /// The connection's flusher: writes what [`Socket::write`] kept whenever the socket is writable,
    /// until the client is cut off or `stop` is notified.
    pub async fn flush(&self, stop: &Notify) {
        loop {
            tokio::select! {
                _ = self.wake.notified() => {}
                _ = stop.notified() => return,
            }
            loop {
                {
                    let mut p = self.lock();
                    if p.cut {
                        return;
                    }
                    if p.bytes.is_empty() {
                        break;
                    }
                    match self.tcp.try_write(&p.bytes) {
                        Ok(n) => drop(p.bytes.drain(..n)),
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                        Err(_) => {
                            self.cut(&mut p);
                            return;
                        }
                    }
                    if p.bytes.is_empty() {
                        break;
                    }
                }
                tokio::select! {
                    r = self.tcp.writable() => if r.is_err() { return },
                    _ = stop.notified() => return,
                }
            }
        }
    }
}

/// A server's text frame (RFC 6455 §5.2: FIN, opcode 1, unmasked) carrying `text`.
pub fn text_frame(text: &str) -> Vec<u8> {
    let len = text.len();
    let mut f = Vec::with_capacity(len + 10);
    f.push(0x81);
    match len {
        0..=125 => f.push(len as u8),
        126..=0xFFFF => {
            f.push(126);
            f.extend_from_slice(&(len as u16).to_be_bytes());
        }
        _ => {
            f.push(127);
            f.extend_from_slice(&(len as u64).to_be_bytes());
        }
    }
    f.extend_from_slice(text.as_bytes());
    f
}

/// The stream the connection's WebSocket runs over: reads from the socket, writes through
/// [`Socket::write`] (so never waits: what the socket does not take is kept for the flusher).
#[derive(Debug, Clone)]
pub struct Stream(pub Arc<Socket>);

impl AsyncRead for Stream {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let tcp = &self.0.tcp;
        loop {
            ready!(tcp.poll_read_ready(cx))?;
            match tcp.try_read(buf.initialize_unfilled()) {
                Ok(n) => {
                    buf.advance(n);
                    return Poll::Ready(Ok(()));
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(self: Pin<&mut Self>, _: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Poll::Ready(match self.0.write(buf) {
            Ok(()) => Ok(buf.len()),
            Err(CutOff) => Err(io::Error::new(io::ErrorKind::BrokenPipe, "the client was cut off")),
        })
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        // what the socket did not take is the flusher's
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_have_the_three_length_forms() {
        assert_eq!(text_frame("hi"), [0x81, 2, b'h', b'i']);
        let mid = text_frame(&"x".repeat(300));
        assert_eq!(&mid[..4], &[0x81, 126, 1, 44]);
        assert_eq!(mid.len(), 304);
        let big = text_frame(&"x".repeat(70_000));
        assert_eq!(&big[..2], &[0x81, 127]);
        assert_eq!(u64::from_be_bytes(big[2..10].try_into().unwrap_or_default()), 70_000);
    }

    async fn pair() -> (Arc<Socket>, TcpStream) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap_or_else(|e| panic!("{e}"));
        let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
        let client = TcpStream::connect(addr).await.unwrap_or_else(|e| panic!("{e}"));
        let (server, _) = listener.accept().await.unwrap_or_else(|e| panic!("{e}"));
        (Socket::new(server), client)
    }

    #[tokio::test]
    async fn what_the_socket_does_not_take_is_flushed_in_order_and_a_client_that_never_reads_is_cut_off() {
        use tokio::io::AsyncReadExt;
        let (socket, mut client) = pair().await;
        let stop = Arc::new(Notify::new());
        let flusher = {
            let (socket, stop) = (Arc::clone(&socket), Arc::clone(&stop));
            tokio::spawn(async move { socket.flush(&stop).await })
        };
        // more than the socket buffers take at once: the rest is kept and flushed, in order
        let chunk: Vec<u8> = (0..=255u8).cycle().take(64 * 1024).collect();
        for _ in 0..8 {
            assert_eq!(socket.write(&chunk), Ok(()));
        }
        let mut got = vec![0u8; chunk.len() * 8];
        client.read_exact(&mut got).await.unwrap_or_else(|e| panic!("{e}"));
        assert!(got.chunks(chunk.len()).all(|c| c == chunk.as_slice()));
        // a client that stops reading: cut off once MAX_PENDING is kept, and told so
        let mut writes = 0;
        while socket.write(&chunk).is_ok() {
            writes += 1;
            assert!(writes < 1000, "never cut off");
        }
        tokio::time::timeout(std::time::Duration::from_secs(5), socket.cut_off())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(socket.write(b"x"), Err(CutOff));
        tokio::time::timeout(std::time::Duration::from_secs(5), flusher)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_else(|e| panic!("{e}"));
    }
}
