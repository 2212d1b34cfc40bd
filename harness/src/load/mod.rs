//! `wsharness load`: a WebSocket load generator (see `commands::load` for the command).

pub mod errors;
pub mod payload;
pub mod session;
pub mod size;
pub mod stats;
