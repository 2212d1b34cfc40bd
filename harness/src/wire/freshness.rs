//! Whether a client's masking keys are fresh, judged over its frames (RFC 6455 §5.3).
//!
//! "The masking key is a 32-bit value chosen at random by the client ... The masking key needs to
//! be unpredictable ... the client MUST pick a fresh masking key for each frame." One frame cannot
//! show that; a connection's frames can. A client drawing keys at random breaks what is judged here
//! with probability 2^-31 per frame (about 5 in 10 million for a 1000-frame case): rare enough to
//! rate FAILED, not never (a second occurrence, at 2^-62, would be proof; see the issue 13 notes):
//! - a key equal to the key of the frame before it (a client that reuses one key, or none at all);
//! - an all-zero key (it masks nothing: the payload is on the wire as it is).
//!
//! Repeats further apart are left alone: among n random keys some repeat by chance (about
//! n^2 / 2^33: 0.2% for 4096 frames), so such a rule would fail correct clients.
//! Each rule is reported once per connection, with the first frame that broke it.

use super::mask::MaskingKey;
use super::violation::{Violation, ViolationKind};

/// The masking keys of one connection's client frames, seen in order.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct KeyFreshness {
    /// Frames seen.
    frames: u64,
    /// The key of the frame before.
    previous: Option<MaskingKey>,
    /// A repeat was reported.
    repeated: bool,
    /// A zero key was reported.
    zero: bool,
}

impl KeyFreshness {
    /// A connection with no frame yet.
    pub fn new() -> KeyFreshness {
        KeyFreshness::default()
    }

    /// The next client frame's key (`None`: an unmasked frame, judged by the header rules and
    /// ending any run of keys); what it breaks, at most once per rule and connection.
    pub fn observe(&mut self, key: Option<MaskingKey>) -> Option<Violation> {
        self.frames += 1;
        let frame = self.frames;
        let previous = std::mem::replace(&mut self.previous, key);
        let key = key?;
        if key.bytes() == [0; 4] && !self.zero {
            self.zero = true;
            // RFC 6455 §5.3: the masking key needs to be unpredictable
            return Some(Violation::new(
                ViolationKind::MaskingKeyZero,
                format!("frame {frame} is masked with 00000000"),
            ));
        }
        if previous == Some(key) && !self.repeated {
            self.repeated = true;
            // RFC 6455 §5.3: the client MUST pick a fresh masking key for each frame
            return Some(Violation::new(
                ViolationKind::MaskingKeyRepeated,
                format!("frame {frame} is masked with {key}, the key of frame {}", frame - 1),
            ));
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(keys: &[Option<[u8; 4]>]) -> Vec<(ViolationKind, String)> {
        let mut f = KeyFreshness::new();
        keys.iter().filter_map(|k| f.observe(k.map(MaskingKey))).map(|v| (v.kind, v.observed)).collect()
    }

    #[test]
    fn fresh_keys_break_nothing() {
        assert!(kinds(&[Some([1, 2, 3, 4]), Some([5, 6, 7, 8]), Some([1, 2, 3, 4]), Some([9, 9, 9, 9])]).is_empty());
        // a key repeated further apart: left alone (chance repeats are expected among many frames)
        assert!(kinds(&[Some([1, 2, 3, 4]), Some([4, 3, 2, 1]), Some([1, 2, 3, 4])]).is_empty());
    }

    #[test]
    fn a_key_used_twice_in_a_row_is_reported_once_with_the_frames() {
        let got =
            kinds(&[Some([0x37, 0xfa, 0x21, 0x3d]), Some([0x37, 0xfa, 0x21, 0x3d]), Some([0x37, 0xfa, 0x21, 0x3d])]);
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(got[0].0, ViolationKind::MaskingKeyRepeated);
        assert_eq!(got[0].1, "frame 2 is masked with 37fa213d, the key of frame 1");
    }

    #[test]
    fn a_zero_key_is_reported_once() {
        let got = kinds(&[Some([1, 1, 1, 1]), Some([0; 4]), Some([2, 2, 2, 2]), Some([0; 4])]);
        assert_eq!(got, [(ViolationKind::MaskingKeyZero, "frame 2 is masked with 00000000".to_owned())]);
    }

    #[test]
    fn an_unmasked_frame_ends_a_run_of_keys() {
        assert!(kinds(&[Some([1, 2, 3, 4]), None, Some([1, 2, 3, 4])]).is_empty());
    }
}
