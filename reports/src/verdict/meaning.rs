//! What each verdict means, written once. The HTML legend, the terminal's footer, `wsharness conformance
//! --help` and the README's table all print these texts (a test holds the README to them), so a verdict
//! cannot mean one thing on the page and another in the terminal.
//!
//! Each verdict names the requirement level of RFC 2119 it answers to: a broken MUST is FAILED, a SHOULD
//! not followed is NON-STRICT, what a MAY leaves open is INFORMATIONAL or UNIMPLEMENTED.

use super::{fails, CloseVerdict, FailOn, Verdict};

/// The requirement level (RFC 2119 §1-5) a verdict answers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keyword {
    /// MUST, MUST NOT, REQUIRED: breaking it fails the case.
    Must,
    /// SHOULD, SHOULD NOT, RECOMMENDED: not following it is lax, not wrong.
    Should,
    /// MAY, OPTIONAL: either way is right.
    May,
    /// Not about the implementation under test (the harness, or the run).
    None,
}

impl Keyword {
    /// `MUST`, `SHOULD`, `MAY`, or `-`.
    pub fn as_str(self) -> &'static str {
        match self {
            Keyword::Must => "MUST",
            Keyword::Should => "SHOULD",
            Keyword::May => "MAY",
            Keyword::None => "-",
        }
    }
}

/// One verdict's meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Meaning {
    /// The verdict as reports spell it (`NON-STRICT`).
    pub name: &'static str,
    /// The requirement level it answers to.
    pub keyword: Keyword,
    /// What it means, in one or two sentences.
    pub text: &'static str,
}

impl Verdict {
    /// What this behaviour verdict means (see the module).
    pub fn meaning(self) -> Meaning {
        let (keyword, text) = match self {
            Verdict::Ok => (Keyword::Must, "Did what the RFC requires in everything the case checks."),
            Verdict::NonStrict => (
                Keyword::Should,
                "Broke no MUST, but did not do what the RFC recommends, or was lax where it should be strict \
                 (e.g. failed on invalid UTF-8 only once the whole message had arrived).",
            ),
            Verdict::Informational => {
                (Keyword::May, "Did something the RFC leaves open; reported so that you know, never a fault.")
            }
            Verdict::Unimplemented => (
                Keyword::May,
                "Does not implement an optional feature the case needs (e.g. permessage-deflate); not a fault.",
            ),
            Verdict::Failed => (
                Keyword::Must,
                "Broke a MUST (or MUST NOT) of the RFC: the case names the rule, what was expected and what \
                 happened on the wire.",
            ),
            Verdict::Errored => {
                (Keyword::None, "The harness could not run the case; not the implementation's fault: rerun it.")
            }
            Verdict::NotRun => {
                (Keyword::None, "The case never started: the target stopped accepting connections earlier in the run.")
            }
        };
        Meaning { name: self.as_str(), keyword, text }
    }
}

impl CloseVerdict {
    /// What this close verdict means (see the module).
    pub fn meaning(self) -> Meaning {
        let (keyword, text) = match self {
            CloseVerdict::Ok => {
                (Keyword::Must, "Close frames exchanged (RFC 6455 §5.5.1), then the server closed TCP first (§7.1.1).")
            }
            CloseVerdict::WrongCode => (
                Keyword::Must,
                "The close frame carried a status code it must not (§7.4: a reserved code, or not the one the \
                 failure calls for).",
            ),
            CloseVerdict::Unclean => (
                Keyword::Must,
                "TCP closed without a complete close handshake (§5.5.1: a close MUST be answered); the \
                 application on the other side sees 1006.",
            ),
            CloseVerdict::Informational => (
                Keyword::Should,
                "Not judged (e.g. the case's last frame was left unfinished on purpose), or ended in a way the RFC \
                 allows but does not recommend (the client closed TCP first, §7.1.1); never a fault.",
            ),
            CloseVerdict::Failed => {
                (Keyword::Must, "No close reply within the close timeout, or TCP was never closed.")
            }
        };
        Meaning { name: self.as_str(), keyword, text }
    }
}

/// Every verdict's meaning as plain text, behaviour then close: `--help` and the terminal print it.
pub fn plain_text() -> String {
    let line = |m: Meaning| format!("  {:<13} {:<6} {}\n", m.name, m.keyword.as_str(), m.text);
    let mut out = String::from("Verdicts (behaviour), with the RFC 2119 level each answers to:\n");
    out.extend(Verdict::ALL.map(|v| line(v.meaning())));
    out.push_str("Close verdicts (how the connection ended, judged apart; WRONG CODE, UNCLEAN and FAILED fail):\n");
    out.extend(CloseVerdict::ALL.map(|v| line(v.meaning())));
    out
}

/// Every verdict's meaning as two Markdown tables, behaviour then close, with whether each fails under each
/// `--fail-on` gate ([`super::fails`]): the README carries this text.
pub fn markdown() -> String {
    let yes_no = |b: bool| if b { "yes" } else { "no" };
    let gates = FailOn::ALL.map(|g| format!(" fails `--fail-on {g}` |")).concat();
    let rule = " --- |".repeat(FailOn::ALL.len());
    let row = |m: Meaning, fails_under: [bool; 2]| {
        let cells = fails_under.map(|f| format!(" {} |", yes_no(f))).concat();
        format!("| {} | {} | {} |{cells}\n", m.name, m.keyword.as_str(), m.text)
    };
    let mut out = format!("| verdict | RFC 2119 | meaning |{gates}\n| --- | --- | --- |{rule}\n");
    out.extend(Verdict::ALL.map(|v| row(v.meaning(), FailOn::ALL.map(|g| fails(v, None, g)))));
    out.push_str(&format!("\n| close verdict | RFC 2119 | meaning |{gates}\n| --- | --- | --- |{rule}\n"));
    out.extend(CloseVerdict::ALL.map(|c| row(c.meaning(), FailOn::ALL.map(|g| fails(Verdict::Ok, Some(c), g)))));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_verdict_has_its_own_text_and_the_failing_ones_answer_to_must() {
        let all: Vec<Meaning> = Verdict::ALL
            .map(Verdict::meaning)
            .into_iter()
            .chain(CloseVerdict::ALL.map(CloseVerdict::meaning))
            .collect();
        for (i, m) in all.iter().enumerate() {
            assert!(m.text.ends_with('.') && m.text.len() > 20, "{m:?}");
            assert!(all[i + 1..].iter().all(|o| o.text != m.text), "{} shares its text", m.name);
        }
        assert_eq!(Verdict::Failed.meaning().keyword, Keyword::Must);
        assert_eq!(Verdict::NonStrict.meaning().keyword, Keyword::Should);
        assert_eq!(Verdict::Informational.meaning().keyword, Keyword::May);
        let text = plain_text();
        assert!(Verdict::ALL.iter().all(|v| text.contains(v.meaning().text)));
        assert_eq!(markdown().lines().filter(|l| l.starts_with("| ") && !l.starts_with("| ---")).count(), 2 + 7 + 5);
    }
}
