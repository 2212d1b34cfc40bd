//! A fixed amount of the codec's hot-path work, for counting instructions (`ci/instructions.sh` runs it under
//! valgrind's callgrind): unlike a timing, the count does not move with other work on the machine, so a
//! regression shows as a number. The workloads are the criterion benchmark's (`benches/codec.rs`, same bytes
//! from `benches/support`).
//!
//! Usage: `instructions WORKLOAD ITERATIONS` with WORKLOAD one of `echo-text-64B`, `echo-binary-16KiB`
//! (one `Connection::process` of 1000 masked frames each), `header-64bit` (one `FrameHeader::parse`), `mask-64KiB`
//! (unmasking 64 KiB in place), `deflate-text-16KiB` (64 compressed messages through a fresh connection).
//! `ITERATIONS` 0 does the set-up only: the script subtracts it.

#[path = "../benches/support/mod.rs"]
mod support;

use std::hint::black_box;

use reference_server::conn::Connection;
use reference_server::frame::{apply_mask, FrameHeader, Rsv};
use support::{client_frame, compressed_stream, deflate_run, text_like, FRAMES, KEY, LIMITS, TEXT_64};

fn main() {
    let mut args = std::env::args().skip(1);
    let workload = args.next().unwrap_or_default();
    let Some(iterations) = args.next().and_then(|n| n.parse::<u64>().ok()) else {
        eprintln!("usage: instructions WORKLOAD ITERATIONS (see the source's header)");
        std::process::exit(2);
    };
    match workload.as_str() {
        "echo-text-64B" => echo(&TEXT_64[..], 0x1, iterations),
        "echo-binary-16KiB" => echo(&(0..16 * 1024).map(|i| i as u8).collect::<Vec<u8>>(), 0x2, iterations),
        "header-64bit" => {
            let bytes = [&[0x82, 0xFF, 0, 0, 0, 0, 0, 1, 0, 0][..], &KEY.0].concat();
            for _ in 0..iterations {
                black_box(FrameHeader::parse(black_box(&bytes), Rsv(0)).ok());
            }
        }
        "mask-64KiB" => {
            let mut buf: Vec<u8> = (0..64 * 1024).map(|i| i as u8).collect();
            for _ in 0..iterations {
                apply_mask(black_box(&mut buf), black_box(KEY), 0);
            }
        }
        "deflate-text-16KiB" => {
            let text = text_like();
            let messages: Vec<&[u8]> = (0..64).map(|i| &text[i * 16_384..i * 16_384 + 16_384]).collect();
            let input = compressed_stream(0x1, &messages);
            let mut out = Vec::new();
            for _ in 0..iterations {
                out.clear();
                black_box(deflate_run(LIMITS, black_box(&input), &mut out));
            }
        }
        other => {
            eprintln!("instructions: unknown workload {other:?} (see the source's header)");
            std::process::exit(2);
        }
    }
}

/// `iterations` calls of `Connection::process` over 1000 masked frames of `payload`.
fn echo(payload: &[u8], opcode: u8, iterations: u64) {
    let input = client_frame(opcode, payload).repeat(FRAMES);
    let mut conn = Connection::new(LIMITS);
    let mut out = Vec::with_capacity(input.len() + FRAMES * 4);
    for _ in 0..iterations {
        out.clear();
        black_box(conn.process(black_box(&input), &mut out));
    }
}
