//! Close status codes and close frame bodies (RFC 6455 §5.5.1, §7.4).

use std::fmt;

use super::violation::{Violation, ViolationKind};

/// A close status code (RFC 6455 §7.4), any 16-bit value.
///
/// The associated constants name the codes RFC 6455 defines plus the three
/// IANA registered later (1012-1014).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CloseCode(pub u16);

/// Where a close code falls in RFC 6455 §7.4 and the IANA registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CloseCodeClass {
    /// 0-999: not used (§7.4.2).
    Unused,
    /// 1000-1003 and 1007-1011: defined by RFC 6455 (§7.4.1) and valid on the wire.
    Defined,
    /// 1004: reserved, meaning may be defined in the future (§7.4.1).
    Reserved,
    /// 1005, 1006, 1015: defined for APIs but MUST NOT be sent (§7.4.1).
    NotForWire,
    /// 1012-1014: registered with IANA after RFC 6455 was published.
    RegisteredAfterRfc,
    /// 1016-2999: reserved for future revisions and extensions (§7.4.2).
    ReservedForProtocol,
    /// 3000-3999: for libraries, frameworks and applications, registered with IANA (§7.4.2).
    Registered,
    /// 4000-4999: private use (§7.4.2).
    Private,
    /// 5000-65535: outside every range RFC 6455 defines.
    OutOfRange,
}

impl CloseCode {
    /// 1000: the purpose of the connection has been fulfilled.
    pub const NORMAL: CloseCode = CloseCode(1000);
    /// 1001: the endpoint is going away (server shutdown, page navigation).
    pub const GOING_AWAY: CloseCode = CloseCode(1001);
    /// 1002: protocol error.
    pub const PROTOCOL_ERROR: CloseCode = CloseCode(1002);
    /// 1003: received a type of data the endpoint cannot accept.
    pub const UNSUPPORTED_DATA: CloseCode = CloseCode(1003);
    /// 1004: reserved.
    pub const RESERVED: CloseCode = CloseCode(1004);
    /// 1005: no status code was present (never sent).
    pub const NO_STATUS_RECEIVED: CloseCode = CloseCode(1005);
    /// 1006: the connection closed without a close frame (never sent).
    pub const ABNORMAL: CloseCode = CloseCode(1006);
    /// 1007: data inconsistent with the message type (e.g. non-UTF-8 text).
    pub const INVALID_PAYLOAD: CloseCode = CloseCode(1007);
    /// 1008: the message violates the endpoint's policy.
    pub const POLICY_VIOLATION: CloseCode = CloseCode(1008);
    /// 1009: the message is too big to process.
    pub const MESSAGE_TOO_BIG: CloseCode = CloseCode(1009);
    /// 1010: the client expected the server to negotiate an extension.
    pub const MANDATORY_EXTENSION: CloseCode = CloseCode(1010);
    /// 1011: the server hit an unexpected condition.
    pub const INTERNAL_ERROR: CloseCode = CloseCode(1011);
    /// 1012: service restart (IANA, after RFC 6455).
    pub const SERVICE_RESTART: CloseCode = CloseCode(1012);
    /// 1013: try again later (IANA, after RFC 6455).
    pub const TRY_AGAIN_LATER: CloseCode = CloseCode(1013);
    /// 1014: bad gateway (IANA, after RFC 6455).
    pub const BAD_GATEWAY: CloseCode = CloseCode(1014);
    /// 1015: TLS handshake failure (never sent).
    pub const TLS_HANDSHAKE: CloseCode = CloseCode(1015);

