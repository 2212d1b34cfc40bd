//! The load generator behind `wsharness load`.
//!
//! One module per job: [`size`] (payload sizes), [`payload`] (pre-masked frames and echo checks),
//! [`session`] (one connection's protocol, sans-IO), [`deflate`] (permessage-deflate: the offer,
//! compressing messages, inflating echoes), [`stats`] (per-thread histograms and counters),
//! [`errors`] (error kinds), [`connect`] (TCP connect and handshake), [`driver`] (tokio tasks),
//! [`uring`] (connections beyond the file-descriptor limit, echo runs and scenarios alike) and [`bufring`] (its receive buffers), [`run`] (phases and the time series),
//! [`threshold`], [`shard`], [`system`] (fd limit, source addresses, CPU and memory), [`progress`],
//! [`report`] (the report model and the terminal table).

pub mod bufring;
pub mod connect;
pub mod deflate;
pub mod driver;
pub mod errors;
pub mod payload;
pub mod progress;
pub mod report;
pub mod run;
pub mod session;
pub mod shard;
pub mod size;
pub mod stats;
pub mod system;
pub mod threshold;
pub mod tls_driver;
pub mod uring;
