//! One load connection after its handshake, sans-IO: bytes in, bytes out, samples recorded.
//!
//! [`Session::fill`] appends what is due to the write buffer (messages as the
//! loop mode allows, pings, pongs owed to the server, the close) and says when
//! to call again; [`Session::on_bytes`] takes whatever the socket read, in any
//! segmentation, checks each server frame against RFC 6455 and each echo
//! against the message it answers (FIFO: an echo server answers in order),
//! and records latencies into the thread's [`Tally`]. The tokio driver and the
//! io_uring driver both move bytes for it; neither knows the protocol.
//!
//! What a session holds for its peer is capped, so that a hostile server costs its connection
//! one error with a reason, never memory: one pong owed at most (RFC 6455 §5.5.3); what it wrote
//! and the socket has not taken, [`Plan::write_cap`] ([`LoadError::PeerNotReading`] past it);
//! echoes are checked as they come, never reassembled, and may not grow past the message they
//! answer ([`LoadError::EchoTooLong`]) nor come when none is awaited
//! ([`LoadError::UnsolicitedMessage`]); a frame over [`MAX_READ`] is refused at its header; at
//! most [`CARRY_MAX`] bytes are carried from one read to the next.
//!
//! With permessage-deflate ([`Session::set_deflate`], RFC 7692) messages go out compressed, and a
//! compressed echo is inflated as its bytes arrive and checked piece by piece
//! ([`super::deflate`]): still never reassembled, its wire bytes capped
//! ([`super::deflate::echo_wire_cap`]) and its inflated bytes bounded by the message it echoes.

use std::sync::atomic::{AtomicI64, Ordering};

use super::deflate::{echo_wire_cap, send_bound, Deflate, DeflatePlan, EchoError};
use super::errors::{LoadError, Waiting};
use super::payload::{op, Outbox, PayloadBook, BORROW_MIN, MAX_HEADER};
use super::size::{Rng, SizeDist};
use super::stats::{ns_to_us_ceil, Tally, Window};
use crate::wire::deflate::Negotiated;
use crate::wire::FrameHeader;
use sent::{Outstanding, Sent};

/// Open loop: messages due within this much of now are sent at this wake-up (the timer ticks in
/// milliseconds); their latency then counts from the actual send, never from a later schedule.
pub const SEND_EARLY_NS: u64 = 1_000_000;
/// Tickets (`--messages`) a connection claims at a time.
const TICKET_CHUNK: i64 = 16;
/// Bytes a connection may owe its peer beyond its messages in flight (pongs, our ping, our close)
/// before the peer counts as not reading: about 125 pongs of the largest size, each owed for a
/// whole read of pings (RFC 6455 §5.5.3 lets the most recent ping alone be answered). Small,
/// because it is per connection: 16 KiB for each of 50,000 connections is 800 MB.
pub const WRITE_SLACK: usize = 16 * 1024;
/// Largest control frame payload (RFC 6455 §5.5).
const MAX_CONTROL: usize = 125;
/// Most bytes a session carries from one read to the next: a frame header (at most 14 bytes) or a
/// whole control frame (its header and at most 125 bytes). A data frame's payload is never carried.
pub const CARRY_MAX: usize = MAX_HEADER + MAX_CONTROL;

/// How messages are paced.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Pace {
    /// Each connection keeps `in_flight` messages outstanding.
    Closed,
    /// Each connection sends one message every `period_ns` (its share of the total rate), at most
    /// `in_flight` outstanding; a message that waits for that cap is late, and its latency counts
    /// from its scheduled time (coordinated omission correction).
    Open {
        /// Nanoseconds between two messages of one connection.
        period_ns: f64,
    },
}

/// What every connection of a run shares.
#[derive(Debug)]
pub struct Plan {
    /// Payloads and their pre-masked frames.
    pub book: PayloadBook,
    /// Payload sizes.
    pub sizes: SizeDist,
    /// Most messages outstanding per connection.
    pub in_flight: usize,
    /// Pacing.
    pub pace: Pace,
    /// Ping interval per connection.
    pub ping_interval_ns: Option<u64>,
    /// Longest wait for an echo, a pong or a close reply.
    pub timeout_ns: u64,
    /// The measured phase.
    pub window: Window,
    /// `--messages`: measured messages not yet claimed by a connection.
    pub tickets: Option<AtomicI64>,
    /// `--deflate`: the offer and what connections share to compress (`None`: no compression).
    pub deflate: Option<DeflatePlan>,
}

impl Plan {
    /// A closed-loop plan of `size`-byte text messages with `in_flight` outstanding, no pings, no
    /// deadline and no compression: the per-message path without a run around it (the criterion
    /// benchmarks and the instruction counts measure it).
    pub fn closed_loop(size: usize, in_flight: usize) -> Plan {
        Plan {
            book: PayloadBook::new(size, false),
            sizes: SizeDist::Fixed(size as u32),
            in_flight,
            pace: Pace::Closed,
            ping_interval_ns: None,
            timeout_ns: u64::MAX / 4,
            window: Window { start_ns: 0, end_ns: u64::MAX },
            tickets: None,
            deflate: None,
        }
    }

