//! What the per-message benchmarks (`load_path.rs`) and the instruction counts
//! (`examples/load_instructions.rs`) share.

use wsharness::wire::{FrameReader, FrameSpec};

/// What an echo server sends back for these client frames (unmasked, as a server sends them).
pub fn echo_of(client: &[u8]) -> Vec<u8> {
    let mut r = FrameReader::new();
    r.push(client);
    let mut out = Vec::new();
    while let Ok(Some(f)) = r.next_frame() {
        out.extend(FrameSpec::new(f.opcode(), f.payload).unmasked().encode().unwrap_or_default());
    }
    out
}
