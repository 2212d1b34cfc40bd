//! Typed errors: one variant per rule a peer can break.
//!
//! Each [`ProtocolError`] knows the close code it causes and the RFC section
//! that states the rule; each [`HandshakeError`] knows its HTTP status.

use crate::frame::CloseCode;

/// A rule of RFC 6455 broken by the client after the opening handshake.
///
/// The server answers each with a close frame carrying [`ProtocolError::close_code`]
/// and then closes the TCP connection (RFC 6455 §7.1.7, "Fail the WebSocket Connection").
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    /// A client MUST mask every frame it sends (§5.1).
    #[error("client frame is not masked")]
    UnmaskedFrame,
    /// RSV1-3 MUST be 0 unless an extension defines them (§5.2).
    #[error("reserved bits {0:#05b} set but no extension was negotiated")]
    ReservedBits(u8),
    /// Opcodes 0x3-0x7 and 0xB-0xF are reserved; receiving one MUST fail the connection (§5.2).
    #[error("reserved opcode {0:#x}")]
    ReservedOpcode(u8),
    /// Control frames MUST NOT be fragmented (§5.5).
    #[error("control frame without FIN")]
    FragmentedControlFrame,
    /// Control frames MUST have a payload of 125 bytes or less (§5.5). Known
    /// from the 7-bit length field alone, so the error never depends on how
    /// many bytes of the extended length have arrived.
    #[error("control frame payload longer than 125 bytes")]
    ControlFrameTooLong,
    /// The most significant bit of a 64-bit length MUST be 0 (§5.2).
    #[error("64-bit payload length has its most significant bit set")]
    LengthMsbSet,
    /// The minimal number of bytes MUST be used to encode the length (§5.2).
    #[error("payload length {0} is not encoded in the minimal number of bytes")]
    NonMinimalLength(u64),
    /// A continuation frame needs a fragmented message to continue (§5.4).
    #[error("continuation frame without a message to continue")]
    UnexpectedContinuation,
    /// The fragments of one message MUST NOT be interleaved with another message (§5.4).
    #[error("new data frame inside a fragmented message")]
    ExpectedContinuation,
    /// Text messages MUST be valid UTF-8; invalid text fails the connection (§8.1).
    #[error("text message is not valid UTF-8")]
    InvalidUtf8,
    /// A close frame body, if present, MUST start with a two-byte status code (§5.5.1).
    #[error("close frame body of 1 byte")]
    CloseBodyTooShort,
    /// Only the codes of §7.4.1 and the ranges of §7.4.2 may be sent.
    #[error("close code {0} may not be sent on the wire")]
    InvalidCloseCode(u16),
    /// The reason in a close frame is UTF-8 (§5.5.1, failing per §8.1).
    #[error("close reason is not valid UTF-8")]
    InvalidCloseReason,
    /// A frame larger than the server's configured limit (§10.4).
    #[error("frame payload of {len} bytes exceeds the limit of {limit}")]
    FrameTooBig {
        /// Declared payload length.
        len: u64,
        /// The configured `max_frame_size`.
        limit: u64,
    },
    /// A message larger than the server's configured limit (§10.4); for a
    /// compressed message, its size once inflated (or on the wire).
    #[error("message of at least {len} bytes exceeds the limit of {limit}")]
    MessageTooBig {
        /// Bytes the message would reach with this frame.
        len: u64,
        /// The configured `max_message_size`.
        limit: u64,
    },
    /// RSV1 ("compressed") is set only on the first frame of a data message, never on a control frame (RFC 7692 §6.1).
    #[error("control frame with RSV1 set")]
    CompressedControlFrame,
    /// RSV1 is set only on the first frame of a message, never on a continuation frame (RFC 7692 §6.1).
    #[error("continuation frame with RSV1 set")]
    CompressedContinuation,
    /// A compressed message's payload MUST be DEFLATE data (RFC 7692 §6.2); data that does not inflate is
    /// inconsistent with the message (1007, RFC 6455 §7.4.1).
    #[error("compressed message is not valid DEFLATE data")]
    InvalidCompressedData,
    /// The server's own compressor failed: not the client's fault (1011, RFC 6455 §7.4.1).
    #[error("the server could not compress a message")]
    CompressorFailed,
}

impl ProtocolError {
    /// The status code the server sends in its close frame (§7.4.1).
    pub fn close_code(&self) -> CloseCode {
        match self {
            ProtocolError::InvalidUtf8 | ProtocolError::InvalidCloseReason | ProtocolError::InvalidCompressedData => {
                CloseCode::INVALID_PAYLOAD
            }
            ProtocolError::CompressorFailed => CloseCode::INTERNAL_ERROR,
            ProtocolError::FrameTooBig { .. } | ProtocolError::MessageTooBig { .. } => CloseCode::MESSAGE_TOO_BIG,
            _ => CloseCode::PROTOCOL_ERROR,
        }
    }

