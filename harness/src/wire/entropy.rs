//! Unpredictable bytes for masking keys and handshake nonces, from std alone.
//!
//! No `rand` crate is available, so this hashes a process-wide counter with
//! std's `RandomState`: its SipHash keys are seeded from the operating system's
//! randomness once per thread and change on every `RandomState::new()`. The
//! result is unpredictable to a server under test (RFC 6455 §5.3 and §4.1 ask
//! for unpredictable masking keys and nonces), but it is not a cryptographic
//! generator and must not be used as one.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A fresh unpredictable 64-bit value.
fn next_u64() -> u64 {
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    hasher.finish()
}

/// A fresh unpredictable 64-bit value, for the crate's other needs (a scenario's random pauses).
pub(crate) fn random_u64() -> u64 {
    next_u64()
}

/// `N` fresh unpredictable bytes.
pub(crate) fn random_bytes<const N: usize>() -> [u8; N] {
    let mut out = [0u8; N];
    for chunk in out.chunks_mut(8) {
        let word = next_u64().to_le_bytes();
        chunk.copy_from_slice(&word[..chunk.len()]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn successive_draws_differ() {
        let draws: Vec<[u8; 16]> = (0..64).map(|_| random_bytes()).collect();
        for (i, a) in draws.iter().enumerate() {
            for b in &draws[i + 1..] {
                assert_ne!(a, b);
            }
        }
    }

    #[test]
    fn odd_lengths_are_filled() {
        let bytes: [u8; 13] = random_bytes();
        assert_eq!(bytes.len(), 13);
    }
}
