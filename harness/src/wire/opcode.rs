//! Frame opcodes (RFC 6455 §5.2, §11.8).
//!
//! Frames on the wire carry a raw 4-bit opcode; the builder and the reader keep
//! it as a `u8` so that reserved values can be sent and described. [`Opcode`]
//! names the six values the RFC defines.

use std::fmt;

/// One of the six opcodes RFC 6455 defines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Opcode {
    /// `0x0`: continues a fragmented message.
    Continuation = 0x0,
    /// `0x1`: starts a text message.
    Text = 0x1,
    /// `0x2`: starts a binary message.
    Binary = 0x2,
    /// `0x8`: close control frame.
    Close = 0x8,
    /// `0x9`: ping control frame.
    Ping = 0x9,
    /// `0xA`: pong control frame.
    Pong = 0xA,
}

impl Opcode {
    /// The defined opcode for a raw value, or `None` for reserved (and wider than 4-bit) values.
    pub const fn from_u8(raw: u8) -> Option<Opcode> {
        // RFC 6455 §5.2: 0x3-0x7 and 0xB-0xF are reserved
        match raw {
            0x0 => Some(Opcode::Continuation),
            0x1 => Some(Opcode::Text),
            0x2 => Some(Opcode::Binary),
            0x8 => Some(Opcode::Close),
            0x9 => Some(Opcode::Ping),
            0xA => Some(Opcode::Pong),
            _ => None,
        }
    }

    /// The raw 4-bit value.
    pub const fn as_u8(self) -> u8 {
        self as u8
    }

    /// Lower-case name for display, e.g. `text`.
    pub const fn name(self) -> &'static str {
        match self {
            Opcode::Continuation => "continuation",
            Opcode::Text => "text",
            Opcode::Binary => "binary",
            Opcode::Close => "close",
            Opcode::Ping => "ping",
            Opcode::Pong => "pong",
        }
    }

    /// Whether this is a control opcode (close, ping, pong).
    pub const fn is_control(self) -> bool {
        Opcode::is_control_raw(self.as_u8())
    }

    /// Whether this is a data opcode (continuation, text, binary).
    pub const fn is_data(self) -> bool {
        !self.is_control()
    }

    /// Whether a raw opcode is in the control range, defined or reserved.
    pub const fn is_control_raw(raw: u8) -> bool {
        // RFC 6455 §5.5: control frames have opcodes whose most significant bit is 1
        raw & 0x8 != 0
    }

    /// Lower-case name of any raw opcode: the defined name, `reserved non-control`,
    /// `reserved control`, or `out of range` for values that do not fit in 4 bits.
    pub const fn name_of(raw: u8) -> &'static str {
        match Opcode::from_u8(raw) {
            Some(op) => op.name(),
            None if raw > 0xF => "out of range",
            None if Opcode::is_control_raw(raw) => "reserved control",
            None => "reserved non-control",
        }
    }
}

impl fmt::Display for Opcode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl From<Opcode> for u8 {
    fn from(op: Opcode) -> u8 {
        op.as_u8()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defined_opcodes_round_trip_through_raw_values() {
        for raw in 0..=0xFu8 {
            if let Some(op) = Opcode::from_u8(raw) {
                assert_eq!(op.as_u8(), raw);
            }
        }
    }

    #[test]
    fn reserved_opcodes_have_no_variant() {
        for raw in (0x3..=0x7).chain(0xB..=0xF) {
            assert_eq!(Opcode::from_u8(raw), None, "{raw:#x}");
        }
    }

    #[test]
    fn control_opcodes_have_the_high_bit() {
        assert!(Opcode::Close.is_control() && Opcode::Ping.is_control() && Opcode::Pong.is_control());
        assert!(Opcode::Text.is_data() && Opcode::Binary.is_data() && Opcode::Continuation.is_data());
    }

    #[test]
    fn name_of_describes_reserved_values() {
        assert_eq!(Opcode::name_of(0x1), "text");
        assert_eq!(Opcode::name_of(0x3), "reserved non-control");
        assert_eq!(Opcode::name_of(0xB), "reserved control");
        assert_eq!(Opcode::name_of(0x10), "out of range");
    }
}
