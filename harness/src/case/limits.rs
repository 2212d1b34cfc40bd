//! What a case file may cost: every cap the loader checks, in one place.
//!
//! The loader computes a case's cost from the numbers written in the file
//! (payload sizes, `fragment`, `repeat`, delivery chunks, matrix sizes) before
//! it builds or expands anything, and refuses a file that goes past a cap with
//! `file:line: message` naming the field, the computed cost and the cap.
//! `cases/README.md` lists the caps in a table; keep the two in step.
//!
//! Each cap is at least what the shipped cases need, most are a few times
//! more (the figure is given with each), and low enough that a case at the cap runs in bounded memory (the
//! runner sends a step's frames from [`super::FrameStream`], a chunk at a time)
//! and in seconds on loopback.

/// Largest payload of one frame or one fragmented message (`payload_len`), and
/// largest `fragment`: 64 MiB. The largest shipped message is 32 MiB
/// (`limits/32-mib-message-in-64-kib-fragments`: twice the common 16 MiB limit); Autobahn's largest is 16 MiB
/// (9.1.6, 9.2.6).
pub const MAX_PAYLOAD_LEN: u64 = 64 << 20;

/// The largest inflated size of a `bomb` payload: 4 GiB (about 27 MiB compressed, sent as it is).
pub const MAX_BOMB: u64 = 4 << 30;

/// Most bytes one case may put on the wire over all its steps and
/// repetitions, frame headers included, and most payload bytes its
/// expectations may wait for: 192 MiB. The largest shipped case is Autobahn
/// 12.x.15's bound before compression: 1000 messages of 128 KiB in 256-byte
/// frames, 132 MiB with headers (compressed, far less); the cap leaves room for
/// that while stopping `repeat` from multiplying a large payload without end.
pub const MAX_CASE_BYTES: u64 = 192 << 20;

/// Most frames one case may send (every fragment and every repetition counts;
/// a `send_raw` repetition counts as one), and most events its expectations
/// may wait for (the sum of their `repeat`s): 1048576. The most a shipped case
/// sends is Autobahn 12.5.15's bound: 1000 messages of 128 KiB (incompressible) in 256-byte fragments,
/// 513,000 frames; `fragment = 1` on a 64 MiB
/// payload would be 67 million frames and 448 MiB of headers and payload.
pub const MAX_CASE_FRAMES: u64 = 1 << 20;

/// Most TCP writes one case's delivery (`chunk`, `chunks`) may cut its steps
/// into: 262144. The most a shipped case makes is 65550 (`delivery/byte-by-byte/text-65536-bytes`:
/// a 64 KiB message one byte at a time); `chunk = 1` on a 64 MiB payload would be 67 million writes.
pub const MAX_CASE_WRITES: u64 = 1 << 18;

/// Most `repeat` of one step: 4294967295, so that it fits any `usize`. The
/// frame and event caps above are what bound it in practice.
pub const MAX_REPEAT: u64 = u32::MAX as u64;

/// Most cases one `[[case]]` table may generate (its matrix values multiplied,
/// times its rows): 1024. The largest shipped family has 62 cases. Counted by
/// multiplication, with overflow checks, before any case is built.
pub const MAX_GENERATED_CASES: u64 = 1024;

/// Most cases one file may hold once its tables are expanded: 4096. The
/// largest shipped file holds 133. Counted before any case is built.
pub const MAX_FILE_CASES: u64 = 4096;

/// Largest case file: 4 MiB. The largest shipped file is 27 KiB.
pub const MAX_FILE_BYTES: u64 = 4 << 20;

/// Most bytes the loader may build from the case files of one load (one
/// file, or every file of a `--cases` folder): 256 MiB. Counts what the
/// loaded cases hold (strings with placeholders filled in, hex payloads,
/// expected payloads, steps) and the parameter sets of generated cases, as
/// they are built, so that `{a}{a}{a}...` with a long `a`, or many steps times
/// a matrix, cannot exhaust memory. All the shipped files together take 0.9 MiB;
/// the room is for expected payloads, which are built at load time (up to
/// [`MAX_PAYLOAD_LEN`] each).
pub const MAX_LOADED_BYTES: u64 = 256 << 20;

/// `bytes` for people: `64 MiB`, `61.0 TiB`, `5 bytes`.
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    if bytes < 1024 {
        return format!("{bytes} bytes");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    let shown = format!("{value:.1}");
    format!("{} {}", shown.strip_suffix(".0").unwrap_or(&shown), UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_in_binary_units() {
        assert_eq!(human_bytes(5), "5 bytes");
        assert_eq!(human_bytes(MAX_PAYLOAD_LEN), "64 MiB");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(u64::MAX), "16 EiB");
    }
}
