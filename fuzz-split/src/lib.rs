//! The input layout shared by every fuzz target that feeds a parser a byte stream in reads:
//! `[n][n × u16 LE cut][data]` ([`Split`]), and the property those targets check of a parser that waits for more
//! bytes ([`prefix_agrees`]).
//!
//! Both fuzz crates (`reference-server/fuzz/`, `harness/fuzz/`) and the seed generator
//! (`harness/fuzz/examples/seeds.rs`, which writes both crates' seeds from the case library) use this one
//! definition, so a seed written for one target reads back the same in every other.

use std::fmt::{Debug, Display};

/// Most cuts a [`Split`] input holds.
pub const MAX_CUTS: usize = 16;

/// Reads `[n][n × u16 LE]` from the front of `input`: the raw cuts and the rest.
/// `n` is taken modulo `MAX_CUTS + 1`; missing cut bytes mean fewer cuts.
pub fn raw_cuts(input: &[u8]) -> (Vec<u16>, &[u8]) {
    let Some((&n, rest)) = input.split_first() else { return (Vec::new(), input) };
    let n = (usize::from(n) % (MAX_CUTS + 1)).min(rest.len() / 2);
    let (raw, rest) = rest.split_at(2 * n);
    (raw.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect(), rest)
}

/// Cuts of a `len`-byte stream: each raw cut modulo `len + 1`, sorted.
pub fn cuts_for(raw: &[u16], len: usize) -> Vec<usize> {
    let mut cuts: Vec<usize> = raw.iter().map(|&c| usize::from(c) % (len + 1)).collect();
    cuts.sort_unstable();
    cuts
}

/// `data` cut at `cuts` (sorted, each at most `data.len()`): together the pieces are `data`.
pub fn pieces<'a>(data: &'a [u8], cuts: &[usize]) -> Vec<&'a [u8]> {
    let mut out = Vec::with_capacity(cuts.len() + 1);
    let mut from = 0;
    for &cut in cuts.iter().chain([&data.len()]) {
        out.push(&data[from..cut]);
        from = cut;
    }
    out
}

/// A byte stream and the points where it is cut into reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split<'a> {
    /// Cut points, sorted, each in `0..=data.len()`.
    pub cuts: Vec<usize>,
    /// The stream.
    pub data: &'a [u8],
}

impl<'a> Split<'a> {
    /// Reads `[n][n × u16 LE cut][data]`: `n % (MAX_CUTS + 1)` cuts, each taken
    /// modulo `data.len() + 1`; missing cut bytes mean fewer cuts.
    pub fn parse(input: &'a [u8]) -> Split<'a> {
        let (raw, data) = raw_cuts(input);
        Split { cuts: cuts_for(&raw, data.len()), data }
    }

    /// The layout [`Split::parse`] reads back as these cuts of `data` (at most [`MAX_CUTS`] of them).
    pub fn encode(cuts: &[u16], data: &[u8]) -> Vec<u8> {
        let cuts = &cuts[..cuts.len().min(MAX_CUTS)];
        let mut out = vec![cuts.len() as u8];
        for c in cuts {
            out.extend_from_slice(&c.to_le_bytes());
        }
        out.extend_from_slice(data);
        out
    }

    /// The reads, in order: together they are `data`.
    pub fn pieces(&self) -> Vec<&'a [u8]> {
        pieces(self.data, &self.cuts)
    }
}

/// What a head parser (`Ok(None)`: need more bytes; `Ok(Some((head, used)))`; `Err`: refused) said of the
/// prefix ending at `cut` agrees with what it says of the whole stream. Panics (the fuzz failure) if not.
pub fn prefix_agrees<T, E>(prefix: &Result<Option<(T, usize)>, E>, whole: &Result<Option<(T, usize)>, E>, cut: usize)
where
    T: PartialEq + Debug,
    E: PartialEq + Debug + Display,
{
    match prefix {
        // need more: the head is not complete within the prefix
        Ok(None) => assert!(
            !matches!(whole, Ok(Some((_, n))) if *n <= cut),
            "a complete head at cut {cut} was not seen: {whole:?}"
        ),
        Ok(Some(_)) => assert_eq!(prefix, whole, "cut {cut}"),
        // more bytes never make a refused head acceptable
        Err(e) => assert!(whole.is_err(), "prefix refused ({e}) at cut {cut}, whole accepted"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_layout_reads_back_what_encode_wrote() {
        let input = Split::encode(&[5, 2], b"hello world");
        let split = Split::parse(&input);
        assert_eq!(split.cuts, [2, 5]);
        assert_eq!(split.pieces(), [&b"he"[..], b"llo", b" world"]);
        assert_eq!(Split::parse(&[]).pieces(), [&b""[..]]);
    }

    #[test]
    fn cuts_wrap_at_the_stream_length_and_missing_cut_bytes_mean_fewer_cuts() {
        // n = 3 but only three bytes follow the count: one cut (9), the last byte is the data
        let split = Split::parse(&[3, 9, 0, b'a']);
        assert_eq!(split.cuts, [1], "9 % (1 + 1)");
        assert_eq!(split.data, b"a");
        assert_eq!(Split::parse(&Split::encode(&[1; 20], b"x")).cuts.len(), MAX_CUTS);
    }

    #[test]
    fn a_prefix_that_sees_a_head_the_whole_does_not_is_caught() {
        type Parsed = Result<Option<(u8, usize)>, String>;
        let whole: Parsed = Ok(Some((1, 4)));
        prefix_agrees(&Ok(None), &whole, 3);
        prefix_agrees(&Ok(Some((1, 4))), &whole, 4);
        let missed = std::panic::catch_unwind(|| prefix_agrees::<u8, String>(&Ok(None), &whole, 4));
        assert!(missed.is_err(), "a complete head within the prefix must have been seen");
        let refused = std::panic::catch_unwind(|| prefix_agrees::<u8, String>(&Err("bad".into()), &whole, 2));
        assert!(refused.is_err(), "a refused prefix cannot become acceptable");
    }
}
