//! The case files under `cases/` load cleanly and keep the library's conventions: a reason and a title for every
//! case, and an RFC reference its id agrees with (`rfc6455/5.2/...`, `client/5.2/...` for the cases that test
//! clients only, or one of the `delivery/` and `limits/` roots). The mapping to
//! Autobahn|Testsuite is checked in `autobahn_mapping.rs`.

use std::collections::BTreeMap;
use std::path::Path;

use wsharness::case::{load_dir, Case};

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
                // cases for clients only: client/SECTION/
                let prefix = match c.id.starts_with("client/") {
                    true => format!("client/{section}/"),
                    false => format!("rfc{number}/{section}/"),
                };
                // cases about TCP delivery and resource limits test several sections at once: own roots
                let own_root = ["delivery/", "limits/"].iter().any(|root| c.id.starts_with(root));
                if !c.id.starts_with(&prefix) && !own_root {
                    problems.push(format!("{}: the id of a case on RFC {} should start with {prefix}", at(c), c.rfc));
                }
            }
        }
    }
    let mut per_section: BTreeMap<&str, usize> = BTreeMap::new();
    for c in &cases {
        *per_section.entry(c.section.as_str()).or_default() += 1;
    }
    println!("{} cases:", cases.len());
    for (section, n) in &per_section {
        println!("  {n:4}  {section}");
    }
    assert!(problems.is_empty(), "{} problem(s):\n{}", problems.len(), problems.join("\n"));
}
