//! permessage-deflate (RFC 7692) on the wire, sans-IO: negotiation as data,
//! compression and inflation with explicit parameters, and an analysis of the
//! server's compressed stream itself.
//!
//! - [`params`]: offers as data ([`DeflateOffer`], [`DeflateParam`], any malformed form
//!   included, [`ExtensionOffer::Raw`] for anything else) and what was [`Negotiated`].
//! - [`syntax`]: the `Sec-WebSocket-Extensions` grammar of RFC 6455 §9.1, strictly.
//! - [`negotiate()`]: a server's response judged against the offers (RFC 7692 §5, §7):
//!   the parameters each side may use, or the [`Violation`](crate::wire::Violation)s.
//!   [`ServerResponse::check_upgrade`](crate::wire::ServerResponse::check_upgrade) calls it when
//!   permessage-deflate was offered.
//! - [`accept`]: the server's side: which client offer a case accepts, and our response element.
//! - [`compress`]: our messages through flate2 (zlib-rs) with a window of 9..=15 bits,
//!   context takeover or not, the 00 00 ff ff tail removed (§7.2.1).
//! - [`craft`]: payloads built by hand: window-agnostic stored and literal encoders (the only
//!   way to honour `client_max_window_bits=8`, which zlib cannot), any token stream,
//!   bombs, corrupt data, and the examples of RFC 7692 §7.2.3.
//! - [`inflate`]: the server's messages through flate2, bounded while inflating (§7.2.2).
//! - [`analyze`]: our own DEFLATE decoder ([`StreamAnalyzer`]), which reports for each message
//!   the back-references' reach, the blocks and how the data ended; [`MessageReport::violations`]
//!   turns that into the rules of §7.1.1.1, §7.1.2.1 and §7.2.1 broken. It is slower than
//!   flate2 (see `benches/deflate.rs`) and meant for judging, not for load.
//!
//! Everything held for a peer is capped: both decoders stop before one message's
//! inflated bytes exceed the limit they were given, whatever the compression ratio.

pub mod accept;
pub mod analyze;
pub mod compress;
pub mod craft;
mod huffman;
pub mod inflate;
pub mod negotiate;
pub mod params;
mod rules;
pub mod syntax;

#[cfg(test)]
mod tests;

pub use accept::{accept_offer, AcceptedOffer, DeflateAccept};
pub use analyze::{AnalyzeError, Analyzed, Ending, MessageReport, StreamAnalyzer, MAX_DISTANCE};
pub use compress::{strip_tail, CompressError, Compressor};
pub use craft::{BlockWriter, Token};
pub use inflate::{InflateError, Inflater};
pub use negotiate::{check_offer, negotiate, Negotiation};
pub use params::{extensions_value, DeflateOffer, DeflateParam, ExtensionOffer, Negotiated, PERMESSAGE_DEFLATE};
pub use syntax::{parse_extensions, ExtensionElement, ExtensionParam, SyntaxError};

/// The 4 octets a sender removes from each compressed message and a receiver appends (RFC 7692 §7.2.1, §7.2.2).
pub const TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];
