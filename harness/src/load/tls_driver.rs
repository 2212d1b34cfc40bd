//! The driver of `wss://` connections: the same [`Session`] as the plain driver, over rustls.
//!
//! TLS needs a stream that encrypts and decrypts, so this driver reads and writes through
//! tokio-rustls's async stream rather than raw system calls: one task per connection, reading and
//! writing at once (a peer that writes while it does not read cannot deadlock it), with the same
//! caps as the plain driver: what the session owes while the peer does not read waits in one
//! buffer the session caps ([`super::session::Plan::write_cap`]), and a read buffer of
//! [`READ_BUF`] bytes per connection while it is open.

use std::sync::atomic::Ordering;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

use super::driver::{retiring, wake_at, Ctx};
use super::errors::LoadError;
use super::payload::Outbox;
use super::session::{Next, Session};

/// Bytes read per call: one TLS record's plaintext at most.
const READ_BUF: usize = 16 * 1024;

/// Drives an open `wss://` connection until its session ends, the stream fails, or the run aborts.
pub async fn drive_tls(
    ctx: &Ctx,
    stream: Box<TlsStream<TcpStream>>,
    leftover: Vec<u8>,
    mut s: Session,
    retire_at: Option<u64>,
) {
    let (plan, clock, collector) = (&ctx.plan, ctx.clock, &ctx.collector);
    let mut alive = leftover.is_empty() || collector.with(|t| s.on_bytes(plan, &leftover, clock.now_ns(), t));
    drop(leftover);
    let (mut rd, mut wr) = tokio::io::split(*stream);
    let mut rbuf = vec![0u8; READ_BUF];
    // `out`: where the session writes; `wbuf`: what is being written (from `wpos`), then flushed
    let (mut out, mut wbuf, mut wpos, mut unflushed) = (Outbox::default(), Vec::new(), 0usize, false);
    let far = clock.now_ns() + 3_600_000_000_000;
    let timer = tokio::time::sleep_until(clock.instant(far).into());
    tokio::pin!(timer);
    let mut draining = false;
    loop {
        let now = clock.now_ns();
        if !draining && retiring(ctx, now, retire_at) {
            s.stop_sending();
            draining = true;
        }
        if draining && s.drained() && !s.closing() {
            s.begin_close(plan, now, &mut out);
        }
        let next = collector.with(|t| s.fill(plan, now, &mut out, t));
        if wpos == wbuf.len() && !out.is_empty() {
            wbuf = out.to_vec(&plan.book);
            wpos = 0;
            out.clear(1 << 20);
        }
        let idle = wpos == wbuf.len() && !unflushed;
        if !alive || next == Next::End || (s.done() && idle) {
            return;
        }
        timer.as_mut().reset(clock.instant(wake_at(next, far, draining, retire_at)).into());
        tokio::select! {
            biased;
            _ = ctx.abort.cancelled() => {
                if !ctx.interrupted.load(Ordering::Relaxed) {
                    collector.with(|t| s.abandon(t));
                }
                return;
            }
            // write what is pending, then flush what rustls still holds
            wrote = write_or_flush(&mut wr, &wbuf[wpos..]), if !idle => match wrote {
                Ok(Some(n)) => {
                    wpos += n;
                    unflushed = true;
                }
                Ok(None) => unflushed = false,
                Err(e) => return failed(ctx, &s, &e),
            },
            read = rd.read(&mut rbuf) => match read {
                Ok(0) => {
                    if !s.closing() {
                        // TCP (or TLS) closed without a close frame: RFC 6455 §7.1.5 calls this 1006
                        collector.with(|t| t.error(LoadError::UnexpectedClose(Some(1006))));
                    }
                    return;
                }
                Ok(n) => alive = collector.with(|t| s.on_bytes(plan, &rbuf[..n], clock.now_ns(), t)),
                Err(e) => return failed(ctx, &s, &e),
            },
            _ = &mut timer => {}
            _ = ctx.stop_send.cancelled(), if !draining => {}
        }
    }
}

/// Writes some of `pending` (`Some(bytes written)`), or, with nothing pending, flushes (`None`).
async fn write_or_flush<W: AsyncWriteExt + Unpin>(wr: &mut W, pending: &[u8]) -> std::io::Result<Option<usize>> {
    if pending.is_empty() {
        wr.flush().await.map(|()| None)
    } else {
        wr.write(pending).await.map(Some)
    }
}

/// Counts a read or write error, unless the session had already ended.
fn failed(ctx: &Ctx, s: &Session, e: &std::io::Error) {
    if !s.done() {
        ctx.collector.with(|t| t.error(LoadError::from_io(e)));
    }
}
