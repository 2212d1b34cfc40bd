//! permessage-deflate under load, sans-IO: `--deflate=PARAMS` as a user writes it, the 101 judged
//! against the offer, the replayed bodies, stored blocks.

use super::*;
use crate::wire::deflate::{Inflater, MessageReport, StreamAnalyzer};
use crate::wire::{parse_response, ViolationKind};

#[test]
fn the_offer_is_the_parameters_as_written_after_the_extension_name() {
    let cases = [
        ("client_max_window_bits", "permessage-deflate; client_max_window_bits"),
        ("", "permessage-deflate"),
        (
            "client_no_context_takeover; server_max_window_bits=10",
            "permessage-deflate; client_no_context_takeover; server_max_window_bits=10",
        ),
        ("  server_no_context_takeover ", "permessage-deflate; server_no_context_takeover"),
        ("client_max_window_bits=\"9\"", "permessage-deflate; client_max_window_bits=\"9\""),
    ];
    for (params, value) in cases {
        assert_eq!(Offer::parse(params).map(|o| o.header_value().to_owned()), Ok(value.to_owned()), "{params:?}");
    }
    assert_eq!(
        DEFAULT_PARAMS.parse::<Offer>().map(|o| o.value),
        Ok("permessage-deflate; client_max_window_bits".into())
    );
}

#[test]
fn params_a_server_must_decline_or_that_break_the_grammar_are_refused_with_the_problem_named() {
    let cases: [(&str, &str); 9] = [
        ("client_max_window_bits=16", "client_max_window_bits=16 is outside 8..=15"),
        ("server_max_window_bits", "server_max_window_bits without a value"),
        ("server_max_window_bits=010", "not a decimal integer without leading zeroes"),
        ("client_no_context_takeover=1", "this parameter has no value"),
        ("client_no_context_takeover; client_no_context_takeover", "parameter client_no_context_takeover repeated"),
        ("x_window=3", "unknown parameter x_window"),
        ("client_max_window_bits; ; x", "at byte 24 of PARAMS: expected a parameter token"),
        ("client_max_window_bits, x-webkit-deflate-frame", "a ',' starts another extension"),
        ("permessage-deflate; client_max_window_bits", "write the parameters only"),
    ];
    for (params, needle) in cases {
        let e = Offer::parse(params).expect_err(params).to_string();
        assert!(e.contains(needle), "{params:?}: {e}");
    }
    assert!(Offer::parse("server_max_window_bits=7").is_err_and(|e| e.to_string().contains("RFC 7692 §7")));
}

fn response(extensions: &[&str]) -> ServerResponse {
    let mut head = String::from(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: x\r\n",
    );
    for e in extensions {
        head.push_str(&format!("Sec-WebSocket-Extensions: {e}\r\n"));
    }
    head.push_str("\r\n");
    parse_response(head.as_bytes()).unwrap().unwrap().0
}

#[test]
fn the_101_is_judged_against_the_offer() {
    let offer = Offer::parse("client_no_context_takeover; client_max_window_bits=12").unwrap();
    let n = accept(&offer, &response(&["permessage-deflate; client_max_window_bits=10"])).unwrap();
    // RFC 7692 §7.1.1.2: we offered not to take over context, so we do not, whether or not the server echoed it
    assert!(n.client_no_context_takeover && n.client_max_window_bits == 10 && n.server_max_window_bits == 15);
    assert_eq!(describe(&n), "client_no_context_takeover; server_max_window_bits=15; client_max_window_bits=10");
    let declined = accept(&offer, &response(&[])).unwrap_err();
    assert_eq!(declined.load_error(), LoadError::Deflate(None));
    assert!(declined.to_string().starts_with("the server declined permessage-deflate"), "{declined}");
    assert!(declined.to_string().contains("client_no_context_takeover; client_max_window_bits=12"), "{declined}");
    let wrong = accept(&offer, &response(&["permessage-deflate; client_max_window_bits=13"])).unwrap_err();
    let kind = ViolationKind::DeflateClientWindowLargerThanOffered;
    assert_eq!(wrong.load_error(), LoadError::Deflate(Some(kind)));
    assert!(wrong.to_string().contains("RFC 7692 §7.1.2.2") && wrong.to_string().contains("offered 12"), "{wrong}");
    let unknown = accept(&offer, &response(&["permessage-deflate; x=1"])).unwrap_err();
    assert_eq!(unknown.load_error(), LoadError::Deflate(Some(ViolationKind::DeflateParameterUnknown)));
}

#[test]
fn replayed_bodies_cover_every_size_drawn_and_refer_to_nothing_before_them() {
    let sizes = SizeDist::parse("0..40").unwrap();
    let book = PayloadBook::new(40, false);
    let t = Templates::build(&book, &sizes, 9).unwrap();
    for size in 0..=40u32 {
        let body = t.body(size).unwrap();
        // at most the sequence number: nothing after it, the message ends with its stored block
        assert_eq!(body.is_empty(), size <= SEQ_LEN as u32, "size {size}");
        if !body.is_empty() {
            // RFC 7692 §7.1.1.2: each body alone, from an empty window
            let report: MessageReport = StreamAnalyzer::new(1 << 20).message(body).unwrap().report;
            assert!(!report.reaches_before_message && report.max_distance <= 512, "{report:?}");
        }
    }
    assert_eq!(t.body(41), None);
    assert!(Templates::build(&book, &SizeDist::parse("1..5000").unwrap(), 15).is_none(), "over REPLAY_SIZES");
    let weighted = Templates::build(&PayloadBook::new(9000, true), &SizeDist::parse("9000:1,64:5,9000:2").unwrap(), 15);
    assert_eq!(weighted.map(|t| t.sizes), Some(vec![64, 9000]));
}

#[test]
fn stored_blocks_hold_any_message_under_any_window() {
    let big: Vec<u8> = (0..150_000u32).map(|i| (i * 13) as u8).collect();
    for parts in [vec![], vec![&b""[..], &b""[..]], vec![&b"0000"[..]], vec![&b"01234567"[..], &big[..]]] {
        let mut out = Vec::new();
        stored_into(&parts, &mut out);
        assert_eq!(Inflater::new(8, true, 1 << 20).inflate(&out), Ok(parts.concat()));
        assert!(out.len() <= send_bound(parts.concat().len()), "{} bytes", out.len());
    }
}

#[test]
fn an_echo_error_is_counted_as_the_error_taxonomy_names_it() {
    assert_eq!(EchoError::TooLong.load_error(), LoadError::EchoTooLong);
    assert_eq!(EchoError::Corrupt.load_error().detail(), "protocol_error invalid DEFLATE data");
    assert_eq!(LoadError::Deflate(None).kind(), "handshake_invalid");
}
