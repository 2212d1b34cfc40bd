//! Running cases against a server: the target, the connection observer, the
//! runner that judges each case, and the wire trace it records.

mod observe;
mod pool;
mod runner;
mod target;
pub mod tls;
pub mod trace;

pub use observe::{describe_frame, Event};
pub use pool::run_all;
pub use runner::{run_case, CaseOutcome, CloseOutcome, RunOptions};
pub use target::{Target, TargetError};
