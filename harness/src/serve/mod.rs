//! Testing WebSocket clients (issue 13; the design is `docs/client-testing.md`).
//!
//! - [`server`]: `wsharness serve`'s sockets (the only part here that does I/O besides [`exec`]).
//! - [`exec`]: `wsharness client-conformance --exec`: the client launched once per case.
//! - [`suite`]: the cases that test clients, numbered, and an agent's reports.
//! - [`autobahn_api`]: Autobahn|Testsuite's fuzzingserver URL API (`/getCaseCount`, `/runCase?case=N&agent=A`,
//!   ...) routed from a request target to an [`ApiRequest`], and the messages Autobahn answers with.
//! - [`numbering`]: case numbers as Autobahn gives them ([`CaseNumbering`]).
//! - [`index`]: `index.json` in Autobahn's layout ([`AutobahnIndex`]).
//! - [`query`]: query strings read as Autobahn reads them; [`pyjson`]: JSON written as Python writes it.
//!
//! The server side of the opening handshake is in [`crate::wire::handshake::server`].

pub mod autobahn_api;
pub mod exec;
pub mod index;
pub mod keys;
pub mod numbering;
pub mod pyjson;
pub mod query;
pub mod server;
pub mod suite;

pub use autobahn_api::{route, ApiError, ApiRequest};
pub use index::{AutobahnIndex, CaseResult, IndexEntry, IndexError};
pub use numbering::{CaseNumber, CaseNumbering, NumberedCase};
pub use server::{ServeConfig, Served, Serving};
pub use suite::ClientSuite;
