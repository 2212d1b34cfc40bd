//! Verdicts and the one pass/fail rule.
//!
//! A case is judged on two axes, as Autobahn|Testsuite does: what the server
//! did ([`Verdict`], the behaviour) and how the connection ended
//! ([`CloseVerdict`]). The names are Autobahn's, so results can be compared.
//!
//! Whether a case *fails* is decided here and nowhere else: [`fails`] (and
//! [`crate::conformance::CaseReport::fails`]) under a gate ([`FailOn`], the
//! `--fail-on` flag). The exit code of `wsharness conformance`, its terminal
//! summary, the JUnit XML, the HTML page and `wsharness compare` all call it.
//! [`is_not_ok`] (worth a look) and [`Severity`] (worst first, got worse) are
//! defined beside it, from the same table. What each verdict means, for people, is written once in
//! [`meaning`].

use std::fmt;
use std::str::FromStr;

pub mod meaning;

use serde::{Deserialize, Serialize};

/// How a case went (the behaviour); the variants are ordered from best to worst,
/// so `a > b` means `a` is worse (a case keeps the worst verdict of its steps).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Verdict {
    /// The server did what the RFC requires.
    #[serde(rename = "OK")]
    Ok,
    /// The server did not break a MUST, but was lax where it should be strict
    /// (e.g. it failed on invalid UTF-8 only at the end of the message).
    #[serde(rename = "NON-STRICT")]
    NonStrict,
    /// Neither right nor wrong: behaviour the RFC leaves open, reported for information.
    #[serde(rename = "INFORMATIONAL")]
    Informational,
    /// The server does not implement an optional feature the case needs.
    #[serde(rename = "UNIMPLEMENTED")]
    Unimplemented,
    /// The server broke a rule of the RFC.
    #[serde(rename = "FAILED")]
    Failed,
    /// The harness itself could not run the case (not the server's fault).
    #[serde(rename = "ERRORED")]
    Errored,
    /// The case could not run: the target stopped accepting connections during the run.
    #[serde(rename = "NOT RUN")]
    NotRun,
}

impl Verdict {
    /// Every verdict, from best to worst.
    pub const ALL: [Verdict; 7] = [
        Verdict::Ok,
        Verdict::NonStrict,
        Verdict::Informational,
        Verdict::Unimplemented,
        Verdict::Failed,
        Verdict::Errored,
        Verdict::NotRun,
    ];

    /// The name used in reports, as Autobahn spells it (`NOT RUN` is ours).
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Ok => "OK",
            Verdict::NonStrict => "NON-STRICT",
            Verdict::Informational => "INFORMATIONAL",
            Verdict::Unimplemented => "UNIMPLEMENTED",
            Verdict::Failed => "FAILED",
            Verdict::Errored => "ERRORED",
            Verdict::NotRun => "NOT RUN",
        }
    }

    /// Parses a report name (`OK`, `NON-STRICT`, ...), case-insensitively.
    pub fn parse(s: &str) -> Option<Verdict> {
        Verdict::ALL.into_iter().find(|v| v.as_str().eq_ignore_ascii_case(s.trim()))
    }

    /// How bad this behaviour is on its own (the close is judged apart):
    /// `OK`, `INFORMATIONAL` [`Severity::Fine`]; `UNIMPLEMENTED`
    /// [`Severity::Noted`]; `NON-STRICT` [`Severity::NonStrict`]; `FAILED`,
    /// `ERRORED`, `NOT RUN` [`Severity::Failing`].
    pub fn severity(self) -> Severity {
        match self {
            Verdict::Ok | Verdict::Informational => Severity::Fine,
            Verdict::Unimplemented => Severity::Noted,
            Verdict::NonStrict => Severity::NonStrict,
            Verdict::Failed | Verdict::Errored | Verdict::NotRun => Severity::Failing,
        }
    }

    /// Whether the harness, not the server, is why there is no result
    /// (`ERRORED`, `NOT RUN`): JUnit reports these as errors, not failures.
    pub fn is_no_result(self) -> bool {
        matches!(self, Verdict::Errored | Verdict::NotRun)
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How the connection ended, judged apart from the behaviour (as Autobahn does);
/// ordered from best to worst.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum CloseVerdict {
    /// A complete close handshake, then the server closed TCP.
    #[serde(rename = "OK")]
    Ok,
    /// The server replied to a close with a code it should not have used.
    #[serde(rename = "WRONG CODE")]
    WrongCode,
    /// The server closed TCP without completing the close handshake
    /// (a browser reports 1006 to the application).
    #[serde(rename = "UNCLEAN")]
    Unclean,
    /// Neither here nor there; reported for information.
    #[serde(rename = "INFORMATIONAL")]
    Informational,
    /// No close reply, or the server never closed TCP.
    #[serde(rename = "FAILED")]
    Failed,
}

