//! permessage-deflate hot paths: inflating a server message with our analyzing decoder
//! (`StreamAnalyzer`, which reports every back-reference) against flate2's inflate (`Inflater`,
//! zlib-rs), compressing a client message (`Compressor`), and the load generator's per-message
//! path with `--deflate` (`load_per_message`: a batch of 64 messages built, compressed and masked,
//! then the server's compressed echoes inflated, verified and recorded; no sockets), beside the
//! same path without compression.
//!
//! `cargo bench -p wsharness --bench deflate`; criterion reports time per message and bytes/s
//! of inflated data (per batch of 64 for `load_per_message`). The analyzer is meant to be slower:
//! it judges conformance; the load generator uses flate2.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use wsharness::load::deflate::{DeflatePlan, Offer};
use wsharness::load::payload::Outbox;
use wsharness::load::session::{Plan, Session};
use wsharness::load::stats::Tally;
use wsharness::wire::deflate::{Compressor, Inflater, Negotiated, StreamAnalyzer};
use wsharness::wire::{FrameReader, FrameSpec};

/// A message that compresses like text: words from a small vocabulary, a counter mixed in.
fn text_like(len: usize) -> Vec<u8> {
    const WORDS: [&str; 12] =
        ["the ", "server ", "sends ", "a ", "frame ", "with ", "RSV1 ", "set ", "and ", "window ", "bits ", "\n"];
    let mut out = Vec::with_capacity(len + 16);
    let mut i: usize = 0;
    while out.len() < len {
        out.extend_from_slice(WORDS[(i * 7 + i / 13) % WORDS.len()].as_bytes());
        if i % 17 == 0 {
            out.extend_from_slice(i.to_string().as_bytes());
        }
        i += 1;
    }
    out.truncate(len);
    out
}

fn bench(c: &mut Criterion) {
    let limit = 64 << 20;
    let mut g = c.benchmark_group("deflate_inflate");
    for size in [64usize, 4096, 65536] {
        let plain = text_like(size);
        let Ok(mut compressor) = Compressor::new(15, 6, true) else { return };
        let Ok(payload) = compressor.compress(&plain) else { return };
        g.throughput(Throughput::Bytes(size as u64));
        g.bench_with_input(BenchmarkId::new("analyze", size), &payload, |b, p| {
            let mut a = StreamAnalyzer::new(limit);
            b.iter(|| a.message(p).map(|m| m.data.len()))
        });
        g.bench_with_input(BenchmarkId::new("flate2", size), &payload, |b, p| {
            let mut i = Inflater::new(15, true, limit);
            b.iter(|| i.inflate(p).map(|d| d.len()))
        });
    }
    g.finish();

    let mut g = c.benchmark_group("deflate_compress");
    for size in [64usize, 4096, 65536] {
        let plain = text_like(size);
        g.throughput(Throughput::Bytes(size as u64));
        for (name, reset) in [("takeover", false), ("no_takeover", true)] {
            g.bench_with_input(BenchmarkId::new(name, size), &plain, |b, p| {
                let Ok(mut c) = Compressor::new(15, 6, reset) else { return };
                b.iter(|| c.compress(p).map(|v| v.len()))
            });
        }
    }
    g.finish();
    load_per_message(c);
}

/// Messages per batch in `load_per_message` (one closed-loop batch: 64 in flight).
const BATCH: usize = 64;
/// Batches of echoes prepared: a session runs through them from its start (its context with them).
const BATCHES: usize = 256;

fn load_plan(size: usize, deflate: bool) -> Plan {
    Plan {
        deflate: deflate
            .then(|| DeflatePlan::new(Offer::parse("client_max_window_bits").unwrap_or_else(|e| panic!("{e}")))),
        ..Plan::closed_loop(size, BATCH)
    }
}

/// What a permessage-deflate echo server (zlib level 1, as the reference server) sends back for these client frames.
fn deflate_echo(client: &[u8], n: Option<&Negotiated>, server: &mut Option<(Inflater, Compressor)>) -> Vec<u8> {
    let mut r = FrameReader::new();
    r.push(client);
    let mut out = Vec::new();
    while let Ok(Some(f)) = r.next_frame() {
        let spec = match (n, server.as_mut()) {
            (Some(_), Some((inflater, compressor))) => {
                let plain = inflater.inflate(&f.payload).unwrap_or_default();
                FrameSpec::new(f.opcode(), compressor.compress(&plain).unwrap_or_default()).rsv(0b100)
            }
            _ => FrameSpec::new(f.opcode(), f.payload),
        };
        out.extend(spec.unmasked().encode().unwrap_or_default());
    }
    out
}

fn load_per_message(c: &mut Criterion) {
    let mut g = c.benchmark_group("load_per_message");
    g.throughput(Throughput::Elements(BATCH as u64));
    let takeover = Negotiated::default();
    let replay = Negotiated { client_no_context_takeover: true, ..Negotiated::default() };
    for size in [64usize, 4096] {
        for (name, n) in [("plain", None), ("context_takeover", Some(takeover)), ("replay", Some(replay))] {
            let p = load_plan(size, n.is_some());
            let new_session = || {
                let mut s = Session::new(&p, 0, 1, 0);
                if let Some(n) = n {
                    s.set_deflate(&p, n);
                }
                s
            };
            let echoes: Vec<Vec<u8>> = {
                let mut server = n.map(|n| {
                    let inflater = Inflater::new(n.client_max_window_bits, n.client_no_context_takeover, 1 << 20);
                    (inflater, Compressor::new(15, 1, false).unwrap_or_else(|e| panic!("{e}")))
                });
                let (mut s, mut t) = (new_session(), Tally::default());
                (0..BATCHES as u64)
                    .map(|i| {
                        let mut out = Outbox::default();
                        s.fill(&p, i, &mut out, &mut t);
                        let echo = deflate_echo(&out.to_vec(&p.book), n.as_ref(), &mut server);
                        assert!(s.on_bytes(&p, &echo, i + 1, &mut t));
                        echo
                    })
                    .collect()
            };
            g.bench_function(BenchmarkId::new(name, size), |b| {
                b.iter_custom(|iters| {
                    let mut total = std::time::Duration::ZERO;
                    let mut done = 0;
                    while done < iters {
                        let (mut s, mut t, mut out) = (new_session(), Tally::default(), Outbox::default());
                        let k = (iters - done).min(BATCHES as u64);
                        let started = std::time::Instant::now();
                        for (i, echo) in echoes.iter().take(k as usize).enumerate() {
                            out.clear(usize::MAX);
                            s.fill(&p, i as u64 * 50_000, &mut out, &mut t);
                            criterion::black_box(&out);
                            s.on_bytes(&p, echo, i as u64 * 50_000 + 30_000, &mut t);
                        }
                        total += started.elapsed();
                        assert!(t.errors.is_empty() && t.received == k * BATCH as u64, "{:?}", t.errors);
                        done += k;
                    }
                    total
                })
            });
        }
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
