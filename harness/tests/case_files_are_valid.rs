//! The case files under `cases/` load cleanly and keep the library's conventions: a reason for every case, an RFC
//! reference its id agrees with (or the `delivery/` and `limits/` roots), and Autobahn ids that exist and map to one case each.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use wsharness::case::{load_dir, Case};

/// Every case id of Autobahn|Testsuite's fuzzingclient (301, from its case list; 9.9.1 never runs and is absent).
const AUTOBAHN_IDS: &[&str] = &[
    "1.1.1", "1.1.2", "1.1.3", "1.1.4", "1.1.5", "1.1.6", "1.1.7", "1.1.8", "1.2.1", "1.2.2", "1.2.3", "1.2.4",
    "1.2.5", "1.2.6", "1.2.7", "1.2.8", "2.1", "2.2", "2.3", "2.4", "2.5", "2.6", "2.7", "2.8", "2.9", "2.10", "2.11",
    "3.1", "3.2", "3.3", "3.4", "3.5", "3.6", "3.7", "4.1.1", "4.1.2", "4.1.3", "4.1.4", "4.1.5", "4.2.1", "4.2.2",
    "4.2.3", "4.2.4", "4.2.5", "5.1", "5.2", "5.3", "5.4", "5.5", "5.6", "5.7", "5.8", "5.9", "5.10", "5.11", "5.12",
    "5.13", "5.14", "5.15", "5.16", "5.17", "5.18", "5.19", "5.20", "6.1.1", "6.1.2", "6.1.3", "6.2.1", "6.2.2",
    "6.2.3", "6.2.4", "6.3.1", "6.3.2", "6.4.1", "6.4.2", "6.4.3", "6.4.4", "6.5.1", "6.5.2", "6.5.3", "6.5.4",
    "6.5.5", "6.6.1", "6.6.2", "6.6.3", "6.6.4", "6.6.5", "6.6.6", "6.6.7", "6.6.8", "6.6.9", "6.6.10", "6.6.11",
    "6.7.1", "6.7.2", "6.7.3", "6.7.4", "6.8.1", "6.8.2", "6.9.1", "6.9.2", "6.9.3", "6.9.4", "6.10.1", "6.10.2",
    "6.10.3", "6.11.1", "6.11.2", "6.11.3", "6.11.4", "6.11.5", "6.12.1", "6.12.2", "6.12.3", "6.12.4", "6.12.5",
    "6.12.6", "6.12.7", "6.12.8", "6.13.1", "6.13.2", "6.13.3", "6.13.4", "6.13.5", "6.14.1", "6.14.2", "6.14.3",
    "6.14.4", "6.14.5", "6.14.6", "6.14.7", "6.14.8", "6.14.9", "6.14.10", "6.15.1", "6.16.1", "6.16.2", "6.16.3",
    "6.17.1", "6.17.2", "6.17.3", "6.17.4", "6.17.5", "6.18.1", "6.18.2", "6.18.3", "6.18.4", "6.18.5", "6.19.1",
    "6.19.2", "6.19.3", "6.19.4", "6.19.5", "6.20.1", "6.20.2", "6.20.3", "6.20.4", "6.20.5", "6.20.6", "6.20.7",
    "6.21.1", "6.21.2", "6.21.3", "6.21.4", "6.21.5", "6.21.6", "6.21.7", "6.21.8", "6.22.1", "6.22.2", "6.22.3",
    "6.22.4", "6.22.5", "6.22.6", "6.22.7", "6.22.8", "6.22.9", "6.22.10", "6.22.11", "6.22.12", "6.22.13", "6.22.14",
    "6.22.15", "6.22.16", "6.22.17", "6.22.18", "6.22.19", "6.22.20", "6.22.21", "6.22.22", "6.22.23", "6.22.24",
    "6.22.25", "6.22.26", "6.22.27", "6.22.28", "6.22.29", "6.22.30", "6.22.31", "6.22.32", "6.22.33", "6.22.34",
    "6.23.1", "6.23.2", "6.23.3", "6.23.4", "6.23.5", "6.23.6", "6.23.7", "7.1.1", "7.1.2", "7.1.3", "7.1.4", "7.1.5",
    "7.1.6", "7.3.1", "7.3.2", "7.3.3", "7.3.4", "7.3.5", "7.3.6", "7.5.1", "7.7.1", "7.7.2", "7.7.3", "7.7.4",
    "7.7.5", "7.7.6", "7.7.7", "7.7.8", "7.7.9", "7.7.10", "7.7.11", "7.7.12", "7.7.13", "7.9.1", "7.9.2", "7.9.3",
    "7.9.4", "7.9.5", "7.9.6", "7.9.7", "7.9.8", "7.9.9", "7.13.1", "7.13.2", "9.1.1", "9.1.2", "9.1.3", "9.1.4",
    "9.1.5", "9.1.6", "9.2.1", "9.2.2", "9.2.3", "9.2.4", "9.2.5", "9.2.6", "9.3.1", "9.3.2", "9.3.3", "9.3.4",
    "9.3.5", "9.3.6", "9.3.7", "9.3.8", "9.3.9", "9.4.1", "9.4.2", "9.4.3", "9.4.4", "9.4.5", "9.4.6", "9.4.7",
    "9.4.8", "9.4.9", "9.5.1", "9.5.2", "9.5.3", "9.5.4", "9.5.5", "9.5.6", "9.6.1", "9.6.2", "9.6.3", "9.6.4",
    "9.6.5", "9.6.6", "9.7.1", "9.7.2", "9.7.3", "9.7.4", "9.7.5", "9.7.6", "9.8.1", "9.8.2", "9.8.3", "9.8.4",
    "9.8.5", "9.8.6", "10.1.1",
];

