//! permessage-deflate, RFC 7692: negotiation ([`negotiate`], §5 and §7.1) and
//! the per-message codec ([`Codec`], §6 and §7.2), both sans-IO.
//!
//! Memory is the design point. A connection keeps no zlib state while it is
//! idle: the inflater and the deflater live only while messages flow (inside
//! one [`crate::conn::Connection::process`] call, or while a compressed message
//! is half received) and are then dropped. What "context takeover" needs to
//! survive between messages is only the last 2^window_bits bytes of plaintext,
//! which a fresh inflater or deflater gets back as a preset dictionary (the
//! LZ77 window of §7.2.2 and §7.2.1 is exactly those bytes). Because the server
//! echoes every compressed message as a compressed message and every plain one
//! as a plain one, both directions have the same history: one buffer serves
//! both, so an idle connection with context takeover both ways holds 32 KiB at
//! the default window, and none with no context takeover both ways.
//!
//! A compressed message is inflated into segments allocated at their final
//! size ([`InflatedMessage`]), never past the message limit and never copied to
//! grow, and compressed for its echo straight into the reply, each segment
//! freed once compressed. A decompression bomb costs the limit and the
//! inflater (zlib-rs: its state and a 32 KiB window whatever the window bits).

mod codec;
mod message;
mod offer;

pub use codec::Codec;
pub(crate) use codec::UNMASK_CHUNK;
pub use message::InflatedMessage;
pub use offer::{negotiate, Agreed, DeflateConfig, DEFAULT_LEVEL, MAX_WINDOW_BITS, MIN_WINDOW_BITS};
