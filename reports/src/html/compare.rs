//! The comparison page of `wsharness compare --html`.

use askama::Template;

use super::plot;
use super::{verdict_class, CONTENT_SECURITY_POLICY};
use crate::compare::{CaseChange, Comparison, ConformanceDiff, LoadDiff};
use crate::load::decode_histogram;
use crate::RenderError;

#[derive(Template)]
#[template(path = "compare_conformance.html")]
struct ConformancePage<'a> {
    csp: &'static str,
    title: String,
    d: &'a ConformanceDiff,
    regressions: Vec<String>,
    groups: Vec<Group<'a>>,
}

#[derive(Template)]
#[template(path = "compare_load.html")]
struct LoadPage<'a> {
    csp: &'static str,
    title: String,
    d: &'a LoadDiff,
    regressions: Vec<String>,
    distribution: String,
}

struct Group<'a> {
    name: &'static str,
    rows: Vec<Row<'a>>,
}

struct Row<'a> {
    c: &'a CaseChange,
    before_class: String,
    after_class: String,
}

/// The HTML page of a comparison.
pub fn render(comparison: &Comparison) -> Result<String, RenderError> {
    match comparison {
        Comparison::Conformance(d) => conformance(d),
        Comparison::Load(d) => load(d),
    }
}

fn conformance(d: &ConformanceDiff) -> Result<String, RenderError> {
    let class =
        |s: &Option<crate::compare::CaseState>| s.as_ref().map(|s| verdict_class(s.verdict)).unwrap_or_default();
    let groups = d
        .groups()
        .into_iter()
        .map(|(name, cases)| Group {
            name,
            rows: cases
                .iter()
                .map(|c| Row { c, before_class: class(&c.before), after_class: class(&c.after) })
                .collect(),
        })
        .collect();
    ConformancePage {
        csp: CONTENT_SECURITY_POLICY,
        title: format!("wsharness compare: {} → {}", d.base.name, d.new.name),
        d,
        regressions: d.regressions(),
        groups,
    }
    .render()
    .map_err(RenderError::Template)
}

fn load(d: &LoadDiff) -> Result<String, RenderError> {
    let decode = |i: usize| {
        decode_histogram(&d.histograms[i]).map_err(|source| RenderError::Histogram {
            name: format!("latency of {}", [&d.base.name, &d.new.name][i]),
            source,
        })
    };
    let (base, new) = (decode(0)?, decode(1)?);
    let distribution = if base.is_empty() && new.is_empty() {
        String::new()
    } else {
        plot::percentile_distribution(&[
            (&format!("base: {}", d.base.name), &base),
            (&format!("new: {}", d.new.name), &new),
        ])?
    };
    LoadPage {
        csp: CONTENT_SECURITY_POLICY,
        title: format!("wsharness compare: {} → {}", d.base.name, d.new.name),
        d,
        regressions: d.regressions(),
        distribution,
    }
    .render()
    .map_err(RenderError::Template)
}
