//! The server's side of the negotiation (RFC 7692 §5, §7), sans-IO: which of a client's
//! permessage-deflate offers we accept, and the response element that says so.
//!
//! A case lists how it accepts ([`DeflateAccept`], in order of preference), as Autobahn's
//! fuzzingserver does per case (`accept_deflate` of 12.x, `accept1`..`accept7` of 13.x): each in turn
//! is tried against the client's offers in their order (RFC 7692 §5: the client lists them by
//! preference), and the first pair that fits is accepted. An offer a server must decline (an unknown,
//! repeated or invalid parameter, RFC 7692 §7) is never accepted. The response honours what the offer
//! asks of the server (`server_no_context_takeover`, `server_max_window_bits`) and adds what the case
//! asks of the client.

use super::negotiate::{offers, Params};
use super::params::{
    Negotiated, CLIENT_MAX_WINDOW_BITS, CLIENT_NO_CONTEXT_TAKEOVER, MAX_WINDOW_BITS, PERMESSAGE_DEFLATE,
    SERVER_MAX_WINDOW_BITS, SERVER_NO_CONTEXT_TAKEOVER,
};

/// One way of accepting an offer: what the server asks of the client's side.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeflateAccept {
    /// Include `client_no_context_takeover` (RFC 7692 §7.1.1.2: a server may, offered or not).
    pub client_no_context_takeover: bool,
    /// Include `client_max_window_bits=N`: only for an offer that has `client_max_window_bits`
    /// (RFC 7692 §7.1.2.2), and never above the offer's own value.
    pub client_max_window_bits: Option<u8>,
}

/// An offer accepted: the response element and what each side may then use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcceptedOffer {
    /// The `permessage-deflate` element of our `Sec-WebSocket-Extensions` response.
    pub response: String,
    /// What each side may use, as the response says (a client's `client_no_context_takeover` hint in
    /// its offer is a hint, not an obligation: only the response binds it, RFC 7692 §7.1.1.2).
    pub negotiated: Negotiated,
}

/// The first of `accepts` that fits one of the client's permessage-deflate offers (`offered`: the
/// request's `Sec-WebSocket-Extensions` values); `None` when none does, or nothing was offered: then
/// we decline, and messages are not compressed.
pub fn accept_offer(offered: &[&str], accepts: &[DeflateAccept]) -> Option<AcceptedOffer> {
    let valid: Vec<Params> = offers(offered).into_iter().filter_map(Result::ok).collect();
    accepts.iter().find_map(|accept| valid.iter().find_map(|offer| accepted(offer, accept)))
}

/// `offer` accepted as `accept` says, if it fits.
fn accepted(offer: &Params, accept: &DeflateAccept) -> Option<AcceptedOffer> {
    let client_bits = match (accept.client_max_window_bits, offer.client_max_window_bits) {
        (None, _) => None,
        // RFC 7692 §7.1.2.2: a server MUST NOT include client_max_window_bits unless the offer has it
        (Some(_), None) => return None,
        (Some(bits), Some(None)) => Some(bits),
        // RFC 7692 §7.1.2.2: ... and then with a value no larger than the offer's
        (Some(bits), Some(Some(offered))) => Some(bits.min(offered)),
    };
    let mut response = PERMESSAGE_DEFLATE.to_string();
    // RFC 7692 §7.1.1.1: an offer asking for server_no_context_takeover is accepted with it
    if offer.server_no_context_takeover {
        response.push_str(&format!("; {SERVER_NO_CONTEXT_TAKEOVER}"));
    }
    // RFC 7692 §7.1.2.1: an offer's server_max_window_bits is accepted with the same value
    if let Some(bits) = offer.server_max_window_bits {
        response.push_str(&format!("; {SERVER_MAX_WINDOW_BITS}={bits}"));
    }
    if accept.client_no_context_takeover {
        response.push_str(&format!("; {CLIENT_NO_CONTEXT_TAKEOVER}"));
    }
    if let Some(bits) = client_bits {
        response.push_str(&format!("; {CLIENT_MAX_WINDOW_BITS}={bits}"));
    }
    let negotiated = Negotiated {
        server_no_context_takeover: offer.server_no_context_takeover,
        client_no_context_takeover: accept.client_no_context_takeover,
        server_max_window_bits: offer.server_max_window_bits.unwrap_or(MAX_WINDOW_BITS),
        client_max_window_bits: client_bits.unwrap_or(MAX_WINDOW_BITS),
    };
    Some(AcceptedOffer { response, negotiated })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::deflate::{negotiate, Negotiation};

    const DEFAULTS: DeflateAccept = DeflateAccept { client_no_context_takeover: false, client_max_window_bits: None };
    const NO_TAKEOVER_9: DeflateAccept =
        DeflateAccept { client_no_context_takeover: true, client_max_window_bits: Some(9) };

    /// (offer as sent, how the case accepts, our response element or `None`)
    const EXCHANGES: &[(&str, &[DeflateAccept], Option<&str>)] = &[
        ("permessage-deflate; client_max_window_bits", &[DEFAULTS], Some("permessage-deflate")),
        (
            "permessage-deflate; client_max_window_bits",
            &[NO_TAKEOVER_9],
            Some("permessage-deflate; client_no_context_takeover; client_max_window_bits=9"),
        ),
        // no client_max_window_bits offered: a window for the client cannot be asked for
        ("permessage-deflate", &[NO_TAKEOVER_9], None),
        ("permessage-deflate", &[NO_TAKEOVER_9, DEFAULTS], Some("permessage-deflate")),
        // what the offer asks of the server is honoured
        (
            "permessage-deflate; server_no_context_takeover; server_max_window_bits=10",
            &[DEFAULTS],
            Some("permessage-deflate; server_no_context_takeover; server_max_window_bits=10"),
        ),
        // never above the client's own limit
        (
            "permessage-deflate; client_max_window_bits=8",
            &[NO_TAKEOVER_9],
            Some("permessage-deflate; client_no_context_takeover; client_max_window_bits=8"),
        ),
        // an offer a server must decline is skipped; the next one is taken
        (
            "permessage-deflate; x_unknown, permessage-deflate; server_max_window_bits=9",
            &[DEFAULTS],
            Some("permessage-deflate; server_max_window_bits=9"),
        ),
        ("x-webkit-deflate-frame", &[DEFAULTS], None),
        ("permessage-deflate", &[], None),
    ];

    #[test]
    fn each_offer_gets_the_response_the_case_asks_for() {
        for (offer, accepts, want) in EXCHANGES {
            let got = accept_offer(&[offer], accepts).map(|a| a.response);
            assert_eq!(got.as_deref(), *want, "offer {offer:?}");
        }
    }

    #[test]
    fn every_response_is_one_the_client_must_accept_and_means_the_same() {
        for (offer, accepts, _) in EXCHANGES {
            let Some(a) = accept_offer(&[offer], accepts) else { continue };
            let Ok(Negotiation::Accepted(n)) = negotiate(&[offer], &[&a.response]) else {
                panic!("{:?} does not fit {offer:?}", a.response);
            };
            // the client's own hint aside, the response binds both sides as we judge them
            assert_eq!(n, a.negotiated, "offer {offer:?}");
        }
    }

    #[test]
    fn a_client_hint_is_not_an_obligation() {
        let offer = "permessage-deflate; client_no_context_takeover";
        let a = accept_offer(&[offer], &[DEFAULTS]).expect("accepted");
        assert_eq!(a.response, "permessage-deflate");
        assert!(!a.negotiated.client_no_context_takeover);
    }
}
