//! A strict, fast RFC 6455 WebSocket echo server.
//!
//! This crate is the yardstick of the wsharness toolkit: it must pass every
//! conformance case, and it shares no frame code with the harness, so that a
//! tester never shares a bug with what it tests. It is both a library (embed a
//! [`Server`] in tests or in `wsharness`) and the `reference-server` binary.
//!
//! The layout follows the RFC: [`frame`] (§5: opcodes, header, masking, close
//! codes), [`utf8`] (§8.1), [`handshake`] (§4.2), [`conn`] (the sans-IO
//! connection state machine, §5-§7), [`deflate`] (permessage-deflate, RFC 7692:
//! negotiation and the per-message codec), [`server`] (sockets, limits, shutdown, on tokio) and
//! [`evloop`] (the same over an epoll loop per core with a slab of small connection states: what
//! the binary runs by default, for the least memory per idle connection).
//!
//! Dependencies, and why each is here: `tokio` (the multi-threaded async runtime
//! and sockets), `tokio-util` (cancellation and task tracking for a graceful
//! shutdown), `httparse` (a fast, well-fuzzed HTTP/1.1 request parser),
//! `sha1` and `base64` (the `Sec-WebSocket-Accept` computation of §4.2.2),
//! `thiserror` (typed errors), `tracing` (structured logs), `flate2` with its
//! `zlib-rs` backend (DEFLATE for RFC 7692; that backend, unlike the default
//! miniz one, can set the LZ77 window size the negotiation agrees on, and
//! take a preset dictionary), `mio` and `libc` (the event loop's epoll readiness and the listen
//! queue length), and in the binary
//! only `clap`, `anyhow`, `humantime` and `tracing-subscriber`.

pub mod config;
pub mod conn;
pub mod deflate;
pub mod error;
pub mod evloop;
pub mod frame;
pub mod handshake;
mod io;
pub mod server;
pub mod utf8;

pub use config::Config;
pub use error::{HandshakeError, ProtocolError};
pub use server::{RunningServer, Server, ShutdownHandle};
