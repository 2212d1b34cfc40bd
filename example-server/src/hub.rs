//! Who is connected, for broadcast: each connection's outbound queue, bounded.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use tokio::sync::mpsc;

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

/// The connected clients.
#[derive(Debug, Default)]
pub struct Hub {
    next_id: AtomicU64,
    clients: Mutex<HashMap<u64, Outbox>>,
}

impl Hub {
    /// Registers a connection; returns its id and both ends of its queue (replies to the connection
    /// go through the same queue as broadcasts, so one writer keeps them in order).
    pub fn join(&self) -> (u64, Outbox, mpsc::Receiver<Out>) {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = mpsc::channel(QUEUE);
        self.lock().insert(id, tx.clone());
        (id, tx, rx)
    }

    /// Removes a connection.
    pub fn leave(&self, id: u64) {
        self.lock().remove(&id);
    }

    /// Queues `text` for every client; returns how many got it. A client whose queue is full is
    /// dropped from the hub (its connection then ends: the queue's sender is gone).
    pub fn broadcast(&self, text: &str) -> usize {
        let mut clients = self.lock();
        clients.retain(|_, tx| tx.try_send(Out::Text(text.to_owned())).is_ok());
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

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Outbox>> {
        self.clients.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_broadcast_reaches_everyone_and_a_full_queue_drops_its_client() {
        let hub = Hub::default();
        let (_a, _tx_a, mut rx_a) = hub.join();
        let (b, _tx_b, _rx_b) = hub.join();
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
