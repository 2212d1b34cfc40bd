//! The event-loop server: a thread per core, each with its own epoll set (mio) and a slab of small
//! connection states ([`slot::Slot`]), instead of a tokio task per connection. An idle connection
//! costs its slab entry and nothing else: no task, no waker, no buffer, no timer entry (timeouts are
//! swept), so the server holds many more idle connections in the same memory. The protocol is the
//! same sans-IO core ([`crate::conn::Connection`]); this layer only moves bytes. Linux and other
//! systems mio supports; `reference-server --io tokio` keeps the tokio server.

// `Option<Box<Vec<u8>>>` on purpose: 8 bytes in every slot, where `Option<Vec<u8>>` takes 24 (a
// connection holds unsent bytes only while its client reads slowly; the slot is what an idle one costs)
#![allow(clippy::box_collection)]

mod open;
pub mod slot;
mod worker;

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use mio::{Poll, Waker};

use crate::config::Config;
use worker::{Shared, Worker, WAKER};

/// Pending connections the kernel queues (the load generator opens thousands at once).
const BACKLOG: i32 = 4096;

/// A running event-loop server.
pub struct EventLoop {
    local_addr: SocketAddr,
    shared: Arc<Shared>,
    wakers: Vec<Waker>,
    threads: Vec<JoinHandle<io::Result<()>>>,
}

impl EventLoop {
    /// Binds `addr` and starts `threads` loops on it.
    pub fn start(addr: SocketAddr, config: Config, threads: usize) -> io::Result<EventLoop> {
        let listener = std::net::TcpListener::bind(addr)?;
        raise_backlog(&listener);
        listener.set_nonblocking(true)?;
        let local_addr = listener.local_addr()?;
        let shared = Arc::new(Shared { config, stop: AtomicBool::new(false), open: AtomicUsize::new(0) });
        let mut wakers = Vec::new();
        let mut handles = Vec::new();
        for n in 0..threads.max(1) {
            let poll = Poll::new()?;
            wakers.push(Waker::new(poll.registry(), WAKER)?);
            let worker =
                Worker::new(poll, mio::net::TcpListener::from_std(listener.try_clone()?), Arc::clone(&shared))?;
            let handle = std::thread::Builder::new().name(format!("evloop-{n}")).spawn(move || worker.run())?;
            handles.push(handle);
        }
        Ok(EventLoop { local_addr, shared, wakers, threads: handles })
    }

    /// The address bound.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Starts the graceful shutdown: every open connection gets close 1001.
    pub fn shutdown(&self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        for w in &self.wakers {
            let _ = w.wake();
        }
    }

    /// Waits for every loop to end (after [`EventLoop::shutdown`]).
    pub fn join(self) -> io::Result<()> {
        for t in self.threads {
            t.join().map_err(|_| io::Error::other("an event-loop thread panicked"))??;
        }
        Ok(())
    }
}

/// `listen(2)` again with a longer queue than std's 128 (Linux takes a second call as the new length).
fn raise_backlog(listener: &std::net::TcpListener) {
    use std::os::fd::AsRawFd;
    // SAFETY: listen on our own listening socket's descriptor; failure leaves the old queue length
    let _ = unsafe { libc::listen(listener.as_raw_fd(), BACKLOG) };
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_idle_open_connection_is_one_small_slab_entry() {
        // the layout is described byte by byte in slot.rs; a change that grows it must say why
        let slot = std::mem::size_of::<Option<super::slot::Slot>>();
        assert!(slot <= 176, "a slot takes {slot} bytes");
        assert!(std::mem::size_of::<crate::conn::Connection>() <= 128);
    }
}
