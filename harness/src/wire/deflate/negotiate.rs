//! Judging a server's `Sec-WebSocket-Extensions` response against the offers
//! (RFC 7692 §5, §7; RFC 6455 §9.1).
//!
//! The offers are read back from what the request sent (strings, so that a
//! deliberately malformed offer is judged as the server saw it). A server may
//! accept any one valid `permessage-deflate` offer; the response is judged
//! against each and the first it fits is the one accepted. When it fits none,
//! the violations against the offer it fits best are reported.

use super::params::{
    Negotiated, CLIENT_MAX_WINDOW_BITS, CLIENT_NO_CONTEXT_TAKEOVER, MAX_WINDOW_BITS, MIN_WINDOW_BITS,
    PERMESSAGE_DEFLATE, SERVER_MAX_WINDOW_BITS, SERVER_NO_CONTEXT_TAKEOVER,
};
use super::syntax::{parse_extensions, ExtensionElement, ExtensionParam};
use crate::wire::handshake::list::{extension_name, split_list};
use crate::wire::violation::{Violation, ViolationKind};

/// What the server did with the permessage-deflate offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Negotiation {
    /// No `permessage-deflate` in the response: messages are not compressed.
    Declined,
    /// Accepted, with what each side may use.
    Accepted(Negotiated),
}

/// The parameters of one `permessage-deflate` element, once valid.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Params {
    pub(super) server_no_context_takeover: bool,
    pub(super) client_no_context_takeover: bool,
    pub(super) server_max_window_bits: Option<u8>,
    /// `Some(None)`: value-less (valid in an offer only).
    pub(super) client_max_window_bits: Option<Option<u8>>,
}

/// Judges the response's `Sec-WebSocket-Extensions` field values (`response_values`, one per field)
/// against the extensions the request offered (`offered`: elements or whole values, as sent).
///
/// `Ok(Declined)` when the response has no `permessage-deflate` and breaks no rule;
/// `Ok(Accepted)` with the negotiated parameters; otherwise every rule broken.
pub fn negotiate(offered: &[&str], response_values: &[&str]) -> Result<Negotiation, Vec<Violation>> {
    if response_values.is_empty() {
        return Ok(Negotiation::Declined);
    }
    let joined = response_values.join(", ");
    let elements = match parse_extensions(&joined) {
        Ok(elements) => elements,
        // RFC 6455 §9.1: the response follows the extension-list grammar
        Err(e) => return Err(vec![Violation::new(ViolationKind::ExtensionSyntax, format!("{joined:?}: {e}"))]),
    };
    let mut found = Vec::new();
    let offered_names: Vec<&str> = offered.iter().flat_map(|o| split_list(o)).map(extension_name).collect();
    for element in elements.iter().filter(|e| !offered_names.iter().any(|o| o.eq_ignore_ascii_case(&e.name))) {
        // RFC 6455 §9.1 (and §4.1 item 5): only extensions the client offered
        found.push(Violation::new(
            ViolationKind::ExtensionNotOffered,
            format!("server selected extension {:?}, offered {offered_names:?}", element.name),
        ));
    }
    let deflates: Vec<&ExtensionElement> = elements.iter().filter(|e| is_deflate(&e.name)).collect();
    if deflates.len() > 1 {
        // RFC 7692 §5: no two extensions that use RSV1 (two permessage-deflate elements) in one response
        found.push(Violation::new(
            ViolationKind::DeflateRepeated,
            format!("{} permessage-deflate elements in {joined:?}", deflates.len()),
        ));
    }
    let Some(accepted) = deflates.first() else {
        return if found.is_empty() { Ok(Negotiation::Declined) } else { Err(found) };
    };
    let response = response_params(accepted, &mut found);
    let offers = offers(offered);
    if offered_names.iter().any(|name| is_deflate(name)) {
        judge_against_offers(&offers, &response, &mut found);
    }
    if !found.is_empty() {
        return Err(found);
    }
    let mut n = negotiated(&response);
    let fitted = offers.iter().filter_map(|o| o.as_ref().ok()).find(|o| against_offer(o, &response).is_empty());
    if fitted.is_some_and(|o| o.client_no_context_takeover) {
        // RFC 7692 §7.1.1.2: the offer told the server we would not use context takeover: we keep our word
        n.client_no_context_takeover = true;
    }
    Ok(Negotiation::Accepted(n))
}