    /// Whether pacing is open loop.
    pub fn open_loop(&self) -> bool {
        matches!(self.pace, Pace::Open { .. })
    }

    /// Most bytes a connection may have written and not yet handed to its socket (the write cap):
    /// its messages in flight (a large message's body is not copied, only its header and sequence
    /// number) and [`WRITE_SLACK`]. Past it the peer is not reading, and the connection ends with
    /// [`LoadError::PeerNotReading`] rather than hold more.
    /// With permessage-deflate a message is all the connection's own bytes (compressed), at most
    /// [`send_bound`] of its size.
    pub fn write_cap(&self) -> usize {
        let max = self.sizes.max() as usize;
        let body = if self.deflate.is_some() { send_bound(max) } else { max.min(BORROW_MIN) };
        let per_message = body + MAX_HEADER;
        self.in_flight.saturating_mul(per_message).saturating_add(WRITE_SLACK)
    }
}

/// Where the closing handshake is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Open,
    /// Our close frame is written; the server's reply is due by then.
    CloseSent {
        deadline_ns: u64,
    },
    Done,
}

/// What the driver does next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// Call `fill` again at this time (clock ns), or when bytes arrive.
    WakeAt(u64),
    /// Wait for bytes only.
    Idle,
    /// The connection is over: close the socket.
    End,
}

/// The receiving side of a message that may come in fragments, whose data frames' payloads may
/// come over several reads (verified as they come: a large echo is never copied).
#[derive(Debug, Clone, Copy, Default)]
struct Rx {
    /// Inside a message (its first frame has come, not its last).
    in_message: bool,
    /// Payload bytes of the message so far.
    offset: usize,
    /// Whether they match the message they answer.
    ok: bool,
    /// Payload bytes of the current data frame still to come.
    left: usize,
    /// Whether the current data frame ends its message.
    fin: bool,
    /// The message is compressed (RSV1 on its first frame, RFC 7692 §6): its payload is inflated.
    compressed: bool,
    /// A compressed message: its payload bytes on the wire so far (a plain one's are `offset`).
    wire: usize,
}

/// Echoes verified in one read that answer messages of one batch (same schedule, same send
/// time): recorded together once the read is handled.
#[derive(Debug, Clone, Copy, Default)]
struct EchoRun {
    sched_ns: u64,
    sent_ns: u64,
    n: u64,
}

impl EchoRun {
    /// Records the run's echoes, received at `now_ns`, if any.
    #[inline]
    fn record(self, plan: &Plan, now_ns: u64, tally: &mut Tally) {
        if self.n > 0 {
            tally.echoes(&plan.window, plan.open_loop(), now_ns, self.sched_ns, self.sent_ns, self.n);
        }
    }
}

/// One connection's protocol state.
#[derive(Debug)]
pub struct Session {
    sent: Outstanding,
    run: EchoRun,
    next_seq: u64,
    open_origin_ns: u64,
    scheduled: u64,
    rx: Rx,
    carry: Vec<u8>,
    ping_sent_ns: Option<u64>,
    next_ping_ns: u64,
    /// Whether a pong is owed: one at most, whatever the peer sends (RFC 6455 §5.5.3 lets an
    /// endpoint answer only the most recent ping).
    pong_owed: bool,
    /// The payload of the most recent ping (at most 125 bytes).
    pong: Vec<u8>,
    /// Our reply to the server's close frame, once it came.
    owed: Vec<u8>,
    rng: Rng,
    sending: bool,
    tickets: i64,
    state: State,
    key_index: usize,
    /// permessage-deflate, when negotiated.
    deflate: Option<Box<Deflate>>,
    /// Payload bytes on the wire of the compressed messages written and not yet counted.
    wire_written: u64,
}

impl Session {
    /// A session opened at `now_ns`. Open loop: connection `index` of `connections` sends on a grid
    /// shared by the whole run (offset `index / connections` of a period from the clock's start), so
    /// that the connections together send at exactly the total rate once open; a connection that
    /// opens late starts at the next point of its grid.
    pub fn new(plan: &Plan, index: u64, connections: u64, now_ns: u64) -> Session {
        let (origin, scheduled) = match plan.pace {
            Pace::Open { period_ns } => {
                let origin = (period_ns * (index % connections.max(1)) as f64 / connections.max(1) as f64) as u64;
                (origin, (now_ns.saturating_sub(origin) as f64 / period_ns).ceil() as u64)
            }
            Pace::Closed => (now_ns, 0),
        };
        Session {
            sent: Outstanding::with_capacity(plan.in_flight.min(4096)),
            run: EchoRun::default(),
            next_seq: 0,
            open_origin_ns: origin,
            scheduled,
            rx: Rx::default(),
            carry: Vec::new(),
            ping_sent_ns: None,
            next_ping_ns: now_ns + plan.ping_interval_ns.unwrap_or(0),
            pong_owed: false,
            pong: Vec::new(),
            owed: Vec::new(),
            rng: Rng::new(index.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ now_ns),
            sending: true,
            tickets: 0,
            state: State::Open,
            key_index: index as usize,
            deflate: None,
            wire_written: 0,
        }
    }

