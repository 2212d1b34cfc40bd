//! What a ring drives: the run's side of its connections ([`Work`]), and why the ring may fail one
//! ([`Fault`]).

use crate::load::payload::{Outbox, PayloadBook};
use crate::load::session::Next;

/// What a ring's connections belong to: the run's side of driving them. The ring moves bytes and
/// keeps time; this says what the bytes mean and counts what happens.
pub trait Work: Send + Sync + 'static {
    /// One connection's protocol state (sans-IO).
    type Conn: Send + 'static;
    /// The run's clock, ns.
    fn now_ns(&self) -> u64;
    /// Whether the measured phase is over: connections stop sending and close once drained.
    fn stopping(&self) -> bool;
    /// Whether the run stops at once.
    fn aborted(&self) -> bool;
    /// Closed loop: how long a ring thread may wait for a batch of arrivals (`None`: not batched).
    fn patience_ns(&self) -> Option<u64>;
    /// Where borrowed message bodies are ([`Outbox`]).
    fn book(&self) -> &PayloadBook;
    /// Bytes from the peer at `now_ns`; whether the connection lives on.
    fn on_bytes(&self, conn: &mut Self::Conn, data: &[u8], now_ns: u64) -> bool;
    /// Writes what is due into `out`; `draining`: [`Work::stop_sending`] was called.
    fn fill(&self, conn: &mut Self::Conn, now_ns: u64, draining: bool, out: &mut Outbox) -> Next;
    /// The measured phase is over for this connection.
    fn stop_sending(&self, conn: &mut Self::Conn);
    /// Whether this connection has begun its close (the peer's end of the stream is then no error).
    fn closing(&self, conn: &Self::Conn) -> bool;
    /// The run aborted with this connection open.
    fn abandon(&self, conn: &mut Self::Conn);
    /// The ring failed a connection.
    fn fault(&self, fault: Fault);
    /// The connection is over (its socket closed or dropped); called once per connection.
    fn closed(&self, conn: &mut Self::Conn);
}

/// Why the ring failed a connection.
#[derive(Debug)]
pub enum Fault {
    /// TCP closed without a close frame (RFC 6455 §7.1.5: 1006).
    Eof,
    /// A receive or send failed.
    Io(std::io::Error),
    /// The ring had no slot left (cannot happen with the pool's sizing).
    NoSlot,
    /// The socket could not be registered in the fixed-file table.
    Register,
}
