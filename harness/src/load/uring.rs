//! Placeholder (replaced below).
use super::connect::Opened;
use super::driver::{Ctx, Park};
use super::session::Session;
use std::sync::Arc;

/// io_uring connection pool.
pub struct Pool;
impl Pool {
    /// Starts.
    pub fn start(_connections: u64, _fd_soft: u64) -> std::io::Result<Pool> {
        Err(std::io::Error::other("io_uring pool not built yet"))
    }
    /// Attaches.
    pub fn attach(&self, _ctx: Arc<Ctx>) {}
    /// Stops.
    pub fn stop(&self) {}
}
impl Park for Arc<Pool> {
    fn park(&self, opened: Opened, session: Session) -> Result<(), (Opened, Session)> {
        Err((opened, session))
    }
}
