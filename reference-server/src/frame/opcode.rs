//! Frame opcodes, RFC 6455 §5.2 and §11.8.

use crate::error::ProtocolError;

/// The 4-bit opcode of a frame (RFC 6455 §5.2).
///
/// Only the six opcodes the RFC defines exist here; the reserved values are
/// rejected while parsing, so a value of this type is always meaningful.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Opcode {
    /// `0x0`: continues a fragmented message (§5.4).
    Continuation,
    /// `0x1`: a text message, UTF-8 (§5.6).
    Text,
    /// `0x2`: a binary message (§5.6).
    Binary,
    /// `0x8`: the close control frame (§5.5.1).
    Close,
    /// `0x9`: the ping control frame (§5.5.2).
    Ping,
    /// `0xA`: the pong control frame (§5.5.3).
    Pong,
}

impl Opcode {
    /// Decodes the low nibble of a frame's first byte.
    pub fn from_nibble(nibble: u8) -> Result<Opcode, ProtocolError> {
        match nibble & 0x0F {
            0x0 => Ok(Opcode::Continuation),
            0x1 => Ok(Opcode::Text),
            0x2 => Ok(Opcode::Binary),
            0x8 => Ok(Opcode::Close),
            0x9 => Ok(Opcode::Ping),
            0xA => Ok(Opcode::Pong),
            // RFC 6455 §5.2: reserved opcodes 0x3-0x7 and 0xB-0xF fail the connection
            other => Err(ProtocolError::ReservedOpcode(other)),
        }
    }

    /// The 4-bit wire value.
    pub fn as_nibble(self) -> u8 {
        match self {
            Opcode::Continuation => 0x0,
            Opcode::Text => 0x1,
            Opcode::Binary => 0x2,
            Opcode::Close => 0x8,
            Opcode::Ping => 0x9,
            Opcode::Pong => 0xA,
        }
    }

    /// Control frames have the most significant opcode bit set (§5.5).
    pub fn is_control(self) -> bool {
        self.as_nibble() & 0x8 != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_nibble_is_either_defined_or_reserved() {
        for n in 0u8..16 {
            match Opcode::from_nibble(n) {
                Ok(op) => assert_eq!(op.as_nibble(), n),
                Err(ProtocolError::ReservedOpcode(r)) => {
                    assert!((3..=7).contains(&r) || (0xB..=0xF).contains(&r))
                }
                Err(e) => panic!("unexpected error {e}"),
            }
        }
    }

    #[test]
    fn control_opcodes_are_close_ping_pong() {
        assert!(Opcode::Close.is_control() && Opcode::Ping.is_control() && Opcode::Pong.is_control());
        assert!(!Opcode::Text.is_control() && !Opcode::Binary.is_control());
        assert!(!Opcode::Continuation.is_control());
    }
}
