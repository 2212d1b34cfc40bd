//! Offers as they go on the wire, and responses judged against them (RFC 7692 §5, §7; RFC 6455 §9.1).

use crate::wire::deflate::params::{DeflateOffer, DeflateParam, ExtensionOffer, Negotiated};
use crate::wire::deflate::{extensions_value, negotiate, parse_extensions, Negotiation};
use crate::wire::ViolationKind::{self, *};

#[test]
fn offers_go_on_the_wire_as_written_malformed_included() {
    let offers = [
        ExtensionOffer::Deflate(DeflateOffer::new().client_max_window_bits(None)),
        ExtensionOffer::Deflate(
            DeflateOffer::new()
                .server_max_window_bits(16)
                .server_max_window_bits(10)
                .param(DeflateParam::quoted("client_max_window_bits", "9"))
                .param(DeflateParam::raw("x_unknown", None)),
        ),
        ExtensionOffer::Raw("x-webkit-deflate-frame".to_owned()),
    ];
    assert_eq!(
        extensions_value(&offers),
        "permessage-deflate; client_max_window_bits, permessage-deflate; server_max_window_bits=16; \
         server_max_window_bits=10; client_max_window_bits=\"9\"; x_unknown, x-webkit-deflate-frame"
    );
}

#[test]
fn the_grammar_of_rfc_6455_section_9_1() {
    let parsed = parse_extensions(" permessage-deflate ;a ; b = \"1\\2\" ,, foo").expect("valid");
    assert_eq!(parsed.len(), 2);
    assert_eq!(parsed[0].params[1].value.as_deref(), Some("12"));
    assert!(parsed[0].params[1].quoted);
    for bad in ["", ",", "permessage-deflate;", "a b", "a; b=", "a; b=\"\"", "a; b=\"x y\"", "a; b=\"x", "a=1", "a;;b"]
    {
        assert!(parse_extensions(bad).is_err(), "{bad:?} should not parse");
    }
}

const PMD: &str = "permessage-deflate";

/// What a negotiation gives, violations reduced to their kinds.
type Judged = Result<Negotiation, Vec<ViolationKind>>;

fn judged(offers: &[&str], response: &str) -> Judged {
    negotiate(offers, &[response]).map_err(|found| found.into_iter().map(|v| v.kind).collect())
}

fn accepted(snct: bool, cnct: bool, server_bits: u8, client_bits: u8) -> Judged {
    Ok(Negotiation::Accepted(Negotiated {
        server_no_context_takeover: snct,
        client_no_context_takeover: cnct,
        server_max_window_bits: server_bits,
        client_max_window_bits: client_bits,
    }))
}

#[test]
fn negotiation_table() {
    let cmwb = "permessage-deflate; client_max_window_bits";
    let smwb10 = "permessage-deflate; server_max_window_bits=10";
    let snct = "permessage-deflate; server_no_context_takeover";
    let table: &[(&[&str], &str, Judged)] = &[
        // accepted as offered, or with what a server may add (§7.1.1.1, §7.1.1.2, §7.1.2.1)
        (&[PMD], PMD, accepted(false, false, 15, 15)),
        (&[PMD], "permessage-deflate; server_no_context_takeover", accepted(true, false, 15, 15)),
        (&[PMD], "permessage-deflate; client_no_context_takeover", accepted(false, true, 15, 15)),
        (&[PMD], "permessage-deflate; server_max_window_bits=8", accepted(false, false, 8, 15)),
        (&[cmwb], "permessage-deflate; client_max_window_bits=8", accepted(false, false, 15, 8)),
        (&[cmwb], "permessage-deflate;client_max_window_bits=\"12\"", accepted(false, false, 15, 12)),
        (&[smwb10], "permessage-deflate; server_max_window_bits=9", accepted(false, false, 9, 15)),
        (&[snct], snct, accepted(true, false, 15, 15)),
        (&[PMD], "PerMessage-Deflate", accepted(false, false, 15, 15)),
        // the second offer is the one accepted
        (&[smwb10, cmwb], "permessage-deflate; client_max_window_bits=9", accepted(false, false, 15, 9)),
        // rules broken
        (&[PMD], "permessage-deflate; client_max_window_bits=10", Err(vec![DeflateClientWindowNotOffered])),
        (&[smwb10], "permessage-deflate; server_max_window_bits=11", Err(vec![DeflateServerWindowNotHonoured])),
        (&[smwb10], PMD, Err(vec![DeflateServerWindowNotHonoured])),
        (&[snct], PMD, Err(vec![DeflateServerNoContextTakeoverDropped])),
        (
            &["permessage-deflate; client_max_window_bits=10"],
            "permessage-deflate; client_max_window_bits=11",
            Err(vec![DeflateClientWindowLargerThanOffered]),
        ),
        (&[PMD], "permessage-deflate; foo", Err(vec![DeflateParameterUnknown])),
        (
            &[PMD],
            "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
            Err(vec![DeflateParameterRepeated]),
        ),
        (&[PMD], "permessage-deflate; server_max_window_bits=7", Err(vec![DeflateParameterInvalid])),
        (&[PMD], "permessage-deflate; server_max_window_bits=16", Err(vec![DeflateParameterInvalid])),
        (&[PMD], "permessage-deflate; server_max_window_bits=010", Err(vec![DeflateParameterInvalid])),
        (&[PMD], "permessage-deflate; server_max_window_bits", Err(vec![DeflateParameterInvalid])),
        (&[PMD], "permessage-deflate; server_no_context_takeover=1", Err(vec![DeflateParameterInvalid])),
        (&[cmwb], "permessage-deflate; client_max_window_bits", Err(vec![DeflateParameterInvalid])),
        (&[PMD], "permessage-deflate, permessage-deflate", Err(vec![DeflateRepeated])),
        (&[PMD], "permessage-deflate, x-other", Err(vec![ExtensionNotOffered])),
        (&[], PMD, Err(vec![ExtensionNotOffered])),
        (&[PMD], "permessage-deflate; a=\"b c\"", Err(vec![ExtensionSyntax])),
        (&["permessage-deflate; server_max_window_bits=16"], PMD, Err(vec![DeflateAcceptedInvalidOffer])),
        (&["permessage-deflate; foo"], PMD, Err(vec![DeflateAcceptedInvalidOffer])),
        (
            &["permessage-deflate; client_max_window_bits; client_max_window_bits"],
            PMD,
            Err(vec![DeflateAcceptedInvalidOffer]),
        ),
        // declined
        (&[PMD], "x-other", Err(vec![ExtensionNotOffered])),
        (&[PMD, "x-other"], "x-other", Ok(Negotiation::Declined)),
    ];
    for (offers, response, expected) in table {
        assert_eq!(&judged(offers, response), expected, "offers {offers:?}, response {response:?}");
    }
    assert_eq!(negotiate(&[PMD], &[]), Ok(Negotiation::Declined));
}

#[test]
fn several_response_fields_are_one_list() {
    let found = negotiate(&[PMD], &["permessage-deflate", "permessage-deflate"]).expect_err("two elements");
    assert_eq!(found[0].kind, DeflateRepeated);
    assert_eq!(found[0].rfc, "RFC 7692 §5");
}