/// Autobahn sections whose every case must have an equivalent among ours.
const MAPPED_AUTOBAHN_SECTIONS: &[u32] = &[1, 2, 3, 4, 7];

fn cases() -> Vec<Case> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../cases");
    match load_dir(&dir) {
        Ok(cases) => cases,
        Err(errors) => {
            let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
            panic!("{} error(s) in case files:\n{}", errors.len(), lines.join("\n"));
        }
    }
}

/// `"6455 §5.5.1"` as `("6455", "5.5.1")`, if the reference has that shape.
fn rfc_parts(rfc: &str) -> Option<(&str, &str)> {
    let (number, section) = rfc.split_once(" §")?;
    let digits = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_digit());
    (digits(number) && section.split('.').all(digits)).then_some((number, section))
}

fn at(c: &Case) -> String {
    format!("{}:{}: {}", c.source.file, c.source.line, c.id)
}

#[test]
fn case_files_are_valid() {
    let cases = cases();
    assert!(!cases.is_empty(), "no cases found under cases/");
    let mut problems = Vec::new();
    let mut autobahn: BTreeMap<&str, &Case> = BTreeMap::new();
    for c in &cases {
        if c.why.trim().is_empty() {
            problems.push(format!("{}: empty why", at(c)));
        }
        if c.title.trim().is_empty() {
            problems.push(format!("{}: empty title", at(c)));
        }
        match rfc_parts(&c.rfc) {
            None => problems.push(format!("{}: rfc \"{}\" is not like \"6455 §5.2\"", at(c), c.rfc)),
            Some((number, section)) => {
                let prefix = format!("rfc{number}/{section}/");
                // cases about TCP delivery and resource limits test several sections at once: own roots
                let own_root = ["delivery/", "limits/"].iter().any(|root| c.id.starts_with(root));
                if !c.id.starts_with(&prefix) && !own_root {
                    problems.push(format!("{}: the id of a case on RFC {} should start with {prefix}", at(c), c.rfc));
                }
            }
        }
        if let Some(id) = c.autobahn.as_deref() {
            if !AUTOBAHN_IDS.contains(&id) {
                problems.push(format!("{}: autobahn \"{id}\" is not an Autobahn|Testsuite case id", at(c)));
            }
            if let Some(first) = autobahn.insert(id, c) {
                problems.push(format!("{}: autobahn \"{id}\" is also mapped by {}", at(c), at(first)));
            }
        }
    }
    let section_of = |id: &str| id.split('.').next().and_then(|s| s.parse::<u32>().ok()).unwrap_or_default();
    let unmapped: Vec<&str> = AUTOBAHN_IDS
        .iter()
        .copied()
        .filter(|id| MAPPED_AUTOBAHN_SECTIONS.contains(&section_of(id)) && !autobahn.contains_key(id))
        .collect();
    if !unmapped.is_empty() {
        problems.push(format!("Autobahn cases without an equivalent: {}", unmapped.join(" ")));
    }

    let mut per_section: BTreeMap<&str, usize> = BTreeMap::new();
    for c in &cases {
        *per_section.entry(c.section.as_str()).or_default() += 1;
    }
    println!("{} cases:", cases.len());
    for (section, n) in &per_section {
        println!("  {n:4}  {section}");
    }
    let mut mapped_per_section: BTreeMap<u32, usize> = BTreeMap::new();
    for id in autobahn.keys() {
        *mapped_per_section.entry(section_of(id)).or_default() += 1;
    }
    let sections: BTreeSet<u32> = AUTOBAHN_IDS.iter().map(|id| section_of(id)).collect();
    println!("Autobahn cases with an equivalent: {} of {}", autobahn.len(), AUTOBAHN_IDS.len());
    for s in &sections {
        let total = AUTOBAHN_IDS.iter().filter(|id| section_of(id) == *s).count();
        println!("  section {s:>2}: {:3} of {total}", mapped_per_section.get(s).copied().unwrap_or(0));
    }

    assert!(problems.is_empty(), "{} problem(s):\n{}", problems.len(), problems.join("\n"));
}

#[test]
fn the_autobahn_id_list_is_complete_and_unique() {
    let unique: BTreeSet<&str> = AUTOBAHN_IDS.iter().copied().collect();
    assert_eq!((AUTOBAHN_IDS.len(), unique.len()), (301, 301));
}