    /// The connection negotiated permessage-deflate with `n` (RFC 7692): messages go out
    /// compressed, compressed echoes are inflated. Needs `plan.deflate`.
    pub fn set_deflate(&mut self, plan: &Plan, n: Negotiated) {
        self.deflate = Some(Box::new(Deflate::new(plan, n)));
    }

    /// The connection's permessage-deflate state, if it negotiated it.
    pub fn deflate(&self) -> Option<&Deflate> {
        self.deflate.as_deref()
    }

    /// Messages sent and not yet echoed.
    pub fn outstanding(&self) -> usize {
        self.sent.len()
    }

    /// Stops sending messages (end of the measured phase); outstanding echoes are still awaited.
    pub fn stop_sending(&mut self) {
        self.sending = false;
    }

    /// Whether nothing is awaited any more (drained).
    pub fn drained(&self) -> bool {
        self.sent.is_empty()
    }

    /// Whether our close frame has been written.
    pub fn closing(&self) -> bool {
        !matches!(self.state, State::Open)
    }

    /// Whether the connection is over.
    pub fn done(&self) -> bool {
        self.state == State::Done
    }

    /// Writes our close frame (1000, RFC 6455 §7.1.2); the server's reply is awaited up to the timeout.
    pub fn begin_close(&mut self, plan: &Plan, now_ns: u64, out: &mut Outbox) {
        if self.state == State::Open {
            plan.book.write_control(out.own(), op::CLOSE, &1000u16.to_be_bytes(), self.key_index);
            self.state = State::CloseSent { deadline_ns: now_ns + plan.timeout_ns };
        }
    }

    /// The messages outstanding when the connection is abandoned at the end of the drain, each an
    /// echo timeout (each was sent before the drain began, so it has waited at least the timeout).
    /// A connection already over has nothing outstanding: nothing is counted twice.
    pub fn abandon(&mut self, tally: &mut Tally) -> usize {
        if self.state == State::Done {
            return 0;
        }
        let n = self.sent.len();
        if n > 0 {
            tally.error_n(LoadError::Timeout(Waiting::Echo), n as u64);
        }
        self.sent.clear();
        self.state = State::Done;
        n
    }

    /// Ends the connection with error `e`; what is outstanding is given up with it (not counted).
    fn fail(&mut self, e: LoadError, tally: &mut Tally) -> bool {
        tally.error(e);
        self.sent.clear();
        self.state = State::Done;
        false
    }

    /// The front echo's wait ran out at `now_ns`: one echo timeout for each message whose wait has
    /// run out (those sent with it, a closed loop's batch), and the connection ends.
    fn echo_timeout(&mut self, plan: &Plan, now_ns: u64, tally: &mut Tally) {
        let n = now_ns.checked_sub(plan.timeout_ns).map_or(0, |t| self.sent.sent_by(t));
        tally.error_n(LoadError::Timeout(Waiting::Echo), n);
        self.sent.clear();
        self.state = State::Done;
    }

    /// Up to `want` messages scheduled at `sched_ns` that `--messages` still allows (all of them
    /// without it).
    #[inline]
    fn take_tickets(&mut self, plan: &Plan, sched_ns: u64, want: usize) -> u64 {
        if plan.tickets.is_none() {
            return want as u64;
        }
        (0..want).take_while(|_| self.take_ticket(plan, sched_ns)).count() as u64
    }

    fn take_ticket(&mut self, plan: &Plan, sched_ns: u64) -> bool {
        let Some(pool) = &plan.tickets else { return true };
        if sched_ns < plan.window.start_ns {
            return true;
        }
        if self.tickets == 0 {
            let before = pool.fetch_sub(TICKET_CHUNK, Ordering::Relaxed);
            if before <= 0 {
                self.sending = false;
                return false;
            }
            self.tickets = before.min(TICKET_CHUNK);
        }
        self.tickets -= 1;
        true
    }

    #[inline]
    fn send_message(&mut self, plan: &Plan, out: &mut Outbox, sched_ns: u64, now_ns: u64, tally: &mut Tally) {
        let size = self.write_one(plan, out, sched_ns, now_ns);
        tally.sent(&plan.window, sched_ns, size);
        if self.deflate.is_some() {
            tally.wire_sent(&plan.window, sched_ns, std::mem::take(&mut self.wire_written));
        }
    }

    /// Writes one message and remembers it; returns its payload size (with permessage-deflate, its
    /// payload bytes on the wire are added to `wire_written`).
    #[inline]
    fn write_one(&mut self, plan: &Plan, out: &mut Outbox, sched_ns: u64, now_ns: u64) -> usize {
        let size = match plan.sizes {
            SizeDist::Fixed(n) => n,
            ref d => d.sample(self.rng.next_u64()),
        };
        let seq = self.next_seq;
        self.next_seq += 1;
        if self.deflate.is_some() {
            self.write_compressed(plan, out, seq, size as usize);
        } else {
            plan.book.write_message(out, seq, size as usize);
        }
        self.sent.push(Sent { seq, size, sched_ns, sent_ns: now_ns }, 1);
        size as usize
    }

