//! The send steps, written: a frame step a chunk at a time (testing a client, as a server sends it),
//! built messages a batch at a time with their echoes judged between batches, raw bytes in pieces.

use std::borrow::Cow;

use super::{cannot_build, cannot_encode, CaseRun, BATCH_BYTES, BATCH_MESSAGES};
use crate::case::{Delivery, Expectation, FrameStream, Messages, Step, MAX_CHUNK};
use crate::conformance::event::describe_frame_start;
use crate::conformance::judge::{CaseState, StepJudge};
use crate::conformance::messages::MessageBuilder;
use crate::conformance::observe::{BacklogCap, DeliveryState};
use crate::conformance::send::{raw_pieces, FRAMES_NOTED};
use crate::conformance::trace::{Direction, TraceKind};
use crate::verdict::Verdict;
use crate::wire::Endpoint;

impl CaseRun<'_> {
    /// A send step's frames, built and written a chunk at a time.
    pub(super) async fn send_frames(&mut self, state: &mut CaseState, step: &Step) -> bool {
        let built = FrameStream::of_step_sent_by(step, self.peer.other());
        let Some(Ok(mut stream)) = built.map(|s| s.map_err(|e| cannot_encode(state, &e))) else {
            return true;
        };
        let Step::Frame { delivery, .. } = step else { return true };
        let cost = stream.cost();
        let notes = stream.notes(FRAMES_NOTED);
        state.last_sent = match notes.first() {
            Some(one) if cost.frames == 1 => describe_frame_start(&one.header, one.payload_len as u64, &one.head),
            _ => format!("{} frames ({} bytes)", cost.frames, cost.bytes),
        };
        for note in notes {
            let summary = describe_frame_start(&note.header, note.payload_len as u64, &note.head);
            self.conn.trace.frame(Direction::Sent, summary);
        }
        if cost.frames > FRAMES_NOTED as u64 {
            let more = cost.frames - FRAMES_NOTED as u64;
            self.conn.note(TraceKind::Note(format!("... {more} more frames sent like these")));
        }
        self.conn.set_backlog_cap(BacklogCap::after_sending(state.sent.bytes().saturating_add(cost.bytes)));
        let mut delivering = DeliveryState::default();
        let mut writing = true;
        while let Some(chunk) = stream.next_chunk(MAX_CHUNK) {
            let mut chunk = match self.server_bytes.as_mut() {
                Some(walker) => Cow::Owned(walker.convert(chunk)),
                None => Cow::Borrowed(chunk),
            };
            let mut unsent = Vec::new();
            if self.peer_closed() {
                // RFC 6455 §5.5.1: the client closed: we end the frame in progress and answer, sending no more
                let end = usize::try_from(state.sent.to_frame_end()).unwrap_or(usize::MAX);
                if end < chunk.len() {
                    unsent = chunk[end..].to_vec();
                    chunk = Cow::Owned(chunk[..end].to_vec());
                }
            }
            // what was meant to be sent is what a correct peer would echo, written or not
            state.sent.track(&chunk);
            writing = writing && self.conn.send(&chunk, delivery, &mut delivering).await;
            if self.peer_closed() && state.sent.to_frame_end() == 0 {
                self.conn.note(TraceKind::Note("the client closed: the rest of this step is not sent".into()));
                // the rest stays due: an echo expected of a message the close cut short is missed at that close
                state.sent.track(&unsent);
                while let Some(rest) = stream.next_chunk(MAX_CHUNK) {
                    match self.server_bytes.as_mut() {
                        Some(walker) => state.sent.track(&walker.convert(rest)),
                        None => state.sent.track(rest),
                    }
                }
                break;
            }
        }
        false
    }

    /// Testing a client, whether it has sent its close frame: we then send no more data (as a server
    /// answering a close "as soon as practical", RFC 6455 §5.5.1). Testing a server, we go on as
    /// Autobahn does, to see what it does with frames after its close.
    fn peer_closed(&self) -> bool {
        self.peer == Endpoint::Client && self.conn.facts.server_close.is_some()
    }

    /// A step of built messages, written a batch at a time; when the step awaits echoes, each batch's
    /// echoes are judged before the next batch is built (what is held stays a batch, whatever the count).
    pub(super) async fn send_messages(&mut self, state: &mut CaseState, step: &Messages) -> bool {
        let negotiated = state.deflate.as_ref().map(|d| *d.negotiated());
        let mut builder = match MessageBuilder::sent_by(step, negotiated.as_ref(), self.peer.other()) {
            Ok(b) => b,
            Err(e) => return cannot_build(state, &e),
        };
        let (mut batch, mut plain, mut messages, mut noted) = (Vec::new(), 0u64, 0usize, 0usize);
        loop {
            let before = batch.len();
            let built = match builder.next(&mut batch) {
                Some(Ok(b)) => Some(b),
                Some(Err(e)) => return cannot_build(state, &e),
                None => None,
            };
            if let Some(b) = built {
                if noted < FRAMES_NOTED {
                    noted += 1;
                    let summary = describe_frame_start(&b.first, b.first.declared_len, &[]);
                    let summary = match b.frames {
                        1 => summary,
                        n => format!("{summary} (first of {n} frames)"),
                    };
                    self.conn.trace.frame(Direction::Sent, summary);
                }
                if let Some(d) = state.deflate.as_mut() {
                    d.sent.add(b.plain_len as u64, b.wire_len as u64, b.compressed);
                }
                state.sent.message_sent(b.echo, (batch.len() - before) as u64);
                plain += b.plain_len as u64;
                messages += 1;
            } else if batch.is_empty() {
                break;
            }
            let last = builder.is_done();
            if last || plain >= BATCH_BYTES || messages % BATCH_MESSAGES == 0 {
                if self.write_batch(state, &mut batch, plain, step).await {
                    return true;
                }
                plain = 0;
            }
            if last {
                break;
            }
        }
        let how = if step.compress { "compressed " } else { "" };
        state.last_sent = format!("{} {how}messages", step.count);
        if step.count > FRAMES_NOTED {
            let more = step.count - FRAMES_NOTED;
            self.conn.note(TraceKind::Note(format!("... {more} more messages sent like these")));
        }
        false
    }

    /// Writes a batch of built messages and, when the step awaits echoes, judges them; `true` when the
    /// case stops here.
    pub(super) async fn write_batch(
        &mut self,
        state: &mut CaseState,
        batch: &mut Vec<u8>,
        plain: u64,
        step: &Messages,
    ) -> bool {
        // a correct server's echo of the batch fits, compressed or not
        self.conn.set_backlog_cap(BacklogCap::after_sending(state.sent.bytes().saturating_add(plain)));
        self.conn.send(batch, &Delivery::default(), &mut DeliveryState::default()).await;
        batch.clear();
        if !step.echo {
            return false;
        }
        // each batch has the run's case timeout: a server that stalls costs that, not the case's whole budget
        let wait = Some(self.options.case_timeout);
        self.run_expect(state, StepJudge::new(&Expectation::Echo, Verdict::Failed, 1), wait, step.line).await
    }

    /// A `send_raw` step, in pieces of whole repetitions.
    pub(super) async fn send_raw(&mut self, state: &mut CaseState, bytes: &[u8], repeat: usize, delivery: &Delivery) {
        let total = bytes.len().saturating_mul(repeat);
        self.conn.set_backlog_cap(BacklogCap::after_sending(state.sent.bytes().saturating_add(total as u64)));
        let mut delivering = DeliveryState::default();
        let mut writing = true;
        for piece in raw_pieces(bytes, repeat) {
            let piece = match self.server_bytes.as_mut() {
                Some(walker) => walker.convert(&piece),
                None => piece,
            };
            state.sent.track(&piece);
            writing = writing && self.conn.send(&piece, delivery, &mut delivering).await;
        }
        state.last_sent = format!("{total} raw bytes");
    }
}
