//! Load scenarios: `wsharness load --scenario FILE` drives an application, not an echo server.
//!
//! A scenario file ([`file`]) names roles, each a number of connections running setup steps once
//! and then a loop of steps: send a message from a [`template`], expect messages recognised by a
//! JSON field (a [`pointer`]) or a regular expression ([`matcher`]) with a timeout, think. Several iterations may be
//! in flight per connection and replies may come in any order: the sans-IO [`engine`] gives each
//! incoming message to the oldest step waiting for it. Every named expect step gets its own exact
//! latency histogram ([`stats`]); the report carries them (`reports::scenario`), thresholds read
//! them (`step.NAME.p99<10ms`), and shards merge them exactly.
//!
//! The I/O only moves bytes between a socket and a connection's [`link`] (its engine and frames,
//! sans-IO): one tokio task per connection ([`conn`], [`run`]), over `ws://` or `wss://` (the load
//! generator's connect: TLS, subprotocols and headers per role); or, with `--io auto|io-uring`, the
//! plain connections handed after their handshake to the echo load's io_uring rings ([`uring`]).

pub mod conn;
pub mod engine;
pub mod fanout;
pub mod file;
pub mod link;
pub mod matcher;
pub mod pointer;
pub mod run;
pub mod stats;
pub mod template;
pub mod uring;

pub use file::{load, parse, Role, Scenario, ScenarioError, Step};
