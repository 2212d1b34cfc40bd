//! Shared test support for the `wsharness` integration tests.
//!
//! - [`flawed_server`]: a small RFC 6455 echo server, correct by default, with one
//!   switchable flaw per rule, so that a test can show every case able to fail.
//! - [`hostile_server`]: servers that flood, stall, die or answer 404: the harness must survive them.

// Each test binary compiles this module and uses a different part of it.
#![allow(dead_code)]

pub mod flawed_server;
pub mod hostile_server;
