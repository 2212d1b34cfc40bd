//! The conformance HTML page: self-contained, escaped, and carrying every part the issue asks for.

mod common;

use common::fixture;
use reports::Report;

fn page(report: reports::conformance::ConformanceReport) -> String {
    reports::html::render(&Report::Conformance(Box::new(report))).expect("render")
}

#[test]
fn the_page_forbids_every_fetch_and_references_nothing_outside_itself() {
    let html = page(fixture());
    let head = &html[..html.find("</head>").expect("head")];
    assert!(
        head.contains(&format!(
            "<meta http-equiv=\"Content-Security-Policy\" content=\"{}\">",
            reports::html::CONTENT_SECURITY_POLICY
        )),
        "{head}"
    );
    assert!(reports::html::CONTENT_SECURITY_POLICY.starts_with("default-src 'none';"));
    for needle in [" src=", "<link", "@import", "url("] {
        assert!(!html.contains(needle), "the page contains {needle:?}");
    }
    // the only absolute links are to the RFC text, followed only when clicked
    for (i, _) in html.match_indices("href=\"http") {
        assert!(html[i..].starts_with("href=\"https://www.rfc-editor.org/rfc/rfc"), "{}", &html[i..i + 80]);
    }
}

#[test]
fn the_page_has_the_summary_matrix_failures_first_and_each_case_with_its_wire_trace() {
    let report = fixture();
    let html = page(report.clone());
    for id in ["id=\"summary\"", "id=\"counts\"", "id=\"matrix\"", "id=\"filter\"", "id=\"not-ok\"", "id=\"all-ok\""] {
        assert!(html.contains(id), "missing {id}");
    }
    for c in &report.cases {
        assert!(html.contains(&format!("id=\"case-{}\"", c.id)), "no details for {}", c.id);
        assert!(html.contains(&format!("href=\"#case-{}\"", c.id)), "no matrix cell for {}", c.id);
    }
    // failures come before the OK cases, worst first
    let pos = |id: &str| html.find(&format!("id=\"case-{id}\"")).expect(id);
    assert!(pos("rfc6455/5.2/rsv1-on-text") < pos("rfc6455/5.2/text-hello"));
    assert!(pos("rfc6455/5.5.1/close-timeout") < pos("rfc6455/8.1/late-utf8"), "ERRORED before NON-STRICT");
    // expected vs observed, RFC link, the hex dump and the decoded frame of the trace
    assert!(html.contains("a close frame with code 1002, then EOF"));
    assert!(html.contains("href=\"https://www.rfc-editor.org/rfc/rfc6455#section-5.2\""));
    assert!(html.contains("0000  c1 85 37 fa 21 3d 7f 9f 4d 51 58"), "hex dump");
    assert!(html.contains("text rsv1 masked(37fa213d) 5 bytes &#34;Hello&#34;"), "decoded frame");
    assert!(html.contains("client → server") && html.contains("server → client"));
    assert!(html.contains("1.201 ms"), "timestamps");
    // Autobahn's colours
    assert!(html.contains("--ok: #0a0") && html.contains("--failed: #900") && html.contains("--non-strict: #9a0"));
}

#[test]
fn text_from_the_server_is_escaped() {
    let mut report = fixture();
    report.cases[0].reason = Some("<script>alert(1)</script>".into());
    report.cases[0].wire[4].text = Some("<img src=x onerror=alert(1)>".into());
    let html = page(report);
    assert!(!html.contains("<script>alert(1)"));
    assert!(!html.contains("<img src=x"));
    assert!(html.contains("&#60;script&#62;alert(1)&#60;/script&#62;") || html.contains("&lt;script&gt;"));
}

#[test]
fn an_interrupted_run_says_so_at_the_top() {
    let mut report = fixture();
    report.complete = false;
    let html = page(report);
    let banner = html.find("id=\"incomplete\"").expect("banner");
    assert!(banner < html.find("id=\"matrix\"").expect("matrix"));
    assert!(!page(fixture()).contains("id=\"incomplete\""));
}
