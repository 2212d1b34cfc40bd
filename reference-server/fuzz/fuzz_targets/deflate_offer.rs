//! The permessage-deflate negotiation (RFC 7692 §5, §7.1) on any `Sec-WebSocket-Extensions` values.
//!
//! Input: field values separated by `\n` (several header fields), any bytes (lossily UTF-8). Checked:
//! - never a panic;
//! - an agreement has windows of 8 to 15 bits, and its response is itself an offer the server accepts
//!   with the same agreement (the response lists nothing the grammar or the parameter rules refuse);
//! - a response never lists `client_max_window_bits` or `server_max_window_bits` the offers never named.
#![no_main]

use libfuzzer_sys::fuzz_target;
use reference_server::deflate::{negotiate, DeflateConfig, MAX_WINDOW_BITS, MIN_WINDOW_BITS};

fuzz_target!(|input: &[u8]| {
    let text = String::from_utf8_lossy(input);
    let fields: Vec<&str> = text.split('\n').collect();
    let configs = [
        DeflateConfig::default(),
        DeflateConfig {
            server_max_window_bits: 9,
            client_max_window_bits: 10,
            server_no_context_takeover: true,
            client_no_context_takeover: true,
            ..DeflateConfig::default()
        },
    ];
    for config in configs {
        let Some(agreed) = negotiate(fields.iter().copied(), &config) else { continue };
        let windows = MIN_WINDOW_BITS..=MAX_WINDOW_BITS;
        assert!(windows.contains(&agreed.server_max_window_bits) && windows.contains(&agreed.client_max_window_bits));
        let response = agreed.response();
        for param in ["client_max_window_bits", "server_max_window_bits"] {
            if response.contains(param) {
                assert!(text.to_ascii_lowercase().contains(param), "{param} listed but never offered: {response}");
            }
        }
        let again = negotiate([response.as_str()], &config);
        assert_eq!(again.map(|a| a.response()), Some(response.clone()), "the response as an offer");
    }
});
