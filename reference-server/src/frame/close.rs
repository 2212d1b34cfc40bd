//! Close codes and close frame payloads, RFC 6455 §5.5.1 and §7.4.

use crate::error::ProtocolError;

/// A status code carried by a close frame (RFC 6455 §7.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CloseCode(pub u16);

impl CloseCode {
    /// 1000: normal closure.
    pub const NORMAL: CloseCode = CloseCode(1000);
    /// 1001: the endpoint is going away (server shutdown, idle timeout).
    pub const GOING_AWAY: CloseCode = CloseCode(1001);
    /// 1002: protocol error.
    pub const PROTOCOL_ERROR: CloseCode = CloseCode(1002);
    /// 1003: a data type the endpoint cannot accept.
    pub const UNSUPPORTED_DATA: CloseCode = CloseCode(1003);
    /// 1005: no status code was present; never sent on the wire.
    pub const NO_STATUS: CloseCode = CloseCode(1005);
    /// 1006: closed abnormally; never sent on the wire.
    pub const ABNORMAL: CloseCode = CloseCode(1006);
    /// 1007: message data inconsistent with its type (invalid UTF-8 in text).
    pub const INVALID_PAYLOAD: CloseCode = CloseCode(1007);
    /// 1008: policy violation.
    pub const POLICY_VIOLATION: CloseCode = CloseCode(1008);
    /// 1009: message too big to process.
    pub const MESSAGE_TOO_BIG: CloseCode = CloseCode(1009);
    /// 1011: unexpected condition in the server.
    pub const INTERNAL_ERROR: CloseCode = CloseCode(1011);
    /// 1015: TLS handshake failure; never sent on the wire.
    pub const TLS_HANDSHAKE: CloseCode = CloseCode(1015);

    /// Whether a peer may send this code in a close frame.
    ///
    /// 1000-1003 and 1007-1011 are defined by RFC 6455 §7.4.1, 3000-3999 are
    /// registered with IANA and 4000-4999 are private use (§7.4.2). Everything
    /// else is rejected, including 1004-1006 and 1015, which the RFC forbids on
    /// the wire, and 1012-1014, registered only after the RFC: a strict server
    /// keeps to the RFC's own list, as Autobahn|Testsuite 7.9.x expects.
    pub fn is_valid_on_wire(self) -> bool {
        matches!(self.0, 1000..=1003 | 1007..=1011 | 3000..=4999)
    }
}

/// Validates the payload of a received close frame (RFC 6455 §5.5.1).
///
/// Returns the code the frame carries, or `None` for an empty payload.
pub fn parse_close_payload(payload: &[u8]) -> Result<Option<CloseCode>, ProtocolError> {
    match payload {
        [] => Ok(None),
        // RFC 6455 §5.5.1: a body, if present, starts with a two-byte code
        [_] => Err(ProtocolError::CloseBodyTooShort),
        [hi, lo, reason @ ..] => {
            let code = CloseCode(u16::from_be_bytes([*hi, *lo]));
            // RFC 6455 §7.4.1: only defined, registered or private codes may be sent
            if !code.is_valid_on_wire() {
                return Err(ProtocolError::InvalidCloseCode(code.0));
            }
            // RFC 6455 §5.5.1: the reason is UTF-8 (and §8.1 fails the connection otherwise)
            if std::str::from_utf8(reason).is_err() {
                return Err(ProtocolError::InvalidCloseReason);
            }
            Ok(Some(code))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_exactly_the_rfc_code_ranges() {
        let valid: Vec<u16> = (0..=u16::MAX).filter(|c| CloseCode(*c).is_valid_on_wire()).collect();
        assert_eq!(valid.len(), 4 + 5 + 2000);
        for c in [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999] {
            assert!(CloseCode(c).is_valid_on_wire(), "{c}");
        }
        for c in [0, 999, 1004, 1005, 1006, 1012, 1013, 1014, 1015, 1016, 1100, 2000, 2999, 5000, 65535] {
            assert!(!CloseCode(c).is_valid_on_wire(), "{c}");
        }
    }

    #[test]
    fn rejects_one_byte_body_and_bad_reason() {
        assert_eq!(parse_close_payload(&[]), Ok(None));
        assert_eq!(parse_close_payload(&[0x03]), Err(ProtocolError::CloseBodyTooShort));
        assert_eq!(parse_close_payload(&[0x03, 0xE8]), Ok(Some(CloseCode::NORMAL)));
        assert_eq!(parse_close_payload(&[0x03, 0xE8, b'o', b'k']), Ok(Some(CloseCode::NORMAL)));
        assert_eq!(parse_close_payload(&[0x03, 0xE8, 0xFF]), Err(ProtocolError::InvalidCloseReason));
        assert_eq!(parse_close_payload(&[0x03, 0xED]), Err(ProtocolError::InvalidCloseCode(1005)));
    }
}
