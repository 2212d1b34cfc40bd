//! The embedded case library maps Autobahn|Testsuite's fuzzingclient one to one: every case id listed in
//! `cases/autobahn-cases.txt` is the `autobahn` of exactly one case, and no case names an id outside the list.
//!
//! `cases/autobahn-cases.txt` holds one line per Autobahn case of sections 1-7, 9, 10, 12 and 13 (517: 9.9.1 is
//! defined but never run), `id<TAB>description`, in Autobahn's order.
//! It was generated from the installed Autobahn source, so a new Autobahn release can be compared against it:
//!
//! ```text
//! $VENV/bin/python - <<'EOF'
//! import re
//! import autobahntestsuite.case as C
//! from autobahntestsuite.caseset import CaseSet
//! cs = CaseSet(C.CaseSetname, C.CaseBasename, C.Cases, C.CaseCategories, C.CaseSubCategories)
//! for k in sorted((k for k in C.Cases if cs.caseClasstoIdTuple(k)[0] in (1, 2, 3, 4, 5, 6, 7, 9, 10, 12, 13)),
//!                 key=cs.caseClasstoIdTuple):
//!     parts = [" ".join(re.sub(r"<[^>]*>", "", p).split()) for p in k.DESCRIPTION.split("<br>")]
//!     print("%s\t%s" % (cs.caseClasstoId(k), parts[0] + "".join(" " + p for p in parts[1:] if p.startswith("Payload: 0x"))))
//! EOF
//! ```

use std::collections::{BTreeMap, BTreeSet};

use wsharness::case::Case;
use wsharness::embedded::embedded_cases;
use wsharness::serve::ClientSuite;

/// The list, as compiled into this test.
const LIST: &str = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../cases/autobahn-cases.txt"));

/// One line of the list.
struct Listed<'a> {
    line: usize,
    id: &'a str,
    description: &'a str,
}

fn listed() -> Vec<Listed<'static>> {
    LIST.lines()
        .enumerate()
        .map(|(i, text)| {
            let (id, description) = text.split_once('\t').unwrap_or((text, ""));
            Listed { line: i + 1, id, description }
        })
        .collect()
}

/// `"6.4.10"` as `[6, 4, 10]`, if it is a dotted number.
fn id_numbers(id: &str) -> Option<Vec<u32>> {
    id.split('.').map(|part| part.parse().ok()).collect()
}

fn cases() -> Vec<Case> {
    match embedded_cases() {
        Ok(cases) => cases,
        Err(errors) => {
            let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
            panic!("{} error(s) in the embedded case files:\n{}", errors.len(), lines.join("\n"));
        }
    }
}

fn at(c: &Case) -> String {
    format!("{} ({}:{})", c.id, c.source.file, c.source.line)
}

/// Autobahn id -> the cases that name it.
fn mapping(cases: &[Case]) -> BTreeMap<&str, Vec<&Case>> {
    let mut by_id: BTreeMap<&str, Vec<&Case>> = BTreeMap::new();
    for c in cases {
        if let Some(id) = c.autobahn.as_deref() {
            by_id.entry(id).or_default().push(c);
        }
    }
    by_id
}

