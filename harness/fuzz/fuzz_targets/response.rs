//! The handshake response parser and the upgrade check (RFC 6455 §4.1, §4.2.2) on any bytes.
//!
//! Input: a `Split` (see `src/lib.rs`). The runner presents the bytes received
//! so far until the parser decides, so each prefix at a cut must agree with the
//! whole: "need more" only while the head is incomplete, an error only if the
//! whole is an error, a response only if the whole gives the same one. Checked
//! with the default limits and with small ones, and:
//! - the head is exactly the input's first bytes, within the limits;
//! - `check_upgrade` reports a refusal alone, and passes a response only if it
//!   is an HTTP/1.1 101 with `Upgrade: websocket` and the right accept value
//!   (checked here without the harness's list helpers).
#![no_main]

use fuzz_input::{prefix_agrees as agrees, Split};
use libfuzzer_sys::fuzz_target;
use wsharness::wire::{accept_for, ResponseParser, ServerResponse, ViolationKind};

/// The key of RFC 6455 §1.3, which the seed requests send.
const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

fuzz_target!(|input: &[u8]| {
    let split = Split::parse(input);
    for parser in [ResponseParser::default(), ResponseParser { max_head: 128, max_headers: 3 }] {
        let whole = parser.parse(split.data);
        for &cut in &split.cuts {
            agrees(&parser.parse(&split.data[..cut]), &whole, cut);
        }
        if let Ok(Some((response, n))) = &whole {
            let n = *n;
            assert!(n <= parser.max_head && response.headers.len() <= parser.max_headers);
            assert_eq!(response.raw_head, split.data[..n]);
            assert_eq!(&parser.parse(&split.data[..n]), &whole, "the head alone decides");
            if let Some(short) = n.checked_sub(1) {
                agrees(&parser.parse(&split.data[..short]), &whole, short);
            }
            upgrade(response);
        }
    }
});

fn upgrade(response: &ServerResponse) {
    assert!(response.version.len() == 8 && response.version.starts_with("HTTP/"), "{:?}", response.version);
    assert!(response.status <= 999);
    let found = response.check_upgrade(KEY, &["chat", "v2.echo"], &["permessage-deflate; client_max_window_bits"]);
    let kinds: Vec<ViolationKind> = found.iter().map(|v| v.kind).collect();
    if response.status != 101 {
        // RFC 6455 §4.1: a refusal has no upgrade fields to check
        assert!(kinds.contains(&ViolationKind::StatusNotSwitchingProtocols));
        assert!(kinds
            .iter()
            .all(|k| matches!(k, ViolationKind::StatusNotSwitchingProtocols | ViolationKind::VersionNotHttp11)));
    }
    if found.is_empty() {
        assert_eq!((response.version.as_str(), response.status), ("HTTP/1.1", 101));
        let accept = response.header("sec-websocket-accept").map(str::trim);
        assert_eq!(accept, Some(accept_for(KEY).as_str()));
        let upgrades: Vec<&str> = response.header_values("upgrade").collect();
        assert!(!upgrades.is_empty() && upgrades.iter().all(|u| u.trim().eq_ignore_ascii_case("websocket")));
        assert!(response.header_values("connection").any(|c| c.to_ascii_lowercase().contains("upgrade")));
    }
    for v in &found {
        // every violation renders as a message (reports print them)
        assert!(!v.to_string().is_empty());
    }
}
