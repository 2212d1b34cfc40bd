//! The opening handshake parser (RFC 6455 §4.2.1) on any bytes, read in any cuts.
//!
//! Input: a `Split` (see `src/lib.rs`). The I/O layer presents the bytes
//! received so far, again and again, until `parse_request` decides; so every
//! prefix at a cut must agree with the whole: "need more" (consuming nothing)
//! only while the head is incomplete, a refusal only if the whole is refused,
//! an acceptance only if the whole gives the same one. Also: the 101 and the
//! error responses built from the result are well-formed HTTP heads.
#![no_main]

use fuzz_input::{prefix_agrees as agrees, Split};
use libfuzzer_sys::fuzz_target;
use reference_server::handshake::{parse_request, response_101, response_error, HandshakePolicy};
use reference_server::Config;

fuzz_target!(|input: &[u8]| {
    let split = Split::parse(input);
    let strict = HandshakePolicy {
        max_head_size: 256,
        subprotocols: vec!["chat".into(), "v2.echo".into()],
        allowed_origins: vec!["https://good.example".into()],
        deflate: None,
    };
    for policy in [Config::default().handshake_policy(), strict] {
        check(&split, &policy);
    }
});

fn check(split: &Split<'_>, policy: &HandshakePolicy) {
    let data = split.data;
    let whole = parse_request(data, policy);
    for &cut in &split.cuts {
        agrees(&parse_request(&data[..cut], policy), &whole, cut);
    }
    match &whole {
        Ok(None) => assert!(data.len() < policy.max_head_size, "{} bytes and still need more", data.len()),
        Ok(Some((accepted, head_len))) => {
            let n = *head_len;
            assert!(n <= data.len() && n <= policy.max_head_size);
            // the head alone decides; bytes after it belong to the WebSocket connection
            assert_eq!(parse_request(&data[..n], policy), whole);
            if let Some(short) = n.checked_sub(1) {
                agrees(&parse_request(&data[..short], policy), &whole, short);
            }
            if let Some(p) = &accepted.subprotocol {
                // RFC 6455 §4.2.2 item 5.4: only a subprotocol the server speaks
                assert!(policy.subprotocols.contains(p), "chose {p:?}");
            }
            assert_eq!(accepted.accept.len(), 28, "base64 of a 20-byte SHA-1");
            well_formed_head(&response_101(accepted), 101);
        }
        Err(e) => well_formed_head(&response_error(e), e.status().0),
    }
}

/// One status line with this code, field lines of visible ASCII, one empty line, a body of Content-Length bytes.
fn well_formed_head(response: &[u8], status: u16) {
    let text = std::str::from_utf8(response).expect("responses are UTF-8");
    let (head, body) = text.split_once("\r\n\r\n").expect("a head ends with an empty line");
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    assert!(status_line.starts_with(&format!("HTTP/1.1 {status} ")), "{status_line:?}");
    let mut content_length = None;
    for line in lines {
        assert!(line.bytes().all(|b| b == b'\t' || (b' '..=b'~').contains(&b)), "field line {line:?}");
        let (name, value) = line.split_once(": ").expect("name: value");
        if name.eq_ignore_ascii_case("content-length") {
            content_length = Some(value.parse::<usize>().expect("a number"));
        }
    }
    assert_eq!(content_length.unwrap_or(0), body.len(), "Content-Length");
}