fn is_deflate(name: &str) -> bool {
    name.eq_ignore_ascii_case(PERMESSAGE_DEFLATE)
}

fn negotiated(response: &Params) -> Negotiated {
    Negotiated {
        server_no_context_takeover: response.server_no_context_takeover,
        client_no_context_takeover: response.client_no_context_takeover,
        server_max_window_bits: response.server_max_window_bits.unwrap_or(MAX_WINDOW_BITS),
        client_max_window_bits: response.client_max_window_bits.flatten().unwrap_or(MAX_WINDOW_BITS),
    }
}

/// Every permessage-deflate offer sent, in order: its parameters, or why a server must decline it.
pub(super) fn offers(offered: &[&str]) -> Vec<Result<Params, String>> {
    let mut out = Vec::new();
    for text in offered {
        match parse_extensions(text) {
            Ok(elements) => out.extend(elements.iter().filter(|e| is_deflate(&e.name)).map(offer_params)),
            Err(e) => out.extend(
                split_list(text)
                    .into_iter()
                    .filter(|item| is_deflate(extension_name(item)))
                    .map(|item| Err(format!("{item:?} does not follow RFC 6455 §9.1 ({e})"))),
            ),
        }
    }
    out
}

/// Whether a server may accept this `permessage-deflate` offer: `Err` names its first unknown,
/// repeated or invalid parameter, for which a server must decline it (RFC 7692 §7).
pub fn check_offer(offer: &ExtensionElement) -> Result<(), String> {
    offer_params(offer).map(|_| ())
}

/// An offer's parameters, or the first reason a server must decline it (RFC 7692 §7).
fn offer_params(offer: &ExtensionElement) -> Result<Params, String> {
    let mut params = Params::default();
    let mut seen: Vec<String> = Vec::new();
    for p in &offer.params {
        let name = p.name.to_ascii_lowercase();
        // RFC 7692 §7: a server MUST decline an offer with a repeated parameter
        if seen.contains(&name) {
            return Err(format!("parameter {} repeated", p.name));
        }
        seen.push(name.clone());
        // RFC 7692 §7: a server MUST decline an offer with an unknown parameter or an invalid value
        match name.as_str() {
            SERVER_NO_CONTEXT_TAKEOVER => params.server_no_context_takeover = no_value(p)?,
            CLIENT_NO_CONTEXT_TAKEOVER => params.client_no_context_takeover = no_value(p)?,
            SERVER_MAX_WINDOW_BITS => params.server_max_window_bits = Some(window_bits(p)?),
            // RFC 7692 §7.1.2.2: in an offer, client_max_window_bits may have no value
            CLIENT_MAX_WINDOW_BITS if p.value.is_none() => params.client_max_window_bits = Some(None),
            CLIENT_MAX_WINDOW_BITS => params.client_max_window_bits = Some(Some(window_bits(p)?)),
            _ => return Err(format!("unknown parameter {}", p.name)),
        }
    }
    Ok(params)
}

fn no_value(p: &ExtensionParam) -> Result<bool, String> {
    // RFC 7692 §7.1.1.1, §7.1.1.2: the context takeover parameters have no value
    match &p.value {
        None => Ok(true),
        Some(v) => Err(format!("{}={v:?} (this parameter has no value)", p.name)),
    }
}

fn window_bits(p: &ExtensionParam) -> Result<u8, String> {
    let Some(v) = &p.value else {
        return Err(format!("{} without a value", p.name));
    };
    // RFC 7692 §7.1.2.1: a decimal integer without leading zeroes, from 8 to 15 inclusive
    let bits = match v.parse::<u8>() {
        Ok(bits) if v.bytes().all(|b| b.is_ascii_digit()) && !v.starts_with('0') => bits,
        _ => return Err(format!("{}={v:?} is not a decimal integer without leading zeroes", p.name)),
    };
    if !(MIN_WINDOW_BITS..=MAX_WINDOW_BITS).contains(&bits) {
        return Err(format!("{}={bits} is outside 8..=15", p.name));
    }
    Ok(bits)
}

