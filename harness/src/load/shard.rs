//! `--shard i/N`: this process runs one part of a load that N processes (or pods) share.
//!
//! Connections, the rate and `--messages` are split so that the N shards add up exactly to the
//! whole: shard `i` gets `total / N`, plus one for the first `total % N` shards. `wsharness merge`
//! combines the shards' reports (histograms exactly).

use std::fmt;

/// One shard of N.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// 0-based index.
    pub index: u64,
    /// How many shards.
    pub count: u64,
}

/// A `--shard` that cannot be understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("--shard '{0}': expected i/N with 0 <= i < N, e.g. 0/3")]
pub struct ShardError(String);

impl Shard {
    /// The whole load.
    pub const WHOLE: Shard = Shard { index: 0, count: 1 };

    /// Parses `i/N`.
    pub fn parse(s: &str) -> Result<Shard, ShardError> {
        let err = || ShardError(s.to_string());
        let (i, n) = s.split_once('/').ok_or_else(err)?;
        let (index, count): (u64, u64) = (i.trim().parse().map_err(|_| err())?, n.trim().parse().map_err(|_| err())?);
        if count == 0 || index >= count {
            return Err(err());
        }
        Ok(Shard { index, count })
    }

    /// This shard's part of a count.
    pub fn part(&self, total: u64) -> u64 {
        total / self.count + u64::from(self.index < total % self.count)
    }

    /// This shard's part of a rate, in proportion to its connections.
    pub fn rate(&self, total_rate: f64, total_connections: u64) -> f64 {
        if total_connections == 0 {
            return total_rate / self.count as f64;
        }
        total_rate * self.part(total_connections) as f64 / total_connections as f64
    }

    /// The global index of this shard's connection `local` (connections are dealt round-robin).
    pub fn global_index(&self, local: u64) -> u64 {
        local * self.count + self.index
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_add_up_to_the_whole() {
        for total in [0u64, 1, 2, 10, 50_001] {
            for n in 1..=7 {
                let sum: u64 = (0..n).map(|i| Shard { index: i, count: n }.part(total)).sum();
                assert_eq!(sum, total);
                let rate: f64 = (0..n).map(|i| Shard { index: i, count: n }.rate(1000.0, total)).sum();
                assert!((rate - 1000.0).abs() < 1e-6, "{total} {n} {rate}");
            }
        }
    }

    #[test]
    fn parses_and_rejects() {
        assert_eq!(Shard::parse("2/3").unwrap(), Shard { index: 2, count: 3 });
        for bad in ["3/3", "1", "a/2", "0/0", "-1/2"] {
            assert!(Shard::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(Shard { index: 1, count: 3 }.global_index(2), 7);
    }
}
