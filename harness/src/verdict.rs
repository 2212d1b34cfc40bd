//! Verdicts, compatible with Autobahn|Testsuite's so results can be compared.

use std::fmt;

/// How a case went; the variants are ordered from best to worst.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Verdict {
    /// The server did what the RFC requires.
    Ok,
    /// The server did not break a MUST, but was lax where it should be strict
    /// (e.g. it failed on invalid UTF-8 only at the end of the message).
    NonStrict,
    /// Neither right nor wrong: behaviour the RFC leaves open, reported for information.
    Informational,
    /// The server does not implement an optional feature the case needs.
    Unimplemented,
    /// The server broke a rule of the RFC.
    Failed,
    /// The harness itself could not run the case (not the server's fault).
    Errored,
    /// The case could not run: the target stopped accepting connections earlier in the run.
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

    /// The name used in reports, as Autobahn spells it.
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
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How the connection ended, judged apart from the behaviour (as Autobahn does).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CloseVerdict {
    /// A complete close handshake, then the server closed TCP.
    Ok,
    /// The server replied to a close with a code it should not have used.
    WrongCode,
    /// The server closed TCP without completing the close handshake
    /// (a browser reports 1006 to the application).
    Unclean,
    /// Neither here nor there; reported for information.
    Informational,
    /// No close reply, or the server never closed TCP.
    Failed,
}

impl CloseVerdict {
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
}

impl fmt::Display for CloseVerdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_order_from_best_to_worst() {
        for v in [Verdict::Ok, Verdict::NonStrict, Verdict::Informational, Verdict::Unimplemented, Verdict::Failed] {
            assert_eq!(Verdict::parse(v.as_str()), Some(v));
        }
        assert_eq!(Verdict::parse("non-strict"), Some(Verdict::NonStrict));
        assert_eq!(Verdict::parse("PASSED"), None);
        assert!(Verdict::Ok < Verdict::NonStrict && Verdict::NonStrict < Verdict::Failed);
    }
}
