//! Micro-benchmarks of the reference server's codec hot paths, without sockets.
//!
//! - `mask/word/<bytes>` and `mask/bytewise/<bytes>`: unmasking a 64 B, 1 KiB
//!   and 64 KiB payload in place (RFC 6455 §5.3) with [`apply_mask`], eight
//!   bytes at a time, and with [`apply_mask_bytewise`], the one-byte-at-a-time
//!   definition kept beside it. Throughput in bytes; the ratio is the gain of the trick.
//! - `echo/process/<frames>`: one [`Connection::process`] call over a buffer of
//!   1000 masked client frames (64 B text, 64 B binary, 16 KiB binary) into a
//!   reused output buffer: header parsing, limit checks, unmasking, UTF-8
//!   validation of text, and writing the echoes. This is the whole work of the
//!   core for one large read. One connection serves every iteration: each buffer
//!   ends on a frame boundary, so it stays Open. Throughput in frames.
//! - `header/parse/<length>`: [`FrameHeader::parse`] of one client header with
//!   a 7-bit, 16-bit and 64-bit payload length (6, 8 and 14 bytes).
//! - `deflate/process/<messages>`: permessage-deflate (RFC 7692) with context
//!   takeover both ways, a fresh connection per iteration fed the same client
//!   stream in reads of 64 KiB, as the I/O layer reads: 1000 text messages of
//!   64 B, 64 of 16 KiB, and one binary message of 1 MiB (text-like bytes, about
//!   3:1). Unmasking, inflating, UTF-8 validation, compressing the echo (level 1),
//!   and the zlib objects made and dropped per read. Throughput in inflated bytes.
//! - `deflate/bomb/1MiB-limit`: a 1000:1 bomb (2 MiB of zeros in about 2 KiB)
//!   against a 1 MiB limit, up to the 1009 close. Throughput in bytes inflated (the limit).
//!
//! Run with `cargo bench -p reference-server --bench codec` (add `-- --quick` for a rough pass,
//! `-- deflate` for one group).

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use reference_server::conn::{Connection, Limits, State};
use reference_server::frame::{apply_mask, apply_mask_bytewise, FrameHeader, Rsv};

mod support;

use support::{client_frame, compressed_stream, deflate_run, text_like, FRAMES, KEY, LIMITS, READ, TEXT_64};

fn mask(c: &mut Criterion) {
    let mut group = c.benchmark_group("mask");
    for size in [64usize, 1024, 64 * 1024] {
        let mut buf: Vec<u8> = (0..size).map(|i| i as u8).collect();
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_with_input(BenchmarkId::new("word", size), &size, |b, _| {
            b.iter(|| apply_mask(black_box(&mut buf), black_box(KEY), 0))
        });
        group.bench_with_input(BenchmarkId::new("bytewise", size), &size, |b, _| {
            b.iter(|| apply_mask_bytewise(black_box(&mut buf), black_box(KEY), 0))
        });
    }
    group.finish();
}

fn echo(c: &mut Criterion) {
    let mut group = c.benchmark_group("echo");
    group.throughput(Throughput::Elements(FRAMES as u64));
    let text: Vec<u8> = TEXT_64.to_vec();
    let cases: [(&str, u8, Vec<u8>); 3] = [
        ("text-64B", 0x1, text),
        ("binary-64B", 0x2, (0..64u8).collect()),
        ("binary-16KiB", 0x2, (0..16 * 1024).map(|i| i as u8).collect()),
    ];
    for (name, opcode, payload) in cases {
        let input = client_frame(opcode, &payload).repeat(FRAMES);
        let mut conn = Connection::new(LIMITS);
        let mut out = Vec::with_capacity(input.len());
        // every frame is consumed and echoed, and the connection stays open for the next iteration
        assert_eq!(conn.process(&input, &mut out), input.len());
        assert_eq!(conn.state(), State::Open);
        assert!(!conn.is_mid_message());
        assert_eq!(out.len(), FRAMES * (payload.len() + if payload.len() < 126 { 2 } else { 4 }));
        group.bench_with_input(BenchmarkId::new("process", name), &input, |b, input| {
            b.iter(|| {
                out.clear();
                conn.process(black_box(input), &mut out)
            })
        });
        assert_eq!(conn.state(), State::Open);
    }
    group.finish();
}

fn header(c: &mut Criterion) {
    let mut group = c.benchmark_group("header");
    group.throughput(Throughput::Elements(1));
    let headers: [(&str, Vec<u8>); 3] = [
        ("7-bit", [&[0x81, 0x85][..], &KEY.0].concat()),
        ("16-bit", [&[0x82, 0xFE, 0x01, 0x00][..], &KEY.0].concat()),
        ("64-bit", [&[0x82, 0xFF, 0, 0, 0, 0, 0, 1, 0, 0][..], &KEY.0].concat()),
    ];
    for (name, bytes) in headers {
        let (_, n) = FrameHeader::parse(&bytes, Rsv(0)).expect("valid").expect("complete");
        assert_eq!(n, bytes.len());
        group.bench_with_input(BenchmarkId::new("parse", name), &bytes, |b, bytes| {
            b.iter(|| FrameHeader::parse(black_box(bytes), Rsv(0)))
        });
    }
    group.finish();
}

fn deflate(c: &mut Criterion) {
    let mut group = c.benchmark_group("deflate");
    let text = text_like();
    let short: Vec<&[u8]> = (0..1000).map(|i| &text[i * 64..i * 64 + 64]).collect();
    let medium: Vec<&[u8]> = (0..64).map(|i| &text[i * 16_384..i * 16_384 + 16_384]).collect();
    let cases: [(&str, u8, Vec<&[u8]>); 3] =
        [("text-64B", 0x1, short), ("text-16KiB", 0x1, medium), ("binary-1MiB", 0x2, vec![&text[..1 << 20]])];
    for (name, opcode, messages) in cases {
        let input = compressed_stream(opcode, &messages);
        let inflated: usize = messages.iter().map(|m| m.len()).sum();
        let mut out = Vec::with_capacity(READ);
        let conn = deflate_run(LIMITS, &input, &mut out);
        assert_eq!(conn.state(), State::Open, "{name}");
        assert!(!conn.is_mid_message(), "{name}");
        group.throughput(Throughput::Bytes(inflated as u64));
        group.bench_with_input(BenchmarkId::new("process", name), &input, |b, input| {
            b.iter(|| {
                out.clear();
                deflate_run(LIMITS, black_box(input), &mut out)
            })
        });
    }
    let limit = 1usize << 20;
    let zeros = vec![0u8; 2 * limit];
    let bomb = compressed_stream(0x2, &[&zeros]);
    assert!(bomb.len() * 1000 < zeros.len(), "{}", bomb.len());
    let limits = Limits { max_message_size: limit as u64, max_frame_size: limit as u64 };
    let mut out = Vec::with_capacity(READ);
    let conn = deflate_run(limits, &bomb, &mut out);
    assert_eq!(conn.failure().map(|e| e.close_code().0), Some(1009));
    group.throughput(Throughput::Bytes(limit as u64));
    group.bench_with_input(BenchmarkId::new("bomb", "1MiB-limit"), &bomb, |b, bomb| {
        b.iter(|| {
            out.clear();
            deflate_run(limits, black_box(bomb), &mut out)
        })
    });
    group.finish();
}

criterion_group!(benches, mask, echo, header, deflate);
criterion_main!(benches);
