//! permessage-deflate hot paths: inflating a server message with our analyzing decoder
//! (`StreamAnalyzer`, which reports every back-reference) against flate2's inflate (`Inflater`,
//! zlib-rs), and compressing a client message (`Compressor`).
//!
//! `cargo bench -p wsharness --bench deflate`; criterion reports time per message and bytes/s
//! of inflated data. The analyzer is meant to be slower: it judges conformance; the load
//! generator uses flate2.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use wsharness::wire::deflate::{Compressor, Inflater, StreamAnalyzer};

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
}

criterion_group!(benches, bench);
criterion_main!(benches);