    /// A closed loop's batch: `n` messages sent at `now_ns`, remembered as one run when they are
    /// all one size ([`PayloadBook::write_messages`]: copied a run of frames at a time); returns
    /// their payload bytes.
    #[inline]
    fn write_batch(&mut self, plan: &Plan, out: &mut Outbox, n: u64, now_ns: u64) -> u64 {
        match plan.sizes {
            SizeDist::Fixed(size) if self.deflate.is_none() => {
                let seq = self.next_seq;
                self.next_seq += n;
                plan.book.write_messages(out, seq, n, size as usize);
                self.sent.push(Sent { seq, size, sched_ns: now_ns, sent_ns: now_ns }, n);
                n * u64::from(size)
            }
            _ => (0..n).map(|_| self.write_one(plan, out, now_ns, now_ns) as u64).sum(),
        }
    }

    /// [`Session::write_one`]'s message, compressed (RFC 7692 §7.2.1).
    #[inline(never)]
    fn write_compressed(&mut self, plan: &Plan, out: &mut Outbox, seq: u64, size: usize) {
        let Some(d) = self.deflate.as_deref_mut() else {
            plan.book.write_message(out, seq, size);
            return;
        };
        // its echo is checked against the sequence number's tag, as a plain message's ([`PayloadBook::tag`])
        let wire = d.write_message(plan, out, seq, size);
        self.wire_written += wire as u64;
    }

    /// Appends everything due at `now_ns` to `out` and says when to call again.
    ///
    /// `out` holds what the connection wrote and has not yet handed to its socket; when it is over
    /// the write cap ([`Plan::write_cap`]) the peer has stopped reading, and the connection ends
    /// with [`LoadError::PeerNotReading`] (checked once per call, not per message).
    pub fn fill(&mut self, plan: &Plan, now_ns: u64, out: &mut Outbox, tally: &mut Tally) -> Next {
        let held = out.own_bytes().len();
        // the first comparison spares the common case computing the cap
        if held > WRITE_SLACK && held > plan.write_cap() && self.state != State::Done {
            self.fail(LoadError::PeerNotReading, tally);
            return Next::End;
        }
        if std::mem::take(&mut self.pong_owed) {
            plan.book.write_control(out.own(), op::PONG, &self.pong, self.key_index);
        }
        if !self.owed.is_empty() {
            out.own().extend_from_slice(&self.owed);
            self.owed.clear();
        }
        if self.state == State::Done {
            return Next::End;
        }
        let mut wake = u64::MAX;
        if let State::CloseSent { deadline_ns } = self.state {
            if now_ns >= deadline_ns {
                tally.error(LoadError::Timeout(Waiting::Close));
                self.state = State::Done;
                return Next::End;
            }
            wake = deadline_ns;
        }
        if let Some(front) = self.sent.front() {
            if now_ns >= front.sent_ns + plan.timeout_ns {
                self.echo_timeout(plan, now_ns, tally);
                return Next::End;
            }
        }
        if let Some(sent) = self.ping_sent_ns {
            let due = sent + plan.timeout_ns;
            if now_ns >= due {
                tally.error(LoadError::Timeout(Waiting::Pong));
                self.state = State::Done;
                return Next::End;
            }
            wake = wake.min(due);
        }
        if self.state != State::Open {
            if let Some(front) = self.sent.front() {
                wake = wake.min(front.sent_ns + plan.timeout_ns);
            }
            return Next::WakeAt(wake);
        }
        if let Some(interval) = plan.ping_interval_ns {
            if self.ping_sent_ns.is_none() {
                if now_ns >= self.next_ping_ns {
                    plan.book.write_control(out.own(), op::PING, &now_ns.to_be_bytes(), self.key_index);
                    self.ping_sent_ns = Some(now_ns);
                    self.next_ping_ns = now_ns + interval;
                } else {
                    wake = wake.min(self.next_ping_ns);
                }
            }
        }
        if self.sending {
            match plan.pace {
                Pace::Closed if now_ns >= plan.window.end_ns => self.sending = false,
                Pace::Closed => {
                    // one batch: every message shares the send time, so they are counted at once
                    let room = plan.in_flight.saturating_sub(self.sent.len());
                    if room > 0 {
                        let body = (plan.sizes.max() as usize).min(BORROW_MIN);
                        out.own().reserve(room * (body + MAX_HEADER));
                    }
                    let n = self.take_tickets(plan, now_ns, room);
                    let bytes = self.write_batch(plan, out, n, now_ns);
                    tally.sent_batch(&plan.window, now_ns, n, bytes);
                    if self.deflate.is_some() {
                        tally.wire_sent(&plan.window, now_ns, std::mem::take(&mut self.wire_written));
                    }
                }
                Pace::Open { period_ns } => loop {
                    let sched = self.open_origin_ns + (self.scheduled as f64 * period_ns) as u64;
                    if sched >= plan.window.end_ns {
                        self.sending = false;
                        break;
                    }
                    if sched > now_ns + SEND_EARLY_NS {
                        wake = wake.min(sched - SEND_EARLY_NS);
                        break;
                    }
                    if self.sent.len() >= plan.in_flight {
                        // late: the echo we wait for decides; the schedule keeps counting
                        break;
                    }
                    if !self.take_ticket(plan, sched) {
                        break;
                    }
                    self.send_message(plan, out, sched, now_ns, tally);
                    self.scheduled += 1;
                },
            }
        }
        if let Some(front) = self.sent.front() {
            wake = wake.min(front.sent_ns + plan.timeout_ns);
        }
        if wake == u64::MAX {
            Next::Idle
        } else {
            Next::WakeAt(wake)
        }
    }

