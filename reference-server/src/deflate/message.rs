//! The message being inflated (RFC 7692 §6.2), held in segments that are
//! allocated at their final size and never moved.
//!
//! A `Vec` that grows by reallocation can hold the old and the new block at
//! once, and the allocator keeps the freed block resident. Under a bomb the
//! inflated message used to grow 4 KiB, 256 KiB, 512 KiB, 1 MiB: strace showed
//! the 256 KiB block taken from the heap (glibc raises its mmap threshold once
//! a larger block, such as a deflater, is freed), then copied into a new 512
//! KiB mapping and freed, still resident, under the 1 MiB the message reached.
//! Segments are never copied: the bytes held are the bytes inflated, and the
//! capacity never passes the message limit, so a bomb costs the limit and the
//! inflater only.

/// The smallest first segment.
const MIN_FIRST_SEGMENT: usize = 256;
/// The largest first segment: a small message never allocates more.
const FIRST_SEGMENT: usize = 4 * 1024;
/// The largest segment: below glibc's smallest mmap threshold (128 KiB), so a
/// segment is a heap block without a page of its own for a header, and the
/// per-segment cost (one inflate call, one allocation) stays small.
const MAX_SEGMENT: usize = 64 * 1024;

/// The plaintext of a compressed message as it is inflated: a sequence of
/// segments, every one full but the last, each allocated once at its final size.
///
/// A segment is zeroed once, when it is allocated, and inflated into as a
/// slice: flate2 (1.1.10, zlib-rs backend) zeroes the whole spare capacity of a
/// `Vec` on every `decompress_vec` call, which for a large buffer fed 4 KiB at
/// a time cost as many instructions as the inflating (callgrind, a 1 MiB message).
#[derive(Debug, Default)]
pub struct InflatedMessage {
    /// Each allocated at its final size, all of it initialised.
    segments: Vec<Vec<u8>>,
    /// Bytes in all the segments but the last.
    sealed: usize,
    /// Bytes in the last segment.
    filled: usize,
    /// The size of all the segments.
    capacity: usize,
}

impl InflatedMessage {
    /// Bytes held.
    pub fn len(&self) -> usize {
        self.sealed + self.filled
    }

    /// Whether no byte is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes allocated for the message: never more than the limit it is inflated under.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// The bytes, a slice per segment.
    pub fn segments(&self) -> impl Iterator<Item = &[u8]> {
        let last = self.segments.len().saturating_sub(1);
        let filled = self.filled;
        self.segments.iter().enumerate().map(move |(i, s)| if i == last { &s[..filled] } else { &s[..] })
    }

    /// The bytes from offset `start` on (the ones just inflated), a slice per segment.
    pub fn since(&self, start: usize) -> impl Iterator<Item = &[u8]> {
        // from the back: what was just inflated is in the last segments
        let (mut first, mut offset) = (self.segments.len(), self.len());
        while first > 0 && offset > start {
            first -= 1;
            offset -= if first + 1 == self.segments.len() { self.filled } else { self.segments[first].len() };
        }
        let skip = start.saturating_sub(offset);
        self.segments().skip(first).enumerate().map(move |(i, s)| if i == 0 { &s[skip.min(s.len())..] } else { s })
    }

    /// Where the next inflated bytes go, to be told with [`Self::advance`]: the
    /// rest of the last segment while it has room, else a new segment
    /// ([`next_segment`]; `compressed`, the message's size on the wire so far,
    /// sizes the first) that takes the capacity at most to `limit`. `None` when
    /// the capacity is the limit and it is all used.
    pub(crate) fn room(&mut self, limit: usize, compressed: usize) -> Option<&mut [u8]> {
        let full = self.segments.last().is_none_or(|s| self.filled == s.len());
        if full {
            if self.capacity >= limit {
                return None;
            }
            let size = next_segment(self.capacity, limit, compressed);
            self.sealed += self.filled;
            self.filled = 0;
            self.capacity += size;
            self.segments.push(vec![0; size]);
        }
        let filled = self.filled;
        self.segments.last_mut().map(|s| &mut s[filled..])
    }

