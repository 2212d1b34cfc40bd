//! The page of `wsharness matrix --html`: several reports side by side.

use askama::Template;

use super::{verdict_class, CONTENT_SECURITY_POLICY};
use crate::matrix::{Column, Matrix, Row};
use crate::verdict::Verdict;
use crate::RenderError;

#[derive(Template)]
#[template(path = "matrix.html")]
struct MatrixPage<'a> {
    csp: &'static str,
    title: String,
    columns: Vec<ColumnView<'a>>,
    total: usize,
    differing: Vec<RowView<'a>>,
    all: Vec<RowView<'a>>,
}

struct ColumnView<'a> {
    name: &'a str,
    target: &'a str,
    tally: &'a crate::conformance::Tally,
    ok: u64,
}

struct RowView<'a> {
    id: &'a str,
    title: &'a str,
    cells: Vec<Option<CellView>>,
}

struct CellView {
    class: String,
    label: String,
    /// The verdict alone, for the dense table.
    short: String,
}

/// The HTML page of a matrix.
pub fn render(matrix: &Matrix) -> Result<String, RenderError> {
    let columns = matrix.columns.iter().map(column).collect();
    let page = MatrixPage {
        csp: CONTENT_SECURITY_POLICY,
        title: format!("wsharness matrix: {} reports", matrix.columns.len()),
        columns,
        total: matrix.rows.len(),
        differing: matrix.differing().map(row).collect(),
        all: matrix.rows.iter().map(row).collect(),
    };
    page.render().map_err(RenderError::Template)
}

fn column(c: &Column) -> ColumnView<'_> {
    ColumnView { name: &c.name, target: &c.target, tally: &c.tally, ok: c.tally.count(Verdict::Ok) }
}

fn row(r: &Row) -> RowView<'_> {
    let cells = r
        .cells
        .iter()
        .map(|c| {
            c.map(|c| CellView { class: verdict_class(c.verdict), label: c.label(), short: c.verdict.to_string() })
        })
        .collect();
    RowView { id: &r.id, title: &r.title, cells }
}