    /// Takes bytes read from the socket at `now_ns`. Returns `false` when the connection is over.
    pub fn on_bytes(&mut self, plan: &Plan, data: &[u8], now_ns: u64, tally: &mut Tally) -> bool {
        let alive = if self.deflate.is_some() {
            self.take::<true>(plan, data, now_ns, tally)
        } else {
            self.take::<false>(plan, data, now_ns, tally)
        };
        std::mem::take(&mut self.run).record(plan, now_ns, tally);
        alive
    }

    /// The receive path, compiled twice: `D` says the connection negotiated permessage-deflate, so
    /// that a plain connection's per-frame path carries no compressed-message test (it cost 11% of
    /// the plain per-message path, `cargo bench -p wsharness --bench load_path`).
    fn take<const D: bool>(&mut self, plan: &Plan, mut data: &[u8], now_ns: u64, tally: &mut Tally) -> bool {
        loop {
            if self.rx.left > 0 {
                // the rest of a data frame cut by an earlier read
                let n = self.rx.left.min(data.len());
                if !self.data_payload::<D>(plan, &data[..n], tally) {
                    return false;
                }
                self.rx.left -= n;
                data = &data[n..];
                if self.rx.left > 0 {
                    return true;
                }
                if !self.data_end::<D>(plan, now_ns, tally) {
                    return false;
                }
            }
            if data.is_empty() {
                return true;
            }
            if !self.carry.is_empty() {
                // a header, or a control frame, cut by an earlier read
                match self.take_carried::<D>(plan, &mut data, now_ns, tally) {
                    Carried::Wanting => return true,
                    Carried::Over => return false,
                    Carried::Done => continue,
                }
            }
            let (used, alive) = self.frames::<D>(plan, data, now_ns, tally);
            if !alive {
                return false;
            }
            data = &data[used..];
            if data.is_empty() {
                return true;
            }
            // a frame this read cut: a data frame's payload is taken as it comes, the rest is kept
            match frame_start(data) {
                Some(Err(e)) => return self.fail(e, tally),
                Some(Ok((h, hl, len))) if is_data(h.opcode) => {
                    if !self.data_begin::<D>(plan, h, len, tally) {
                        return false;
                    }
                    self.rx.left = len;
                    data = &data[hl..];
                }
                Some(Ok((h, _, len))) => {
                    if let Err(rule) = self.judge::<D>(h, len) {
                        return self.fail(LoadError::Protocol(rule), tally);
                    }
                    self.carry.extend_from_slice(data);
                    return true;
                }
                None => {
                    self.carry.extend_from_slice(data);
                    return true;
                }
            }
        }
    }

    /// Completes the header (or control frame) in `carry` from `data`.
    fn take_carried<const D: bool>(
        &mut self,
        plan: &Plan,
        data: &mut &[u8],
        now_ns: u64,
        tally: &mut Tally,
    ) -> Carried {
        let (h, hl, len) = loop {
            match frame_start(&self.carry) {
                Some(Err(e)) => {
                    self.fail(e, tally);
                    return Carried::Over;
                }
                Some(Ok(header)) => break header,
                None => {
                    // one byte at a time: never past the end of the header
                    let Some((b, rest)) = data.split_first() else { return Carried::Wanting };
                    self.carry.push(*b);
                    *data = rest;
                }
            }
        };
        if is_data(h.opcode) {
            self.carry.clear();
            if !self.data_begin::<D>(plan, h, len, tally) {
                return Carried::Over;
            }
            self.rx.left = len;
            if len == 0 && !self.data_end::<D>(plan, now_ns, tally) {
                return Carried::Over;
            }
            return Carried::Done;
        }
        if let Err(rule) = self.judge::<D>(h, len) {
            // before gathering its payload: a control frame is at most 125 bytes
            self.fail(LoadError::Protocol(rule), tally);
            return Carried::Over;
        }
        let total = hl + len;
        let take = total.saturating_sub(self.carry.len()).min(data.len());
        self.carry.extend_from_slice(&data[..take]);
        *data = &data[take..];
        if self.carry.len() < total {
            return Carried::Wanting;
        }
        let carry = std::mem::take(&mut self.carry);
        let alive = self.frame::<D>(plan, h, &carry[hl..total], now_ns, tally);
        self.carry = carry;
        self.carry.clear();
        if alive {
            Carried::Done
        } else {
            Carried::Over
        }
    }

