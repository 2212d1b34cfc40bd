//! Placeholder (replaced below).
use super::driver::{Ctx, Park, Parked};
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
    fn park(&self, conn: Parked) -> Result<(), Parked> {
        Err(conn)
    }
}
