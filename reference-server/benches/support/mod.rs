//! Workloads shared by the criterion benchmark (`codec.rs`) and the instruction counter
//! (`examples/instructions.rs`, run under callgrind by `ci/instructions.sh`): the same bytes, timed by one and
//! counted by the other.

#![allow(dead_code)] // each user takes what it needs

use flate2::{Compress, Compression, FlushCompress};
use reference_server::conn::{Connection, Limits};
use reference_server::deflate::{negotiate, DeflateConfig};
use reference_server::frame::{apply_mask_bytewise, MaskingKey};

/// The masking key of every benchmark frame.
pub const KEY: MaskingKey = MaskingKey([0x37, 0xfa, 0x21, 0x3d]);

/// Frames per `echo/process` buffer.
pub const FRAMES: usize = 1000;

/// Limits that let every benchmark frame through (the server's defaults).
pub const LIMITS: Limits = Limits { max_message_size: 16 << 20, max_frame_size: 16 << 20 };

/// A masked, final client frame with the minimal length encoding.
pub fn client_frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
    let len = payload.len();
    let mut frame = vec![0x80 | opcode];
    if len < 126 {
        frame.push(0x80 | len as u8);
    } else if len <= 0xFFFF {
        frame.push(0x80 | 126);
        frame.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        frame.push(0x80 | 127);
        frame.extend_from_slice(&(len as u64).to_be_bytes());
    }
    frame.extend_from_slice(&KEY.0);
    let start = frame.len();
    frame.extend_from_slice(payload);
    apply_mask_bytewise(&mut frame[start..], KEY, 0);
    frame
}

/// Bytes the I/O layer reads at a time (its pooled buffer).
pub const READ: usize = 64 * 1024;

/// A client's compressed frames for `messages` (RSV1, one frame each, RFC 7692 §7.2.1), one stream with context takeover.
pub fn compressed_stream(opcode: u8, messages: &[&[u8]]) -> Vec<u8> {
    let mut client = Compress::new(Compression::new(6), false);
    let mut stream = Vec::new();
    for message in messages {
        let mut payload = Vec::with_capacity(message.len() + 1024);
        client.compress_vec(message, &mut payload, FlushCompress::Sync).expect("deflate");
        payload.truncate(payload.len() - 4);
        stream.extend_from_slice(&client_frame(0x40 | opcode, &payload));
    }
    stream
}

/// Feeds `input` to a fresh permessage-deflate connection in reads of [`READ`] bytes, as the I/O layer does.
pub fn deflate_run(limits: Limits, input: &[u8], out: &mut Vec<u8>) -> Connection {
    let agreed = negotiate(["permessage-deflate"], &DeflateConfig::default());
    let mut conn = Connection::with_deflate(limits, agreed);
    let mut carry: Vec<u8> = Vec::with_capacity(READ + 16);
    for piece in input.chunks(READ) {
        carry.extend_from_slice(piece);
        let n = conn.process(&carry, out);
        carry.drain(..n);
    }
    conn
}

/// The 64-byte text of `echo/process/text-64B`.
pub const TEXT_64: &[u8; 64] = b"The quick brown fox jumps over the lazy dog; RFC 6455 echo test!";

/// Text-like bytes (numbers and spaces, about 3:1 under DEFLATE) for the deflate workloads.
pub fn text_like() -> Vec<u8> {
    (0..200_000u32).flat_map(|i| format!("{} ", i.wrapping_mul(7919) % 100_003).into_bytes()).collect()
}