    /// The section that states the rule: of RFC 6455, or of RFC 7692 where it says so.
    pub fn rfc_section(&self) -> &'static str {
        match self {
            ProtocolError::UnmaskedFrame => "§5.1",
            ProtocolError::ReservedBits(_)
            | ProtocolError::ReservedOpcode(_)
            | ProtocolError::LengthMsbSet
            | ProtocolError::NonMinimalLength(_) => "§5.2",
            ProtocolError::UnexpectedContinuation | ProtocolError::ExpectedContinuation => "§5.4",
            ProtocolError::FragmentedControlFrame | ProtocolError::ControlFrameTooLong => "§5.5",
            ProtocolError::CloseBodyTooShort | ProtocolError::InvalidCloseReason => "§5.5.1",
            ProtocolError::InvalidCloseCode(_) => "§7.4",
            ProtocolError::InvalidUtf8 => "§8.1",
            ProtocolError::FrameTooBig { .. } | ProtocolError::MessageTooBig { .. } => "§10.4",
            ProtocolError::CompressedControlFrame | ProtocolError::CompressedContinuation => "RFC 7692 §6.1",
            ProtocolError::InvalidCompressedData => "RFC 7692 §6.2",
            ProtocolError::CompressorFailed => "RFC 7692 §7.2.1",
        }
    }
}

/// Why an opening handshake was refused (RFC 6455 §4.2.1, §4.2.2).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HandshakeError {
    /// The request is not parseable HTTP/1.1 (RFC 7230 §3).
    #[error("malformed HTTP request: {0}")]
    Malformed(String),
    /// The request head exceeds the server's limit (RFC 6585 §5).
    #[error("request header block larger than {0} bytes")]
    HeadTooLarge(usize),
    /// The method of the request MUST be GET (§4.2.1 item 1).
    #[error("method must be GET, got {0}")]
    MethodNotGet(String),
    /// The request MUST be HTTP/1.1 or higher (§4.2.1 item 1).
    #[error("HTTP version must be 1.1 or higher")]
    HttpVersion,
    /// A `Host` header field is required (§4.2.1 item 2).
    #[error("missing Host header")]
    MissingHost,
    /// A request with more than one `Host` field is invalid (RFC 7230 §5.4).
    #[error("more than one Host header")]
    DuplicateHost,
    /// A `Host` value that is not `host[:port]` is invalid (RFC 7230 §5.4).
    #[error("Host header is not host[:port]: {0:?}")]
    InvalidHost(String),
    /// `Upgrade` MUST contain the token `websocket` (§4.2.1 item 3).
    #[error("Upgrade header must contain the token websocket")]
    UpgradeNotWebsocket,
    /// `Connection` MUST contain the token `Upgrade` (§4.2.1 item 4).
    #[error("Connection header must contain the token Upgrade")]
    ConnectionNotUpgrade,
    /// `Sec-WebSocket-Key` is required (§4.2.1 item 5).
    #[error("missing Sec-WebSocket-Key header")]
    MissingKey,
    /// `Sec-WebSocket-Key` MUST NOT appear more than once (§11.3.1).
    #[error("more than one Sec-WebSocket-Key header")]
    DuplicateKey,
    /// `Sec-WebSocket-Key` MUST be base64 of 16 bytes (§4.2.1 item 5).
    #[error("Sec-WebSocket-Key must be the base64 encoding of 16 bytes")]
    InvalidKey,
    /// Only version 13 is spoken; anything else gets 426 with the supported version (§4.2.2, §4.4).
    #[error("Sec-WebSocket-Version must be 13")]
    UnsupportedVersion,
    /// The `Origin` is not among the allowed ones (§4.2.2 item 4, §10.2).
    #[error("origin not allowed")]
    OriginNotAllowed,
    /// The server already holds its maximum number of connections.
    #[error("server at its connection limit")]
    TooManyConnections,
}

impl HandshakeError {
    /// The HTTP status the server answers with.
    pub fn status(&self) -> (u16, &'static str) {
        match self {
            HandshakeError::HeadTooLarge(_) => (431, "Request Header Fields Too Large"),
            HandshakeError::UnsupportedVersion => (426, "Upgrade Required"),
            HandshakeError::OriginNotAllowed => (403, "Forbidden"),
            HandshakeError::TooManyConnections => (503, "Service Unavailable"),
            _ => (400, "Bad Request"),
        }
    }
}
