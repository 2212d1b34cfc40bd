//! Testing WebSocket clients (issue 13; the design is `docs/client-testing.md`): the parts that need no socket.
//!
//! - [`autobahn_api`]: Autobahn|Testsuite's fuzzingserver URL API (`/getCaseCount`, `/runCase?case=N&agent=A`,
//!   ...) routed from a request target to an [`ApiRequest`], and the messages Autobahn answers with.
//! - [`numbering`]: case numbers as Autobahn gives them ([`CaseNumbering`]).
//! - [`index`]: `index.json` in Autobahn's layout ([`AutobahnIndex`]).
//! - [`query`]: query strings read as Autobahn reads them; [`pyjson`]: JSON written as Python writes it.
//!
//! The server side of the opening handshake is in [`crate::wire::handshake::server`].

pub mod autobahn_api;
pub mod index;
pub mod numbering;
pub mod pyjson;
pub mod query;

pub use autobahn_api::{route, ApiError, ApiRequest};
pub use index::{AutobahnIndex, CaseResult, IndexEntry, IndexError};
pub use numbering::{CaseNumber, CaseNumbering, NumberedCase};