impl CloseVerdict {
    /// Every close verdict, from best to worst.
    pub const ALL: [CloseVerdict; 5] = [
        CloseVerdict::Ok,
        CloseVerdict::WrongCode,
        CloseVerdict::Unclean,
        CloseVerdict::Informational,
        CloseVerdict::Failed,
    ];

    /// The name used in reports, as Autobahn spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            CloseVerdict::Ok => "OK",
            CloseVerdict::WrongCode => "WRONG CODE",
            CloseVerdict::Unclean => "UNCLEAN",
            CloseVerdict::Informational => "INFORMATIONAL",
            CloseVerdict::Failed => "FAILED",
        }
    }

    /// Parses a report name (`OK`, `WRONG CODE`, ...), case-insensitively.
    pub fn parse(s: &str) -> Option<CloseVerdict> {
        CloseVerdict::ALL.into_iter().find(|v| v.as_str().eq_ignore_ascii_case(s.trim()))
    }

    /// How bad this close is: `OK`, `INFORMATIONAL` [`Severity::Fine`];
    /// `WRONG CODE`, `UNCLEAN`, `FAILED` [`Severity::Failing`].
    pub fn severity(self) -> Severity {
        match self {
            CloseVerdict::Ok | CloseVerdict::Informational => Severity::Fine,
            CloseVerdict::WrongCode | CloseVerdict::Unclean | CloseVerdict::Failed => Severity::Failing,
        }
    }
}

impl fmt::Display for CloseVerdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How bad a verdict is, in terms of the gates it fails; ordered from best to
/// worst. The order of worst-first lists and of "got worse" in comparisons.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Severity {
    /// Nothing wrong: `OK` or `INFORMATIONAL`.
    Fine,
    /// Worth a look but never fails a gate: `UNIMPLEMENTED`.
    Noted,
    /// Fails under `--fail-on non-strict` only: `NON-STRICT`.
    NonStrict,
    /// Fails under every gate: `FAILED`, `ERRORED`, `NOT RUN`, or a close of
    /// `WRONG CODE`, `UNCLEAN` or `FAILED`.
    Failing,
}

impl Severity {
    /// The severity of a whole case: the worse of its behaviour and its close
    /// (a close not judged counts as fine).
    pub fn of(verdict: Verdict, close: Option<CloseVerdict>) -> Severity {
        verdict.severity().max(close.map_or(Severity::Fine, CloseVerdict::severity))
    }
}

/// The gate of `wsharness conformance --fail-on`: which cases fail the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum FailOn {
    /// `failed` (the default): FAILED, ERRORED and NOT RUN cases, and any close
    /// of WRONG CODE, UNCLEAN or FAILED.
    #[default]
    #[serde(rename = "failed")]
    Failed,
    /// `non-strict`: also NON-STRICT cases.
    #[serde(rename = "non-strict")]
    NonStrict,
}

impl FailOn {
    /// Every gate, the default first.
    pub const ALL: [FailOn; 2] = [FailOn::Failed, FailOn::NonStrict];

    /// The flag value: `failed` or `non-strict`.
    pub fn as_str(self) -> &'static str {
        match self {
            FailOn::Failed => "failed",
            FailOn::NonStrict => "non-strict",
        }
    }

    /// What the gate fails, one line (the `--help` text of its value).
    pub fn describe(self) -> &'static str {
        match self {
            FailOn::Failed => "FAILED, ERRORED or NOT RUN cases, or a close that is WRONG CODE, UNCLEAN or FAILED",
            FailOn::NonStrict => "as failed, and NON-STRICT cases too",
        }
    }

    /// The least severity that fails under this gate.
    fn threshold(self) -> Severity {
        match self {
            FailOn::Failed => Severity::Failing,
            FailOn::NonStrict => Severity::NonStrict,
        }
    }
}

impl fmt::Display for FailOn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A `--fail-on` value that is neither `failed` nor `non-strict`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{0}' is not a --fail-on gate (use failed or non-strict)")]
pub struct UnknownFailOn(pub String);

impl FromStr for FailOn {
    type Err = UnknownFailOn;

    fn from_str(s: &str) -> Result<FailOn, UnknownFailOn> {
        FailOn::ALL.into_iter().find(|g| g.as_str() == s.trim()).ok_or_else(|| UnknownFailOn(s.to_string()))
    }
}