    /// Handles the whole frames at the start of `buf`: (bytes used, still alive).
    fn frames<const D: bool>(&mut self, plan: &Plan, buf: &[u8], now_ns: u64, tally: &mut Tally) -> (usize, bool) {
        let mut pos = 0;
        loop {
            if !D {
                pos += self.whole_echoes(plan, &buf[pos..], now_ns, tally);
            }
            let rest = &buf[pos..];
            let (hdr, hl, len) = match rest {
                // the common case: an unmasked frame with a 7-bit length
                [b0, b1, ..] if *b1 < 126 => (Hdr::new(*b0, false), 2, usize::from(*b1)),
                _ => match frame_start(rest) {
                    None => break,
                    Some(Err(e)) => return (pos, self.fail(e, tally)),
                    Some(Ok(header)) => header,
                },
            };
            if rest.len() < hl + len {
                break;
            }
            pos += hl + len;
            if !self.frame::<D>(plan, hdr, &rest[hl..hl + len], now_ns, tally) {
                return (pos, false);
            }
        }
        (pos, true)
    }

    /// The common case, in a tight loop: whole echoes, each an unfragmented frame with a 7-bit
    /// length that is exactly the next message awaited and equal to it byte for byte. Returns the
    /// bytes taken. It stops at the first frame that is anything else (a control frame, a cut or
    /// fragmented echo, a broken rule, a mismatch), which the general path then judges and counts.
    #[inline(never)]
    fn whole_echoes(&mut self, plan: &Plan, buf: &[u8], now_ns: u64, tally: &mut Tally) -> usize {
        if self.rx.in_message {
            return 0;
        }
        // RFC 6455 §5.2: FIN set, RSV1-3 clear (no extension), the opcode of our messages
        let b0 = 0x80 | if plan.book.binary() { op::BINARY } else { op::TEXT };
        let mut pos = 0;
        while let Some((front, n)) = self.sent.front_run() {
            // RFC 6455 §5.1: the mask bit clear (a server MUST NOT mask); §5.2: a 7-bit length
            let Some(b1) = u8::try_from(front.size).ok().filter(|&l| l < 126) else { break };
            let len = 2 + usize::from(b1);
            let mut k = 0;
            while let Some(f) = buf.get(pos..pos + len).filter(|_| k < n) {
                if f[0] != b0 || f[1] != b1 || !plan.book.verify(plan.book.tag(front.seq + k), 0, &f[2..]) {
                    break;
                }
                pos += len;
                k += 1;
            }
            if k == 0 {
                break;
            }
            self.sent.pop_front_run(k);
            self.echoed(plan, front, k, now_ns, tally);
            if k < n {
                break;
            }
        }
        pos
    }

    /// One whole server frame. Returns `false` when the connection is over.
    #[inline(always)]
    fn frame<const D: bool>(&mut self, plan: &Plan, h: Hdr, payload: &[u8], now_ns: u64, tally: &mut Tally) -> bool {
        if is_data(h.opcode) {
            return self.data_begin::<D>(plan, h, payload.len(), tally)
                && self.data_payload::<D>(plan, payload, tally)
                && self.data_end::<D>(plan, now_ns, tally);
        }
        if let Err(rule) = self.judge::<D>(h, payload.len()) {
            return self.fail(LoadError::Protocol(rule), tally);
        }
        self.control_frame(plan, h.opcode, payload, now_ns, tally)
    }

    /// The header of a data frame of `len` payload bytes (its payload follows, whole or in pieces).
    /// Returns `false` when the connection is over.
    #[inline(always)]
    fn data_begin<const D: bool>(&mut self, plan: &Plan, h: Hdr, len: usize, tally: &mut Tally) -> bool {
        if let Err(rule) = self.judge::<D>(h, 0) {
            return self.fail(LoadError::Protocol(rule), tally);
        }
        let first = h.opcode != op::CONTINUATION;
        if !first {
            if !self.rx.in_message {
                // RFC 6455 §5.4: a continuation frame continues a started message
                return self.fail(LoadError::Protocol("continuation frame without a message"), tally);
            }
        } else {
            if self.rx.in_message {
                // RFC 6455 §5.4: fragments of one message are not interleaved with another message
                return self.fail(LoadError::Protocol("new message inside a fragmented message"), tally);
            }
            let expected = if plan.book.binary() { op::BINARY } else { op::TEXT };
            // RFC 7692 §6: RSV1 on a message's first frame says it is compressed (judge allowed it only
            // with permessage-deflate)
            let compressed = D && h.rsv == RSV1;
            self.rx = Rx { in_message: true, ok: h.opcode == expected, compressed, ..Rx::default() };
        }
        self.rx.fin = h.fin;
        let Some(front) = self.sent.front() else {
            // an echo of nothing we sent: a flood of messages ends here
            return self.fail(LoadError::UnsolicitedMessage, tally);
        };
        let size = front.size as usize;
        if !(D && self.rx.compressed) {
            if self.rx.offset + len > size {
                // past the end of the message it echoes: a message without end ends here
                return self.fail(LoadError::EchoTooLong, tally);
            }
            return true;
        }
        if self.rx.wire + len > echo_wire_cap(size) {
            // past any encoding of the message it echoes: a compressed stream without end ends here
            return self.fail(LoadError::EchoTooLong, tally);
        }
        self.rx.wire += len;
        if first {
            self.inflate_begin(size);
        }
        true
    }

