//! The opening handshake (RFC 6455 §4): the client side, to test servers, and the server side ([`server`]),
//! to test clients.
//!
//! - [`request`]: the request to send, valid by default ([`ClientRequest`]) or
//!   written by hand ([`RawRequest`]), each with a fresh key.
//! - [`key`]: fresh keys and the `Sec-WebSocket-Accept` a server must answer with.
//! - [`response`]: the server's response head, parsed from the bytes received
//!   so far; the bytes after the head are frames and are left to the caller.
//! - [`upgrade`]: the rules a response breaks ([`ServerResponse::check_upgrade`]).
//! - [`server`]: the client's request parsed and judged, and our 101, valid or crafted.
//! - `fields` (crate-private): header field lists, one definition for every head built or received.
//!
//! A typical exchange:
//!
//! ```
//! use wsharness::wire::{parse_response, ClientRequest};
//!
//! let request = ClientRequest::new("localhost:9001", "/").protocols(&["chat"]);
//! let bytes_to_send = request.encode();
//! # let _ = bytes_to_send;
//! // ... write them, then read until the head is complete:
//! let accept = wsharness::wire::accept_for(request.websocket_key().unwrap_or_default());
//! let mut received = format!(
//!     "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
//!      Sec-WebSocket-Accept: {accept}\r\nSec-WebSocket-Protocol: chat\r\n\r\n"
//! )
//! .into_bytes();
//! received.extend_from_slice(&[0x81, 0x00]); // the server's first frame came in the same read
//! let (response, head_len) = parse_response(&received)?.expect("complete head"); // ok: a doc example
//! assert!(request.check_response(&response).is_empty());
//! assert_eq!(&received[head_len..], [0x81, 0x00]); // for the FrameReader
//! # Ok::<(), wsharness::wire::HandshakeError>(())
//! ```

pub(crate) mod fields;
pub mod key;
pub(crate) mod list;
pub mod request;
pub mod response;
pub mod server;
pub mod upgrade;

pub use key::{accept_for, fresh_key, WEBSOCKET_GUID};
pub use request::{ClientRequest, RawRequest};
pub use response::{
    parse_response, HandshakeError, HeaderField, ResponseParser, ServerResponse, DEFAULT_MAX_HEAD, DEFAULT_MAX_HEADERS,
};
pub use server::{parse_request, ReceivedRequest, RequestError, RequestParser, ServerReply};
