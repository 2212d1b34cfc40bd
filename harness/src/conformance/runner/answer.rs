//! Testing a client: we play the server on a connection the client opened. Its request is judged
//! (RFC 6455 §4.1, every case), our answer is the case's ([`opening_reply`]), and the steps run as
//! they do against a server, with the sides swapped.

use tokio::time::Instant;

use super::{case_budget, CaseOutcome, CaseRun, RunOptions};
use crate::case::{Case, Delivery};
use crate::conformance::accept::Accepted;
use crate::conformance::judge::Opening;
use crate::conformance::observe::{Conn, DeliveryState};
use crate::conformance::send::{opening_reply, read_limit};
use crate::conformance::trace::{Direction, TraceKind};
use crate::conformance::unmask::ServerBytes;
use crate::wire::deflate::accept_offer;
use crate::wire::{parse_response, Endpoint, ReceivedRequest, Violation, ViolationKind};

/// Runs `case` against the client that opened `accepted`, from the moment its request head was read
/// (`start`). Never panics, and never exceeds the case's budget by more than the time to notice it.
pub async fn run_client_case(case: &Case, accepted: Accepted, start: Instant, options: &RunOptions) -> CaseOutcome {
    let deadline = start + case_budget(case, options);
    let Accepted { stream, request, rest, key_reused } = accepted;
    let mut conn = Conn::new(stream, start, deadline, read_limit(case));
    conn.set_read_pace(case.read);
    conn.facts.peer = Endpoint::Client;
    if key_reused {
        let key = request.websocket_key().unwrap_or_default();
        let seen = format!("the key {key} was sent on an earlier connection");
        conn.facts.request.push(Violation::new(ViolationKind::KeyNotFresh, seen));
    }
    let head = String::from_utf8_lossy(&request.raw_head).into_owned();
    conn.note(TraceKind::Http { dir: Direction::Received, head });
    conn.push_frames(&rest);
    let server_bytes = Some(ServerBytes::default());
    let run = CaseRun { case, peer: Endpoint::Client, target: None, options, start, deadline, conn, server_bytes };
    run.outcome(Some(&request)).await
}

impl CaseRun<'_> {
    /// The opening handshake played as the server: the client's request judged (RFC 6455 §4.1), our
    /// answer sent, and judged as the client must judge it (a crafted 101 is not an upgrade).
    pub(super) async fn answer(&mut self, request: &ReceivedRequest) -> Opening {
        self.conn.facts.request.extend(request.check());
        let reply = opening_reply(request, &self.case.reply).encode();
        self.conn.note(TraceKind::Http { dir: Direction::Sent, head: super::capped_text(&reply) });
        self.conn.send(&reply, &Delivery::default(), &mut DeliveryState::default()).await;
        let response = match parse_response(&reply) {
            Ok(Some((response, _))) => Ok(response),
            // a reply crafted past what a response parser takes: the client must refuse it
            _ => Err(crate::conformance::judge::NoResponse::Closed),
        };
        let key = request.websocket_key().unwrap_or_default().trim().to_string();
        let offered = request.offered_extensions();
        let mut opening = Opening::judge(response, &key, &request.offered_protocols(), &offered);
        if let (Some(d), Some(ours)) = (opening.deflate.as_mut(), accept_offer(&offered, &self.case.reply.deflate)) {
            if d.response == ours.response {
                // what our response binds the client to; a client_no_context_takeover hint in its offer
                // does not (RFC 7692 §7.1.1.2)
                d.negotiated = ours.negotiated;
            }
        }
        // RFC 7692 §6: once accepted, RSV1 may mark the first frame of the client's messages
        self.conn.facts.deflate = opening.deflate.is_some();
        opening
    }
}
