//! The wire layer: puts any bytes on the wire and describes anything a server
//! sends back (RFC 6455).
//!
//! Everything here is sans-IO: pure functions and small state machines over
//! byte slices. The conformance runner owns the sockets and the clock; it
//! hands received bytes to these types and writes the bytes they build. That
//! keeps every rule testable without a network, and makes split delivery (one
//! byte at a time, or any chop size) a property of the parsers rather than of
//! the runner.
//!
//! Two directions, two attitudes:
//!
//! - **What we send is permissive.** [`FrameSpec`] builds valid client frames
//!   by default and can change any field: FIN, RSV, any 4-bit opcode, no mask
//!   or a chosen key, a forced (non-minimal) length field, a declared length
//!   that differs from the payload. [`ClientRequest`] and [`RawRequest`] do the
//!   same for the opening handshake, and [`ServerReply`] for the 101 we answer
//!   a client under test with.
//! - **What we read is exact and never rejected.** [`FrameReader`] returns every
//!   frame as the server sent it, masked or reserved or oversized-control
//!   included, and [`ObservedFrame::violations`] lists the rules it breaks as
//!   [`Violation`]s, each naming its RFC section. [`MessageAssembler`] and
//!   [`ServerResponse::check_upgrade`] do the same for message sequences and the
//!   handshake response, and [`ReceivedRequest::check`] for a client's request.
//!   Judging how bad a violation is belongs to the verdict layer, not here. The
//!   only errors are resource limits (a declared payload, message, response or
//!   request head larger than the configured bound) and a request line that is
//!   not one, so that a hostile peer cannot make the harness allocate without
//!   bound.
//!
//! This layer shares no code with the reference server: a tester that shared
//! the server's frame code would share its bugs.
//!
//! One concern per file: [`opcode`], [`close`] (close codes and bodies),
//! [`mask`], [`freshness`] (a client's keys over its frames), [`header`] (the exact header and
//! the rules it keeps, from a server or a client), [`frame`] (the builder), [`reader`],
//! [`message`], [`handshake`], [`violation`], and [`deflate`] (permessage-deflate, RFC 7692).

pub(crate) mod entropy;

pub mod close;
pub mod deflate;
pub mod frame;
pub mod freshness;
pub mod handshake;
pub mod header;
pub mod mask;
pub mod message;
pub mod opcode;
pub mod reader;
pub mod violation;

pub use close::{encode_close_payload, CloseCode, CloseCodeClass, ClosePayload};
pub use frame::{FrameSpec, LengthEncoding};
pub use freshness::KeyFreshness;
pub use handshake::{
    accept_for, fresh_key, parse_request, parse_response, ClientRequest, HandshakeError, HeaderField, RawRequest,
    ReceivedRequest, RequestError, ResponseParser, ServerReply, ServerResponse,
};
pub use header::{EncodeError, Endpoint, FrameHeader, LengthField, RSV1};
pub use mask::{apply_mask, Mask, MaskingKey};
pub use message::{AssembleError, Assembled, Message, MessageAssembler};
pub use opcode::Opcode;
pub use reader::{FrameReader, ObservedFrame, ReadError};
pub use violation::{Violation, ViolationKind};
