//! Incremental UTF-8 validation that fails fast (RFC 6455 §8.1).
//!
//! Bytes are fed as they arrive, however they are cut; [`Utf8Validator::feed`]
//! reports invalid input at the first byte that makes it so, not at the end of
//! the message. `std::str::from_utf8` does the work: its `error_len() == None`
//! means "incomplete sequence at the end", which more bytes may complete.

/// The state of a text message being validated.
#[derive(Debug, Clone, Default)]
pub(crate) struct Utf8Validator {
    /// The bytes of an incomplete sequence at the end of what was fed (at most 3).
    pending: Vec<u8>,
}

impl Utf8Validator {
    /// Feeds more bytes; `false` as soon as the input cannot be valid UTF-8, whatever follows.
    pub fn feed(&mut self, mut bytes: &[u8]) -> bool {
        while !self.pending.is_empty() {
            let Some((&first, rest)) = bytes.split_first() else { return true };
            self.pending.push(first);
            bytes = rest;
            match std::str::from_utf8(&self.pending) {
                Ok(_) => self.pending.clear(),
                Err(e) if e.error_len().is_some() => return false,
                Err(_) => {}
            }
        }
        match std::str::from_utf8(bytes) {
            Ok(_) => true,
            Err(e) if e.error_len().is_some() => false,
            Err(e) => {
                self.pending.extend_from_slice(&bytes[e.valid_up_to()..]);
                true
            }
        }
    }

    /// Whether what was fed ends on a character boundary.
    pub fn is_complete(&self) -> bool {
        self.pending.is_empty()
    }
}
