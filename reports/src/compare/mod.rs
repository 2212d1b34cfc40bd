//! Comparing two runs: what got worse, what got better.
//!
//! [`compare`] takes a base and a new report of the same kind and returns a
//! [`Comparison`]: for conformance runs the cases that got worse, better,
//! changed without getting worse or better, appeared or disappeared; for load
//! runs the latency percentiles, throughput and error rate with their change
//! against `--max-regression`. The
//! comparison knows its regressions ([`Comparison::regressions`]): `wsharness
//! compare` exits 1 when there is any, which is how a CI job gates on a
//! committed baseline instead of on timing.

mod conformance;
mod load;

pub use conformance::{CaseChange, CaseState, ConformanceDiff, RunInfo};
pub use load::{LoadDiff, LoadRunInfo, MetricDelta};

use crate::Report;

/// How much worse a measured value may get before it counts as a regression
/// (load reports; conformance verdicts have no tolerance).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Thresholds {
    /// Percent, e.g. `10.0`: a latency may grow, a throughput shrink, by this much.
    pub max_regression_pct: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds { max_regression_pct: 10.0 }
    }
}

/// Parses `10%`, `10` or `2.5%` as a percentage (not negative, finite).
pub fn parse_percent(s: &str) -> Result<f64, String> {
    let t = s.trim();
    let number = t.strip_suffix('%').unwrap_or(t).trim();
    match number.parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(v),
        _ => Err(format!("'{s}' is not a percentage (expected e.g. 10% or 2.5%)")),
    }
}

/// Why two reports cannot be compared.
#[derive(Debug, thiserror::Error)]
pub enum CompareError {
    /// A conformance report against a load report, or the reverse.
    #[error("cannot compare a {base} report with a {new} report")]
    KindMismatch {
        /// The base's kind.
        base: &'static str,
        /// The new report's kind.
        new: &'static str,
    },
    /// A report on a server against one on a client, or the reverse: their cases judge different rules.
    #[error("cannot compare a report on a {base} with a report on a {new}: their cases judge different sides")]
    RoleMismatch {
        /// What the base tested.
        base: &'static str,
        /// What the new report tested.
        new: &'static str,
    },
}

/// The difference between two runs.
#[derive(Debug, Clone, PartialEq)]
pub enum Comparison {
    /// Two conformance runs.
    Conformance(ConformanceDiff),
    /// Two load runs.
    Load(LoadDiff),
}

impl Comparison {
    /// One line per regression beyond the thresholds; empty when there is none.
    pub fn regressions(&self) -> Vec<String> {
        match self {
            Comparison::Conformance(d) => d.regressions(),
            Comparison::Load(d) => d.regressions(),
        }
    }

    /// The terminal table.
    pub fn text(&self) -> String {
        match self {
            Comparison::Conformance(d) => d.text(),
            Comparison::Load(d) => d.text(),
        }
    }
}

/// Compares `new` against `base`; the names label them in the output.
pub fn compare(
    base: &Report,
    new: &Report,
    base_name: &str,
    new_name: &str,
    thresholds: &Thresholds,
) -> Result<Comparison, CompareError> {
    match (base, new) {
        // conformance verdicts have no tolerance
        (Report::Conformance(b), Report::Conformance(n)) if b.role != n.role => {
            Err(CompareError::RoleMismatch { base: b.role.as_str(), new: n.role.as_str() })
        }
        (Report::Conformance(b), Report::Conformance(n)) => {
            Ok(Comparison::Conformance(ConformanceDiff::new(b, n, base_name, new_name)))
        }
        (Report::Load(b), Report::Load(n)) => {
            Ok(Comparison::Load(LoadDiff::new(b, n, base_name, new_name, thresholds.max_regression_pct)))
        }
        (b, n) => Err(CompareError::KindMismatch { base: b.kind(), new: n.kind() }),
    }
}

/// Pads `rows` into aligned columns (two spaces apart), one line each.
pub(crate) fn table(rows: &[Vec<String>]) -> String {
    let columns = rows.iter().map(|r| r.len()).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|i| rows.iter().filter_map(|r| r.get(i)).map(|c| c.chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for row in rows {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            if i + 1 == row.len() {
                line.push_str(cell);
            } else {
                line.push_str(cell);
                line.push_str(&" ".repeat(widths[i] - cell.chars().count() + 2));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentages_parse_with_or_without_the_sign_and_refuse_nonsense() {
        assert_eq!(parse_percent("10%"), Ok(10.0));
        assert_eq!(parse_percent(" 2.5 % "), Ok(2.5));
        assert_eq!(parse_percent("0"), Ok(0.0));
        assert!(parse_percent("-5%").is_err());
        assert!(parse_percent("ten").is_err());
        assert!(parse_percent("NaN").is_err());
    }

    #[test]
    fn table_aligns_columns() {
        let t = table(&[vec!["a".into(), "bb".into(), "c".into()], vec!["aaa".into(), "b".into(), "c".into()]]);
        assert_eq!(t, "a    bb  c\naaa  b   c\n");
    }
}
