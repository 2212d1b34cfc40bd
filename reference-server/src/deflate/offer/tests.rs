//! The negotiation table: offers (the `Sec-WebSocket-Extensions` field values) and the response, or a decline.

use super::*;

/// The response to `fields` with the default config; `None` is a decline.
fn answer(fields: &[&str]) -> Option<String> {
    negotiate(fields.iter().copied(), &DeflateConfig::default()).map(|a| a.response())
}

const PLAIN: Option<&str> = Some("permessage-deflate");

#[test]
fn the_negotiation_table() {
    let table: &[(&[&str], Option<&str>)] = &[
        // a plain offer, and the name in any case
        (&["permessage-deflate"], PLAIN),
        (&["Permessage-Deflate"], PLAIN),
        // every parameter, one at a time
        (&["permessage-deflate; server_no_context_takeover"], Some("permessage-deflate; server_no_context_takeover")),
        (&["permessage-deflate; client_no_context_takeover"], Some("permessage-deflate; client_no_context_takeover")),
        (&["permessage-deflate; server_max_window_bits=10"], Some("permessage-deflate; server_max_window_bits=10")),
        (&["permessage-deflate; server_max_window_bits=15"], Some("permessage-deflate; server_max_window_bits=15")),
        (&["permessage-deflate; client_max_window_bits"], PLAIN),
        (&["permessage-deflate; client_max_window_bits=12"], Some("permessage-deflate; client_max_window_bits=12")),
        // all four (Autobahn's 13.5 offer plus a client window value)
        (
            &["permessage-deflate; client_no_context_takeover; client_max_window_bits=9; server_no_context_takeover; server_max_window_bits=9"],
            Some("permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=9; client_max_window_bits=9"),
        ),
        // white space around the separators, quoted values (RFC 6455 §9.1 and RFC 7692 §5)
        (&["permessage-deflate ;\tserver_max_window_bits = 10 "], Some("permessage-deflate; server_max_window_bits=10")),
        (&["permessage-deflate; server_max_window_bits=\"10\""], Some("permessage-deflate; server_max_window_bits=10")),
        (&["permessage-deflate; client_max_window_bits=\"1\\2\""], Some("permessage-deflate; client_max_window_bits=12")),
        // a quoted value that is not a token after unescaping, or not closed
        (&["permessage-deflate; server_max_window_bits=\"1 0\""], None),
        (&["permessage-deflate; server_max_window_bits=\"10"], None),
        // duplicates
        (&["permessage-deflate; server_no_context_takeover; server_no_context_takeover"], None),
        (&["permessage-deflate; client_max_window_bits; client_max_window_bits=10"], None),
        // unknown parameters, values where none is allowed
        (&["permessage-deflate; x-unknown"], None),
        (&["permessage-deflate; server_no_context_takeover=1"], None),
        (&["permessage-deflate; client_no_context_takeover=\"\""], None),
        // window values out of range or not decimal integers without leading zeros
        (&["permessage-deflate; server_max_window_bits=7"], None),
        (&["permessage-deflate; server_max_window_bits=16"], None),
        (&["permessage-deflate; server_max_window_bits=010"], None),
        (&["permessage-deflate; server_max_window_bits=0x0f"], None),
        (&["permessage-deflate; client_max_window_bits=16"], None),
        (&["permessage-deflate; client_max_window_bits="], None),
        // server_max_window_bits needs a value
        (&["permessage-deflate; server_max_window_bits"], None),
        // window 8: accepted (the server compresses with stored blocks, which reference nothing)
        (&["permessage-deflate; server_max_window_bits=8"], Some("permessage-deflate; server_max_window_bits=8")),
        (&["permessage-deflate; client_max_window_bits=8"], Some("permessage-deflate; client_max_window_bits=8")),
        // several offers, the first unacceptable: the next one wins, in one field or across fields
        (
            &["permessage-deflate; x-unknown, permessage-deflate; server_no_context_takeover, permessage-deflate"],
            Some("permessage-deflate; server_no_context_takeover"),
        ),
        (&["permessage-deflate; server_max_window_bits=99", "permessage-deflate"], PLAIN),
        // Autobahn 13.7: three offers, the first acceptable
        (
            &["permessage-deflate; client_no_context_takeover; client_max_window_bits; server_no_context_takeover; server_max_window_bits=9, permessage-deflate; client_no_context_takeover; client_max_window_bits; server_no_context_takeover, permessage-deflate; client_no_context_takeover; client_max_window_bits"],
            Some("permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=9"),
        ),
        // other extensions are skipped; a comma inside a quoted string does not split the element
        (&["x-webkit-deflate-frame, permessage-deflate"], PLAIN),
        (&["x-foo; a=\"b,c\", permessage-deflate"], PLAIN),
        (&["foo; a=\"b, permessage-deflate"], None),
        // empty list elements (RFC 7230 §7) and syntax errors in another element
        (&[", ,permessage-deflate,"], PLAIN),
        (&["bad name; x, permessage-deflate"], PLAIN),
        (&["permessage-deflate;"], None),
        // nothing offered
        (&[], None),
        (&[""], None),
        (&["x-wsharness-unknown; p=1"], None),
    ];
    for (fields, expected) in table {
        assert_eq!(answer(fields).as_deref(), *expected, "offer {fields:?}");
    }
}

#[test]
fn the_server_windows_follow_its_preference_and_the_offer() {
    let config = DeflateConfig { server_max_window_bits: 10, client_max_window_bits: 11, ..DeflateConfig::default() };
    let agree = |f: &str| negotiate([f], &config).unwrap();
    // not offered: the server uses its smaller window without saying so, and cannot ask the client for one
    let a = agree("permessage-deflate");
    assert_eq!((a.server_max_window_bits, a.client_max_window_bits), (10, 15));
    assert_eq!(a.response(), "permessage-deflate");
    // offered: the smaller of the two, announced
    let a = agree("permessage-deflate; server_max_window_bits=12; client_max_window_bits");
    assert_eq!((a.server_max_window_bits, a.client_max_window_bits), (10, 11));
    assert_eq!(a.response(), "permessage-deflate; server_max_window_bits=10; client_max_window_bits=11");
    let a = agree("permessage-deflate; server_max_window_bits=9; client_max_window_bits=9");
    assert_eq!(a.response(), "permessage-deflate; server_max_window_bits=9; client_max_window_bits=9");
}

#[test]
fn the_server_may_ask_for_no_context_takeover_unoffered() {
    let config = DeflateConfig {
        server_no_context_takeover: true,
        client_no_context_takeover: true,
        ..DeflateConfig::default()
    };
    let a = negotiate(["permessage-deflate"], &config).unwrap();
    assert_eq!(a.response(), "permessage-deflate; server_no_context_takeover; client_no_context_takeover");
}
