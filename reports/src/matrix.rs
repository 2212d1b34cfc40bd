//! Several conformance reports of the same suite side by side: a row per case, a column per report,
//! Autobahn|Testsuite's view of several servers (`wsharness matrix`). Rows come in the first report's
//! case order, then the cases only later reports have; a case a report lacks is an empty cell.

use std::collections::HashMap;
use std::fmt::Write as _;

use thiserror::Error;

use crate::conformance::{CaseReport, ConformanceReport, Role, Tally};
use crate::verdict::{CloseVerdict, Severity, Verdict};

/// Reports that cannot share a matrix.
#[derive(Debug, Error)]
pub enum MatrixError {
    /// Fewer than two reports.
    #[error("a matrix needs at least two conformance reports")]
    TooFew,
    /// A load report among them.
    #[error("{name} is a load report: a matrix puts conformance reports side by side")]
    NotConformance {
        /// The report's name.
        name: String,
    },
    /// Servers and clients mixed.
    #[error("{name} tests a {role} while the first report tests a {first}: put reports of one role together")]
    MixedRoles {
        /// The report's name.
        name: String,
        /// Its role.
        role: &'static str,
        /// The first report's role.
        first: &'static str,
    },
}

/// One report's column.
#[derive(Debug, Clone)]
pub struct Column {
    /// The name given (a file name, or `--label`).
    pub name: String,
    /// The server's URL (or the client's agent).
    pub target: String,
    /// Its counts, under its own recorded gate.
    pub tally: Tally,
}

/// One cell: a case's verdicts in one report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cell {
    /// The behaviour verdict.
    pub verdict: Verdict,
    /// The close verdict, where judged.
    pub close: Option<CloseVerdict>,
}

impl Cell {
    /// `FAILED`, or `OK / UNCLEAN` when the close is judged and not OK.
    pub fn label(&self) -> String {
        match self.close.filter(|c| *c != CloseVerdict::Ok) {
            Some(close) => format!("{} / {close}", self.verdict),
            None => self.verdict.to_string(),
        }
    }

    /// How bad the cell is.
    pub fn severity(&self) -> Severity {
        Severity::of(self.verdict, self.close)
    }
}

/// One case across the reports.
#[derive(Debug, Clone)]
pub struct Row {
    /// Case id.
    pub id: String,
    /// Its section.
    pub section: String,
    /// Its title.
    pub title: String,
    /// Per column; `None` where the report lacks the case.
    pub cells: Vec<Option<Cell>>,
}

impl Row {
    /// Whether the reports that have this case disagree on it.
    pub fn differs(&self) -> bool {
        let mut present = self.cells.iter().flatten();
        let first = present.next();
        present.any(|c| Some(c) != first)
    }

    /// Whether some report lacks this case (another selection, or an interrupted run).
    pub fn incomplete(&self) -> bool {
        self.cells.iter().any(Option::is_none)
    }
}

/// The matrix.
#[derive(Debug, Clone)]
pub struct Matrix {
    /// One per report, in the order given.
    pub columns: Vec<Column>,
    /// One per case.
    pub rows: Vec<Row>,
}

impl Matrix {
    /// Builds the matrix of `reports` (name, report), at least two, all conformance reports of one role.
    pub fn of(reports: &[(String, &crate::Report)]) -> Result<Matrix, MatrixError> {
        if reports.len() < 2 {
            return Err(MatrixError::TooFew);
        }
        let mut conformance: Vec<(&str, &ConformanceReport)> = Vec::new();
        for (name, report) in reports {
            match report {
                crate::Report::Conformance(r) => conformance.push((name, r)),
                crate::Report::Load(_) => return Err(MatrixError::NotConformance { name: name.clone() }),
            }
        }
        let first = conformance[0].1.role;
        if let Some((name, r)) = conformance.iter().find(|(_, r)| r.role != first) {
            let (role, first) = (role_name(r.role), role_name(first));
            return Err(MatrixError::MixedRoles { name: name.to_string(), role, first });
        }
        let columns = conformance.iter().map(|(name, r)| column(name, r)).collect();
        Ok(Matrix { columns, rows: rows(&conformance) })
    }

    /// The rows where the reports disagree.
    pub fn differing(&self) -> impl Iterator<Item = &Row> {
        self.rows.iter().filter(|r| r.differs())
    }

    /// The terminal view: each column's counts, then the cases where they differ (at most `limit`).
    pub fn text(&self, limit: usize) -> String {
        let mut out = String::new();
        for (i, c) in self.columns.iter().enumerate() {
            let t = &c.tally;
            let _ = writeln!(
                out,
                "[{}] {}  {}: {} cases, {} OK, {} failing (--fail-on {})",
                i + 1,
                c.name,
                c.target,
                t.total,
                t.count(Verdict::Ok),
                t.failing,
                t.fail_on
            );
        }
        let differing: Vec<&Row> = self.differing().collect();
        let missing = self.rows.iter().filter(|r| r.incomplete()).count();
        let _ = writeln!(
            out,
            "\n{} of {} cases differ between the reports that ran them; {missing} are missing from some report",
            differing.len(),
            self.rows.len()
        );
        for row in differing.iter().take(limit) {
            let cells: Vec<String> = row
                .cells
                .iter()
                .enumerate()
                .map(|(i, c)| format!("[{}] {}", i + 1, c.map_or("-".to_owned(), |c| c.label())))
                .collect();
            let _ = writeln!(out, "  {}: {}", row.id, cells.join("  "));
        }
        if differing.len() > limit {
            let _ = writeln!(out, "  ... and {} more (the HTML page has every case)", differing.len() - limit);
        }
        out
    }
}

fn role_name(role: Role) -> &'static str {
    match role {
        Role::Server => "server",
        Role::Client => "client",
    }
}

fn column(name: &str, r: &ConformanceReport) -> Column {
    let target = match &r.target.agent {
        Some(agent) => format!("client {agent:?}"),
        None => r.target.url.clone(),
    };
    Column { name: name.to_owned(), target, tally: r.tally() }
}

fn rows(reports: &[(&str, &ConformanceReport)]) -> Vec<Row> {
    let mut at: HashMap<&str, usize> = HashMap::new();
    let mut rows: Vec<Row> = Vec::new();
    for (col, (_, report)) in reports.iter().enumerate() {
        for case in &report.cases {
            let i = *at.entry(case.id.as_str()).or_insert_with(|| {
                rows.push(empty_row(case, reports.len()));
                rows.len() - 1
            });
            rows[i].cells[col] = Some(Cell { verdict: case.verdict, close: case.close_verdict });
        }
    }
    rows
}

fn empty_row(case: &CaseReport, columns: usize) -> Row {
    Row { id: case.id.clone(), section: case.section.clone(), title: case.title.clone(), cells: vec![None; columns] }
}
