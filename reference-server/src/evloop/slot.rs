//! One connection's state in the event loop, kept small: an idle open connection is this struct and
//! nothing else (no buffer, no task, no timer entry).
//!
//! Layout of an open, idle connection (x86-64, `size_of` checked by a test), per byte:
//! - `stream` 4: the socket's file descriptor (mio's `TcpStream` is the fd).
//! - `since` 4: the time of its last read or its phase's start, in ms since the loop began (idle,
//!   handshake and close timeouts are measured from it by the loop's sweep, not by timer entries).
//! - `phase`: the tag and the largest variant, `Open`:
//!   - `conn` 128: the sans-IO core ([`Connection`]): limits 16, the frame in progress 40, message state
//!     (opcode, the reassembly `Vec` 24, empty when idle), the UTF-8 validator 5, the failure and
//!     the peer's close, the negotiated RSV bits, a pointer to the permessage-deflate codec (null
//!     without it), and a pointer to a control frame split over reads (null when idle).
//!   - `carry` 15: the bytes of a frame header cut by the end of a read (at most 14) and their count.
//!   - `pending` 8: output the socket did not take (a pointer, null unless the client reads slowly).
//!   - `closing` 1: whether we sent a close of our own and wait for the reply.

use mio::net::TcpStream;

use crate::conn::Connection;
use crate::frame::MAX_HEADER_LEN;

/// A connection of the loop.
pub struct Slot {
    /// The socket.
    pub stream: TcpStream,
    /// Milliseconds since the loop began: the last read (open), or when the phase began.
    pub since: u32,
    /// Where it is.
    pub phase: Phase,
}

/// Where a connection is in its life.
pub enum Phase {
    /// Reading the opening handshake; the bytes so far, if it came in more than one read.
    Handshake {
        /// The head so far (rare: most requests arrive in one read).
        partial: Option<Box<Vec<u8>>>,
    },
    /// WebSocket frames flow.
    Open {
        /// The protocol core.
        conn: Connection,
        /// A frame header cut by the end of the last read.
        carry: Carry,
        /// Output the socket did not take; reading stops until it has.
        pending: Option<Box<Vec<u8>>>,
        /// We sent a close of our own (shutdown, idle timeout) and wait for the reply.
        closing: bool,
    },
    /// We closed TCP on our side (RFC 6455 §7.1.1: the server closes first) and read what the client
    /// still sends until it closes too; the bytes still to write first, if any.
    Draining {
        /// The last output (a refusal, a close frame) the socket did not take yet.
        pending: Option<Box<Vec<u8>>>,
        /// Whether our FIN is sent.
        shut: bool,
    },
}

/// The bytes of a frame header cut by the end of a read, presented again with the next one.
#[derive(Debug, Clone, Copy, Default)]
pub struct Carry {
    buf: [u8; MAX_HEADER_LEN],
    len: u8,
}

impl Carry {
    /// Keeps `bytes` (fewer than [`MAX_HEADER_LEN`]; the core never leaves more).
    pub fn set(&mut self, bytes: &[u8]) {
        let n = bytes.len().min(MAX_HEADER_LEN);
        self.buf[..n].copy_from_slice(&bytes[..n]);
        self.len = n as u8;
    }

    /// The bytes kept.
    pub fn bytes(&self) -> &[u8] {
        &self.buf[..usize::from(self.len)]
    }
}