    /// Counts `n` bytes written at the start of the last [`Self::room`].
    pub(crate) fn advance(&mut self, n: usize) {
        let size = self.segments.last().map_or(0, Vec::len);
        self.filled = (self.filled + n).min(size);
    }

    /// The segments, each cut to its bytes, to be consumed (and freed) one at a time.
    pub(crate) fn into_segments(mut self) -> std::vec::IntoIter<Vec<u8>> {
        if let Some(last) = self.segments.last_mut() {
            last.truncate(self.filled);
        }
        self.segments.into_iter()
    }

    /// Appends the last `n` bytes (at most all of them) to `dst`.
    pub(crate) fn copy_tail(&self, n: usize, dst: &mut Vec<u8>) {
        for part in self.since(self.len().saturating_sub(n)) {
            dst.extend_from_slice(part);
        }
    }

    /// A message holding `bytes`, in one segment.
    #[cfg(test)]
    pub(crate) fn from_slice(bytes: &[u8]) -> InflatedMessage {
        InflatedMessage { segments: vec![bytes.to_vec()], sealed: 0, filled: bytes.len(), capacity: bytes.len() }
    }

    /// The bytes, in one `Vec`.
    #[cfg(test)]
    pub(crate) fn to_vec(&self) -> Vec<u8> {
        self.segments().flatten().copied().collect()
    }
}

/// The size of the segment after `capacity` bytes, under `limit` (> `capacity`):
/// first four times the `compressed` size (text inflates 2-4 times), 256 bytes
/// to 4 KiB (each segment is zeroed once: a 64-byte message zeroes 256 bytes,
/// not 4 KiB); then as much as is held (doubling the capacity), up to 64 KiB a segment.
fn next_segment(capacity: usize, limit: usize, compressed: usize) -> usize {
    let size = match capacity {
        0 => compressed.saturating_mul(4).clamp(MIN_FIRST_SEGMENT, FIRST_SEGMENT),
        c => c.min(MAX_SEGMENT),
    };
    size.min(limit - capacity)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_grow_to_64_kib_and_stop_at_the_limit() {
        let limit = 200_000;
        let mut m = InflatedMessage::default();
        let mut sizes = Vec::new();
        while let Some(room) = m.room(limit, 5000) {
            sizes.push(room.len());
            room.fill(7);
            let n = room.len();
            m.advance(n);
        }
        let k = 1024;
        assert_eq!(sizes, [4 * k, 4 * k, 8 * k, 16 * k, 32 * k, 64 * k, 64 * k, 200_000 - 192 * k]);
        assert_eq!((m.len(), m.capacity()), (limit, limit));
    }

    #[test]
    fn since_and_copy_tail_cross_segments() {
        let mut m = InflatedMessage::default();
        let bytes: Vec<u8> = (0..20_000u32).map(|i| i as u8).collect();
        let mut fed = 0;
        while fed < bytes.len() {
            let Some(room) = m.room(usize::MAX, 10) else { break };
            let n = room.len().min(bytes.len() - fed).min(1000);
            room[..n].copy_from_slice(&bytes[fed..fed + n]);
            m.advance(n);
            fed += n;
        }
        assert_eq!(m.to_vec(), bytes);
        assert_eq!((m.len(), m.capacity()), (20_000, 256 * 128));
        for start in [0, 1, 4095, 4096, 4097, 8192, 12_000, 19_999, 20_000] {
            let tail: Vec<u8> = m.since(start).flatten().copied().collect();
            assert_eq!(tail, &bytes[start..], "since {start}");
            let mut dst = vec![1, 2];
            m.copy_tail(20_000 - start, &mut dst);
            assert_eq!(&dst[2..], &bytes[start..], "tail from {start}");
        }
        assert_eq!(InflatedMessage::default().since(0).count(), 0);
        let segments: Vec<Vec<u8>> = m.into_segments().collect();
        let lens = [256, 256, 512, 1024, 2048, 4096, 8192, 20_000 - 16_384];
        assert_eq!(segments.iter().map(Vec::len).collect::<Vec<_>>(), lens);
        assert_eq!(segments.concat(), bytes);
    }
}
