//! One scenario connection, sans-IO: which messages to send now, which incoming message answers
//! which waiting step, when to wake up. The I/O layer ([`super::run`]) only moves bytes.
//!
//! A connection first runs its role's setup steps once, then the loop with up to `in_flight`
//! iterations at once, each a *slot* running the loop's steps in order: a send goes out when
//! reached, an expect holds its slot until its messages have come (or its timeout), a think pauses
//! it. Replies may come in any order: each incoming message goes to the oldest waiting slot it
//! matches. Closed loop, a free slot starts the next iteration at once; open loop (`rate`), at the
//! iteration's scheduled time, and the latency of a reply to the iteration's first send counts from
//! that time (coordinated omission corrected, as `wsharness load --rate` does).

use std::sync::Arc;

use std::collections::HashMap;

use super::fanout::{Completion, Track};
use super::file::{Receive, Role, Step};
use super::matcher::{as_text, text_is, Filled, Incoming};
use super::stats::Tally;
use super::template::Vars;

/// Open loop: an iteration due within this much of now starts at this wake-up (the timer ticks in
/// milliseconds), as the echo load's sessions do ([`crate::load::session::SEND_EARLY_NS`]); its
/// latency then counts from the actual send, never from a later schedule.
const LEAD_NS: u64 = crate::load::session::SEND_EARLY_NS;

/// A message to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    /// Its text.
    pub text: String,
    /// Binary rather than text.
    pub binary: bool,
}

/// Where a slot is.
#[derive(Debug, Clone, PartialEq)]
enum SlotState {
    /// No iteration.
    Idle,
    /// Running steps.
    Run,
    /// Waiting for `remaining` messages matching `filled`, until `deadline`.
    Wait { filled: Filled, remaining: u64, deadline: u64 },
    /// Paused until then.
    Think { until: u64 },
}

/// One iteration in progress.
#[derive(Debug, Clone)]
struct Slot {
    state: SlotState,
    seq: u64,
    /// The next step.
    pc: usize,
    /// When the iteration was due (open loop) or began (closed loop).
    due_ns: u64,
    /// What the latency of the current expect counts from.
    ref_ns: u64,
    /// Whether the iteration has sent anything yet.
    sent: bool,
    /// Whether it was started by the open-loop schedule (its first reply counts from `due_ns`).
    scheduled: bool,
}

impl Slot {
    fn idle() -> Slot {
        Slot { state: SlotState::Idle, seq: 0, pc: 0, due_ns: 0, ref_ns: 0, sent: false, scheduled: false }
    }
}

/// The state of one connection.
#[derive(Debug)]
pub struct Engine {
    role: Arc<Role>,
    conn: u64,
    /// The setup's single slot, until the setup is done.
    setup: Option<Slot>,
    slots: Vec<Slot>,
    next_seq: u64,
    /// Open loop: when the next iteration is due, and the time between iterations.
    schedule: Option<(u64, u64)>,
    stopped: bool,
    /// Results before this time are not recorded (warmup).
    measure_from_ns: u64,
    outgoing: Vec<Outgoing>,
    /// Fan-out: the receive's matcher, filled for this connection.
    receive: Option<Filled>,
    /// Fan-out: what this receiver got from each publisher.
    tracks: HashMap<String, Track>,
    /// Fan-out: when each message reached its last receiver (shared by the process's connections).
    completion: Option<Arc<Completion>>,
}

impl Engine {
    /// Connection `conn` of `role`, opened at `now_ns`.
    pub fn new(role: Arc<Role>, conn: u64, now_ns: u64, measure_from_ns: u64) -> Engine {
        let schedule = role.rate.map(|rate| {
            let interval = (1e9 * role.connections as f64 / rate).max(1.0) as u64;
            // connections take their turns spread over one interval (`conn` may be a shard's global number)
            let turn = conn % role.connections.max(1);
            (now_ns + interval * turn / role.connections.max(1), interval)
        });
        let setup = (!role.setup.is_empty()).then(|| Slot { state: SlotState::Run, due_ns: now_ns, ..Slot::idle() });
        let slots = vec![Slot::idle(); role.in_flight as usize];
        let vars = Vars { seq: 0, conn, role: &role.name, now_ns, due_ns: now_ns };
        let receive = role.receive.as_ref().map(|r| r.matcher.fill(vars));
        Engine {
            role,
            conn,
            setup,
            slots,
            next_seq: 0,
            schedule,
            stopped: false,
            measure_from_ns,
            outgoing: Vec::new(),
            receive,
            tracks: HashMap::new(),
            completion: None,
        }
    }

    /// Shares `completion` with the process's other receivers (fan-out).
    pub fn with_completion(mut self, completion: Arc<Completion>) -> Engine {
        self.completion = Some(completion);
        self
    }

    /// At the connection's end: what this receiver got from each publisher, for the missing count.
    pub fn finish(&mut self, tally: &mut Tally) {
        let Some(rc) = &self.role.receive else { return };
        let spans: Vec<_> = self.tracks.iter().filter_map(|(p, t)| t.span(p)).collect();
        tally.delivery(&rc.name, &self.role.name, |d| d.spans.extend(spans));
    }

