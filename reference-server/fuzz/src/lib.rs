//! Input formats and oracles shared by the reference server's fuzz targets.
//!
//! Every target reads a plain byte layout, written down here once, so that the
//! seed generator (`harness/fuzz/examples/seeds.rs`) can write seeds from the
//! case library in the same layout:
//!
//! - [`Split`] (from the `fuzz-split` crate, shared with the harness's fuzz crate):
//!   `[n][n × u16 LE cut][data]`, a byte stream and where the socket cut it into reads (`handshake`, `utf8`, and `conn` after its
//!   config byte);
//! - `conn`: `[config][Split]`, the config byte chosen by [`ConnConfig::from_byte`];
//! - `frame_header`: the raw bytes.

use reference_server::conn::Limits;

pub use fuzz_split::{prefix_agrees, Split, MAX_CUTS};

/// Payload limits the `conn` target picks from (index: 3 bits of the config byte).
const LIMITS: [u64; 8] = [16 << 20, 0, 1, 125, 126, 200, 65_535, 65_536];

/// How the `conn` target sets up a connection, from its first input byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnConfig {
    /// The size limits.
    pub limits: Limits,
    /// Whether the server starts a close of its own (shutdown) after the first read.
    pub server_close: bool,
}

impl ConnConfig {
    /// Bits 0-2: the message limit; bits 3-5: the frame limit; bit 7: a server close
    /// after the first read. Byte 0 is the server's default configuration.
    pub fn from_byte(b: u8) -> ConnConfig {
        let limits =
            Limits { max_message_size: LIMITS[usize::from(b & 7)], max_frame_size: LIMITS[usize::from((b >> 3) & 7)] };
        ConnConfig { limits, server_close: b & 0x80 != 0 }
    }
}

/// One frame a server sent, as the oracle reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerFrame {
    /// The 4-bit opcode.
    pub opcode: u8,
    /// The payload.
    pub payload: Vec<u8>,
}

/// Reads a server's output as RFC 6455 server frames, independently of the
/// server's own code: every frame unmasked, FIN set, RSV clear, an opcode of
/// §5.2, a minimal length (§5.2), a control payload of at most 125 bytes (§5.5).
/// Returns the frames, or what is wrong at which offset.
pub fn read_server_frames(mut out: &[u8]) -> Result<Vec<ServerFrame>, String> {
    let mut frames = Vec::new();
    let mut at = 0;
    while let [b0, b1, rest @ ..] = out {
        let (fin, rsv, opcode) = (b0 & 0x80 != 0, b0 & 0x70, b0 & 0x0F);
        if !fin || rsv != 0 || !matches!(opcode, 0x1 | 0x2 | 0x8 | 0x9 | 0xA) {
            return Err(format!("offset {at}: first header byte {b0:#04x}"));
        }
        if b1 & 0x80 != 0 {
            return Err(format!("offset {at}: masked server frame"));
        }
        let (len, ext) = match b1 & 0x7F {
            126 => {
                let [a, b, ..] = rest else { return Err(format!("offset {at}: cut 16-bit length")) };
                (u64::from(u16::from_be_bytes([*a, *b])), 2)
            }
            127 => {
                let Some(bytes) = rest.get(..8) else { return Err(format!("offset {at}: cut 64-bit length")) };
                let mut be = [0; 8];
                be.copy_from_slice(bytes);
                (u64::from_be_bytes(be), 8)
            }
            n => (u64::from(n), 0),
        };
        let minimal = match ext {
            0 => true,
            2 => len >= 126,
            _ => len > 0xFFFF && len >> 63 == 0,
        };
        if !minimal {
            return Err(format!("offset {at}: length {len} not minimally encoded"));
        }
        if opcode >= 0x8 && len > 125 {
            return Err(format!("offset {at}: control frame of {len} bytes"));
        }
        let body = &rest[ext..];
        let Some(payload) = usize::try_from(len).ok().and_then(|l| body.get(..l)) else {
            return Err(format!("offset {at}: frame of {len} bytes cut short"));
        };
        frames.push(ServerFrame { opcode, payload: payload.to_vec() });
        let used = 2 + ext + payload.len();
        at += used;
        out = &out[used..];
    }
    if !out.is_empty() {
        return Err(format!("offset {at}: a lone byte after the last frame"));
    }
    Ok(frames)
}

/// Whether a close code may be sent on the wire: RFC 6455 §7.4.1 (1000-1003,
/// 1007-1011) and §7.4.2 (3000-4999). Written out here, not taken from the server.
pub fn close_code_allowed(code: u16) -> bool {
    matches!(code, 1000..=1003 | 1007..=1011 | 3000..=4999)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oracle_reads_rfc_frames_and_refuses_a_masked_one() {
        let frames = read_server_frames(&[0x81, 0x02, b'h', b'i', 0x88, 0x02, 0x03, 0xE8]).unwrap();
        assert_eq!(frames.len(), 2);
        assert!(read_server_frames(&[0x81, 0x82, 1, 2, 3, 4, 0, 0]).is_err());
        assert!(read_server_frames(&[0x82, 0x7E, 0x00, 0x05, 1, 2, 3, 4, 5]).is_err());
    }
}
