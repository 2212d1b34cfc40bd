//! The HTML report: one self-contained file per run.
//!
//! Every page is an askama template under `reports/templates/` (one per report
//! kind, all extending `base.html`) filled from a small view model built here:
//! the templates hold the markup, this module holds the arithmetic. Values are
//! HTML-escaped by the template engine; only SVG drawn by our own code is
//! inserted as markup.
//!
//! Self-contained means: the CSS and SVG are inline, the only script is the
//! inline case filter, and the page's Content-Security-Policy
//! ([`CONTENT_SECURITY_POLICY`]) forbids any fetch, so a page that tried one would
//! fail to load it and say so on the browser console (the Chromium check in
//! `ci/html_check.sh` fails on any console message).

mod compare;
mod conformance;
mod load;
mod matrix;
mod plot;

pub use compare::render as render_comparison;
pub(crate) use load::us as load_us;
pub use matrix::render as render_matrix;

use crate::verdict::{CloseVerdict, Verdict};
use crate::{RenderError, Report};

/// The page's Content-Security-Policy: nothing may be fetched; inline styles,
/// the inline script and `data:` images are allowed.
pub const CONTENT_SECURITY_POLICY: &str =
    "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:";

/// The HTML page of a report.
pub fn render(report: &Report) -> Result<String, RenderError> {
    match report {
        Report::Conformance(r) => conformance::render(r),
        Report::Load(r) => load::render(r),
    }
}

/// The HTML page of a conformance report (what [`render`] draws for one).
pub(crate) fn render_conformance(report: &crate::conformance::ConformanceReport) -> Result<String, RenderError> {
    conformance::render(report)
}

/// `1234` ms as `1.23 s`, `87` ms as `87 ms`.
pub(crate) fn millis(ms: u64) -> String {
    if ms >= 1000 {
        format!("{:.2} s", ms as f64 / 1000.0)
    } else {
        format!("{ms} ms")
    }
}

/// `1.2 MiB`.
pub(crate) fn bytes(v: u64) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut x = v as f64;
    let mut i = 0;
    while x >= 1024.0 && i + 1 < units.len() {
        x /= 1024.0;
        i += 1;
    }
    if i == 0 {
        format!("{v} B")
    } else {
        format!("{x:.1} {}", units[i])
    }
}

/// The CSS class of a behaviour verdict: `v-ok`, `v-non-strict`, `v-not-run`, ...
pub(crate) fn verdict_class(verdict: Verdict) -> String {
    format!("v-{}", slug(verdict.as_str()))
}

/// The CSS class of a close verdict: `c-ok`, `c-wrong-code`, ..., `c-none` when not judged.
pub(crate) fn close_class(close: Option<CloseVerdict>) -> String {
    match close {
        Some(v) => format!("c-{}", slug(v.as_str())),
        None => "c-none".into(),
    }
}

fn slug(s: &str) -> String {
    s.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' }).collect()
}

/// A link to the RFC section of `6455 §5.5.1` (`None` when the text has no such form).
pub(crate) fn rfc_link(rfc: &str) -> Option<String> {
    let (number, section) = rfc.split_once('§')?;
    let number = number.trim();
    let section = section.trim().trim_end_matches(|c: char| !c.is_ascii_alphanumeric());
    let ok = |s: &str, extra: char| !s.is_empty() && s.chars().all(|c| c.is_ascii_digit() || c == extra);
    (ok(number, '_') && ok(section, '.'))
        .then(|| format!("https://www.rfc-editor.org/rfc/rfc{number}#section-{section}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_and_links_follow_the_report_names() {
        assert_eq!(verdict_class(Verdict::NonStrict), "v-non-strict");
        assert_eq!(verdict_class(Verdict::NotRun), "v-not-run");
        assert_eq!(close_class(Some(CloseVerdict::WrongCode)), "c-wrong-code");
        assert_eq!(close_class(None), "c-none");
        assert_eq!(rfc_link("6455 §5.5.1").as_deref(), Some("https://www.rfc-editor.org/rfc/rfc6455#section-5.5.1"));
        assert_eq!(rfc_link("6455"), None);
        assert_eq!(rfc_link("6455 §<script>"), None);
        assert_eq!(millis(87), "87 ms");
        assert_eq!(millis(1234), "1.23 s");
    }
}
