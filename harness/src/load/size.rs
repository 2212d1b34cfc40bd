//! Payload sizes: one size, a uniform range, or a weighted list (`--size`).

use std::fmt;

/// Largest payload a load message may have: 64 MiB.
pub const MAX_SIZE: u64 = 64 * 1024 * 1024;

/// How large each message's payload is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SizeDist {
    /// Every message has this many bytes.
    Fixed(u32),
    /// Uniform over `lo..=hi`.
    Range {
        /// Smallest.
        lo: u32,
        /// Largest.
        hi: u32,
    },
    /// `size:weight` pairs; cumulative weights kept for sampling.
    Weighted(Vec<(u32, u64)>),
}

/// A `--size` that cannot be understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("--size '{given}': {why} (examples: 64, 1KiB, 64..1024, 64:90,1024:10)")]
pub struct SizeError {
    given: String,
    why: String,
}

fn one(s: &str, given: &str) -> Result<u32, SizeError> {
    let err = |why: String| SizeError { given: given.to_string(), why };
    let n = reference_server::config::parse_size(s).map_err(err)?;
    if n > MAX_SIZE {
        return Err(err(format!("{n} bytes is over the {MAX_SIZE}-byte limit")));
    }
    Ok(n as u32)
}

impl SizeDist {
    /// Parses `64`, `4KiB`, `64..1024` or `64:90,1024:10`.
    pub fn parse(s: &str) -> Result<SizeDist, SizeError> {
        let s = s.trim();
        if let Some((lo, hi)) = s.split_once("..") {
            let (lo, hi) = (one(lo, s)?, one(hi.trim_start_matches('='), s)?);
            if lo > hi {
                return Err(SizeError { given: s.into(), why: "the range is empty".into() });
            }
            return Ok(if lo == hi { SizeDist::Fixed(lo) } else { SizeDist::Range { lo, hi } });
        }
        if s.contains(':') || s.contains(',') {
            let mut cum = 0u64;
            let mut list = Vec::new();
            for part in s.split(',') {
                let (size, weight) = part
                    .split_once(':')
                    .ok_or_else(|| SizeError { given: s.into(), why: format!("'{part}' is not SIZE:WEIGHT") })?;
                let w: u64 = weight.trim().parse().map_err(|_| SizeError {
                    given: s.into(),
                    why: format!("weight '{weight}' is not a whole number"),
                })?;
                if w == 0 {
                    continue;
                }
                cum += w;
                list.push((one(size, s)?, cum));
            }
            if list.is_empty() {
                return Err(SizeError { given: s.into(), why: "every weight is zero".into() });
            }
            return Ok(SizeDist::Weighted(list));
        }
        Ok(SizeDist::Fixed(one(s, s)?))
    }

    /// The largest size the distribution can draw.
    pub fn max(&self) -> u32 {
        match self {
            SizeDist::Fixed(n) => *n,
            SizeDist::Range { hi, .. } => *hi,
            SizeDist::Weighted(l) => l.iter().map(|(s, _)| *s).max().unwrap_or(0),
        }
    }

    /// The mean size.
    pub fn mean(&self) -> f64 {
        match self {
            SizeDist::Fixed(n) => f64::from(*n),
            SizeDist::Range { lo, hi } => (f64::from(*lo) + f64::from(*hi)) / 2.0,
            SizeDist::Weighted(l) => {
                let mut prev = 0;
                let total = l.last().map(|(_, c)| *c).unwrap_or(1) as f64;
                l.iter()
                    .map(|(s, c)| {
                        let w = c - prev;
                        prev = *c;
                        f64::from(*s) * w as f64
                    })
                    .sum::<f64>()
                    / total
            }
        }
    }

    /// Draws a size with the random word `r`.
    #[inline]
    pub fn sample(&self, r: u64) -> u32 {
        match self {
            SizeDist::Fixed(n) => *n,
            SizeDist::Range { lo, hi } => lo + (r % (u64::from(hi - lo) + 1)) as u32,
            SizeDist::Weighted(l) => {
                let total = l.last().map(|(_, c)| *c).unwrap_or(1);
                let x = r % total;
                l.iter().find(|(_, c)| x < *c).map(|(s, _)| *s).unwrap_or(0)
            }
        }
    }
}

impl fmt::Display for SizeDist {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SizeDist::Fixed(n) => write!(f, "{n}"),
            SizeDist::Range { lo, hi } => write!(f, "{lo}..{hi}"),
            SizeDist::Weighted(l) => {
                let mut prev = 0;
                for (i, (s, c)) in l.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    write!(f, "{s}:{}", c - prev)?;
                    prev = *c;
                }
                Ok(())
            }
        }
    }
}

/// A small fast generator (xorshift64*) for sizes; not for anything secret.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// Seeded; a zero seed is replaced.
    pub fn new(seed: u64) -> Rng {
        Rng(if seed == 0 { 0x9E37_79B9_7F4A_7C15 } else { seed })
    }

    /// The next word.
    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_three_forms() {
        assert_eq!(SizeDist::parse("64").unwrap(), SizeDist::Fixed(64));
        assert_eq!(SizeDist::parse("1KiB").unwrap(), SizeDist::Fixed(1024));
        assert_eq!(SizeDist::parse("64..1024").unwrap(), SizeDist::Range { lo: 64, hi: 1024 });
        assert_eq!(SizeDist::parse("64:90,1024:10").unwrap(), SizeDist::Weighted(vec![(64, 90), (1024, 100)]));
        assert_eq!(SizeDist::parse("64:90,1024:10").unwrap().to_string(), "64:90,1024:10");
    }

    #[test]
    fn rejects_nonsense_with_a_reason() {
        for bad in ["", "abc", "10..5", "64:x", "64:0", "1GiB"] {
            let e = SizeDist::parse(bad).unwrap_err().to_string();
            assert!(e.contains("--size"), "{bad}: {e}");
        }
    }

    #[test]
    fn samples_stay_in_range_and_follow_weights() {
        let mut rng = Rng::new(7);
        let r = SizeDist::Range { lo: 10, hi: 20 };
        assert!((0..10_000).map(|_| r.sample(rng.next_u64())).all(|s| (10..=20).contains(&s)));
        let w = SizeDist::parse("1:90,2:10").unwrap();
        let twos = (0..100_000).filter(|_| w.sample(rng.next_u64()) == 2).count();
        assert!((9_000..11_000).contains(&twos), "{twos}");
        assert!((w.mean() - 1.1).abs() < 1e-9);
    }
}