    /// Lower-case name of a known code (1000-1015), e.g. `normal closure`.
    pub const fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            1000 => "normal closure",
            1001 => "going away",
            1002 => "protocol error",
            1003 => "unsupported data",
            1004 => "reserved",
            1005 => "no status received",
            1006 => "abnormal closure",
            1007 => "invalid frame payload data",
            1008 => "policy violation",
            1009 => "message too big",
            1010 => "mandatory extension",
            1011 => "internal error",
            1012 => "service restart",
            1013 => "try again later",
            1014 => "bad gateway",
            1015 => "tls handshake",
            _ => return None,
        })
    }

    /// Where this code falls in RFC 6455 §7.4 and the IANA registry.
    pub const fn class(self) -> CloseCodeClass {
        match self.0 {
            0..=999 => CloseCodeClass::Unused,
            1000..=1003 | 1007..=1011 => CloseCodeClass::Defined,
            1004 => CloseCodeClass::Reserved,
            1005 | 1006 | 1015 => CloseCodeClass::NotForWire,
            1012..=1014 => CloseCodeClass::RegisteredAfterRfc,
            1016..=2999 => CloseCodeClass::ReservedForProtocol,
            3000..=3999 => CloseCodeClass::Registered,
            4000..=4999 => CloseCodeClass::Private,
            5000.. => CloseCodeClass::OutOfRange,
        }
    }

    /// Whether a strict reading of RFC 6455 allows this code in a close frame:
    /// 1000-1003, 1007-1011 and 3000-4999.
    pub const fn is_valid_on_wire(self) -> bool {
        // RFC 6455 §7.4.1, §7.4.2
        matches!(self.class(), CloseCodeClass::Defined | CloseCodeClass::Registered | CloseCodeClass::Private)
    }

    /// Whether this is one of 1012-1014, registered with IANA after RFC 6455:
    /// not valid under a strict reading, accepted by most implementations.
    pub const fn is_iana_registered_after_rfc(self) -> bool {
        matches!(self.class(), CloseCodeClass::RegisteredAfterRfc)
    }
}

impl fmt::Display for CloseCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => write!(f, "{} ({name})", self.0),
            None => write!(f, "{}", self.0),
        }
    }
}

impl From<u16> for CloseCode {
    fn from(code: u16) -> CloseCode {
        CloseCode(code)
    }
}

/// The body of a close frame, split as RFC 6455 §5.5.1 lays it out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClosePayload<'a> {
    /// No body: no status code.
    Empty,
    /// A single byte: too short to hold a status code.
    Truncated(u8),
    /// A 2-byte status code followed by a reason (possibly empty, possibly not UTF-8).
    Code {
        /// The status code.
        code: CloseCode,
        /// The reason bytes after the code.
        reason: &'a [u8],
    },
}

