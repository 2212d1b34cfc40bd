//! Case numbers as Autobahn|Testsuite's fuzzingserver gives them, so `runCase?case=N` runs the same case.
//!
//! Autobahn numbers the cases it selected by their ids sorted as number tuples (`CaseSet.parseSpecCases`:
//! `1.1.1 < 1.2.1 < 2.1 < 2.10 < 10.1.1`), from 1. We number the selected cases that have an Autobahn id the
//! same way, then the cases Autobahn lacks, in the order of our ids. A case's *key* is its Autobahn id, or our
//! id when it has none: the `casetuple` parameter and the case keys of `index.json` use it.

use std::cmp::Ordering;
use std::fmt;

/// A 1-based case number that [`CaseNumbering`] holds (the router checks the range).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CaseNumber(usize);

impl CaseNumber {
    /// The number, from 1.
    pub fn get(self) -> usize {
        self.0
    }

    /// The 0-based position in the numbering.
    pub fn index(self) -> usize {
        self.0 - 1
    }
}

impl fmt::Display for CaseNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// One numbered case: the key the API and `index.json` use, and our id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NumberedCase {
    /// The Autobahn id (`1.1.1`), or our id for a case Autobahn lacks.
    pub key: String,
    /// Our case id.
    pub id: String,
    /// Whether `key` is an Autobahn id.
    pub autobahn: bool,
}

/// The selected cases in Autobahn's order, numbered from 1.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CaseNumbering {
    cases: Vec<NumberedCase>,
}

impl CaseNumbering {
    /// Numbers these cases, each given as (our id, its Autobahn id if any), in any order.
    pub fn new<'a>(cases: impl IntoIterator<Item = (&'a str, Option<&'a str>)>) -> CaseNumbering {
        let mut cases: Vec<NumberedCase> = cases
            .into_iter()
            .map(|(id, autobahn)| NumberedCase {
                key: autobahn.unwrap_or(id).to_owned(),
                id: id.to_owned(),
                autobahn: autobahn.is_some(),
            })
            .collect();
        cases.sort_by(order);
        CaseNumbering { cases }
    }

    /// How many cases there are (what `/getCaseCount` answers).
    pub fn count(&self) -> usize {
        self.cases.len()
    }

    /// The case numbered `number`, when `number` is from 1 to the count.
    pub fn case(&self, number: usize) -> Option<(CaseNumber, &NumberedCase)> {
        let case = self.cases.get(number.checked_sub(1)?)?;
        Some((CaseNumber(number), case))
    }

    /// The number of the case with this key (`casetuple=1.1.1`).
    pub fn number_of(&self, key: &str) -> Option<CaseNumber> {
        self.cases.iter().position(|c| c.key == key).map(|at| CaseNumber(at + 1))
    }

    /// The case a [`CaseNumber`] from this numbering stands for.
    pub fn get(&self, number: CaseNumber) -> Option<&NumberedCase> {
        self.cases.get(number.index())
    }

    /// Every case, in order.
    pub fn iter(&self) -> impl Iterator<Item = (CaseNumber, &NumberedCase)> {
        self.cases.iter().enumerate().map(|(at, case)| (CaseNumber(at + 1), case))
    }
}

/// Autobahn ids first, as number tuples; then our ids, as strings.
fn order(a: &NumberedCase, b: &NumberedCase) -> Ordering {
    match (a.autobahn, b.autobahn) {
        (true, true) => tuple(&a.key).cmp(&tuple(&b.key)).then_with(|| a.key.cmp(&b.key)),
        (true, false) => Ordering::Less,
        (false, true) => Ordering::Greater,
        (false, false) => a.key.cmp(&b.key),
    }
}

/// `1.10.2` as `[1, 10, 2]`; a part that is not a number sorts after every number.
fn tuple(id: &str) -> Vec<u64> {
    id.split('.').map(|part| part.parse().unwrap_or(u64::MAX)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numbering() -> CaseNumbering {
        CaseNumbering::new([
            ("rfc6455/5.5.2/ping-empty", Some("2.1")),
            ("client/4.1/accept-wrong", None),
            ("rfc6455/5.6/text-0", Some("1.1.1")),
            ("rfc6455/7.1.1/close", Some("10.1.1")),
            ("client/4.1/accept-missing", None),
            ("rfc6455/5.5.2/ten-pings", Some("2.10")),
            ("rfc6455/5.5.2/ping-text", Some("2.2")),
        ])
    }

    #[test]
    fn autobahn_ids_come_first_as_number_tuples_then_our_ids() {
        let n = numbering();
        let keys: Vec<&str> = n.cases.iter().map(|c| c.key.as_str()).collect();
        assert_eq!(
            keys,
            ["1.1.1", "2.1", "2.2", "2.10", "10.1.1", "client/4.1/accept-missing", "client/4.1/accept-wrong"]
        );
    }

    #[test]
    fn numbers_run_from_one_to_the_count() {
        let n = numbering();
        assert_eq!(n.count(), 7);
        assert!(n.case(0).is_none());
        assert!(n.case(8).is_none());
        let (number, case) = n.case(4).expect("case 4");
        assert_eq!((number.get(), case.id.as_str()), (4, "rfc6455/5.5.2/ten-pings"));
        assert_eq!(n.get(number), Some(case));
    }

    #[test]
    fn keys_find_their_numbers() {
        let n = numbering();
        assert_eq!(n.number_of("2.10").map(CaseNumber::get), Some(4));
        assert_eq!(n.number_of("client/4.1/accept-wrong").map(CaseNumber::get), Some(7));
        assert_eq!(n.number_of("9.9.9"), None);
    }
}