    /// Payload bytes of the current data frame, checked against the message they echo (inflated
    /// first if the message is compressed). Returns `false` when the connection is over.
    #[inline(always)]
    fn data_payload<const D: bool>(&mut self, plan: &Plan, payload: &[u8], tally: &mut Tally) -> bool {
        // the frame's header was checked against the message's length (data_begin)
        if D && self.rx.compressed {
            return self.inflate_payload(plan, payload, tally);
        }
        let Some(front) = self.sent.front() else { return true };
        self.rx.ok = self.rx.ok && plan.book.verify(plan.book.tag(front.seq), self.rx.offset, payload);
        self.rx.offset += payload.len();
        true
    }

    /// A compressed echo begins: inflating it may not go past the `size` bytes of the message it echoes.
    #[inline(never)]
    fn inflate_begin(&mut self, size: usize) {
        if let Some(d) = self.deflate.as_deref_mut() {
            d.begin_echo(size);
        }
    }

    /// Payload bytes of a compressed echo: inflated, and what they inflate to checked against the
    /// message. Returns `false` when the connection is over.
    #[inline(never)]
    fn inflate_payload(&mut self, plan: &Plan, payload: &[u8], tally: &mut Tally) -> bool {
        self.inflating(plan, tally, |d, check| d.echo_bytes(payload, check))
    }

    /// Runs `step` on the connection's inflater with a check of the inflated bytes against the
    /// message the echo answers. Returns `false` when the connection is over.
    fn inflating(
        &mut self,
        plan: &Plan,
        tally: &mut Tally,
        step: impl FnOnce(&mut Deflate, &mut dyn FnMut(&[u8])) -> Result<(), EchoError>,
    ) -> bool {
        let (Some(front), Some(d)) = (self.sent.front(), self.deflate.as_deref_mut()) else { return true };
        let tag = plan.book.tag(front.seq);
        let rx = &mut self.rx;
        let mut check = |piece: &[u8]| {
            rx.ok = rx.ok && plan.book.verify(tag, rx.offset, piece);
            rx.offset += piece.len();
        };
        match step(d, &mut check) {
            Ok(()) => true,
            Err(e) => self.fail(e.load_error(), tally),
        }
    }

    /// The current data frame is complete; so is its message if it is final. Returns `false` when
    /// the connection is over.
    #[inline(always)]
    fn data_end<const D: bool>(&mut self, plan: &Plan, now_ns: u64, tally: &mut Tally) -> bool {
        if !self.rx.fin {
            return true;
        }
        if D && self.rx.compressed && !self.inflate_end(plan, tally) {
            return false;
        }
        let Some(front) = self.sent.pop_front() else { return true };
        if self.rx.ok && self.rx.offset == front.size as usize {
            if D {
                let wire = if self.rx.compressed { self.rx.wire } else { self.rx.offset };
                tally.echo_bytes(&plan.window, front.sched_ns, self.rx.offset, wire, self.rx.compressed);
            }
            self.echoed(plan, front, 1, now_ns, tally);
        } else {
            tally.error(LoadError::PayloadMismatch);
        }
        self.rx = Rx::default();
        true
    }

    /// `n` verified echoes of messages sent with `m` (same schedule and send time), read at `now_ns`:
    /// counted with the read's other echoes of the same batch, recorded once the batch changes or
    /// the read is handled.
    #[inline(always)]
    fn echoed(&mut self, plan: &Plan, m: Sent, n: u64, now_ns: u64, tally: &mut Tally) {
        let run = &mut self.run;
        if run.n > 0 && run.sched_ns == m.sched_ns && run.sent_ns == m.sent_ns {
            run.n += n;
        } else {
            std::mem::replace(run, EchoRun { sched_ns: m.sched_ns, sent_ns: m.sent_ns, n }).record(plan, now_ns, tally);
        }
    }

    /// The last bytes of a compressed echo (RFC 7692 §7.2.2: its tail appended). Returns `false`
    /// when the connection is over.
    #[inline(never)]
    fn inflate_end(&mut self, plan: &Plan, tally: &mut Tally) -> bool {
        self.inflating(plan, tally, |d, check| d.end_echo(check))
    }

