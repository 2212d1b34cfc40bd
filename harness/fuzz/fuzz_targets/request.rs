//! The client's opening request as we read it when we play the server (issue 13): the request parser,
//! the §4.1 checks, the Autobahn URL router and our 101, on any bytes a client sends.
//!
//! Input: a `Split` (see `src/lib.rs`). Each prefix at a cut must agree with the whole: "need more"
//! only while the head is incomplete, an error only if the whole is an error, a request only if the
//! whole gives the same one. Checked with the default limits and with small ones, and:
//! - the head is exactly the input's first bytes, within the limits; `parse_closed` of a prefix
//!   either agrees or says the head was cut;
//! - `check` and the router never panic, every violation renders, a request the checks pass has
//!   a method GET and a key of 16 bytes;
//! - the 101 we build for any request carries the accept value of its key (RFC 6455 §4.2.2), and
//!   reads back through our own response parser.
#![no_main]

use fuzz_input::{prefix_agrees as agrees, Split};
use libfuzzer_sys::fuzz_target;
use wsharness::serve::{route, ApiError, CaseNumbering};
use wsharness::wire::handshake::server::{ReceivedRequest, RequestParser, ServerReply};
use wsharness::wire::{accept_for, parse_response};

fuzz_target!(|input: &[u8]| {
    let split = Split::parse(input);
    for parser in [RequestParser::default(), RequestParser { max_head: 128, max_headers: 3 }] {
        let whole = parser.parse(split.data);
        for &cut in &split.cuts {
            agrees(&parser.parse(&split.data[..cut]), &whole, cut);
        }
        if let Ok(Some((request, n))) = &whole {
            let n = *n;
            assert!(n <= parser.max_head && request.headers.len() <= parser.max_headers);
            assert_eq!(request.raw_head, split.data[..n]);
            assert_eq!(&parser.parse(&split.data[..n]), &whole, "the head alone decides");
            assert_eq!(
                parser.parse_closed(&split.data[..n]).ok().as_ref(),
                whole.as_ref().ok().and_then(|w| w.as_ref())
            );
            judged(request);
        }
    }
});

fn judged(request: &ReceivedRequest) {
    let found = request.check();
    for v in &found {
        // every violation renders as a message (reports print them)
        assert!(!v.to_string().is_empty());
    }
    if found.is_empty() {
        assert_eq!(request.method, "GET");
        assert!(request.key_nonce().is_some(), "a request that passes has a 16-byte key");
    }
    let _ = request.target_parts();
    // the router on the request's target, with a few cases mapped and one not
    let cases =
        CaseNumbering::new([("rfc6455/5.2/a", Some("1.1.1")), ("rfc6455/5.2/b", Some("2.10")), ("client/x", None)]);
    match route(&request.target, &cases) {
        Ok(_) => {}
        // a refusal is an HTTP reply we can send
        Err(e) => {
            let e: ApiError = e;
            assert!((400..500).contains(&e.status()), "{e:?}");
            assert!(!e.reply().encode().is_empty());
        }
    }
    let reply = ServerReply::accepting(request);
    if let Some(key) = request.websocket_key() {
        assert_eq!(reply.accept_value(), Some(accept_for(key.trim()).as_str()));
    }
    let bytes = reply.encode();
    let (response, n) = match parse_response(&bytes) {
        Ok(Some(parsed)) => parsed,
        other => panic!("our 101 does not read back: {other:?}\n{}", String::from_utf8_lossy(&bytes)),
    };
    assert_eq!((response.status, n), (101, bytes.len()));
}
