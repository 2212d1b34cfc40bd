//! The load generator's per-message path for counting instructions (`ci/instructions.sh` runs it under
//! valgrind's callgrind, beside the reference server's codec workloads): a session sends a batch of 64 masked
//! 64-byte text messages, takes the echoes of them, verifies each and records its latency, as the criterion
//! benchmark `benches/load_path.rs` does, without sockets.
//!
//! Usage: `load_instructions load-batch-64x64B ITERATIONS` (at most 512); `ITERATIONS` 0 does the set-up only: the
//! script subtracts it.

#[path = "../benches/support/mod.rs"]
mod support;

use std::hint::black_box;

use support::echo_of;

use wsharness::load::payload::Outbox;
use wsharness::load::session::{Plan, Session};
use wsharness::load::stats::Tally;

const BATCH: usize = 64;
const SIZE: usize = 64;
const MAX_BATCHES: u64 = 512;

fn main() {
    let mut args = std::env::args().skip(1);
    let workload = args.next().unwrap_or_default();
    let iterations = args.next().and_then(|n| n.parse::<u64>().ok());
    let (Some(iterations), "load-batch-64x64B") = (iterations.filter(|&n| n <= MAX_BATCHES), workload.as_str()) else {
        eprintln!("usage: load_instructions load-batch-64x64B ITERATIONS (0..={MAX_BATCHES})");
        std::process::exit(2);
    };
    let plan = plan();
    let echoes = echoes(&plan, MAX_BATCHES);
    let mut session = Session::new(&plan, 0, 1, 0);
    let mut tally = Tally::default();
    let mut out = Outbox::default();
    for (i, echo) in echoes.iter().take(iterations as usize).enumerate() {
        out.clear(usize::MAX);
        session.fill(&plan, i as u64 * 50_000, &mut out, &mut tally);
        black_box(&out);
        session.on_bytes(&plan, black_box(echo), i as u64 * 50_000 + 30_000, &mut tally);
    }
    if !tally.errors.is_empty() || tally.received != iterations * BATCH as u64 {
        eprintln!("load_instructions: the session did not verify every echo: {:?}", tally.errors);
        std::process::exit(1);
    }
}

fn plan() -> Plan {
    Plan::closed_loop(SIZE, BATCH)
}

/// The echoes of the first `batches` batches a fresh session sends, as a server sends them (unmasked), made by
/// a separate session so the measured one starts fresh. Always all of them, so the set-up is the same for
/// every iteration count and the script's subtraction removes it.
fn echoes(plan: &Plan, batches: u64) -> Vec<Vec<u8>> {
    let mut s = Session::new(plan, 0, 1, 0);
    let mut t = Tally::default();
    (0..batches)
        .map(|i| {
            let mut out = Outbox::default();
            s.fill(plan, i, &mut out, &mut t);
            let echo = echo_of(&out.to_vec(&plan.book));
            s.on_bytes(plan, &echo, i + 1, &mut t);
            echo
        })
        .collect()
}
