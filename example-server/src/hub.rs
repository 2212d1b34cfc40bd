//! Who is connected, for broadcast: each connection's outbound queue, bounded, and its socket, which
//! a broadcast writes to directly ([`crate::direct`]).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::mpsc;

use crate::direct::{text_frame, Socket};

/// Messages queued for one connection at most; a client that falls further behind is cut off
/// rather than let the server's memory grow (see [`Hub::broadcast`]).
pub const QUEUE: usize = 4096;

/// What a connection's writer is given to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Out {
    /// A text message.
    Text(String),
    /// A close frame with this code and reason; the connection ends after it.
    Close(u16, &'static str),
}

/// One connection's outbound queue, in order.
pub type Outbox = mpsc::Sender<Out>;

/// A connected client: its queue and, when a broadcast may write to it directly, its socket.
#[derive(Debug)]
struct Client {
    tx: Outbox,
    socket: Option<Arc<Socket>>,
}

/// The connected clients.
#[derive(Debug, Default)]
pub struct Hub {
    next_id: AtomicU64,
    clients: Mutex<HashMap<u64, Client>>,
}

impl Hub {
    /// Registers a connection; returns its id and both ends of its queue. With `socket`, broadcasts
    /// are written straight to it (after whatever the queue's writer has written: every write goes
    /// through the socket's lock, in order); without, they go through the queue like replies.
    pub fn join(&self, socket: Option<Arc<Socket>>) -> (u64, Outbox, mpsc::Receiver<Out>) {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = mpsc::channel(QUEUE);
        self.lock().insert(id, Client { tx: tx.clone(), socket });
        (id, tx, rx)
    }

    /// Removes a connection.
    pub fn leave(&self, id: u64) {
        self.lock().remove(&id);
    }

    /// Sends `text` to every client; returns how many got it. The frame is encoded once and written to
    /// each client's socket (what a socket does not take is kept for its flusher); a client without a
    /// socket here gets it through its queue. A client too far behind (its kept bytes, or its queue,
    /// full) is dropped from the hub and cut off.
    pub fn broadcast(&self, text: &str) -> usize {
        let frame = text_frame(text);
        let mut clients = self.lock();
        clients.retain(|_, c| match &c.socket {
            Some(socket) => socket.write(&frame).is_ok(),
            None => c.tx.try_send(Out::Text(text.to_owned())).is_ok(),
        });
        clients.len()
    }

    /// Connected clients.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether no client is connected.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Client>> {
        self.clients.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_broadcast_reaches_everyone_and_a_full_queue_drops_its_client() {
        let hub = Hub::default();
        let (_a, _tx_a, mut rx_a) = hub.join(None);
        let (b, _tx_b, _rx_b) = hub.join(None);
        assert_eq!(hub.broadcast("hi"), 2);
        assert_eq!(rx_a.recv().await, Some(Out::Text("hi".into())));
        for _ in 0..QUEUE {
            hub.broadcast("x");
        }
        // a's queue was drained by one, b's was not: b is dropped at the overflow
        assert_eq!(hub.len(), 1);
        hub.leave(b);
        assert_eq!(hub.len(), 1);
    }
}
