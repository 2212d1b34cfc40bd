//! Server configuration, and parsers for the sizes and durations the CLI takes.

use std::time::Duration;

use crate::conn::Limits;
use crate::deflate::DeflateConfig;
use crate::handshake::HandshakePolicy;

/// One mebibyte.
const MIB: u64 = 1024 * 1024;

/// How a [`crate::Server`] behaves. `Config::default()` is the strict default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Largest message after reassembly (default 16 MiB); larger closes with 1009.
    pub max_message_size: u64,
    /// Largest single frame (default: the message limit); larger closes with 1009.
    pub max_frame_size: u64,
    /// Largest request head (default 16 KiB); larger gets 431.
    pub max_head_size: usize,
    /// Time allowed for the whole opening handshake (default 10 s); then the
    /// connection is dropped (a slowloris defence).
    pub handshake_timeout: Duration,
    /// A connection with nothing received for this long is closed with 1001
    /// (default: never).
    pub idle_timeout: Option<Duration>,
    /// After the server sends a close frame, how long it waits for the client's
    /// reply, and then for the client to close TCP (default 2 s).
    pub close_timeout: Duration,
    /// At most this many connections at once (default: unlimited); beyond it, 503.
    pub max_connections: Option<usize>,
    /// Subprotocols the server agrees to; the first the client offers wins.
    pub subprotocols: Vec<String>,
    /// Allowed `Origin` values (403 for others); empty allows any.
    pub allowed_origins: Vec<String>,
    /// permessage-deflate (RFC 7692) with the server's preferences (default: on,
    /// window 15, context takeover both ways); `None` never negotiates it.
    pub deflate: Option<DeflateConfig>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            max_message_size: 16 * MIB,
            max_frame_size: 16 * MIB,
            max_head_size: 16 * 1024,
            handshake_timeout: Duration::from_secs(10),
            idle_timeout: None,
            close_timeout: Duration::from_secs(2),
            max_connections: None,
            subprotocols: Vec::new(),
            allowed_origins: Vec::new(),
            deflate: Some(DeflateConfig::default()),
        }
    }
}

impl Config {
    /// The size limits the connection core enforces.
    pub fn limits(&self) -> Limits {
        Limits { max_message_size: self.max_message_size, max_frame_size: self.max_frame_size }
    }

    /// What the handshake validation needs.
    pub fn handshake_policy(&self) -> HandshakePolicy {
        HandshakePolicy {
            max_head_size: self.max_head_size,
            subprotocols: self.subprotocols.clone(),
            allowed_origins: self.allowed_origins.clone(),
            deflate: self.deflate,
        }
    }
}

/// Parses a byte size: `65536`, `64KiB`, `16MiB`, `1GiB` (also `K`/`KB`, `M`/`MB`, `G`/`GB`, all binary).
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let digits = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(digits);
    let n: u64 = num.parse().map_err(|_| format!("'{s}' is not a size: expected a number such as 65536 or 16MiB"))?;
    let mult = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1024,
        "m" | "mb" | "mib" => MIB,
        "g" | "gb" | "gib" => 1024 * MIB,
        other => return Err(format!("unknown size unit '{other}' in '{s}': use B, KiB, MiB or GiB")),
    };
    n.checked_mul(mult).ok_or_else(|| format!("size '{s}' is too large"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sizes_with_binary_units() {
        assert_eq!(parse_size("65536"), Ok(65536));
        assert_eq!(parse_size("64KiB"), Ok(65536));
        assert_eq!(parse_size("16MiB"), Ok(16 * MIB));
        assert_eq!(parse_size("1 g"), Ok(1024 * MIB));
        assert!(parse_size("lots").is_err());
        assert!(parse_size("5 parsecs").is_err());
        assert!(parse_size("99999999999999999999G").is_err());
    }
}
