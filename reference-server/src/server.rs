//! The listening server: accepting, connection limits, and graceful shutdown.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpSocket};
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::Config;
use crate::error::HandshakeError;
use crate::io::serve;

/// Pending connections the kernel queues for us (the load generator opens thousands at once).
const BACKLOG: u32 = 4096;

/// A bound, not yet running, echo server.
///
/// ```no_run
/// # async fn demo() -> std::io::Result<()> {
/// use reference_server::{Config, Server};
/// let server = Server::bind("127.0.0.1:0".parse().unwrap(), Config::default()).await?; // ok: a doc example
/// let running = server.spawn();
/// println!("listening on {}", running.url());
/// running.shutdown().await?;
/// # Ok(()) }
/// ```
pub struct Server {
    listener: TcpListener,
    local_addr: SocketAddr,
    config: Arc<Config>,
    shutdown: CancellationToken,
}

/// Asks a running server to stop: every open connection gets close 1001.
#[derive(Debug, Clone)]
pub struct ShutdownHandle(CancellationToken);

impl ShutdownHandle {
    /// Starts the graceful shutdown; [`Server::run`] returns when it is done.
    pub fn shutdown(&self) {
        self.0.cancel();
    }
}

impl Server {
    /// Binds `addr` (port 0 picks a free port) with `config`.
    pub async fn bind(addr: SocketAddr, config: Config) -> io::Result<Server> {
        let socket = if addr.is_ipv4() { TcpSocket::new_v4()? } else { TcpSocket::new_v6()? };
        socket.set_reuseaddr(true)?;
        socket.bind(addr)?;
        let listener = socket.listen(BACKLOG)?;
        let local_addr = listener.local_addr()?;
        Ok(Server { listener, local_addr, config: Arc::new(config), shutdown: CancellationToken::new() })
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// A handle that stops the server from elsewhere (a signal handler, a test).
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        ShutdownHandle(self.shutdown.clone())
    }

    /// Accepts connections until shutdown is requested, then closes every
    /// connection with 1001 and returns once they are gone (or after the close
    /// timeout and one more second).
    pub async fn run(self) -> io::Result<()> {
        let tracker = TaskTracker::new();
        let slots = self.config.max_connections.map(|n| Arc::new(Semaphore::new(n)));
        loop {
            let accepted = tokio::select! {
                _ = self.shutdown.cancelled() => break,
                r = self.listener.accept() => r,
            };
            let (stream, peer) = match accepted {
                Ok(a) => a,
                Err(e) => {
                    // out of file descriptors or a connection reset before accept: keep serving
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
            };
            let config = Arc::clone(&self.config);
            let shutdown = self.shutdown.clone();
            let permit = match &slots {
                None => None,
                Some(s) => match Arc::clone(s).try_acquire_owned() {
                    Ok(p) => Some(p),
                    Err(_) => {
                        tracker.spawn(serve(stream, peer, config, shutdown, Some(HandshakeError::TooManyConnections)));
                        continue;
                    }
                },
            };
            tracker.spawn(async move {
                serve(stream, peer, config, shutdown, None).await;
                drop(permit);
            });
        }
        tracker.close();
        let grace = self.config.close_timeout * 2 + Duration::from_secs(1);
        if tokio::time::timeout(grace, tracker.wait()).await.is_err() {
            tracing::warn!(open = tracker.len(), "connections still open after the shutdown grace period");
        }
        Ok(())
    }

    /// Runs the server on the current tokio runtime and returns a handle to it.
    pub fn spawn(self) -> RunningServer {
        let local_addr = self.local_addr;
        let handle = self.shutdown_handle();
        let join = tokio::spawn(self.run());
        RunningServer { local_addr, handle, join }
    }
}

/// A server running on a tokio task.
pub struct RunningServer {
    local_addr: SocketAddr,
    handle: ShutdownHandle,
    join: JoinHandle<io::Result<()>>,
}

impl RunningServer {
    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// `ws://ADDR/`.
    pub fn url(&self) -> String {
        format!("ws://{}/", self.local_addr)
    }

    /// A handle that can stop the server.
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        self.handle.clone()
    }

    /// Stops the server gracefully and waits for it.
    pub async fn shutdown(self) -> io::Result<()> {
        self.handle.shutdown();
        self.join.await.map_err(io::Error::other)?
    }
}
