//! wsharness: conformance and load testing for RFC 6455 WebSocket servers.
//!
//! - [`case`]: the case-file model, loader and validation.
//! - [`launcher`]: starts the client under test once per case (`--exec`) and ends it.
//! - [`load`]: the load generator behind `wsharness load` and `wsharness merge`.
//! - [`serve`]: testing clients: Autobahn's fuzzingserver URL API and `index.json` (issue 13, in progress).
//! - [`verdict`]: Autobahn-compatible verdicts.
//! - [`wire`]: puts any bytes on the wire and describes anything a server
//!   sends back. It shares no code with the reference server, so that a
//!   tester never shares a bug with what it tests.
//!
//! Dependencies, and why each is here: `httparse` (parsing the server's HTTP
//! response, and a client's request), `sha1` and `base64` (checking `Sec-WebSocket-Accept`),
//! `thiserror` (typed errors), `serde` and `toml` (case files), `clap` (the
//! command line), `flate2` with the zlib-rs backend (permessage-deflate, RFC 7692:
//! the only pure-Rust backend that takes a window size, which `*_max_window_bits` needs). For [`load`]: `hdrhistogram` (latency histograms, lossless and
//! mergeable), `tokio-util` (cancellation of a run's phases), `rlimit` (raising the
//! file-descriptor limit), `libc` (reads that clear readiness, CPU time, page size),
//! `io-uring` (sockets parked beyond the descriptor limit, batched I/O); benches use
//! `criterion` and `tungstenite` (the peer codec). For [`launcher`]: `shell-words` (a `--exec`
//! command line split as a POSIX shell would, without running one).

pub mod case;
pub mod cli;
pub mod commands;
pub mod conformance;
pub mod embedded;
pub mod launcher;
pub mod load;
pub mod report;
pub mod scenario;
pub mod serve;
pub mod supervisor;
pub mod verdict;
pub mod wire;