impl<'a> ClosePayload<'a> {
    /// Splits a close frame body (already unmasked).
    pub fn parse(payload: &'a [u8]) -> ClosePayload<'a> {
        match payload {
            [] => ClosePayload::Empty,
            [b] => ClosePayload::Truncated(*b),
            [hi, lo, reason @ ..] => ClosePayload::Code { code: CloseCode(u16::from_be_bytes([*hi, *lo])), reason },
        }
    }

    /// The rules this close body breaks when a server sends it.
    pub fn violations(&self) -> Vec<Violation> {
        let mut found = Vec::new();
        match *self {
            ClosePayload::Empty => {}
            ClosePayload::Truncated(b) => {
                // RFC 6455 §5.5.1: a body starts with a 2-byte status code
                found.push(Violation::new(
                    ViolationKind::CloseCodeTruncated,
                    format!("close body is the single byte {b:#04x}"),
                ));
            }
            ClosePayload::Code { code, reason } => {
                match code.class() {
                    CloseCodeClass::Defined | CloseCodeClass::Registered | CloseCodeClass::Private => {}
                    // RFC 6455 §7.4.1: 1004-1006 and 1015 are not for the wire
                    CloseCodeClass::Reserved | CloseCodeClass::NotForWire => {
                        found.push(Violation::new(ViolationKind::CloseCodeNotForWire, format!("close code {code}")))
                    }
                    // RFC 6455 §7.4.2: 1012-1014 are not in the RFC (IANA registered them later)
                    CloseCodeClass::RegisteredAfterRfc => found
                        .push(Violation::new(ViolationKind::CloseCodeRegisteredAfterRfc, format!("close code {code}"))),
                    // RFC 6455 §7.4.2: 0-999, 1016-2999 and above 4999 are not to be sent
                    CloseCodeClass::Unused | CloseCodeClass::ReservedForProtocol | CloseCodeClass::OutOfRange => {
                        found.push(Violation::new(ViolationKind::CloseCodeOutOfRange, format!("close code {code}")))
                    }
                }
                // RFC 6455 §5.5.1: the reason is UTF-8
                if let Err(e) = std::str::from_utf8(reason) {
                    found.push(Violation::new(
                        ViolationKind::CloseReasonNotUtf8,
                        format!("close reason is not UTF-8 from byte {} of {}", e.valid_up_to(), reason.len()),
                    ));
                }
            }
        }
        found
    }
}

/// Encodes a close frame body: the code in network order, then the reason bytes.
pub fn encode_close_payload(code: CloseCode, reason: &[u8]) -> Vec<u8> {
    let mut body = Vec::with_capacity(2 + reason.len());
    body.extend_from_slice(&code.0.to_be_bytes());
    body.extend_from_slice(reason);
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_codes_and_application_ranges_are_valid_on_the_wire() {
        for code in (1000..=1003).chain(1007..=1011).chain([3000, 3999, 4000, 4999]) {
            assert!(CloseCode(code).is_valid_on_wire(), "{code}");
        }
    }

    #[test]
    fn reserved_and_api_only_codes_are_invalid_on_the_wire() {
        for code in [0, 999, 1004, 1005, 1006, 1012, 1013, 1014, 1015, 1016, 2000, 2999, 5000, 65535] {
            assert!(!CloseCode(code).is_valid_on_wire(), "{code}");
        }
    }

    #[test]
    fn codes_1012_to_1014_are_flagged_as_registered_after_the_rfc() {
        assert!(CloseCode::SERVICE_RESTART.is_iana_registered_after_rfc());
        assert!(CloseCode::BAD_GATEWAY.is_iana_registered_after_rfc());
        assert!(!CloseCode::TLS_HANDSHAKE.is_iana_registered_after_rfc());
        assert!(!CloseCode::NORMAL.is_iana_registered_after_rfc());
    }

    #[test]
    fn known_codes_have_names() {
        assert_eq!(CloseCode::NORMAL.name(), Some("normal closure"));
        assert_eq!(CloseCode::TLS_HANDSHAKE.name(), Some("tls handshake"));
        assert_eq!(CloseCode(3000).name(), None);
        assert_eq!(CloseCode(1002).to_string(), "1002 (protocol error)");
    }

    #[test]
    fn close_payload_splits_code_and_reason() {
        assert_eq!(ClosePayload::parse(&[]), ClosePayload::Empty);
        assert_eq!(ClosePayload::parse(&[0x03]), ClosePayload::Truncated(0x03));
        assert_eq!(
            ClosePayload::parse(&[0x03, 0xE8, b'o', b'k']),
            ClosePayload::Code { code: CloseCode::NORMAL, reason: b"ok" }
        );
    }

    #[test]
    fn valid_close_bodies_have_no_violations() {
        assert!(ClosePayload::parse(&[]).violations().is_empty());
        assert!(ClosePayload::parse(&encode_close_payload(CloseCode::NORMAL, "ça va".as_bytes()))
            .violations()
            .is_empty());
        assert!(ClosePayload::parse(&encode_close_payload(CloseCode(4999), b"")).violations().is_empty());
    }

    fn kinds(payload: &[u8]) -> Vec<ViolationKind> {
        ClosePayload::parse(payload).violations().into_iter().map(|v| v.kind).collect()
    }

    #[test]
    fn one_byte_close_body_is_a_violation() {
        assert_eq!(kinds(&[0x03]), [ViolationKind::CloseCodeTruncated]);
    }

    #[test]
    fn invalid_close_codes_are_violations_by_kind() {
        assert_eq!(kinds(&encode_close_payload(CloseCode(1005), b"")), [ViolationKind::CloseCodeNotForWire]);
        assert_eq!(kinds(&encode_close_payload(CloseCode(1004), b"")), [ViolationKind::CloseCodeNotForWire]);
        assert_eq!(kinds(&encode_close_payload(CloseCode(999), b"")), [ViolationKind::CloseCodeOutOfRange]);
        assert_eq!(kinds(&encode_close_payload(CloseCode(2000), b"")), [ViolationKind::CloseCodeOutOfRange]);
        assert_eq!(kinds(&encode_close_payload(CloseCode(1013), b"")), [ViolationKind::CloseCodeRegisteredAfterRfc]);
    }

    #[test]
    fn non_utf8_close_reason_is_a_violation() {
        assert_eq!(
            kinds(&encode_close_payload(CloseCode::NORMAL, &[0xCE, 0xBA, 0xFF])),
            [ViolationKind::CloseReasonNotUtf8]
        );
    }
}
