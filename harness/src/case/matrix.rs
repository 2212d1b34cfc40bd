//! A `[[case]]` family: how many cases its matrix and rows generate, counted
//! by multiplication before any is built, and the parameters of the i-th one,
//! built alone (the family is never held whole).
//!
//! Order: every combination of the matrix values (names in sorted order, the
//! last name varying fastest), each combined with every row in turn.

use std::collections::BTreeMap;

use super::limits::MAX_GENERATED_CASES;
use super::raw::{RawCase, Value};

/// Placeholder names the loader or the runner fill in themselves.
const RESERVED: [&str; 4] = ["index", "key", "host", "path"];

/// How many cases `case` generates; refused when a matrix name has no value,
/// a name is reserved, or the count passes [`MAX_GENERATED_CASES`].
pub(super) fn count(case: &RawCase) -> Result<u64, String> {
    if let Some((name, _)) = case.matrix.iter().find(|(_, values)| values.is_empty()) {
        return Err(format!("matrix '{name}' has no values"));
    }
    let names = case.matrix.keys().chain(case.rows.iter().flat_map(BTreeMap::keys));
    if let Some(name) = names.into_iter().find(|n| RESERVED.contains(&n.as_str())) {
        return Err(format!("'{name}' is a reserved placeholder name: {{index}} numbers generated cases, {{key}}, {{host}} and {{path}} are filled in when connecting"));
    }
    let factors = case.matrix.values().map(Vec::len).chain((!case.rows.is_empty()).then_some(case.rows.len()));
    let total = factors.into_iter().try_fold(1u64, |n, f| n.checked_mul(f as u64));
    match total {
        Some(n) if n <= MAX_GENERATED_CASES => Ok(n),
        _ => {
            let mut parts: Vec<String> =
                case.matrix.iter().map(|(name, values)| format!("matrix.{name} ({} values)", values.len())).collect();
            if !case.rows.is_empty() {
                parts.push(format!("{} rows", case.rows.len()));
            }
            let n = total.map_or_else(|| format!("more than {}", u64::MAX), |n| n.to_string());
            Err(format!(
                "{}: {n} cases; a [[case]] may generate at most {MAX_GENERATED_CASES}: \
                 split it into several [[case]] tables, or list the combinations you need as [[case.rows]]",
                parts.join(" x ")
            ))
        }
    }
}

/// The parameters of case `i` (0-based) of a family of `n` (from [`count`]),
/// with `index` (1-based) when the family has more than one case.
pub(super) fn params(case: &RawCase, i: u64, n: u64) -> BTreeMap<String, Value> {
    let mut params = BTreeMap::new();
    let mut rest = i;
    let row = (!case.rows.is_empty()).then(|| {
        let len = case.rows.len() as u64;
        let row = (rest % len) as usize;
        rest /= len;
        row
    });
    for (name, values) in case.matrix.iter().rev() {
        let len = (values.len() as u64).max(1);
        if let Some(value) = values.get((rest % len) as usize) {
            params.insert(name.clone(), value.clone());
        }
        rest /= len;
    }
    if let Some(row) = row.and_then(|r| case.rows.get(r)) {
        params.extend(row.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    if n > 1 {
        params.insert("index".into(), Value::Int(i as i64 + 1));
    }
    params
}

/// Bytes a parameter set takes, charged to the loader's budget.
pub(super) fn params_bytes(params: &BTreeMap<String, Value>) -> u64 {
    params
        .iter()
        .map(|(k, v)| {
            let value = match v {
                Value::Str(s) => s.len(),
                _ => 0,
            };
            (k.len() + value + std::mem::size_of::<(String, Value)>()) as u64
        })
        .sum()
}
