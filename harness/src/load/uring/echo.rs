//! The echo load on io_uring: the run's [`Ctx`] as a ring's [`Work`], each connection a
//! [`Session`], and the pool as the tokio driver's [`Park`] (connections arrive after their
//! handshake).

use std::sync::atomic::Ordering;
use std::sync::Arc;

use super::{Fault, Pool, Work};
use crate::load::connect::{Opened, Transport};
use crate::load::driver::{Ctx, Park, Parked};
use crate::load::errors::LoadError;
use crate::load::payload::{Outbox, PayloadBook};
use crate::load::session::{Next, Session};

impl Work for Ctx {
    type Conn = Session;

    fn now_ns(&self) -> u64 {
        self.clock.now_ns()
    }

    fn stopping(&self) -> bool {
        self.stop_send.is_cancelled()
    }

    fn aborted(&self) -> bool {
        self.abort.is_cancelled()
    }

    fn patience_ns(&self) -> Option<u64> {
        (!self.plan.open_loop()).then(|| self.collector.with(|t| t.recent_latency_ns) / 16)
    }

    fn book(&self) -> &PayloadBook {
        &self.plan.book
    }

    fn on_bytes(&self, s: &mut Session, data: &[u8], now_ns: u64) -> bool {
        self.collector.with(|t| s.on_bytes(&self.plan, data, now_ns, t))
    }

    fn fill(&self, s: &mut Session, now_ns: u64, draining: bool, out: &mut Outbox) -> Next {
        if draining && s.drained() && !s.closing() {
            s.begin_close(&self.plan, now_ns, out);
        }
        self.collector.with(|t| s.fill(&self.plan, now_ns, out, t))
    }

    fn stop_sending(&self, s: &mut Session) {
        s.stop_sending();
    }

    fn closing(&self, s: &Session) -> bool {
        s.closing()
    }

    fn abandon(&self, s: &mut Session) {
        // Ctrl-C: outstanding messages are not errors
        if !self.interrupted.load(Ordering::Relaxed) {
            self.collector.with(|t| s.abandon(t));
        }
    }

    fn fault(&self, fault: Fault) {
        let e = match fault {
            Fault::Eof => LoadError::UnexpectedClose(Some(1006)),
            Fault::Io(e) => LoadError::from_io(&e),
            Fault::NoSlot => LoadError::Connect(std::io::ErrorKind::OutOfMemory),
            Fault::Register => LoadError::Connect(std::io::ErrorKind::Other),
        };
        self.collector.with(|t| t.error(e));
    }

    fn closed(&self, _: &mut Session) {
        self.collector.gauges.close();
    }
}

impl Park for Arc<Pool<Ctx>> {
    fn park(&self, conn: Parked) -> Result<(), Parked> {
        // TLS stays with the tokio driver (rustls runs over its async stream)
        let Transport::Plain(_) = &conn.0.stream else { return Err(conn) };
        let (opened, mut session) = *conn;
        let Opened { stream, leftover, .. } = opened;
        let Transport::Plain(stream) = stream else { return Ok(()) };
        match stream.into_std() {
            Ok(stream) => self.hand(stream, leftover, session),
            Err(e) => {
                if let Some(ctx) = self.work() {
                    ctx.fault(Fault::Io(e));
                    ctx.closed(&mut session);
                }
            }
        }
        Ok(())
    }
}
