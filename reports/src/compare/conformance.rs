//! The difference between two conformance runs, case by case.

use std::collections::BTreeMap;

use super::table;
use crate::conformance::{CaseReport, ConformanceReport};
use crate::verdict::{self, CloseVerdict, FailOn, Severity, Verdict};

/// A case's verdicts in one run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CaseState {
    /// The behaviour verdict.
    pub verdict: Verdict,
    /// The close verdict, if judged.
    pub close_verdict: Option<CloseVerdict>,
}

impl CaseState {
    fn of(c: &CaseReport) -> CaseState {
        CaseState { verdict: c.verdict, close_verdict: c.close_verdict }
    }

    /// `(behaviour, close)` severities ([`Verdict::severity`], [`CloseVerdict::severity`];
    /// a close not judged is [`Severity::Fine`]).
    pub fn severity(&self) -> (Severity, Severity) {
        (self.verdict.severity(), self.close_verdict.map_or(Severity::Fine, CloseVerdict::severity))
    }

    /// Whether the case is worth a look ([`verdict::is_not_ok`]).
    pub fn is_not_ok(&self) -> bool {
        verdict::is_not_ok(self.verdict, self.close_verdict)
    }

    /// Whether the case fails under `fail_on` ([`verdict::fails`]).
    pub fn fails(&self, fail_on: FailOn) -> bool {
        verdict::fails(self.verdict, self.close_verdict, fail_on)
    }

    /// `FAILED`, or `OK (close UNCLEAN)` when the close behaviour is not OK.
    pub fn label(&self) -> String {
        match self.close_verdict {
            Some(c) if c != CloseVerdict::Ok => format!("{} (close {c})", self.verdict),
            _ => self.verdict.to_string(),
        }
    }
}

/// One case that differs between the runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseChange {
    /// The case id.
    pub id: String,
    /// Its title.
    pub title: String,
    /// Its RFC section.
    pub rfc: String,
    /// In the base run (`None`: the case appeared).
    pub before: Option<CaseState>,
    /// In the new run (`None`: the case disappeared).
    pub after: Option<CaseState>,
    /// The reason in the run that has the case, the new one first.
    pub reason: Option<String>,
}

impl CaseChange {
    /// `OK -> FAILED`, `(new) FAILED`, `OK -> (gone)`.
    pub fn transition(&self) -> String {
        let side = |s: &Option<CaseState>, none: &str| s.as_ref().map(|s| s.label()).unwrap_or_else(|| none.into());
        format!("{} -> {}", side(&self.before, "(absent)"), side(&self.after, "(absent)"))
    }
}

/// Facts about one of the two runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunInfo {
    /// The file name given.
    pub name: String,
    /// The tool that wrote it.
    pub tool: String,
    /// The target URL.
    pub url: String,
    /// The start time.
    pub started_at: String,
    /// Whether the run finished.
    pub complete: bool,
    /// Cases in the report.
    pub cases: usize,
    /// The gate the run used.
    pub fail_on: FailOn,
    /// Cases that fail under the gate of the new run ([`ConformanceDiff::fail_on`]).
    pub failing: usize,
}

impl RunInfo {
    fn of(r: &ConformanceReport, name: &str, fail_on: FailOn) -> RunInfo {
        RunInfo {
            name: name.to_string(),
            tool: r.tool.clone(),
            url: r.target.url.clone(),
            started_at: r.started_at.clone(),
            complete: r.complete,
            cases: r.cases.len(),
            fail_on: r.fail_on,
            failing: r.cases.iter().filter(|c| c.fails(fail_on)).count(),
        }
    }
}

/// What changed between a base and a new conformance run.
///
/// A case got *worse* when its behaviour or its close verdict got more severe
/// ([`Severity`], the order of the gates: OK and INFORMATIONAL, then
/// UNIMPLEMENTED, then NON-STRICT, then FAILED, ERRORED and NOT RUN; for the
/// close: OK and INFORMATIONAL, then WRONG CODE, UNCLEAN and FAILED), *better*
/// when one got less severe and neither more, *changed* when the verdicts
/// differ at the same severity (OK to INFORMATIONAL, UNCLEAN to FAILED). A
/// case that starts to fail under any gate has got worse.
///
/// The failing counts apply the new run's gate ([`ConformanceDiff::fail_on`])
/// to both runs, so they compare like with like.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConformanceDiff {
    /// The base run.
    pub base: RunInfo,
    /// The new run.
    pub new: RunInfo,
    /// The gate the failing counts apply: the new run's.
    pub fail_on: FailOn,
    /// Cases that got worse.
    pub worse: Vec<CaseChange>,
    /// Cases that got better.
    pub better: Vec<CaseChange>,
    /// Cases whose verdicts changed at the same severity.
    pub changed: Vec<CaseChange>,
    /// Cases only in the new run.
    pub appeared: Vec<CaseChange>,
    /// Cases only in the base run.
    pub disappeared: Vec<CaseChange>,
    /// Cases with the same verdicts in both.
    pub unchanged: usize,
}