    /// Starts no new iteration from now on.
    pub fn stop(&mut self) {
        self.stopped = true;
    }

    /// Whether nothing is in progress (after [`Engine::stop`]: the connection may close).
    pub fn drained(&self) -> bool {
        self.setup.is_none() && self.slots.iter().all(|s| s.state == SlotState::Idle)
    }

    /// The messages to send, in order.
    pub fn take_outgoing(&mut self) -> Vec<Outgoing> {
        std::mem::take(&mut self.outgoing)
    }

    /// Advances every slot to `now_ns`; returns when to call again at the latest.
    pub fn poll(&mut self, now_ns: u64, tally: &mut Tally) -> Option<u64> {
        if let Some(mut slot) = self.setup.take() {
            let role = Arc::clone(&self.role);
            self.advance(&mut slot, &role.setup, now_ns, tally);
            if slot.state == SlotState::Idle {
                if slot.pc < role.setup.len() {
                    // the setup failed (a timeout): the connection cannot go on
                    self.stopped = true;
                }
            } else {
                let wake = wake_of(&slot);
                self.setup = Some(slot);
                return wake;
            }
        }
        let role = Arc::clone(&self.role);
        let mut slots = std::mem::take(&mut self.slots);
        for slot in slots.iter_mut() {
            if slot.state == SlotState::Idle {
                self.start(slot, now_ns);
            }
            self.advance(slot, &role.steps, now_ns, tally);
            if slot.state == SlotState::Idle && self.start(slot, now_ns) {
                self.advance(slot, &role.steps, now_ns, tally);
            }
        }
        self.slots = slots;
        let due = self.schedule.filter(|_| !self.stopped && self.slots.iter().any(|s| s.state == SlotState::Idle));
        self.slots.iter().filter_map(wake_of).chain(due.map(|(at, _)| at.saturating_sub(LEAD_NS))).min()
    }

    /// Starts an iteration in an idle slot if one may start now.
    fn start(&mut self, slot: &mut Slot, now_ns: u64) -> bool {
        // a role that only receives (fan-out) has no loop to run
        if self.stopped || self.setup.is_some() || self.role.steps.is_empty() {
            return false;
        }
        let due = match &mut self.schedule {
            None => now_ns,
            Some((next, _)) if *next > now_ns + LEAD_NS => return false,
            Some((next, interval)) => {
                // started early (within LEAD_NS): its latency counts from now, the actual send
                let due = (*next).min(now_ns);
                *next += *interval;
                due
            }
        };
        let scheduled = self.schedule.is_some();
        *slot =
            Slot { state: SlotState::Run, seq: self.next_seq, pc: 0, due_ns: due, ref_ns: due, sent: false, scheduled };
        self.next_seq += 1;
        true
    }

    /// Runs `slot` through `steps` until it waits, thinks or ends.
    fn advance(&mut self, slot: &mut Slot, steps: &[Step], now_ns: u64, tally: &mut Tally) {
        loop {
            match &slot.state {
                SlotState::Idle => return,
                SlotState::Think { until } if *until > now_ns => return,
                SlotState::Wait { deadline, .. } if *deadline > now_ns => return,
                SlotState::Wait { .. } => {
                    // RFC-free: the scenario's own timeout; the iteration is given up
                    if let Some(Step::Expect { name, .. }) = steps.get(slot.pc) {
                        if slot.due_ns >= self.measure_from_ns {
                            tally.timeout(&self.role.name, name);
                        }
                    }
                    slot.state = SlotState::Idle;
                    return;
                }
                SlotState::Think { .. } => {
                    slot.pc += 1;
                    slot.state = SlotState::Run;
                }
                SlotState::Run => {}
            }
            let Some(step) = steps.get(slot.pc) else {
                // an iteration of the loop (not the setup) ran every step
                let is_loop = std::ptr::eq(steps, self.role.steps.as_slice());
                if is_loop && slot.due_ns >= self.measure_from_ns {
                    tally.iteration(&self.role.name);
                }
                slot.state = SlotState::Idle;
                return;
            };
            let vars = Vars { seq: slot.seq, conn: self.conn, role: &self.role.name, now_ns, due_ns: slot.due_ns };
            match step {
                Step::Send { template, binary } => {
                    self.outgoing.push(Outgoing { text: template.render(vars), binary: *binary });
                    // the first send of an open-loop iteration counts from when it was due
                    let first_scheduled = !slot.sent && slot.scheduled;
                    // corrected from when it was due; a send ahead of time counts from the send
                    slot.ref_ns = if first_scheduled { slot.due_ns.min(now_ns) } else { now_ns };
                    if first_scheduled && slot.due_ns >= self.measure_from_ns {
                        tally.send_lag(now_ns.saturating_sub(slot.due_ns));
                    }
                    slot.sent = true;
                    tally.sent();
                    slot.pc += 1;
                }
                Step::Expect { matcher, count, timeout, .. } => {
                    let deadline = now_ns + timeout.as_nanos() as u64;
                    slot.state = SlotState::Wait { filled: matcher.fill(vars), remaining: *count, deadline };
                }
                Step::Think { min, max } => {
                    let span = max.saturating_sub(*min).as_nanos() as u64;
                    let extra = if span == 0 { 0 } else { crate::wire::entropy::random_u64() % (span + 1) };
                    slot.state = SlotState::Think { until: now_ns + min.as_nanos() as u64 + extra };
                }
            }
        }
    }

