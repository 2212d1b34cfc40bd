//! The reference server's integration tests, one binary (ripgrep's shape): one module per concern.
//! Each module opens with a line of what it shows; `common` holds the raw client they share.

mod common;

mod back_pressure;
mod bomb_heap;
mod delivery;
mod echo_with_tungstenite;
mod handshake;
mod parsers_survive_hostile_bytes;
mod permessage_deflate;
mod shutdown_signal;
mod violations;