/// Ids grouped by their first two numbers, for a failure message that fits on a screen: `9.1: 9.1.1 9.1.2`.
fn grouped(ids: &[&str]) -> String {
    let mut groups: BTreeMap<Vec<u32>, Vec<&str>> = BTreeMap::new();
    for id in ids {
        let key = id_numbers(id).unwrap_or_default().into_iter().take(2).collect();
        groups.entry(key).or_default().push(id);
    }
    groups
        .into_iter()
        .map(|(key, ids)| {
            let key: Vec<String> = key.iter().map(ToString::to_string).collect();
            format!("  {}: {}", key.join("."), ids.join(" "))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_autobahn_case_list_holds_517_unique_ids_in_order() {
    let listed = listed();
    let mut problems = Vec::new();
    let mut seen = BTreeSet::new();
    let mut previous: Option<Vec<u32>> = None;
    for l in &listed {
        let Some(numbers) = id_numbers(l.id) else {
            problems.push(format!("line {}: \"{}\" is not an id like 6.4.1 followed by a tab", l.line, l.id));
            continue;
        };
        if l.description.trim().is_empty() {
            problems.push(format!("line {}: {} has no description", l.line, l.id));
        }
        if !matches!(numbers.first(), Some(1..=7 | 9 | 10 | 12 | 13)) {
            problems.push(format!("line {}: {} is outside sections 1-7, 9, 10, 12 and 13", l.line, l.id));
        }
        if !seen.insert(l.id) {
            problems.push(format!("line {}: {} is listed twice", l.line, l.id));
        }
        if previous.as_ref().is_some_and(|p| *p >= numbers) {
            problems.push(format!("line {}: {} is out of order", l.line, l.id));
        }
        previous = Some(numbers);
    }
    assert!(problems.is_empty(), "cases/autobahn-cases.txt:\n{}", problems.join("\n"));
    assert_eq!(listed.len(), 517, "Autobahn's fuzzingclient has 517 cases in sections 1-7, 9, 10, 12 and 13");
}

#[test]
fn every_autobahn_case_is_mapped_exactly_once() {
    let cases = cases();
    let by_id = mapping(&cases);
    let listed = listed();
    let unmapped: Vec<&str> = listed.iter().map(|l| l.id).filter(|id| !by_id.contains_key(id)).collect();
    let twice: Vec<String> = by_id
        .iter()
        .filter(|(_, cs)| cs.len() > 1)
        .map(|(id, cs)| format!("  {id}: {}", cs.iter().map(|c| at(c)).collect::<Vec<_>>().join(", ")))
        .collect();
    let mut problems = Vec::new();
    if !unmapped.is_empty() {
        let descriptions: BTreeMap<&str, &str> = listed.iter().map(|l| (l.id, l.description)).collect();
        let first: Vec<String> = unmapped
            .iter()
            .take(3)
            .map(|id| format!("  e.g. {id}: {}", descriptions.get(id).copied().unwrap_or_default()))
            .collect();
        problems.push(format!(
            "{} Autobahn case(s) without an equivalent (no case has `autobahn = \"ID\"`):\n{}\n{}",
            unmapped.len(),
            grouped(&unmapped),
            first.join("\n")
        ));
    }
    if !twice.is_empty() {
        problems.push(format!("Autobahn case(s) mapped by more than one case:\n{}", twice.join("\n")));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}

#[test]
fn no_case_maps_an_autobahn_id_outside_the_list() {
    let cases = cases();
    let listed: BTreeSet<&str> = listed().iter().map(|l| l.id).collect();
    let unknown: Vec<String> = cases
        .iter()
        .filter_map(|c| c.autobahn.as_deref().filter(|id| !listed.contains(id)).map(|id| format!("  {id}: {}", at(c))))
        .collect();
    assert!(
        unknown.is_empty(),
        "case(s) naming an Autobahn id that is not in cases/autobahn-cases.txt:\n{}",
        unknown.join("\n")
    );
}

#[test]
fn every_autobahn_case_is_mapped_for_clients_too_with_fuzzingservers_numbers() {
    // Autobahn's fuzzingserver runs all 517 against a client (12.x/13.x accepting its permessage-deflate
    // offer), numbered 1..=517 in the list's order: `serve` must give each the same number
    let suite = ClientSuite::new(cases(), |_| true);
    let listed = listed();
    let mut problems = Vec::new();
    for (n, l) in listed.iter().enumerate() {
        let key = suite.numbering.case(n + 1).map_or("", |(number, _)| suite.key(number));
        if key != l.id {
            problems.push(format!("case {}: Autobahn runs {}, serve runs {key:?}", n + 1, l.id));
        }
    }
    let shown: Vec<&String> = problems.iter().take(10).collect();
    assert!(problems.is_empty(), "{} numbers differ from fuzzingserver's:\n{shown:#?}", problems.len());
}
