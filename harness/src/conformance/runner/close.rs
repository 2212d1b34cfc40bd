//! The close phase (RFC 6455 §7.1), judged on its own after the steps, like Autobahn's "close
//! behavior": the judge ([`CloseJudge`]) says what to send; this moves the bytes.

use tokio::time::Instant;

use super::{send_frame, CaseRun};
use crate::conformance::judge::{CaseState, CloseFacts, CloseJudge, CloseOutcome, CloseStart};
use crate::wire::{Endpoint, FrameSpec};

impl CaseRun<'_> {
    /// The close phase (RFC 6455 §7.1): judged on its own, like Autobahn's "close behavior".
    pub(super) async fn close_phase(&mut self, state: &CaseState) -> CloseOutcome {
        let now = Instant::now();
        let until = (now + self.options.close_timeout).min(self.deadline.max(now));
        let facts = CloseFacts {
            peer: self.peer,
            server_close: self.conn.facts.server_close,
            tcp_closed: self.conn.is_closed(),
            accepted_drop: state.accepted_drop,
            mid_frame: state.sent.mid_frame(),
            we_closed: state.sent.first_close.is_some(),
            close_timeout: self.options.close_timeout,
        };
        let (frame, mut judge) = match CloseJudge::start(facts) {
            CloseStart::Judged(outcome) => return outcome,
            CloseStart::Answer(frame, outcome) => {
                let frame = self.our_frame(frame);
                send_frame(&mut self.conn, &frame).await;
                return outcome;
            }
            CloseStart::Send(frame, judge) => (frame, judge),
        };
        let frame = self.our_frame(frame);
        send_frame(&mut self.conn, &frame).await;
        loop {
            let event = self.conn.next_event(until).await;
            if let Some(outcome) = judge.on_event(&event, self.conn.is_closed()) {
                return outcome;
            }
        }
    }
    /// A frame the judge asked for, as our side sends it: masked as a client, unmasked as a server
    /// (RFC 6455 §5.1).
    fn our_frame(&self, frame: FrameSpec) -> FrameSpec {
        match self.peer {
            Endpoint::Server => frame,
            Endpoint::Client => frame.unmasked(),
        }
    }
}
