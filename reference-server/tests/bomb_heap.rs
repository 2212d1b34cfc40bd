//! What a decompression bomb costs the connection core in heap, counted by the allocator (RFC 7692 §8.1, RFC 6455
//! §10.4): the message limit and the inflater, no reallocation copy, no growth slack.
//!
//! The counting allocator below is this test binary's global allocator; it counts per thread, so only what the
//! test's own thread allocates is seen (the other tests' servers run on their own threads). A reallocation is
//! counted as the new block before the old one is freed: what a copying `realloc` holds at its peak.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use flate2::{Compress, Compression, Decompress, FlushCompress};
use reference_server::conn::{Connection, Limits, State};
use reference_server::deflate::{negotiate, DeflateConfig};
use reference_server::ProtocolError;

use crate::common::*;

struct Counting;

thread_local! {
    static LIVE: Cell<usize> = const { Cell::new(0) };
    static PEAK: Cell<usize> = const { Cell::new(0) };
}

fn grew(bytes: usize) {
    let _ = LIVE.try_with(|live| {
        live.set(live.get() + bytes);
        let _ = PEAK.try_with(|peak| peak.set(peak.get().max(live.get())));
    });
}

fn shrank(bytes: usize) {
    let _ = LIVE.try_with(|live| live.set(live.get().saturating_sub(bytes)));
}

// SAFETY: every call goes to the system allocator unchanged; the counters are const-initialised thread-locals
// without destructors, which never allocate
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        shrank(layout.size());
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            grew(new_size);
            shrank(layout.size());
        }
        p
    }
}

#[global_allocator]
static COUNTING: Counting = Counting;

/// Bytes the I/O layer reads at a time (its pooled buffer).
const READ: usize = 64 * 1024;

/// The heap peak, above what was live before, of feeding `input` to a new permessage-deflate connection (context
/// takeover, window 15) in reads of [`READ`] bytes, with the read and reply buffers allocated beforehand as the I/O
/// layer's pool has them.
fn heap_peak(limits: Limits, input: &[u8]) -> (Connection, Vec<u8>, usize) {
    let agreed = negotiate(["permessage-deflate; client_max_window_bits"], &DeflateConfig::default());
    assert_eq!(agreed.map(|a| a.client_max_window_bits), Some(15));
    let mut conn = Connection::with_deflate(limits, agreed);
    let (mut read, mut out) = (Vec::with_capacity(READ), Vec::with_capacity(READ));
    let base = LIVE.with(Cell::get);
    PEAK.with(|p| p.set(base));
    for piece in input.chunks(READ - 16) {
        read.extend_from_slice(piece);
        let n = conn.process(&read, &mut out);
        read.drain(..n);
    }
    let peak = PEAK.with(Cell::get) - base;
    (conn, out, peak)
}

/// One compressed client frame of `message` (RSV1, RFC 7692 §6.1), deflated at `level`.
fn compressed_frame(opcode: u8, message: &[u8], level: u32) -> Vec<u8> {
    let mut c = Compress::new(Compression::new(level), false);
    let mut payload = Vec::with_capacity(message.len() / 2 + 1024);
    while c.total_in() < message.len() as u64 || payload.len() == payload.capacity() {
        payload.reserve(64 * 1024);
        let taken = c.total_in() as usize;
        c.compress_vec(&message[taken..], &mut payload, FlushCompress::Sync).expect("deflate");
    }
    payload.truncate(payload.len() - 4);
    Frame::new(opcode, payload).rsv(0b100).encode()
}

#[test]
fn a_1000_to_1_bomb_costs_the_limit_and_the_inflater_only() {
    let limit = 1usize << 20;
    let limits = Limits { max_message_size: limit as u64, max_frame_size: limit as u64 };
    let bomb = compressed_frame(BINARY, &vec![0u8; 8 * limit], 9);
    assert!(bomb.len() * 1000 < 8 * limit, "{} bytes", bomb.len());
    let (conn, out, peak) = heap_peak(limits, &bomb);
    assert!(matches!(conn.failure(), Some(ProtocolError::MessageTooBig { .. })), "{:?}", conn.failure());
    assert_eq!(parse_server_frame(&out).and_then(|(f, _)| f.close_code()), Some(1009));
    assert_eq!(conn.buffered_capacity(), 0, "nothing kept once failed");
    // zlib-rs allocates its inflate state and a 32 KiB window whatever the window bits: about 43 KiB
    let (inflater, _) = zlib_state();
    eprintln!(
        "bomb: heap peak {peak} bytes, the limit + {} bytes (the inflater {inflater})",
        peak as i64 - limit as i64
    );
    assert!(peak <= limit + 64 * 1024, "heap peak {peak} bytes: the limit + {} bytes", peak - limit);
}

#[test]
fn a_message_of_the_limit_is_echoed_without_a_second_whole_copy() {
    let limit = 1usize << 20;
    let limits = Limits { max_message_size: limit as u64, max_frame_size: limit as u64 };
    let mut text: Vec<u8> = (0..200_000u32).flat_map(|i| format!("{} ", i * 7919 % 100_003).into_bytes()).collect();
    text.truncate(limit);
    let frame = compressed_frame(TEXT, &text, 6);
    let (conn, out, peak) = heap_peak(limits, &frame);
    assert_eq!(conn.state(), State::Open, "{:?}", conn.failure());
    let (echo, n) = parse_server_frame(&out).expect("one echo");
    assert_eq!((n, echo.opcode, echo.rsv), (out.len(), TEXT, 0b100));
    // the message (the limit), the zlib objects, and the compressed echo in the reply buffer (grown by doubling:
    // a copying realloc holds up to twice the payload): the message's segments are freed as they are compressed,
    // and the payload is compressed straight into the reply, not into a buffer of its own first
    let (_, zlib) = zlib_state();
    let bound = limit + zlib + 2 * echo.payload.len() + READ;
    eprintln!(
        "echo of {limit} bytes compressed to {}: heap peak {peak} bytes (zlib {zlib}, bound {bound})",
        echo.payload.len()
    );
    assert!(peak <= bound, "heap peak {peak} bytes, more than {bound}");
}

/// The heap an inflater and a deflater (level 1) take at window 15: (inflater, both).
fn zlib_state() -> (usize, usize) {
    let base = LIVE.with(Cell::get);
    let inflater = Decompress::new_with_window_bits(false, 15);
    let one = LIVE.with(Cell::get) - base;
    let deflater = Compress::new_with_window_bits(Compression::fast(), false, 15);
    let both = LIVE.with(Cell::get) - base;
    drop((inflater, deflater));
    (one, both)
}