/// Whether a case with these verdicts fails the run under `fail_on`: the
/// product's definition of a failing case. Every output applies this rule.
///
/// - `FAILED`, `ERRORED` and `NOT RUN` fail under every gate (the server broke
///   a rule, or there is no result, and no result is not a pass);
/// - `NON-STRICT` fails under `--fail-on non-strict` only;
/// - a close verdict of `FAILED`, `UNCLEAN` or `WRONG CODE` fails under every
///   gate, whatever the behaviour verdict (`NON-STRICT` with an `UNCLEAN` close
///   fails under `--fail-on failed`);
/// - `OK`, `INFORMATIONAL` and `UNIMPLEMENTED` pass when the close is `OK`,
///   `INFORMATIONAL` or not judged.
pub fn fails(verdict: Verdict, close: Option<CloseVerdict>, fail_on: FailOn) -> bool {
    Severity::of(verdict, close) >= fail_on.threshold()
}

/// Whether a case is worth a look, pass or fail: a behaviour other than `OK`
/// or `INFORMATIONAL`, or a close of `FAILED`, `UNCLEAN` or `WRONG CODE`.
/// Every case that [`fails`] under any gate is not OK; `UNIMPLEMENTED` is not
/// OK and never fails.
pub fn is_not_ok(verdict: Verdict, close: Option<CloseVerdict>) -> bool {
    Severity::of(verdict, close) > Severity::Fine
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_parse_and_serde_and_order_from_best_to_worst() {
        for v in Verdict::ALL {
            assert_eq!(Verdict::parse(v.as_str()), Some(v));
            assert_eq!(serde_json::to_value(v).unwrap(), serde_json::Value::from(v.as_str()));
            assert_eq!(serde_json::from_value::<Verdict>(v.as_str().into()).unwrap(), v);
        }
        for v in CloseVerdict::ALL {
            assert_eq!(CloseVerdict::parse(v.as_str()), Some(v));
            assert_eq!(serde_json::to_value(v).unwrap(), serde_json::Value::from(v.as_str()));
            assert_eq!(serde_json::from_value::<CloseVerdict>(v.as_str().into()).unwrap(), v);
        }
        for g in FailOn::ALL {
            assert_eq!(g.as_str().parse::<FailOn>(), Ok(g));
            assert_eq!(serde_json::to_value(g).unwrap(), serde_json::Value::from(g.as_str()));
        }
        assert_eq!(Verdict::parse("non-strict"), Some(Verdict::NonStrict));
        assert_eq!(Verdict::parse("not run"), Some(Verdict::NotRun));
        assert_eq!(Verdict::parse("PASSED"), None);
        assert!(serde_json::from_value::<Verdict>("non-strict".into()).is_err(), "JSON names are exact");
        assert_eq!(
            "strict".parse::<FailOn>().unwrap_err().to_string(),
            "'strict' is not a --fail-on gate (use failed or non-strict)"
        );
        assert!(Verdict::ALL.windows(2).all(|w| w[0] < w[1]));
        assert!(Verdict::ALL.iter().enumerate().all(|(i, v)| *v as usize == i), "ALL is in declaration order");
        assert!(CloseVerdict::ALL.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(Verdict::ALL.last(), Some(&Verdict::NotRun));
        assert_eq!(FailOn::default(), FailOn::Failed);
    }

    /// The product's definition, written out case by case (not derived from
    /// [`Severity`]), so that a change of the severity table shows here.
    fn expected(verdict: Verdict, close: Option<CloseVerdict>, fail_on: FailOn) -> bool {
        let bad_close = matches!(close, Some(CloseVerdict::Failed | CloseVerdict::Unclean | CloseVerdict::WrongCode));
        match verdict {
            Verdict::Failed | Verdict::Errored | Verdict::NotRun => true,
            Verdict::NonStrict => fail_on == FailOn::NonStrict || bad_close,
            Verdict::Ok | Verdict::Informational | Verdict::Unimplemented => bad_close,
        }
    }

    #[test]
    fn fails_follows_the_documented_rule_for_every_combination() {
        let closes = std::iter::once(None).chain(CloseVerdict::ALL.map(Some));
        let mut n = 0;
        for v in Verdict::ALL {
            for c in closes.clone() {
                for g in FailOn::ALL {
                    assert_eq!(fails(v, c, g), expected(v, c, g), "{v} close {c:?} --fail-on {g}");
                    n += 1;
                }
                let not_ok = !matches!(v, Verdict::Ok | Verdict::Informational)
                    || matches!(c, Some(CloseVerdict::Failed | CloseVerdict::Unclean | CloseVerdict::WrongCode));
                assert_eq!(is_not_ok(v, c), not_ok, "{v} close {c:?}");
                assert!(!fails(v, c, FailOn::Failed) || fails(v, c, FailOn::NonStrict), "non-strict is stricter");
                assert!(!fails(v, c, FailOn::NonStrict) || is_not_ok(v, c), "a failing case is not OK");
            }
        }
        assert_eq!(n, 7 * 6 * 2);
        assert!(fails(Verdict::NonStrict, Some(CloseVerdict::Unclean), FailOn::Failed), "the bug this rule fixed");
    }
}