    /// The rules a server frame's header must keep ([`judge`]), RSV1 allowed on the first frame of
    /// a data message when permessage-deflate was negotiated (RFC 7692 §6.1).
    #[inline(always)]
    fn judge<const D: bool>(&self, h: Hdr, len: usize) -> Result<(), &'static str> {
        match judge(h, len) {
            // only a frame with RSV bits set can pass once permessage-deflate is taken into account
            Err(_) if D && h.rsv != 0 => self.judge_rsv(h, len),
            result => result,
        }
    }

    /// [`Session::judge`] for a frame with RSV bits set on a permessage-deflate connection.
    #[inline(never)]
    fn judge_rsv(&self, h: Hdr, len: usize) -> Result<(), &'static str> {
        if h.rsv != RSV1 {
            // RFC 6455 §5.2: RSV2 and RSV3 stay reserved (permessage-deflate defines RSV1 only)
            return Err("rsv2 or rsv3 set");
        }
        match h.opcode {
            // RFC 7692 §6.1: never on a non-first fragment of a data message
            op::CONTINUATION => Err("rsv1 on a continuation frame"),
            op::TEXT | op::BINARY => judge(Hdr { rsv: 0, ..h }, len),
            // RFC 7692 §6.1: never on a control frame
            op::PING | op::PONG | op::CLOSE => Err("rsv1 on a control frame"),
            _ => judge(h, len),
        }
    }

    fn control_frame(&mut self, plan: &Plan, opcode: u8, payload: &[u8], now_ns: u64, tally: &mut Tally) -> bool {
        match opcode {
            op::PING => {
                if self.state == State::Open {
                    // RFC 6455 §5.5.2: answer a ping with a pong carrying its payload; §5.5.3: only
                    // the most recent ping needs one, so a flood of pings owes one pong
                    self.pong.clear();
                    self.pong.extend_from_slice(payload);
                    self.pong_owed = true;
                }
                true
            }
            op::PONG => {
                // RFC 6455 §5.5.3: an unsolicited pong is ignored
                if let Some(sent) = self.ping_sent_ns {
                    if payload == sent.to_be_bytes() {
                        tally.ping.saturating_record(ns_to_us_ceil(now_ns.saturating_sub(sent)));
                        self.ping_sent_ns = None;
                    }
                }
                true
            }
            _ => {
                if self.closing() {
                    // the reply to our close: the closing handshake is complete
                    self.state = State::Done;
                    return false;
                }
                let code = (payload.len() >= 2).then(|| u16::from_be_bytes([payload[0], payload[1]]));
                tally.error(LoadError::UnexpectedClose(code));
                // RFC 6455 §5.5.1: answer a close with a close, echoing its status code
                let body = code.map(|c| c.to_be_bytes().to_vec()).unwrap_or_default();
                plan.book.write_control(&mut self.owed, op::CLOSE, &body, self.key_index);
                self.state = State::Done;
                false
            }
        }
    }
}

/// RSV1 among a header's three RSV bits ([`Hdr::rsv`]): the bit permessage-deflate uses (RFC 7692 §6).
const RSV1: u8 = 0b100;

/// The header bits a frame is judged by.
#[derive(Debug, Clone, Copy)]
struct Hdr {
    fin: bool,
    rsv: u8,
    opcode: u8,
    masked: bool,
}

impl Hdr {
    #[inline]
    fn new(b0: u8, masked: bool) -> Hdr {
        // RFC 6455 §5.2: FIN, RSV1-3, opcode in the first byte
        Hdr { fin: b0 & 0x80 != 0, rsv: (b0 >> 4) & 0x07, opcode: b0 & 0x0F, masked }
    }
}

/// Largest frame payload the load reader accepts (an echo is never larger than 64 MiB).
pub const MAX_READ: u64 = super::size::MAX_SIZE + 1024;

/// The header of the frame at the start of `buf` once it is complete: (header bits, header
/// length, payload length).
fn frame_start(buf: &[u8]) -> Option<Result<(Hdr, usize, usize), LoadError>> {
    let (h, hl) = FrameHeader::parse(buf)?;
    if h.declared_len > MAX_READ {
        return Some(Err(LoadError::Protocol("frame over the load reader's limit")));
    }
    Some(Ok((Hdr::new(buf[0], h.masking_key.is_some()), hl, h.declared_len as usize)))
}

/// Whether a frame of this opcode carries message data.
#[inline(always)]
fn is_data(opcode: u8) -> bool {
    matches!(opcode, op::TEXT | op::BINARY | op::CONTINUATION)
}

/// The RFC 6455 rules a server frame's header must keep, for a payload of `len` bytes.
#[inline(always)]
fn judge(h: Hdr, len: usize) -> Result<(), &'static str> {
    if h.masked {
        // RFC 6455 §5.1: a server MUST NOT mask any frames that it sends to the client
        return Err("masked server frame");
    }
    if h.rsv != 0 {
        // RFC 6455 §5.2: RSV1-3 MUST be 0 unless an extension defines them (none negotiated)
        return Err("rsv bits set");
    }
    match h.opcode {
        op::TEXT | op::BINARY | op::CONTINUATION => Ok(()),
        // RFC 6455 §5.5: control frames are at most 125 bytes and MUST NOT be fragmented
        op::PING | op::PONG | op::CLOSE if !h.fin || len > MAX_CONTROL => Err("fragmented or oversized control frame"),
        op::PING | op::PONG | op::CLOSE => Ok(()),
        // RFC 6455 §5.2: opcodes 0x3-0x7 and 0xB-0xF are reserved
        _ => Err("reserved opcode"),
    }
}

/// What became of the bytes an earlier read left cut.
enum Carried {
    /// Still incomplete: more bytes are needed.
    Wanting,
    /// Handled; go on with the rest of the read.
    Done,
    /// The connection is over.
    Over,
}

mod sent;

#[cfg(test)]
mod tests;
