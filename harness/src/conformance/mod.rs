//! Running cases against a server.
//!
//! The judge is sans-IO ([`judge`]): typed events in, typed results out. Around it: what a case
//! sends ([`send`]), the connection that turns reads into [`Event`]s ([`observe`]), the runner that
//! moves bytes and events between the two ([`runner`]), fresh connections for the `alive` probe and
//! the preflight ([`probe`]), typed connect errors ([`connect`]), the pool that runs many cases and
//! notices a target that went away ([`pool`]), the target URL, TLS, and the wire trace.

pub mod accept;
pub mod connect;
pub mod event;
pub mod judge;
pub mod messages;
pub mod observe;
pub mod pool;
pub mod probe;
pub mod runner;
pub mod scan;
pub mod send;
mod target;
pub mod tls;
pub mod trace;
pub mod unmask;

pub use accept::{read_request, AcceptError, Accepted};
pub use event::{describe_frame, Closed, Event};
pub use judge::{CloseOutcome, Initiator};
pub use pool::{run_all, RunSummary, TargetLost};
pub use probe::{preflight, PreflightError};
pub use runner::{case_budget, run_case, run_client_case, CaseOutcome, RunOptions};
pub use target::{Target, TargetError};
