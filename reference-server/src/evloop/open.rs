//! An open connection in the event loop: read, process, write, until the core is closed; and what the
//! loop's clock does to connections (handshake, idle and close timeouts, shutdown).

use std::io::{ErrorKind, Read};
use std::time::Instant;

use super::slot::{Phase, Slot};
use super::worker::{flush, write_some, Worker};
use crate::conn::State;
use crate::frame::CloseCode;

impl Worker {
    /// Moves bytes for an open connection: flushes what it owes, then reads, processes and answers
    /// until the socket is empty, the core is closed, or the turn's budget is spent.
    pub(super) fn open(&mut self, slot: &mut Slot, i: usize) -> bool {
        let now = self.now_ms();
        let Phase::Open { conn, carry, pending, .. } = &mut slot.phase else { return true };
        for _ in 0..super::worker::READS_PER_TURN {
            match flush(&mut slot.stream, pending) {
                Ok(true) => {}
                // the client does not read: neither do we, until it has (the socket says writable)
                Ok(false) => return true,
                Err(_) => return false,
            }
            let kept = carry.bytes().len();
            self.read[..kept].copy_from_slice(carry.bytes());
            let n = match slot.stream.read(&mut self.read[kept..]) {
                Ok(0) => {
                    tracing::debug!("client closed TCP");
                    return false;
                }
                Ok(n) => n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => return true,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(_) => return false,
            };
            slot.since = now;
            self.out.clear();
            let input = &self.read[..kept + n];
            let used = conn.process(input, &mut self.out);
            carry.set(&input[used..]);
            if !self.out.is_empty() {
                match write_some(&mut slot.stream, &self.out) {
                    Ok(p) => *pending = p,
                    Err(_) => return false,
                }
            }
            if conn.state() == State::Closed {
                if let Some(e) = conn.failure() {
                    tracing::debug!(error = %e, rfc = e.rfc_section(), "connection failed");
                }
                let pending = pending.take();
                slot.phase = Phase::Draining { pending, shut: false };
                slot.since = now;
                // it no longer counts against max_connections
                self.shared.open.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
                return true;
            }
        }
        // still bytes to read: after the others have had their turn
        self.again_push(i);
        true
    }

    /// Checks every connection's clock: handshakes and close replies that take too long end, idle
    /// connections get close 1001; a connection we close after its close waits for the client's FIN
    /// at most the close timeout. Also retries accepting (after running out of file descriptors).
    pub(super) fn sweep(&mut self) {
        let now = self.now_ms();
        let config = &self.shared.config;
        let ms = |d: std::time::Duration| d.as_millis().min(u32::MAX as u128) as u32;
        let (handshake, close) = (ms(config.handshake_timeout), ms(config.close_timeout));
        let idle = config.idle_timeout.map(ms);
        let mut ended = Vec::new();
        for i in 0..self.slots.len() {
            let Some(slot) = self.slots[i].as_mut() else { continue };
            let age = now.saturating_sub(slot.since);
            match &mut slot.phase {
                // RFC 6455 §4.2.1 leaves slow clients to the server: drop them (slowloris)
                Phase::Handshake { .. } if age > handshake => ended.push(i),
                Phase::Draining { .. } if age > close => ended.push(i),
                Phase::Open { closing: true, .. } if age > close => {
                    tracing::debug!("no close reply in time");
                    ended.push(i);
                }
                Phase::Open { closing: false, .. } if idle.is_some_and(|t| age > t) => {
                    self.close_now(i, CloseCode::GOING_AWAY, "idle timeout");
                }
                _ => {}
            }
        }
        for i in ended {
            self.remove_slot(i);
        }
        self.accept_more();
    }

    /// Starts the graceful shutdown: no more accepts; every open connection gets close 1001.
    pub(super) fn begin_shutdown(&mut self) {
        self.stopping = Some(Instant::now());
        for i in 0..self.slots.len() {
            match self.slots[i].as_ref().map(|s| &s.phase) {
                Some(Phase::Open { closing: false, .. }) => {
                    self.close_now(i, CloseCode::GOING_AWAY, "server shutting down")
                }
                Some(Phase::Handshake { .. }) => self.remove_slot(i),
                _ => {}
            }
        }
    }

    /// RFC 6455 §7.1.2: starts the closing handshake on connection `i`, then waits for the reply.
    fn close_now(&mut self, i: usize, code: CloseCode, reason: &str) {
        let now = self.now_ms();
        let Some(slot) = self.slots[i].as_mut() else { return };
        let Phase::Open { conn, pending, closing, .. } = &mut slot.phase else { return };
        let mut out = Vec::new();
        conn.initiate_close(code, reason, &mut out);
        let result = match pending.as_mut() {
            Some(p) => {
                p.extend_from_slice(&out);
                Ok(())
            }
            None => write_some(&mut slot.stream, &out).map(|p| *pending = p),
        };
        *closing = true;
        slot.since = now;
        if result.is_err() {
            self.remove_slot(i);
        }
    }
}
