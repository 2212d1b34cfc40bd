//! The server side of the opening handshake (RFC 6455 §4.2), for testing clients.
//!
//! - [`request`]: the client's request head parsed from the bytes received so far ([`ReceivedRequest`]),
//!   bounded, with one typed error per problem ([`RequestError`]).
//! - [`check`]: the rules of RFC 6455 §4.1 that request breaks ([`ReceivedRequest::check`]), as [`Violation`]s.
//! - [`reply`]: our answer, the valid 101 or a crafted one ([`ServerReply`]).
//!
//! A typical exchange:
//!
//! ```
//! use wsharness::wire::handshake::server::{parse_request, ServerReply};
//!
//! let received = b"GET /runCase?case=1&agent=x HTTP/1.1\r\nHost: 127.0.0.1:9001\r\nUpgrade: websocket\r\n\
//!     Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
//! let (request, head_len) = parse_request(received)?.expect("complete head"); // ok: a doc example
//! assert_eq!(head_len, received.len());
//! assert!(request.check().is_empty());
//! assert_eq!(request.query(), Some("case=1&agent=x"));
//! let reply = ServerReply::accepting(&request);
//! assert_eq!(reply.accept_value(), Some("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="));
//! let wrong = reply.accept("AAAAAAAAAAAAAAAAAAAAAAAAAAA="); // a client must refuse this one
//! # let _ = wrong.encode();
//! # Ok::<(), wsharness::wire::handshake::server::RequestError>(())
//! ```
//!
//! [`Violation`]: crate::wire::Violation

pub mod check;
pub mod reply;
pub mod request;

#[cfg(test)]
mod tests;

pub use check::KEY_NONCE_LEN;
pub use reply::ServerReply;
pub use request::{parse_request, split_target, ReceivedRequest, RequestError, RequestParser, TargetParts};
