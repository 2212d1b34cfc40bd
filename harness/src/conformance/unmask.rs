//! Testing a client, the case's bytes as a server sends them (RFC 6455 §5.1: a server masks no frame).
//!
//! Case files write payloads as plain hex by masking with the all-zero key (`send_raw` frames,
//! `mask = "00000000"`): XOR with zero changes nothing, so the same frames unmasked carry the same
//! payload. [`ServerBytes`] follows the frames across a case's writes and drops the MASK bit and the
//! zero key from each such header; any other key is kept (a masked server frame, which the client
//! must refuse). Bytes it cannot follow (a header cut at the end of a step) go out as written, and so
//! does everything after them.

/// The frame walker over everything a case sends, in order.
#[derive(Debug, Default)]
pub struct ServerBytes {
    state: State,
}

#[derive(Debug)]
enum State {
    /// At a frame header: its bytes so far.
    Header(Vec<u8>),
    /// Inside a payload: bytes left.
    Payload(u64),
    /// Lost track: bytes pass as written.
    Lost,
}

impl Default for State {
    fn default() -> Self {
        State::Header(Vec::new())
    }
}

/// The zero key: masking with it changes nothing.
const ZERO_KEY: [u8; 4] = [0; 4];

impl ServerBytes {
    /// One step's bytes as a server sends them. A header left incomplete at the end of the step is
    /// written as it is, and the walker stops converting.
    pub fn convert(&mut self, bytes: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(bytes.len());
        let mut rest = bytes;
        while !rest.is_empty() {
            match &mut self.state {
                State::Lost => {
                    out.extend_from_slice(rest);
                    rest = &[];
                }
                State::Payload(left) => {
                    let take = usize::try_from(*left).unwrap_or(usize::MAX).min(rest.len());
                    out.extend_from_slice(&rest[..take]);
                    rest = &rest[take..];
                    *left -= take as u64;
                    if *left == 0 {
                        self.state = State::Header(Vec::new());
                    }
                }
                State::Header(head) => {
                    head.push(rest[0]);
                    rest = &rest[1..];
                    if let Some((len, payload)) = header_len(head) {
                        if head.len() == len {
                            out.extend_from_slice(&server_header(head));
                            self.state = if payload == 0 { State::Header(Vec::new()) } else { State::Payload(payload) };
                        }
                    }
                }
            }
        }
        if let State::Header(head) = &self.state {
            if !head.is_empty() {
                out.extend_from_slice(head);
                self.state = State::Lost;
            }
        }
        out
    }
}

/// The length of the header starting with `head` and its declared payload length, once enough of it
/// is known (RFC 6455 §5.2).
fn header_len(head: &[u8]) -> Option<(usize, u64)> {
    let second = *head.get(1)?;
    let masked = second & 0x80 != 0;
    let (ext, len7) = match second & 0x7f {
        126 => (2, None),
        127 => (8, None),
        n => (0, Some(u64::from(n))),
    };
    let total = 2 + ext + if masked { 4 } else { 0 };
    let payload = match len7 {
        Some(n) => n,
        None => {
            let field = head.get(2..2 + ext)?;
            field.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b))
        }
    };
    Some((total, payload))
}

/// A complete header, its zero key dropped.
fn server_header(head: &[u8]) -> Vec<u8> {
    let masked = head[1] & 0x80 != 0;
    let key_at = head.len().saturating_sub(4);
    if masked && head[key_at..] == ZERO_KEY {
        let mut out = head[..key_at].to_vec();
        out[1] &= 0x7f;
        return out;
    }
    head.to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        let digits: String = s.split_whitespace().collect();
        (0..digits.len()).step_by(2).map(|i| u8::from_str_radix(&digits[i..i + 2], 16).unwrap()).collect()
    }

    #[test]
    fn zero_keyed_frames_go_out_unmasked_and_other_keys_stay() {
        let mut w = ServerBytes::default();
        // text "Hi" with the zero key, then a ping "x" with key 01020304
        let out = w.convert(&hex("81 82 00000000 4869  89 81 01020304 79"));
        assert_eq!(out, hex("81 02 4869  89 81 01020304 79"));
    }

    #[test]
    fn a_payload_continued_in_the_next_step_is_passed_through() {
        let mut w = ServerBytes::default();
        // a frame declaring 5 bytes, 2 of them in this step
        assert_eq!(w.convert(&hex("81 85 00000000 4865")), hex("81 05 4865"));
        // the other 3, then a close with the zero key
        assert_eq!(w.convert(&hex("6c6c6f 88 80 00000000")), hex("6c6c6f 88 00"));
    }

    #[test]
    fn a_header_cut_at_the_end_of_a_step_is_written_as_is_and_the_rest_passes() {
        let mut w = ServerBytes::default();
        assert_eq!(w.convert(&hex("81 fe 00")), hex("81 fe 00"));
        assert_eq!(w.convert(&hex("05 00000000 01")), hex("05 00000000 01"));
    }

    #[test]
    fn sixteen_bit_lengths_are_followed() {
        let mut w = ServerBytes::default();
        let mut frame = hex("82 fe 0080 00000000");
        frame.extend(vec![7u8; 128]);
        frame.extend(hex("88 80 00000000"));
        let mut want = hex("82 7e 0080");
        want.extend(vec![7u8; 128]);
        want.extend(hex("88 00"));
        assert_eq!(w.convert(&frame), want);
    }
}
