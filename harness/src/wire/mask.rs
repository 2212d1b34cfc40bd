//! Masking keys and the masking transform (RFC 6455 §5.3).
//!
//! This is the plain byte loop from the RFC; clarity over speed. A tester masks
//! what it sends and unmasks the (invalid) masked frames a server might send,
//! neither of which is on a hot path.

use std::fmt;

use super::entropy::random_bytes;

/// The 32-bit masking key carried in a masked frame's header.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct MaskingKey(pub [u8; 4]);

impl MaskingKey {
    /// A fresh unpredictable key (see the `entropy` module for how it is drawn).
    pub fn random() -> MaskingKey {
        MaskingKey(random_bytes())
    }

    /// The key's four bytes, in wire order.
    pub const fn bytes(self) -> [u8; 4] {
        self.0
    }

    /// Masks or unmasks `data` in place (the transform is its own inverse).
    pub fn apply(self, data: &mut [u8]) {
        apply_mask(data, self);
    }
}

impl fmt::Debug for MaskingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MaskingKey({self})")
    }
}

impl fmt::Display for MaskingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c, d] = self.0;
        write!(f, "{a:02x}{b:02x}{c:02x}{d:02x}")
    }
}

/// Whether a frame to build is masked, and with which key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mask {
    /// Unmasked: MASK bit 0, no key in the header.
    None,
    /// Masked with this key: MASK bit 1, key in the header, payload transformed.
    Key(MaskingKey),
}

impl Mask {
    /// The key, if masked.
    pub const fn key(self) -> Option<MaskingKey> {
        match self {
            Mask::None => None,
            Mask::Key(key) => Some(key),
        }
    }
}

/// Masks or unmasks `data` in place with `key`, starting at key byte 0.
pub fn apply_mask(data: &mut [u8], key: MaskingKey) {
    // RFC 6455 §5.3: octet i is XORed with octet (i MOD 4) of the masking key
    for (i, byte) in data.iter_mut().enumerate() {
        *byte ^= key.0[i % 4];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_hello_as_in_rfc_example() {
        // RFC 6455 §5.7: "Hello" with key 37 fa 21 3d
        let mut data = *b"Hello";
        apply_mask(&mut data, MaskingKey([0x37, 0xfa, 0x21, 0x3d]));
        assert_eq!(data, [0x7f, 0x9f, 0x4d, 0x51, 0x58]);
    }

    #[test]
    fn masking_twice_restores_the_data() {
        let key = MaskingKey([1, 2, 3, 4]);
        let original: Vec<u8> = (0..=255).collect();
        let mut data = original.clone();
        key.apply(&mut data);
        assert_ne!(data, original);
        key.apply(&mut data);
        assert_eq!(data, original);
    }

    #[test]
    fn zero_key_leaves_data_unchanged() {
        let mut data = *b"unchanged";
        apply_mask(&mut data, MaskingKey([0; 4]));
        assert_eq!(&data, b"unchanged");
    }

    #[test]
    fn key_displays_as_hex() {
        assert_eq!(MaskingKey([0x37, 0xfa, 0x21, 0x3d]).to_string(), "37fa213d");
    }
}
