//! Masking, RFC 6455 §5.3.
//!
//! Every client frame is masked with a 4-byte key: `octet[i] ^= key[i % 4]`.
//! [`apply_mask`] does this eight bytes at a time by repeating the key into a
//! `u64` (the same idea tungstenite and fastwebsockets use); LLVM turns the
//! loop into SIMD. [`apply_mask_bytewise`] is the plain definition, kept for
//! the tests (which compare both at every alignment and offset) and for the
//! `codec` benchmark, which measures the gain.

/// The 4-byte masking key of a client frame (RFC 6455 §5.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MaskingKey(pub [u8; 4]);

/// XORs `buf` with `key`, as if `buf` started `offset` bytes into the payload.
///
/// The offset lets a payload that arrives in pieces be unmasked piece by piece.
#[inline]
pub fn apply_mask(buf: &mut [u8], key: MaskingKey, offset: usize) {
    let mut k = key.0;
    k.rotate_left(offset % 4);
    let word = u64::from_ne_bytes([k[0], k[1], k[2], k[3], k[0], k[1], k[2], k[3]]);
    let mut chunks = buf.chunks_exact_mut(8);
    for chunk in &mut chunks {
        let mut b = [0u8; 8];
        b.copy_from_slice(chunk);
        chunk.copy_from_slice(&(u64::from_ne_bytes(b) ^ word).to_ne_bytes());
    }
    // the tail is shorter than 8 and starts at a multiple of 8, so at key index 0
    for (i, byte) in chunks.into_remainder().iter_mut().enumerate() {
        *byte ^= k[i % 4];
    }
}

/// The definition of §5.3, one byte at a time.
pub fn apply_mask_bytewise(buf: &mut [u8], key: MaskingKey, offset: usize) {
    for (i, byte) in buf.iter_mut().enumerate() {
        *byte ^= key.0[(offset + i) % 4];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn word_masking_equals_bytewise_at_every_alignment_offset_and_length() {
        let key = MaskingKey([0x37, 0xfa, 0x21, 0x3d]);
        let data: Vec<u8> = (0..100u32).map(|i| (i * 7 + 3) as u8).collect();
        for start in 0..8 {
            for len in 0..(data.len() - start) {
                for offset in 0..4 {
                    let mut fast = data.clone();
                    let mut slow = data.clone();
                    apply_mask(&mut fast[start..start + len], key, offset);
                    apply_mask_bytewise(&mut slow[start..start + len], key, offset);
                    assert_eq!(fast, slow, "start {start} len {len} offset {offset}");
                }
            }
        }
    }

    #[test]
    fn rfc_example_hello_unmasks() {
        // RFC 6455 §5.7: a single-frame masked text message "Hello"
        let mut payload = [0x7f, 0x9f, 0x4d, 0x51, 0x58];
        apply_mask(&mut payload, MaskingKey([0x37, 0xfa, 0x21, 0x3d]), 0);
        assert_eq!(&payload, b"Hello");
    }

    #[test]
    fn unmasking_in_pieces_equals_unmasking_whole() {
        let key = MaskingKey([1, 2, 3, 4]);
        let data: Vec<u8> = (0..37u8).collect();
        let mut whole = data.clone();
        apply_mask(&mut whole, key, 0);
        let mut pieces = data.clone();
        let (a, b) = pieces.split_at_mut(5);
        apply_mask(a, key, 0);
        apply_mask(b, key, 5);
        assert_eq!(whole, pieces);
    }
}