    /// A message from the server at `now_ns`: it goes to the oldest waiting slot it matches, else it
    /// is unsolicited. A slot whose wait it completes runs on at once (its next expect is armed
    /// before the next frame is read). Returns whether a slot took it.
    pub fn on_message(&mut self, text: &str, now_ns: u64, tally: &mut Tally) -> bool {
        let msg = Incoming::new(text);
        let role = Arc::clone(&self.role);
        if let Some(mut slot) = self.setup.take() {
            let took = self.offer(&mut slot, &role.setup, &msg, now_ns, tally);
            if slot.state != SlotState::Idle || slot.pc < role.setup.len() {
                self.setup = Some(slot);
            }
            if took {
                return true;
            }
        }
        let mut waiting: Vec<usize> =
            (0..self.slots.len()).filter(|&i| matches!(self.slots[i].state, SlotState::Wait { .. })).collect();
        waiting.sort_by_key(|&i| self.slots[i].seq);
        for i in waiting {
            let mut slot = std::mem::replace(&mut self.slots[i], Slot::idle());
            let took = self.offer(&mut slot, &role.steps, &msg, now_ns, tally);
            self.slots[i] = slot;
            if took {
                return true;
            }
        }
        if let (Some(rc), Some(filled)) = (&role.receive, &self.receive) {
            if filled.matches(&msg) {
                self.deliver(rc, &msg, now_ns, tally);
                return true;
            }
        }
        tally.unsolicited(&role.name, role.unsolicited_is_error);
        false
    }

    /// A published message reached this receiver: timed when this process stamped it.
    fn deliver(&mut self, rc: &Receive, msg: &Incoming<'_>, now_ns: u64, tally: &mut Tally) {
        let Some(doc) = msg.json() else { return tally.unsolicited(&self.role.name, self.role.unsolicited_is_error) };
        let (Some(seq), stamp) = (rc.seq.find(doc).and_then(number), rc.sent_ns.find(doc).and_then(number)) else {
            // a message that looks published but carries no sequence number: not ours to time
            return tally.unsolicited(&self.role.name, self.role.unsolicited_is_error);
        };
        let publisher = rc.publisher.as_ref().and_then(|p| p.find(doc)).map(as_text).unwrap_or_default();
        let ours = rc.run.as_ref().is_none_or(|p| p.find(doc).is_some_and(|v| text_is(v, super::template::run_id())));
        let stamp = stamp.filter(|_| ours);
        if stamp.is_some_and(|s| s < self.measure_from_ns) {
            return; // published during the warmup
        }
        let arrive = |track: &mut Track| track.arrive(seq, stamp.is_some());
        let arrival = match self.tracks.get_mut(publisher.as_ref()) {
            Some(track) => arrive(track),
            None => {
                let mut track = Track::default();
                let arrival = arrive(&mut track);
                self.tracks.insert(publisher.clone().into_owned(), track);
                arrival
            }
        };
        if !tally.delivery(&rc.name, &self.role.name, |d| d.count(arrival, stamp, now_ns)) {
            return;
        }
        if let Some(c) = &self.completion {
            c.reached(&publisher, seq, stamp, now_ns);
        }
    }

    /// Offers `msg` to `slot` (running `steps`); when it matches, counts it and, once the wait is
    /// complete, runs the slot on.
    fn offer(&mut self, slot: &mut Slot, steps: &[Step], msg: &Incoming<'_>, now_ns: u64, tally: &mut Tally) -> bool {
        let SlotState::Wait { filled, remaining, .. } = &mut slot.state else { return false };
        if !filled.matches(msg) {
            return false;
        }
        if let (Some(Step::Expect { name, .. }), true) = (steps.get(slot.pc), slot.due_ns >= self.measure_from_ns) {
            tally.matched(&self.role.name, name, now_ns.saturating_sub(slot.ref_ns));
        }
        *remaining -= 1;
        if *remaining == 0 {
            slot.pc += 1;
            slot.state = SlotState::Run;
            self.advance(slot, steps, now_ns, tally);
        }
        true
    }
}

/// A JSON value as a sequence number or a stamp: a number, or a string of digits.
fn number(v: &serde_json::Value) -> Option<u64> {
    match v {
        serde_json::Value::Number(n) => n.as_u64(),
        serde_json::Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

/// When a slot needs the clock next.
fn wake_of(slot: &Slot) -> Option<u64> {
    match slot.state {
        SlotState::Wait { deadline, .. } => Some(deadline),
        SlotState::Think { until } => Some(until),
        SlotState::Run => Some(0),
        SlotState::Idle => None,
    }
}

#[cfg(test)]
#[path = "engine/tests.rs"]
mod tests;
