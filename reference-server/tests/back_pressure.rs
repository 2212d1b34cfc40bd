//! A client that sends without reading stops being read: the server keeps at most the replies to one read, and
//! resumes once the client reads again, every echo in order.

use std::time::Duration;

use tokio::io::AsyncWriteExt;

use crate::common::*;

/// One binary frame of 64 KiB.
const FRAME: usize = 64 * 1024;
/// Far more than every socket buffer on the way together (loopback: a few MiB each way).
const BOUND: usize = 256 * 1024 * 1024;

#[tokio::test]
async fn a_client_that_never_reads_is_not_read_until_it_does() {
    let server = start_default().await;
    let mut c = RawClient::connect(server.local_addr()).await;
    let frame = Frame::binary(pattern(FRAME, 7)).encode();
    // write until a write stalls: the server has stopped reading this connection
    let mut frames = 0usize;
    loop {
        let write = tokio::time::timeout(Duration::from_millis(500), c.stream.write_all(&frame)).await;
        match write {
            Ok(Ok(())) => frames += 1,
            Ok(Err(e)) => panic!("write failed after {frames} frames: {e}"),
            Err(_) => break,
        }
        assert!(frames * FRAME < BOUND, "the server read {frames} frames the client never read the echoes of");
    }
    assert!(frames > 0, "not one 64 KiB frame was taken");
    // the write cut by the timeout left a partial frame; every whole frame before it is echoed, in order
    within(WAIT * 4, "the echoes to drain", async {
        for i in 0..frames {
            let f = c.read_frame().await;
            assert_eq!((f.opcode, f.payload.len()), (BINARY, FRAME), "echo {i} of {frames}");
        }
    })
    .await;
    server.shutdown().await.expect("shutdown");
}
