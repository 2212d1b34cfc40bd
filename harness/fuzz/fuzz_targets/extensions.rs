//! The `Sec-WebSocket-Extensions` parser and the permessage-deflate negotiation (RFC 6455 §9.1, RFC 7692 §7)
//! on any text.
//!
//! Input: a `Split` (see `src/lib.rs`), read as UTF-8 (lossily); the first piece is the server's
//! response value, the others are the offers. Checked:
//! - a value that parses, written back canonically, parses to the same elements;
//! - `negotiate` never panics; an acceptance names windows of 8..=15 bits, and the response written
//!   back canonically is accepted the same; every violation names its RFC section.
#![no_main]

use fuzz_input::{pieces, Split};
use libfuzzer_sys::fuzz_target;
use wsharness::wire::deflate::{negotiate, parse_extensions, ExtensionElement, Negotiation};

fuzz_target!(|input: &[u8]| {
    let split = Split::parse(input);
    let parts: Vec<String> =
        pieces(split.data, &split.cuts).iter().map(|p| String::from_utf8_lossy(p).into_owned()).collect();
    let Some((response, offers)) = parts.split_first() else { return };
    let offers: Vec<&str> = offers.iter().map(String::as_str).collect();
    let canonical = parse_extensions(response).ok().map(|elements| {
        let text = write(&elements);
        assert_eq!(parse_extensions(&text).as_ref(), Ok(&elements), "re-parsing {text:?}");
        text
    });
    match negotiate(&offers, &[response]) {
        Ok(Negotiation::Accepted(n)) => {
            assert!((8..=15).contains(&n.server_max_window_bits) && (8..=15).contains(&n.client_max_window_bits));
            let again = canonical.map(|text| negotiate(&offers, &[&text]));
            assert_eq!(again, Some(Ok(Negotiation::Accepted(n))));
        }
        Ok(Negotiation::Declined) => {}
        Err(found) => {
            assert!(!found.is_empty());
            assert!(found.iter().all(|v| v.rfc.starts_with("RFC ") && !v.to_string().is_empty()));
        }
    }
});

/// Elements written back: `name; p; p=v; p="v"`, quoted values escaped.
fn write(elements: &[ExtensionElement]) -> String {
    let mut out = Vec::new();
    for e in elements {
        let mut s = e.name.clone();
        for p in &e.params {
            s.push_str("; ");
            s.push_str(&p.name);
            match (&p.value, p.quoted) {
                (None, _) => {}
                (Some(v), false) => s.push_str(&format!("={v}")),
                (Some(v), true) => s.push_str(&format!("=\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\""))),
            }
        }
        out.push(s);
    }
    out.join(", ")
}
