//! The tokio driver of one scenario connection: moves bytes between its socket and its
//! [`Link`] (the engine and its frames, sans-IO), wakes when the link asks, writes within the
//! timeout.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::link::{io_detail, End, Link, PEER_NOT_READING};
use super::stats::Tally;
use crate::load::connect::Transport;
use crate::load::stats::Clock;

/// Bytes read per call.
const READ_BUF: usize = 16 * 1024;

/// Signals from the run.
pub struct Signals<'a> {
    /// Cancelled at the end of the measured phase: start no iteration, close once drained.
    pub stop: &'a tokio_util::sync::CancellationToken,
    /// Cancelled to stop at once.
    pub abort: &'a tokio_util::sync::CancellationToken,
    /// Connections of roles that send, still running; `None`: this connection sends itself.
    pub senders: Option<&'a std::sync::atomic::AtomicU64>,
}

/// Drives `link` over `stream` to its end. `leftover`: bytes read after the 101.
pub async fn drive(
    mut stream: Transport,
    leftover: &[u8],
    link: &mut Link,
    clock: Clock,
    timeout: Duration,
    signals: Signals<'_>,
    shared: &std::sync::Mutex<Tally>,
) -> End {
    // every connection counts into one tally per process, locked for a read's worth of work: a tally's
    // histograms take hundreds of kilobytes, too much to hold one per connection
    let lock = || shared.lock().unwrap_or_else(|p| p.into_inner());
    if !leftover.is_empty() {
        link.on_bytes(leftover, clock.now_ns(), &mut lock());
    }
    let mut buf = vec![0u8; READ_BUF];
    let mut out = Vec::new();
    loop {
        let now = clock.now_ns();
        let senders = signals.senders.map(|s| s.load(std::sync::atomic::Ordering::Relaxed));
        out.clear();
        let turn = link.poll(now, signals.stop.is_cancelled(), senders, &mut lock(), &mut out);
        if let Err(detail) = write(&mut stream, &out, timeout).await {
            lock().error(detail);
            return End::Failed;
        }
        let wake = match turn {
            Ok(wake) => wake,
            Err(end) => return end,
        };
        let sleep = tokio::time::sleep_until(clock.instant(wake.unwrap_or(now + 3_600_000_000_000)).into());
        tokio::select! {
            biased;
            _ = signals.abort.cancelled() => return End::Aborted,
            read = stream.read(&mut buf) => match read {
                Ok(0) => return link.on_eof(&mut lock()),
                Ok(n) => {
                    link.on_bytes(&buf[..n], clock.now_ns(), &mut lock());
                }
                Err(e) => {
                    lock().error(io_detail(e.kind()));
                    return End::Failed;
                }
            },
            _ = sleep => {}
            _ = signals.stop.cancelled(), if !signals.stop.is_cancelled() => {}
        }
    }
}

/// Writes `bytes` within `timeout`; `Err`: the error's detail.
async fn write(stream: &mut Transport, bytes: &[u8], timeout: Duration) -> Result<(), String> {
    if bytes.is_empty() {
        return Ok(());
    }
    match tokio::time::timeout(timeout, async {
        stream.write_all(bytes).await?;
        stream.flush().await
    })
    .await
    {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(io_detail(e.kind())),
        Err(_) => Err(PEER_NOT_READING.into()),
    }
}
