//! Verdicts, compatible with Autobahn|Testsuite's so results can be compared.
//!
//! The types live in the report model ([`reports::verdict`]) so that the
//! harness, the report files and every output share one definition; this
//! module re-exports them under the names the harness uses.
//!
//! - [`Verdict`]: how a case went, ordered from best to worst (`a > b`: `a` is
//!   worse; a case keeps the worst verdict of its steps). Case files name the
//!   verdict of a mismatch with [`Verdict::parse`] (`mismatch = "NON-STRICT"`).
//! - [`CloseVerdict`]: how the connection ended, judged apart from the
//!   behaviour (as Autobahn does).
//! - [`FailOn`] and [`fails`]: the gate of `--fail-on` and the one rule that
//!   says whether a case fails the run.

pub use reports::verdict::{fails, is_not_ok, meaning, CloseVerdict, FailOn, Severity, Verdict};
