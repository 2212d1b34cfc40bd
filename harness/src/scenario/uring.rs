//! Scenarios on io_uring: the run's [`Shared`] as a ring's [`Work`] (the echo load's rings,
//! [`crate::load::uring`]), each connection a [`Link`]. Connections are opened and handshaken by
//! the tokio side ([`super::run`]) and handed over after their 101; TLS stays with tokio.

use std::sync::atomic::Ordering;
use std::sync::MutexGuard;

use super::link::{io_detail, Link, ABORTED_DETAIL, EOF_DETAIL, PEER_NOT_READING};
use super::run::Shared;
use super::stats::Tally;
use crate::load::payload::{Outbox, PayloadBook};
use crate::load::session::Next;
use crate::load::uring::{Fault, Work};

/// What a connection may have waiting for its socket before it counts as `peer_not_reading` and
/// ends (the tokio driver's bound is its write timeout).
pub const WRITE_CAP: usize = 4 << 20;

/// One scenario connection in a ring.
#[derive(Debug)]
pub struct RingConn {
    /// Its engine and frames.
    pub link: Link,
    /// Whether its role sends (counted in [`Shared`]'s senders until it ends).
    pub sends: bool,
}

impl Shared {
    fn tally(&self) -> MutexGuard<'_, Tally> {
        self.tally.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Work for Shared {
    type Conn = RingConn;

    fn now_ns(&self) -> u64 {
        self.clock.now_ns()
    }

    fn stopping(&self) -> bool {
        self.stop.is_cancelled()
    }

    fn aborted(&self) -> bool {
        self.abort.is_cancelled()
    }

    fn patience_ns(&self) -> Option<u64> {
        // every reply is offered to the engine as it comes: a step's latency is what is measured
        None
    }

    fn book(&self) -> &PayloadBook {
        &self.book
    }

    fn on_bytes(&self, c: &mut RingConn, data: &[u8], now_ns: u64) -> bool {
        c.link.on_bytes(data, now_ns, &mut self.tally())
    }

    fn fill(&self, c: &mut RingConn, now_ns: u64, draining: bool, out: &mut Outbox) -> Next {
        if out.len() > WRITE_CAP {
            self.tally().error(PEER_NOT_READING.into());
            return Next::End;
        }
        let senders = (!c.sends).then(|| self.senders.load(Ordering::Relaxed));
        match c.link.poll(now_ns, draining, senders, &mut self.tally(), out.own()) {
            Ok(Some(t)) => Next::WakeAt(t),
            Ok(None) => Next::Idle,
            Err(_) => Next::End,
        }
    }

    fn stop_sending(&self, _: &mut RingConn) {
        // the next fill stops the engine (`draining`)
    }

    fn closing(&self, c: &RingConn) -> bool {
        c.link.closing()
    }

    fn abandon(&self, _: &mut RingConn) {
        if !self.stop.is_cancelled() {
            self.tally().error(ABORTED_DETAIL.into());
        }
    }

    fn fault(&self, fault: Fault) {
        let detail = match fault {
            Fault::Eof => EOF_DETAIL.into(),
            Fault::Io(e) => io_detail(e.kind()),
            Fault::NoSlot => io_detail(std::io::ErrorKind::OutOfMemory),
            Fault::Register => io_detail(std::io::ErrorKind::Other),
        };
        self.tally().error(detail);
    }

    fn closed(&self, c: &mut RingConn) {
        c.link.finish(&mut self.tally());
        if c.sends {
            self.senders.fetch_sub(1, Ordering::Relaxed);
        }
        self.parked.fetch_sub(1, Ordering::Relaxed);
    }
}
