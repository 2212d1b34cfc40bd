//! The handshake nonce and its accept value (RFC 6455 §4.1, §4.2.2).

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use sha1::{Digest, Sha1};

use crate::wire::entropy::random_bytes;

/// The GUID a server appends to the client's key before hashing (RFC 6455 §1.3).
pub const WEBSOCKET_GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// A fresh `Sec-WebSocket-Key`: 16 unpredictable bytes, base64-encoded (24 characters).
pub fn fresh_key() -> String {
    // RFC 6455 §4.1: the nonce is a randomly selected 16-byte value, base64-encoded
    STANDARD.encode(random_bytes::<16>())
}

/// The `Sec-WebSocket-Accept` value a server must answer `key` with:
/// base64(SHA-1(key + GUID)).
pub fn accept_for(key: &str) -> String {
    // RFC 6455 §4.2.2: concatenate the key with the GUID, SHA-1, then base64
    let mut hasher = Sha1::new();
    hasher.update(key.as_bytes());
    hasher.update(WEBSOCKET_GUID.as_bytes());
    STANDARD.encode(hasher.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_matches_rfc_example() {
        // RFC 6455 §1.3
        assert_eq!(accept_for("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    }

    #[test]
    fn fresh_keys_decode_to_16_bytes_and_differ() {
        let (a, b) = (fresh_key(), fresh_key());
        assert_eq!(a.len(), 24);
        assert_eq!(STANDARD.decode(&a).map(|bytes| bytes.len()), Ok(16));
        assert_ne!(a, b);
    }
}
