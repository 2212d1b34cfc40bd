//! The load generator's receive path (`Session::on_bytes`) on any server bytes, in any reads.
//!
//! Input: `[config][Split]` (see `src/lib.rs`): the config byte picks the load
//! plan (`plan_for`, bits 0-2 modulo 6; plans 4 and 5 negotiated permessage-deflate, so that
//! compressed echoes are inflated as they arrive) and whether our close is sent before the server's
//! bytes arrive (bit 7). A session sends its first messages (and, in the plan
//! that pings, a ping), then gets the bytes. Checked: never a panic; the same bytes in one read or in many give the
//! same counts, errors, latencies, state and bytes owed to the server (the
//! module promises "any segmentation"); echoes never outnumber messages sent.
#![no_main]

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::OnceLock;

use fuzz_input::{deflate_for, plan_for, Split, PLANS, T_OPEN, T_PING, T_READ};
use hdrhistogram::Histogram;
use libfuzzer_sys::fuzz_target;
use wsharness::load::errors::LoadError;
use wsharness::load::payload::Outbox;
use wsharness::load::session::{Next, Plan, Session};
use wsharness::load::stats::Tally;

/// Plans are built once: a payload book costs more than a run.
fn plans() -> &'static [Plan] {
    static PLANS_BUILT: OnceLock<Vec<Plan>> = OnceLock::new();
    PLANS_BUILT.get_or_init(|| (0..PLANS as u8).map(plan_for).collect())
}

fuzz_target!(|input: &[u8]| {
    let Some((&config, rest)) = input.split_first() else { return };
    let variant = (config & 0x07) % PLANS as u8;
    let plan = &plans()[usize::from(variant)];
    let close_first = config & 0x80 != 0;
    let split = Split::parse(rest);
    let whole = run(plan, variant, close_first, &[split.data]);
    let cut = run(plan, variant, close_first, &split.pieces());
    assert_eq!(whole, cut, "cuts {:?}", split.cuts);
});

/// What a session made of the bytes (everything but the batching-dependent moving average).
#[derive(Debug, PartialEq)]
struct Summary {
    alive: bool,
    outstanding: usize,
    done: bool,
    counts: [u64; 11],
    errors: Vec<(String, u64)>,
    latency: [[u64; 3]; 3],
    next: Next,
    owed: Vec<u8>,
}

fn run(plan: &Plan, variant: u8, close_first: bool, pieces: &[&[u8]]) -> Summary {
    let mut s = Session::new(plan, 0, 1, T_OPEN);
    if let Some((_, negotiated)) = deflate_for(variant) {
        s.set_deflate(plan, negotiated);
    }
    let (mut t, mut out) = (fresh_tally(), Outbox::default());
    s.fill(plan, T_OPEN, &mut out, &mut t);
    s.fill(plan, T_PING, &mut out, &mut t);
    if close_first {
        s.begin_close(plan, T_OPEN, &mut out);
    }
    let sent_before = t.iv_sent;
    let mut alive = true;
    for piece in pieces {
        alive = s.on_bytes(plan, piece, T_READ, &mut t);
        assert!(s.outstanding() <= plan.in_flight);
        assert!(t.iv_received <= sent_before, "{} echoes of {sent_before} messages", t.iv_received);
        if !alive {
            assert!(s.done());
            break;
        }
    }
    out.clear(usize::MAX);
    let next = s.fill(plan, T_READ, &mut out, &mut t);
    let mut errors: Vec<(String, u64)> =
        t.errors.iter().map(|(e, n): (&LoadError, &u64)| (format!("{e:?}"), *n)).collect();
    errors.sort();
    let summary = Summary {
        alive,
        outstanding: s.outstanding(),
        done: s.done(),
        counts: [
            t.iv_sent,
            t.iv_received,
            t.iv_errors,
            t.sent,
            t.received,
            t.received_in_window,
            t.last_rx_ns,
            t.deflate.wire_sent,
            t.deflate.plain_received,
            t.deflate.wire_received,
            t.deflate.compressed_received,
        ],
        errors,
        latency: [recorded(&t.iv_measured), recorded(&t.iv_warm), recorded(&t.ping)],
        next,
        owed: out.to_vec(&plan.book),
    };
    recycle(t);
    summary
}

/// Count, least and largest value: O(1) (walking the ~17,000 buckets would cost more than the run).
fn recorded(h: &Histogram<u64>) -> [u64; 3] {
    [h.len(), h.min_nz(), h.max()]
}

thread_local! {
    /// Histograms of finished runs, cleared: a fresh one costs ~140 KiB of zeroed memory.
    static POOL: RefCell<Vec<Histogram<u64>>> = const { RefCell::new(Vec::new()) };
}

fn histogram() -> Histogram<u64> {
    POOL.with(|p| p.borrow_mut().pop()).unwrap_or_else(|| Tally::default().latency)
}

/// A tally as `Tally::default()` makes it, with pooled histograms (every field named:
/// a field added to `Tally` breaks this build rather than go unreset).
fn fresh_tally() -> Tally {
    Tally {
        iv_sent: 0,
        iv_received: 0,
        iv_errors: 0,
        iv_warm: histogram(),
        iv_measured: histogram(),
        sent: 0,
        payload_bytes: 0,
        received: 0,
        received_in_window: 0,
        last_rx_ns: 0,
        latency: histogram(),
        latency_uncorrected: histogram(),
        send_lag: histogram(),
        handshake: histogram(),
        ping: histogram(),
        errors: HashMap::new(),
        recent_latency_ns: 0,
        deflate: Default::default(),
    }
}

fn recycle(t: Tally) {
    let Tally {
        iv_sent: _,
        iv_received: _,
        iv_errors: _,
        iv_warm,
        iv_measured,
        sent: _,
        payload_bytes: _,
        received: _,
        received_in_window: _,
        last_rx_ns: _,
        latency,
        latency_uncorrected,
        send_lag,
        handshake,
        ping,
        errors: _,
        recent_latency_ns: _,
        deflate: _,
    } = t;
    POOL.with(|p| {
        for mut h in [iv_warm, iv_measured, latency, latency_uncorrected, send_lag, handshake, ping] {
            if !h.is_empty() {
                h.reset();
            }
            p.borrow_mut().push(h);
        }
    });
}
