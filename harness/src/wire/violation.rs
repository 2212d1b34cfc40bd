//! What a peer did wrong, named by the RFC rule it broke (RFC 6455, and RFC 7692 for permessage-deflate): a
//! server under test, or a client under test.
//!
//! The wire layer never rejects what a peer sends: it describes it. Every
//! check that finds a broken rule produces a [`Violation`], whose
//! [`ViolationKind`] knows its RFC section and restates the requirement. The
//! verdict layer decides how bad each one is (failed, non-strict, informational).

use std::fmt;

/// One rule of RFC 6455 or RFC 7692 that a peer can break: a server, as our client sees it, or a client, as our
/// server sees it (its opening handshake: [`ViolationKind::RequestMethodNotGet`] to
/// [`ViolationKind::ProtocolOfferRepeated`]; its frames: [`ViolationKind::UnmaskedClientFrame`] and the masking
/// keys after it).
///
/// Each variant's doc line restates the requirement; [`ViolationKind::rfc`]
/// names the section and [`ViolationKind::requirement`] gives the same text at
/// run time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ViolationKind {
    /// A server MUST NOT mask any frames that it sends to the client.
    MaskedServerFrame,
    /// Opcodes 0x3-0x7 and 0xB-0xF are reserved and MUST NOT be sent.
    ReservedOpcode,
    /// RSV1, RSV2 and RSV3 MUST be 0 unless a negotiated extension defines them.
    ReservedBitsSet,
    /// Control frames MUST NOT be fragmented.
    FragmentedControlFrame,
    /// All control frames MUST have a payload length of 125 bytes or less.
    ControlFrameTooLong,
    /// The minimal number of bytes MUST be used to encode the payload length.
    NonMinimalLength,
    /// The most significant bit of a 64-bit payload length MUST be 0.
    LengthHighBitSet,
    /// A close frame body, if present, MUST start with a 2-byte status code.
    CloseCodeTruncated,
    /// Status codes 1004, 1005, 1006 and 1015 MUST NOT be set in a close frame.
    CloseCodeNotForWire,
    /// Status codes outside 1000-2999 (as defined) and 3000-4999 MUST NOT be sent.
    CloseCodeOutOfRange,
    /// Status codes 1012-1014 were registered with IANA after RFC 6455; a strict
    /// reading of the RFC does not allow them, most implementations accept them.
    CloseCodeRegisteredAfterRfc,
    /// The reason in a close frame body MUST be UTF-8 encoded.
    CloseReasonNotUtf8,
    /// A continuation frame MUST follow a data frame that started a message.
    ContinuationWithoutStart,
    /// The fragments of one message MUST NOT be interleaved with another data frame.
    DataFrameInsideMessage,
    /// A text message MUST be valid UTF-8.
    TextNotUtf8,
    /// An endpoint MUST NOT send any more data frames after sending a close frame.
    DataAfterClose,
    /// The server MUST answer an acceptable handshake with status 101.
    StatusNotSwitchingProtocols,
    /// The server's status line MUST be an HTTP/1.1 status line.
    VersionNotHttp11,
    /// The response MUST carry an `Upgrade` header field whose value is `websocket`.
    UpgradeNotWebsocket,
    /// The response MUST carry a `Connection` header field containing the token `Upgrade`.
    ConnectionNotUpgrade,
    /// The response MUST carry a `Sec-WebSocket-Accept` header field.
    AcceptMissing,
    /// `Sec-WebSocket-Accept` MUST be base64(SHA-1(key + GUID)) of the client's key.
    AcceptMismatch,
    /// `Sec-WebSocket-Accept` MUST NOT appear more than once in a response.
    AcceptRepeated,
    /// The server MUST NOT select an extension that the client did not offer.
    ExtensionNotOffered,
    /// The server MUST NOT select a subprotocol that the client did not offer.
    ProtocolNotOffered,
    /// `Sec-WebSocket-Protocol` MUST NOT appear more than once in a response.
    ProtocolRepeated,
    /// `Sec-WebSocket-Extensions` MUST follow the extension-list grammar.
    ExtensionSyntax,
    /// The method of the client's request MUST be GET.
    RequestMethodNotGet,
    /// The HTTP version of the client's request MUST be at least 1.1.
    RequestVersionBelowHttp11,
    /// The request target MUST be a resource name (path and query, no fragment) or an absolute URI with one.
    RequestTargetInvalid,
    /// The client's request MUST contain a `Host` header field.
    HostMissing,
    /// A request MUST NOT carry more than one `Host` header field.
    HostRepeated,
    /// The request MUST contain an `Upgrade` header field that includes the keyword `websocket`.
    RequestUpgradeNotWebsocket,
    /// The request MUST contain a `Connection` header field that includes the token `Upgrade`.
    RequestConnectionNotUpgrade,
    /// The request MUST include a `Sec-WebSocket-Key` header field.
    KeyMissing,
    /// `Sec-WebSocket-Key` MUST be a randomly selected 16-byte nonce, base64-encoded.
    KeyInvalid,
    /// `Sec-WebSocket-Key` MUST NOT appear more than once in a request.
    KeyRepeated,
    /// The `Sec-WebSocket-Key` nonce MUST be selected randomly for each connection (not one seen before).
    KeyNotFresh,
    /// The request MUST include `Sec-WebSocket-Version` with the value 13.
    WebSocketVersionNot13,
    /// `Sec-WebSocket-Version` MUST NOT appear more than once in a request.
    WebSocketVersionRepeated,
    /// Each offered subprotocol MUST be a non-empty token (U+0021-U+007E, no separators).
    ProtocolOfferInvalid,
    /// The offered subprotocols MUST all be unique.
    ProtocolOfferRepeated,
    /// A server MUST NOT accept permessage-deflate together with another extension using RSV1 (a second permessage-deflate included).
    DeflateRepeated,
    /// A server MUST decline a permessage-deflate offer with an unknown, repeated or invalid parameter.
    DeflateAcceptedInvalidOffer,
    /// A permessage-deflate response MUST NOT contain a parameter not defined for use in a response.
    DeflateParameterUnknown,
    /// A permessage-deflate response MUST NOT contain two parameters of the same name.
    DeflateParameterRepeated,
    /// A permessage-deflate response parameter MUST have a valid value.
    DeflateParameterInvalid,
    /// A server accepts an offer with `server_no_context_takeover` by including it in the response.
    DeflateServerNoContextTakeoverDropped,
    /// A server accepts an offer with `server_max_window_bits` by answering the same or a smaller value.
    DeflateServerWindowNotHonoured,
    /// A server MUST NOT include `client_max_window_bits` if the offer did not have it.
    DeflateClientWindowNotOffered,
    /// A server limiting the client's window answers the same or a smaller value than offered.
    DeflateClientWindowLargerThanOffered,
    /// Under `server_no_context_takeover` the server MUST start each message with an empty LZ77 window.
    DeflateContextTakeover,
    /// The server MUST NOT use an LZ77 window larger than `server_max_window_bits` allows.
    DeflateWindowExceeded,
    /// Under `client_no_context_takeover` the client MUST start each message with an empty LZ77 window.
    DeflateClientContextTakeover,
    /// The client MUST NOT use an LZ77 window larger than `client_max_window_bits` allows.
    DeflateClientWindowExceeded,
    /// A compressed message MUST be DEFLATE data (RFC 1951) that decompresses once 00 00 ff ff is appended.
    DeflateInvalidData,
    /// A compressed message MUST end at a block boundary (an empty stored block, its 4-octet tail removed).
    DeflateUnterminated,
    /// The sender removes the 4 octets 00 00 ff ff from the tail end of the compressed data.
    DeflateTailNotRemoved,
    /// RSV1 marks a compressed message on its first frame only: never on a continuation or control frame.
    DeflateRsv1NotFirstFrame,
    /// A compressed text message MUST be UTF-8 once inflated.
    DeflateTextNotUtf8,
    /// A client MUST mask every frame it sends.
    UnmaskedClientFrame,
    /// A client MUST pick a fresh masking key for each frame: the same key twice in a row is not.
    MaskingKeyRepeated,
    /// A masking key MUST be unpredictable: all zeros masks nothing.
    MaskingKeyZero,
}

