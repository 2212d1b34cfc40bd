//! The conformance HTML page: self-contained, escaped, and carrying every part the issue asks for.

use crate::common::fixture;
use reports::verdict::{CloseVerdict, FailOn, Verdict};
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
    for id in ["summary", "counts", "matrix", "legend", "filter", "not-ok", "failing", "not-ok-passing", "all-ok"] {
        let id = format!("id=\"{id}\"");
        assert!(html.contains(&id), "missing {id}");
    }
    for c in &report.cases {
        assert!(html.contains(&format!("id=\"case-{}\"", c.id)), "no details for {}", c.id);
        assert!(html.contains(&format!("href=\"#case-{}\"", c.id)), "no matrix cell for {}", c.id);
    }
    // failures come before the matrix and the OK cases, worst first
    let pos = |id: &str| html.find(&format!("id=\"case-{id}\"")).expect(id);
    assert!(pos("rfc6455/5.2/rsv1-on-text") < pos("rfc6455/5.2/text-hello"));
    assert!(pos("rfc6455/5.5.1/close-timeout") < pos("rfc6455/8.1/late-utf8"), "ERRORED before NON-STRICT");
    let matrix = html.find("id=\"matrix\"").expect("matrix");
    assert!(pos("rfc6455/5.2/rsv1-on-text") < matrix && matrix < pos("rfc6455/5.2/text-hello"));
    // each case is one closed line that opens on demand, the reason on it
    assert_eq!(html.matches("<details class=\"case ").count(), report.cases.len());
    assert!(!html.contains(" open>") && !html.contains(" open "), "no case or trace is open on load");
    let line = between(&html, "id=\"case-rfc6455/5.2/rsv1-on-text\"", "</summary>");
    assert!(
        line.contains("<span class=\"reason\">the server echoed the frame instead of failing the connection</span>")
    );
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

/// The text between `from` and the next `to` in `html`.
fn between<'a>(html: &'a str, from: &str, to: &str) -> &'a str {
    let start = html.find(from).unwrap_or_else(|| panic!("no {from}"));
    let end = start + html[start..].find(to).unwrap_or_else(|| panic!("no {to} after {from}"));
    &html[start..end]
}

/// The number in a tile: `<div class="n">N</div><div class="what">WHAT</div>`.
fn tile(html: &str, what: &str) -> u64 {
    let counts = between(html, "id=\"counts\"", "</div>\n<dl");
    let at = counts.find(&format!("<div class=\"what\">{what}</div>")).unwrap_or_else(|| panic!("no tile {what}"));
    let n = &counts[..at];
    let n = &n[n.rfind("<div class=\"n\">").expect("number") + "<div class=\"n\">".len()..];
    n[..n.find('<').expect("end")].parse().expect("a count")
}

#[test]
fn every_count_on_the_page_agrees_the_verdicts_add_up_and_the_banner_explains_the_failing_ones() {
    let report = fixture();
    let html = page(report.clone());
    let total: u64 = Verdict::ALL.iter().map(|v| tile(&html, v.as_str())).sum();
    assert_eq!(total, 9, "the verdict tiles add up to the cases");
    assert_eq!(tile(&html, "CASES"), 9);
    assert_eq!(tile(&html, "NOT RUN"), 1);
    let banner = between(&html, "id=\"verdict\"", "</div>");
    assert!(
        banner.contains(
            "4 of 9 cases fail the gate (--fail-on failed): 1 NOT RUN, 1 ERRORED, 1 FAILED, \
             1 OK with a close that is not OK. They are listed first below. 2 more are not OK but pass the gate."
        ),
        "{banner}"
    );
    // each group holds as many cases as its heading says, and the groups hold every case once
    let groups = [("failing", "not-ok-passing", 4), ("not-ok-passing", "all-ok", 2), ("all-ok", "</section>", 3)];
    for (id, next, n) in groups {
        let group = between(&html, &format!("id=\"{id}\""), next);
        assert_eq!(group.matches("<details class=\"case ").count(), n, "{id}");
        assert!(group.contains(&format!("({n})</h")), "the heading of {id} says {n}");
    }
    assert!(html.contains("<h2>Not OK (6), worst first</h2>"));
    assert!(html.contains("<label><input type=\"checkbox\" value=\"NOT RUN\" checked> NOT RUN (1)</label>"));
    assert!(between(&html, "id=\"legend\"", "</div>").contains("NOT RUN (-; fails)"));
    // what each verdict means, from the one text every output prints
    let meanings = between(&html, "id=\"meanings\"", "</details>");
    for v in Verdict::ALL {
        assert!(meanings.contains(&askama_escape(v.meaning().text)), "{v}");
    }
    for c in reports::verdict::CloseVerdict::ALL {
        assert!(meanings.contains(&askama_escape(c.meaning().text)), "{c}");
    }
    // the matrix has a column per verdict
    assert!(between(&html, "<thead><tr><th>section</th>", "</thead>").contains("<th class=\"num\">NOT RUN</th>"));
}

#[test]
fn the_page_applies_the_gate_recorded_in_the_report() {
    let mut report = fixture();
    report.cases[1].verdict = Verdict::NonStrict; // text-hello: NON-STRICT, close OK
    report.cases[2].verdict = Verdict::NonStrict; // ping-125: NON-STRICT, close UNCLEAN fails any gate
    report.cases[2].close_verdict = Some(CloseVerdict::Unclean);
    let failing = |html: &str| between(html, "id=\"failing\"", "id=\"not-ok-passing\"").to_string();
    let html = page(report.clone());
    assert!(failing(&html).contains("id=\"case-rfc6455/5.5.2/ping-125\""), "NON-STRICT with an unclean close fails");
    assert!(!failing(&html).contains("id=\"case-rfc6455/5.2/text-hello\""), "NON-STRICT passes --fail-on failed");
    assert!(between(&html, "id=\"verdict\"", "</div>").contains("5 of 9 cases fail the gate (--fail-on failed)"));
    report.fail_on = FailOn::NonStrict;
    let html = page(report);
    assert!(failing(&html).contains("id=\"case-rfc6455/5.2/text-hello\""), "NON-STRICT fails --fail-on non-strict");
    let banner = between(&html, "id=\"verdict\"", "</div>").to_string();
    assert!(banner.contains("7 of 9 cases fail the gate (--fail-on non-strict):"), "{banner}");
    assert!(banner.contains("3 NON-STRICT"), "{banner}");
}

#[test]
fn a_report_on_a_client_names_the_client_and_where_it_was_served() {
    let mut report = fixture();
    report.role = reports::conformance::Role::Client;
    report.target.agent = Some("tokio-<tungstenite>".into());
    report.target.server_header = Some("tungstenite-rs".into());
    let html = page(report);
    let h1 = &html[html.find("<h1>").expect("h1")..html.find("</h1>").expect("h1 end")];
    assert!(
        h1.contains("Conformance of the client tokio-&#60;tungstenite&#62;") && !h1.contains("<tungstenite"),
        "{h1}"
    );
    assert!(html.contains("<dt>client</dt><dd>tungstenite-rs; served on ws://"), "the User-Agent and the URL");
    let server = page(fixture());
    assert!(server.contains("<dt>server</dt>") && !server.contains("<dt>client</dt>"));
}

/// A text as askama escapes it into the page.
fn askama_escape(s: &str) -> String {
    s.replace('&', "&#38;").replace('<', "&#60;").replace('>', "&#62;").replace('"', "&#34;").replace('\'', "&#39;")
}
