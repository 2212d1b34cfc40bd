//! A small WebSocket *application* for `wsharness load` scenarios to run against: what most people
//! load-test is not an echo server but a chat or pub/sub that fans a message out, an API that
//! answers requests by id, a feed that pushes. Three protocols, one per path:
//!
//! - `/` (or `/shootout`): hashrocket's websocket-shootout. `{"type":"echo","payload":P}` comes back
//!   to the sender as is; `{"type":"broadcast","payload":P}` goes to every connected client (the
//!   sender too) as `{"type":"broadcast","payload":P}`, then the sender gets
//!   `{"type":"broadcastResult","payload":P,"listenCount":N}`.
//! - `/rpc`: JSON-RPC 2.0 over WebSocket. `{"jsonrpc":"2.0","id":I,"method":"echo","params":P}` is
//!   answered `{"jsonrpc":"2.0","id":I,"result":P}` (so a send time in P comes back with it), each
//!   reply held for a pseudo-random part of `--jitter`, so replies to requests in flight together
//!   come back out of order.
//! - `/graphql` (subprotocol `graphql-transport-ws`): `connection_init` → `connection_ack`, then
//!   `subscribe` with `variables.count` = N → N `next` messages → `complete`; `ping` → `pong`.
//!
//! `--delay` holds every message the server sends (a slower backend), so a test can check that the
//! measured latency moves by exactly that much. It is an example: built for clarity on
//! tokio-tungstenite (a well-kept implementation beside our own), not for speed, except for one
//! path: a broadcast encodes its frame once and writes it to every receiver's socket from the
//! broadcasting task ([`direct`]), so that a fan-out to thousands costs a system call per receiver,
//! not also a task, a message and a frame each.
//!
//! Dependencies: tokio-tungstenite (the WebSocket server side), serde_json (the three protocols are
//! JSON), futures-util (splitting a socket into its two halves), clap and humantime (flags), libc
//! (shutting down a client's socket when it is cut off).

pub mod direct;
pub mod hub;
pub mod protocol;
pub mod server;

pub use server::{Options, Server};