impl ViolationKind {
    /// The RFC section that states the rule, e.g. `RFC 6455 §5.1`.
    pub const fn rfc(self) -> &'static str {
        use ViolationKind::*;
        match self {
            MaskedServerFrame | UnmaskedClientFrame => "RFC 6455 §5.1",
            MaskingKeyRepeated | MaskingKeyZero => "RFC 6455 §5.3",
            ReservedOpcode | ReservedBitsSet | NonMinimalLength | LengthHighBitSet => "RFC 6455 §5.2",
            ContinuationWithoutStart | DataFrameInsideMessage => "RFC 6455 §5.4",
            FragmentedControlFrame | ControlFrameTooLong => "RFC 6455 §5.5",
            CloseCodeTruncated | CloseReasonNotUtf8 | DataAfterClose => "RFC 6455 §5.5.1",
            CloseCodeNotForWire => "RFC 6455 §7.4.1",
            CloseCodeOutOfRange | CloseCodeRegisteredAfterRfc => "RFC 6455 §7.4.2",
            TextNotUtf8 => "RFC 6455 §8.1",
            StatusNotSwitchingProtocols
            | UpgradeNotWebsocket
            | ConnectionNotUpgrade
            | AcceptMissing
            | AcceptMismatch
            | ExtensionNotOffered
            | ProtocolNotOffered => "RFC 6455 §4.1",
            VersionNotHttp11 => "RFC 6455 §4.2.2",
            AcceptRepeated => "RFC 6455 §11.3.3",
            ProtocolRepeated => "RFC 6455 §11.3.4",
            ExtensionSyntax => "RFC 6455 §9.1",
            RequestMethodNotGet
            | RequestVersionBelowHttp11
            | RequestTargetInvalid
            | HostMissing
            | RequestUpgradeNotWebsocket
            | RequestConnectionNotUpgrade
            | KeyMissing
            | KeyInvalid
            | WebSocketVersionNot13
            | ProtocolOfferInvalid
            | ProtocolOfferRepeated => "RFC 6455 §4.1",
            HostRepeated => "RFC 7230 §5.4",
            KeyRepeated => "RFC 6455 §11.3.1",
            KeyNotFresh => "RFC 6455 §4.1",
            WebSocketVersionRepeated => "RFC 6455 §11.3.5",
            DeflateRepeated => "RFC 7692 §5",
            DeflateAcceptedInvalidOffer
            | DeflateParameterUnknown
            | DeflateParameterRepeated
            | DeflateParameterInvalid => "RFC 7692 §7",
            DeflateServerNoContextTakeoverDropped | DeflateContextTakeover => "RFC 7692 §7.1.1.1",
            DeflateServerWindowNotHonoured | DeflateWindowExceeded => "RFC 7692 §7.1.2.1",
            DeflateClientWindowNotOffered | DeflateClientWindowLargerThanOffered | DeflateClientWindowExceeded => {
                "RFC 7692 §7.1.2.2"
            }
            DeflateClientContextTakeover => "RFC 7692 §7.1.1.2",
            DeflateInvalidData | DeflateUnterminated | DeflateTailNotRemoved => "RFC 7692 §7.2.1",
            DeflateRsv1NotFirstFrame | DeflateTextNotUtf8 => "RFC 7692 §6",
        }
    }

    /// The requirement restated in one sentence (without trailing period).
    pub const fn requirement(self) -> &'static str {
        use ViolationKind::*;
        match self {
            MaskedServerFrame => "a server MUST NOT mask any frames that it sends to the client",
            UnmaskedClientFrame => "a client MUST mask all frames that it sends to the server",
            MaskingKeyRepeated => "the client MUST pick a fresh masking key for each frame",
            MaskingKeyZero => "the masking key MUST be unpredictable (derived from a strong source of entropy)",
            ReservedOpcode => "opcodes 0x3-0x7 and 0xB-0xF are reserved and MUST NOT be sent",
            ReservedBitsSet => "RSV1, RSV2 and RSV3 MUST be 0 unless a negotiated extension defines them",
            FragmentedControlFrame => "control frames MUST NOT be fragmented",
            ControlFrameTooLong => "all control frames MUST have a payload length of 125 bytes or less",
            NonMinimalLength => "the minimal number of bytes MUST be used to encode the payload length",
            LengthHighBitSet => "the most significant bit of a 64-bit payload length MUST be 0",
            CloseCodeTruncated => "a close frame body, if present, MUST start with a 2-byte status code",
            CloseCodeNotForWire => "status codes 1004, 1005, 1006 and 1015 MUST NOT be set in a close frame",
            CloseCodeOutOfRange => "a close frame MUST carry a status code defined by the RFC or in 3000-4999",
            CloseCodeRegisteredAfterRfc => {
                "status codes 1012-1014 are registered with IANA but not defined by RFC 6455"
            }
            CloseReasonNotUtf8 => "the reason in a close frame body MUST be UTF-8 encoded",
            ContinuationWithoutStart => "a continuation frame MUST follow a data frame that started a message",
            DataFrameInsideMessage => "the fragments of a message MUST NOT be interleaved with another data frame",
            TextNotUtf8 => "a text message MUST be valid UTF-8",
            DataAfterClose => "an endpoint MUST NOT send any more data frames after sending a close frame",
            StatusNotSwitchingProtocols => "the server MUST accept the handshake with status 101",
            VersionNotHttp11 => "the server's status line MUST be an HTTP/1.1 status line",
            UpgradeNotWebsocket => "the response MUST carry an Upgrade header field with the value websocket",
            ConnectionNotUpgrade => "the response MUST carry a Connection header field containing the token Upgrade",
            AcceptMissing => "the response MUST carry a Sec-WebSocket-Accept header field",
            AcceptMismatch => "Sec-WebSocket-Accept MUST be base64(SHA-1(key + GUID)) of the client's key",
            AcceptRepeated => "Sec-WebSocket-Accept MUST NOT appear more than once in a response",
            ExtensionNotOffered => "the server MUST NOT select an extension the client did not offer",
            ProtocolNotOffered => "the server MUST NOT select a subprotocol the client did not offer",
            ProtocolRepeated => "Sec-WebSocket-Protocol MUST NOT appear more than once in a response",
            ExtensionSyntax => "Sec-WebSocket-Extensions MUST follow the extension-list grammar",
            RequestMethodNotGet => "the method of the client's request MUST be GET",
            RequestVersionBelowHttp11 => "the HTTP version of the client's request MUST be at least 1.1",
            RequestTargetInvalid => {
                "the request target MUST be a resource name (path and query, no fragment) or an absolute URI with one"
            }
            HostMissing => "the client's request MUST contain a Host header field",
            HostRepeated => "a request MUST NOT carry more than one Host header field",
            RequestUpgradeNotWebsocket => {
                "the request MUST contain an Upgrade header field that includes the keyword websocket"
            }
            RequestConnectionNotUpgrade => {
                "the request MUST contain a Connection header field that includes the token Upgrade"
            }
            KeyMissing => "the request MUST include a Sec-WebSocket-Key header field",
            KeyInvalid => "Sec-WebSocket-Key MUST be a randomly selected 16-byte nonce, base64-encoded",
            KeyRepeated => "Sec-WebSocket-Key MUST NOT appear more than once in a request",
            KeyNotFresh => "the Sec-WebSocket-Key nonce MUST be selected randomly for each connection",
            WebSocketVersionNot13 => "the request MUST include Sec-WebSocket-Version with the value 13",
            WebSocketVersionRepeated => "Sec-WebSocket-Version MUST NOT appear more than once in a request",
            ProtocolOfferInvalid => "each offered subprotocol MUST be a non-empty token (U+0021-U+007E, no separators)",
            ProtocolOfferRepeated => "the offered subprotocols MUST all be unique",
            DeflateRepeated => "a server MUST NOT accept permessage-deflate together with another extension using RSV1",
            DeflateAcceptedInvalidOffer => {
                "a server MUST decline a permessage-deflate offer with an unknown, repeated or invalid parameter"
            }
            DeflateParameterUnknown => "a response MUST NOT contain a parameter not defined for use in a response",
            DeflateParameterRepeated => "a response MUST NOT contain two parameters of the same name",
            DeflateParameterInvalid => "a response parameter MUST have a valid value",
            DeflateServerNoContextTakeoverDropped => {
                "a server accepts an offer with server_no_context_takeover by including it in the response"
            }
            DeflateServerWindowNotHonoured => {
                "a server accepts an offer with server_max_window_bits by answering the same or a smaller value"
            }
            DeflateClientWindowNotOffered => {
                "a server MUST NOT include client_max_window_bits if the offer did not have it"
            }
            DeflateClientWindowLargerThanOffered => {
                "a server limiting the client's window answers the same or a smaller value than offered"
            }
            DeflateContextTakeover => {
                "under server_no_context_takeover the server MUST start each message with an empty LZ77 window"
            }
            DeflateWindowExceeded => "the server MUST NOT use an LZ77 window larger than server_max_window_bits allows",
            DeflateClientContextTakeover => {
                "under client_no_context_takeover the client MUST start each message with an empty LZ77 window"
            }
            DeflateClientWindowExceeded => {
                "the client MUST NOT use an LZ77 window larger than client_max_window_bits allows"
            }
            DeflateInvalidData => {
                "a compressed message MUST be DEFLATE data that decompresses once 00 00 ff ff is appended"
            }
            DeflateUnterminated => {
                "a compressed message MUST end at a block boundary (an empty stored block, tail removed)"
            }
            DeflateTailNotRemoved => {
                "the sender removes the 4 octets 00 00 ff ff from the tail end of the compressed data"
            }
            DeflateRsv1NotFirstFrame => {
                "RSV1 is set on the first frame of a compressed message only, never on a continuation or control frame"
            }
            DeflateTextNotUtf8 => {
                "a compressed text message MUST be UTF-8 once inflated (RFC 6455 §8.1 applies to the inflated data)"
            }
        }
    }
}

