//! The load generator's per-message path without sockets: build a batch of 64 masked 64-byte text
//! messages, take the server's echoes of them (one read's worth), verify each and record its latency.
//! The peer, in the same run: tungstenite's frame codec doing the same client-side work (format a
//! masked frame per message; parse each echo's header, copy its payload, compare, check UTF-8).
//!
//! `cargo bench -p wsharness --bench load_path`; criterion reports time per batch of 64 messages.

mod support;

use std::io::Cursor;

use support::echo_of;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use tungstenite::protocol::frame::coding::{Data, OpCode};
use tungstenite::protocol::frame::{Frame, FrameHeader};
use wsharness::load::payload::Outbox;
use wsharness::load::session::{Plan, Session};
use wsharness::load::stats::Tally;

const BATCH: usize = 64;
const SIZE: usize = 64;

fn plan() -> Plan {
    Plan::closed_loop(SIZE, BATCH)
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("per_message_path");
    g.throughput(Throughput::Elements(BATCH as u64));

    let p = plan();
    // the echoes of the first BATCHES batches a fresh session sends (unmasked, as a server sends them)
    const BATCHES: u64 = 512;
    let echoes: Vec<Vec<u8>> = {
        let mut s = Session::new(&p, 0, 1, 0);
        let mut t = Tally::default();
        (0..BATCHES)
            .map(|i| {
                let mut out = Outbox::default();
                s.fill(&p, i, &mut out, &mut t);
                let echo = echo_of(&out.to_vec(&p.book));
                assert!(s.on_bytes(&p, &echo, i + 1, &mut t));
                echo
            })
            .collect()
    };
    g.bench_function("wsharness load session: send + verify + record", |b| {
        b.iter_custom(|iters| {
            let mut total = std::time::Duration::ZERO;
            let mut done = 0;
            while done < iters {
                let mut session = Session::new(&p, 0, 1, 0);
                let mut tally = Tally::default();
                let mut out = Outbox::default();
                let n = (iters - done).min(BATCHES);
                let started = std::time::Instant::now();
                for (i, echo) in echoes.iter().take(n as usize).enumerate() {
                    out.clear(usize::MAX);
                    session.fill(&p, i as u64 * 50_000, &mut out, &mut tally);
                    criterion::black_box(&out);
                    session.on_bytes(&p, echo, i as u64 * 50_000 + 30_000, &mut tally);
                }
                total += started.elapsed();
                assert!(tally.errors.is_empty() && tally.received == n * BATCH as u64, "{:?}", tally.errors);
                done += n;
            }
            total
        })
    });

    g.bench_function("tungstenite frame codec: format + parse + compare + utf8", |b| {
        let payload: Vec<u8> = (0..SIZE).map(|i| b'a' + (i % 26) as u8).collect();
        let mut wire = Vec::with_capacity(BATCH * (SIZE + 14));
        let mut echo = Vec::new();
        for _ in 0..BATCH {
            Frame::message(payload.clone(), OpCode::Data(Data::Text), true).format(&mut echo).unwrap();
        }
        b.iter(|| {
            wire.clear();
            for _ in 0..BATCH {
                let mut frame = Frame::message(payload.clone(), OpCode::Data(Data::Text), true);
                frame.header_mut().mask = Some([1, 2, 3, 4]);
                frame.format(&mut wire).unwrap();
            }
            let mut cursor = Cursor::new(echo.as_slice());
            let mut ok = 0;
            while let Ok(Some((header, len))) = FrameHeader::parse(&mut cursor) {
                let start = cursor.position() as usize;
                let data = echo[start..start + len as usize].to_vec();
                cursor.set_position((start + len as usize) as u64);
                let frame = Frame::from_payload(header, data);
                if frame.payload() == &payload && frame.to_text().is_ok() {
                    ok += 1;
                }
            }
            assert_eq!(ok, BATCH);
            criterion::black_box(&wire);
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
