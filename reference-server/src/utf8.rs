//! Incremental UTF-8 validation, RFC 6455 §5.6 and §8.1.
//!
//! A text message may arrive split anywhere: across frames, and inside a
//! frame across TCP reads. [`Utf8Validator`] checks each piece as it arrives
//! and fails as soon as the bytes seen so far cannot begin valid UTF-8
//! ("fail fast"), instead of waiting for the end of the message.

/// Why a text payload was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvalidUtf8;

/// Validates a UTF-8 byte stream fed in arbitrary pieces.
#[derive(Debug, Default, Clone)]
pub struct Utf8Validator {
    /// The bytes of a code point cut off at the end of the last piece.
    partial: [u8; 4],
    partial_len: u8,
}

impl Utf8Validator {
    /// A validator at the start of a message.
    pub fn new() -> Self {
        Self::default()
    }

    /// Validates the next piece; an error means no continuation can make the
    /// stream valid.
    pub fn feed(&mut self, mut bytes: &[u8]) -> Result<(), InvalidUtf8> {
        // Complete a code point left over from the previous piece, byte by byte.
        while self.partial_len > 0 {
            let Some((&b, rest)) = bytes.split_first() else {
                return Ok(());
            };
            self.partial[usize::from(self.partial_len)] = b;
            self.partial_len += 1;
            bytes = rest;
            match std::str::from_utf8(&self.partial[..usize::from(self.partial_len)]) {
                Ok(_) => self.partial_len = 0,
                Err(e) if e.error_len().is_some() => return Err(InvalidUtf8),
                Err(_) => {} // still a valid prefix: wait for more
            }
        }
        match std::str::from_utf8(bytes) {
            Ok(_) => Ok(()),
            // std reports `error_len() == None` only for a valid but unfinished
            // sequence at the very end (it checks the second byte's range too).
            Err(e) if e.error_len().is_none() => {
                let tail = &bytes[e.valid_up_to()..];
                self.partial[..tail.len()].copy_from_slice(tail);
                self.partial_len = tail.len() as u8;
                Ok(())
            }
            Err(_) => Err(InvalidUtf8),
        }
    }

    /// Checks that the message does not end inside a code point.
    pub fn finish(&mut self) -> Result<(), InvalidUtf8> {
        let complete = self.partial_len == 0;
        self.partial_len = 0;
        if complete {
            Ok(())
        } else {
            Err(InvalidUtf8)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed_all(pieces: &[&[u8]]) -> Result<(), InvalidUtf8> {
        let mut v = Utf8Validator::new();
        for p in pieces {
            v.feed(p)?;
        }
        v.finish()
    }

    #[test]
    fn accepts_valid_text_split_at_every_byte() {
        let text = "κόσμε Hello-µ@ßöäüàá-UTF-8!! 𝄞 \u{10FFFF}".as_bytes();
        for cut in 0..=text.len() {
            assert_eq!(feed_all(&[&text[..cut], &text[cut..]]), Ok(()), "cut {cut}");
        }
        let bytes: Vec<&[u8]> = text.chunks(1).collect();
        assert_eq!(feed_all(&bytes), Ok(()));
    }

    #[test]
    fn fails_fast_on_an_impossible_prefix() {
        // surrogate half: ED A0 can never become valid
        let mut v = Utf8Validator::new();
        assert_eq!(v.feed(&[0xED]), Ok(()));
        assert_eq!(v.feed(&[0xA0]), Err(InvalidUtf8));
        // beyond U+10FFFF: F4 90
        let mut v = Utf8Validator::new();
        assert_eq!(v.feed(&[b'a', 0xF4]), Ok(()));
        assert_eq!(v.feed(&[0x90]), Err(InvalidUtf8));
        // overlong: C0 is never valid
        assert_eq!(Utf8Validator::new().feed(&[0xC0]), Err(InvalidUtf8));
        // a lone continuation byte
        assert_eq!(Utf8Validator::new().feed(&[0x80]), Err(InvalidUtf8));
    }

    #[test]
    fn rejects_a_message_ending_inside_a_code_point() {
        assert_eq!(feed_all(&[&[0xF0, 0x9D, 0x84]]), Err(InvalidUtf8));
        assert_eq!(feed_all(&[b"ok", &[0xCE]]), Err(InvalidUtf8));
    }

    #[test]
    fn agrees_with_std_on_random_bytes_in_random_pieces() {
        let mut seed = 0x2545F4914F6CDD1Du64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..5000 {
            let len = (next() % 12) as usize;
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    [0x41, 0xC3, 0xA9, 0xE2, 0x82, 0xAC, 0xF0, 0x9F, 0x98, 0x80, 0xED, 0xFF][(next() % 12) as usize]
                })
                .collect();
            let cut = if len == 0 { 0 } else { (next() as usize) % len };
            let expected = std::str::from_utf8(&bytes).is_ok();
            assert_eq!(feed_all(&[&bytes[..cut], &bytes[cut..]]).is_ok(), expected, "{bytes:02x?} cut {cut}");
        }
    }
}