impl ConformanceDiff {
    /// Compares `new` against `base`, case by case (matched by id).
    pub fn new(base: &ConformanceReport, new: &ConformanceReport, base_name: &str, new_name: &str) -> Self {
        let before: BTreeMap<&str, &CaseReport> = base.cases.iter().map(|c| (c.id.as_str(), c)).collect();
        let after: BTreeMap<&str, &CaseReport> = new.cases.iter().map(|c| (c.id.as_str(), c)).collect();
        let fail_on = new.fail_on;
        let mut d = ConformanceDiff {
            base: RunInfo::of(base, base_name, fail_on),
            new: RunInfo::of(new, new_name, fail_on),
            fail_on,
            worse: vec![],
            better: vec![],
            changed: vec![],
            appeared: vec![],
            disappeared: vec![],
            unchanged: 0,
        };
        let change = |c: &CaseReport, b: Option<&CaseReport>, a: Option<&CaseReport>| CaseChange {
            id: c.id.clone(),
            title: c.title.clone(),
            rfc: c.rfc.clone(),
            before: b.map(CaseState::of),
            after: a.map(CaseState::of),
            reason: a.and_then(|a| a.reason.clone()).or_else(|| b.and_then(|b| b.reason.clone())),
        };
        for c in &new.cases {
            match before.get(c.id.as_str()) {
                None => d.appeared.push(change(c, None, Some(c))),
                Some(b) => {
                    let (was, is) = (CaseState::of(b), CaseState::of(c));
                    let ((wb, wc), (ib, ic)) = (was.severity(), is.severity());
                    if ib > wb || ic > wc {
                        d.worse.push(change(c, Some(b), Some(c)));
                    } else if ib < wb || ic < wc {
                        d.better.push(change(c, Some(b), Some(c)));
                    } else if was != is {
                        d.changed.push(change(c, Some(b), Some(c)));
                    } else {
                        d.unchanged += 1;
                    }
                }
            }
        }
        for c in &base.cases {
            if !after.contains_key(c.id.as_str()) {
                d.disappeared.push(change(c, Some(c), None));
            }
        }
        d
    }

    /// The regressions: every case that got worse (so every case that started
    /// to fail), every new case that is not OK, and a new run that is incomplete. Cases that disappeared are listed
    /// by [`ConformanceDiff::text`] but are not regressions (a narrower
    /// `--filter` is not a worse server).
    pub fn regressions(&self) -> Vec<String> {
        let mut out: Vec<String> = self.worse.iter().map(|c| format!("{}: {}", c.id, c.transition())).collect();
        for c in &self.appeared {
            if c.after.as_ref().is_some_and(CaseState::is_not_ok) {
                out.push(format!("{}: new case, {}", c.id, c.transition()));
            }
        }
        if !self.new.complete {
            out.push(format!("{} is an incomplete run (interrupted after {} cases)", self.new.name, self.new.cases));
        }
        out
    }

    /// One line per count: `1 worse, 0 better, ...; failing (--fail-on failed): 2 -> 3`.
    pub fn counts_line(&self) -> String {
        format!(
            "{} worse, {} better, {} changed, {} appeared, {} disappeared, {} unchanged; failing (--fail-on {}): {} -> {}",
            self.worse.len(),
            self.better.len(),
            self.changed.len(),
            self.appeared.len(),
            self.disappeared.len(),
            self.unchanged,
            self.fail_on,
            self.base.failing,
            self.new.failing
        )
    }

    /// The terminal output: the two runs, then each non-empty group as a table.
    pub fn text(&self) -> String {
        let run = |label: &str, r: &RunInfo| {
            let incomplete = if r.complete { "" } else { "  INCOMPLETE" };
            vec![
                label.to_string(),
                r.name.clone(),
                r.tool.clone(),
                r.url.clone(),
                r.started_at.clone(),
                format!("{} cases{incomplete}", r.cases),
            ]
        };
        let mut out = table(&[run("base", &self.base), run("new", &self.new)]);
        if self.base.fail_on != self.fail_on {
            out.push_str(&format!(
                "note: {} ran with --fail-on {}; both runs are counted with --fail-on {}, the new run's\n",
                self.base.name, self.base.fail_on, self.fail_on
            ));
        }
        for (name, group) in self.groups() {
            if group.is_empty() {
                continue;
            }
            out.push_str(&format!("\n{name} ({}):\n", group.len()));
            let rows: Vec<Vec<String>> = group
                .iter()
                .map(|c| {
                    vec![
                        format!("  {}", c.id),
                        c.transition(),
                        format!("RFC {}", c.rfc),
                        c.reason.clone().unwrap_or_default(),
                    ]
                })
                .collect();
            out.push_str(&table(&rows));
        }
        out.push_str(&format!("\n{}\n", self.counts_line()));
        out
    }

    /// The groups in display order, named.
    pub fn groups(&self) -> [(&'static str, &[CaseChange]); 5] {
        [
            ("worse", &self.worse),
            ("appeared", &self.appeared),
            ("disappeared", &self.disappeared),
            ("changed", &self.changed),
            ("better", &self.better),
        ]
    }
}