/// A rule a peer broke, with what it actually did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// Which rule was broken; lets the verdict layer match without parsing text.
    pub kind: ViolationKind,
    /// The RFC section, e.g. `RFC 6455 §5.1` (same as `kind.rfc()`).
    pub rfc: &'static str,
    /// The requirement restated (same as `kind.requirement()`).
    pub rule: &'static str,
    /// What the peer did, e.g. `frame is masked with key 37fa213d`.
    pub observed: String,
}

impl Violation {
    /// A violation of `kind`, with a description of what was observed.
    pub fn new(kind: ViolationKind, observed: impl Into<String>) -> Self {
        Violation { kind, rfc: kind.rfc(), rule: kind.requirement(), observed: observed.into() }
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} (actual: {})", self.rfc, self.rule, self.observed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn violation_takes_section_and_rule_from_its_kind() {
        let v = Violation::new(ViolationKind::MaskedServerFrame, "frame is masked");
        assert_eq!(v.rfc, "RFC 6455 §5.1");
        assert_eq!(v.rule, ViolationKind::MaskedServerFrame.requirement());
    }

    #[test]
    fn display_shows_section_rule_and_actual() {
        let v = Violation::new(ViolationKind::TextNotUtf8, "invalid byte at offset 3");
        assert_eq!(
            v.to_string(),
            "RFC 6455 §8.1: a text message MUST be valid UTF-8 (actual: invalid byte at offset 3)"
        );
    }
}
