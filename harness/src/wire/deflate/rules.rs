//! The rules of RFC 7692 that one analyzed message breaks, given what was negotiated.

use super::analyze::{AnalyzeError, Ending, MessageReport};
use super::params::Negotiated;
use crate::wire::violation::{Violation, ViolationKind};

impl MessageReport {
    /// The rules of RFC 7692 this server message breaks on a connection that negotiated `negotiated`.
    ///
    /// A block with BFINAL set is allowed (RFC 7692 §7.2.3.4) and is not reported here;
    /// [`MessageReport::final_block`] says whether one was used.
    pub fn violations(&self, negotiated: &Negotiated) -> Vec<Violation> {
        let mut found = Vec::new();
        if negotiated.server_no_context_takeover && self.reaches_before_message {
            // RFC 7692 §7.1.1.1: under server_no_context_takeover each message starts with an empty window
            found.push(Violation::new(
                ViolationKind::DeflateContextTakeover,
                "a back-reference reaches into an earlier message",
            ));
        }
        let window = 1usize << negotiated.server_max_window_bits;
        if self.max_distance > window {
            // RFC 7692 §7.1.2.1: the server's back-references stay within 2^server_max_window_bits bytes
            found.push(Violation::new(
                ViolationKind::DeflateWindowExceeded,
                format!(
                    "back-reference distance {} with server_max_window_bits={} ({window} bytes)",
                    self.max_distance, negotiated.server_max_window_bits
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