/// The response element's parameters; every parameter a response must not carry is a violation.
fn response_params(element: &ExtensionElement, found: &mut Vec<Violation>) -> Params {
    let mut params = Params::default();
    let mut seen: Vec<String> = Vec::new();
    for p in &element.params {
        let name = p.name.to_ascii_lowercase();
        if seen.contains(&name) {
            // RFC 7692 §7: a response with two parameters of one name fails the connection
            found.push(Violation::new(ViolationKind::DeflateParameterRepeated, format!("{} repeated", p.name)));
            continue;
        }
        seen.push(name.clone());
        let result = match name.as_str() {
            SERVER_NO_CONTEXT_TAKEOVER => no_value(p).map(|v| params.server_no_context_takeover = v),
            CLIENT_NO_CONTEXT_TAKEOVER => no_value(p).map(|v| params.client_no_context_takeover = v),
            SERVER_MAX_WINDOW_BITS => window_bits(p).map(|v| params.server_max_window_bits = Some(v)),
            // RFC 7692 §7.1.2.2: in a response, client_max_window_bits has a value
            CLIENT_MAX_WINDOW_BITS => window_bits(p).map(|v| params.client_max_window_bits = Some(Some(v))),
            _ => {
                // RFC 7692 §7: a response with a parameter not defined for a response fails the connection
                found.push(Violation::new(ViolationKind::DeflateParameterUnknown, format!("parameter {}", p.name)));
                continue;
            }
        };
        if let Err(why) = result {
            // RFC 7692 §7: a response with an invalid parameter value fails the connection
            found.push(Violation::new(ViolationKind::DeflateParameterInvalid, why));
        }
    }
    params
}

/// The rules the response breaks against the offer it fits best (none if it fits one).
fn judge_against_offers(offers: &[Result<Params, String>], response: &Params, found: &mut Vec<Violation>) {
    let valid: Vec<&Params> = offers.iter().filter_map(|o| o.as_ref().ok()).collect();
    if valid.is_empty() {
        let why: Vec<&str> = offers.iter().filter_map(|o| o.as_ref().err()).map(String::as_str).collect();
        // RFC 7692 §7: a server MUST decline an offer with an unknown, repeated or invalid parameter
        found.push(Violation::new(
            ViolationKind::DeflateAcceptedInvalidOffer,
            format!("accepted although every permessage-deflate offer was invalid: {}", why.join("; ")),
        ));
        return;
    }
    let judged = valid.iter().map(|offer| against_offer(offer, response));
    if let Some(best) = judged.min_by_key(Vec::len) {
        found.extend(best);
    }
}

fn against_offer(offer: &Params, response: &Params) -> Vec<Violation> {
    let mut found = Vec::new();
    if offer.server_no_context_takeover && !response.server_no_context_takeover {
        // RFC 7692 §7.1.1.1: a server accepts an offer with server_no_context_takeover by including it
        found.push(Violation::new(
            ViolationKind::DeflateServerNoContextTakeoverDropped,
            "offer had server_no_context_takeover, response has not",
        ));
    }
    if let Some(offered) = offer.server_max_window_bits {
        // RFC 7692 §7.1.2.1: accepted by including server_max_window_bits with the same or a smaller value
        match response.server_max_window_bits {
            Some(bits) if bits <= offered => {}
            got => found.push(Violation::new(
                ViolationKind::DeflateServerWindowNotHonoured,
                format!("offered server_max_window_bits={offered}, response has {}", shown(got)),
            )),
        }
    }
    match (offer.client_max_window_bits, response.client_max_window_bits.flatten()) {
        // RFC 7692 §7.1.2.2: client_max_window_bits MUST NOT be in a response to an offer without it
        (None, Some(bits)) => found.push(Violation::new(
            ViolationKind::DeflateClientWindowNotOffered,
            format!("response has client_max_window_bits={bits}, the offer had no client_max_window_bits"),
        )),
        // RFC 7692 §7.1.2.2: in answer to an offer's value, the same or a smaller value
        (Some(Some(offered)), Some(bits)) if bits > offered => found.push(Violation::new(
            ViolationKind::DeflateClientWindowLargerThanOffered,
            format!("response has client_max_window_bits={bits}, offered {offered}"),
        )),
        _ => {}
    }
    found
}

fn shown(bits: Option<u8>) -> String {
    bits.map_or_else(|| "none".to_owned(), |b| b.to_string())
}
