//! The rules of RFC 7692 that one analyzed message breaks, given what was negotiated.

use super::analyze::{AnalyzeError, Ending, MessageReport};
use super::params::Negotiated;
use crate::wire::violation::{Violation, ViolationKind};
use crate::wire::Endpoint;

impl MessageReport {
    /// The rules of RFC 7692 this server message breaks on a connection that negotiated `negotiated`.
    ///
    /// A block with BFINAL set is allowed (RFC 7692 §7.2.3.4) and is not reported here;
    /// [`MessageReport::final_block`] says whether one was used.
    pub fn violations(&self, negotiated: &Negotiated) -> Vec<Violation> {
        self.violations_of(negotiated, Endpoint::Server)
    }

    /// The rules of RFC 7692 this message from `sender` breaks on a connection that negotiated
    /// `negotiated`: the sender's own window and context takeover are the ones judged.
    pub fn violations_of(&self, negotiated: &Negotiated, sender: Endpoint) -> Vec<Violation> {
        let mut found = Vec::new();
        let (takeover_kind, window_kind) = match sender {
            Endpoint::Server => (ViolationKind::DeflateContextTakeover, ViolationKind::DeflateWindowExceeded),
            Endpoint::Client => {
                (ViolationKind::DeflateClientContextTakeover, ViolationKind::DeflateClientWindowExceeded)
            }
        };
        let side = sender.as_str();
        if negotiated.no_context_takeover(sender) && self.reaches_before_message {
            // RFC 7692 §7.1.1.1 (server), §7.1.1.2 (client): without context takeover each message starts
            // with an empty window
            found.push(Violation::new(takeover_kind, "a back-reference reaches into an earlier message"));
        }
        let bits = negotiated.max_window_bits(sender);
        let window = 1usize << bits;
        if self.max_distance > window {
            // RFC 7692 §7.1.2.1 (server), §7.1.2.2 (client): back-references stay within 2^*_max_window_bits bytes
            found.push(Violation::new(
                window_kind,
                format!(
                    "back-reference distance {} with {side}_max_window_bits={bits} ({window} bytes)",
                    self.max_distance
                ),
            ));
        }
        if self.tail_not_removed {
            // RFC 7692 §7.2.1: the sender removes 00 00 ff ff from the tail end
            found.push(Violation::new(ViolationKind::DeflateTailNotRemoved, "payload ends with 00 00 ff ff"));
        } else if self.ending == Ending::Truncated {
            // RFC 7692 §7.2.1: the data ends with an empty stored block (or a final block), tail removed
            found.push(Violation::new(
                ViolationKind::DeflateUnterminated,
                format!("{} compressed bytes stop inside a DEFLATE block", self.compressed_len),
            ));
        }
        found
    }
}

impl AnalyzeError {
    /// The violation for data that does not decode; `None` for [`AnalyzeError::OverLimit`] (our limit, not a rule).
    pub fn violation(&self) -> Option<Violation> {
        match self {
            AnalyzeError::OverLimit { .. } => None,
            // RFC 7692 §7.2.2: the payload with 00 00 ff ff appended is DEFLATE data
            other => Some(Violation::new(ViolationKind::DeflateInvalidData, other.to_string())),
        }
    }
}
