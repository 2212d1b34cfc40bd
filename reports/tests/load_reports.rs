//! Load reports: the schema, the page with its plots, the JUnit of thresholds, and the comparison with --max-regression.

use crate::common::{load_fixture, schema_errors};
use reports::compare::{compare, Comparison, Thresholds};
use reports::load::LoadReport;
use reports::Report;

fn diff(base: &LoadReport, new: &LoadReport, max: f64) -> Comparison {
    compare(
        &Report::Load(Box::new(base.clone())),
        &Report::Load(Box::new(new.clone())),
        "base.json",
        "new.json",
        &Thresholds { max_regression_pct: max },
    )
    .expect("same kind")
}

#[test]
fn the_load_fixture_validates_and_the_schema_refuses_drift() {
    let good = serde_json::to_value(load_fixture()).expect("serialize");
    assert_eq!(schema_errors("load.schema.json", &good), Vec::<String>::new());
    type Breaks = fn(&mut serde_json::Value);
    let broken: [(&str, Breaks); 5] = [
        ("no p99", |v| {
            v["latency_us"].as_object_mut().expect("latency").remove("p99");
        }),
        ("a histogram that is not base64", |v| v["histograms"]["latency"] = "not base64!".into()),
        ("phase 'cooldown'", |v| v["series"][0]["phase"] = "cooldown".into()),
        ("an unknown error kind", |v| v["errors"]["by_kind"]["oops"] = 1.into()),
        ("kind conformance", |v| v["kind"] = "conformance".into()),
    ];
    for (what, breaks) in broken {
        let mut v = good.clone();
        breaks(&mut v);
        assert!(!schema_errors("load.schema.json", &v).is_empty(), "the schema accepted {what}");
    }
}

#[test]
fn a_deflate_run_validates_renders_its_ratios_beside_the_rate_and_refuses_drift() {
    let mut report = load_fixture();
    let mut d = reports::load::DeflateSummary {
        negotiated: Some("client_no_context_takeover; server_max_window_bits=15; client_max_window_bits=15".into()),
        compression: "replay".into(),
        plain_bytes_sent: report.summary.payload_bytes_sent,
        wire_bytes_sent: report.summary.payload_bytes_sent / 8,
        plain_bytes_received: report.summary.payload_bytes_sent,
        wire_bytes_received: report.summary.payload_bytes_sent / 4,
        messages_compressed_received: report.summary.messages_received,
        ..Default::default()
    };
    d.set_ratios();
    report.summary.deflate = Some(d);
    report.settings.deflate = Some("permessage-deflate; client_no_context_takeover".into());
    let good = serde_json::to_value(&report).expect("serialize");
    assert_eq!(schema_errors("load.schema.json", &good), Vec::<String>::new());
    for (what, path, value) in [
        ("a compression the generator has not", "/summary/deflate/compression", "gzip".into()),
        ("a negative ratio", "/summary/deflate/ratio_sent", serde_json::json!(-1.0)),
        ("an offer of another extension", "/settings/deflate", "x-webkit-deflate-frame".into()),
    ] {
        let mut v = good.clone();
        *v.pointer_mut(path).expect(path) = value;
        assert!(!schema_errors("load.schema.json", &v).is_empty(), "the schema accepted {what}");
    }
    let html = reports::html::render(&Report::Load(Box::new(report))).expect("render");
    let (rate, ratio) = (html.find("echoes/s").expect("the rate"), html.find("ratio sent").expect("the ratio"));
    assert!(rate < ratio && html.contains("8.00:1") && html.contains("4.00:1"), "the ratios follow the rate");
    assert!(html.contains("id=\"deflate\"") && html.contains("compression: replay"));
}

#[test]
fn a_p99_20_percent_worse_is_a_regression_at_10_percent_and_not_at_25() {
    let base = load_fixture();
    let mut new = load_fixture();
    new.latency_us.p99 = base.latency_us.p99 * 12 / 10;
    let c = diff(&base, &new, 10.0);
    let regressions = c.regressions();
    assert_eq!(regressions.len(), 1, "{regressions:?}");
    assert!(regressions[0].starts_with("p99 latency: 4.967 ms -> 5.960 ms (+20.0%, limit +10%)"), "{regressions:?}");
    assert!(c.text().contains("p99 latency    4.967 ms  5.960 ms  +20.0%  REGRESSION (limit 10%)"), "{}", c.text());
    assert!(diff(&base, &new, 25.0).regressions().is_empty());
}

#[test]
fn identical_load_runs_have_no_regression() {
    let c = diff(&load_fixture(), &load_fixture(), 10.0);
    assert_eq!(c.regressions(), Vec::<String>::new());
    let Comparison::Load(d) = &c else { panic!("a load comparison") };
    assert!(d.metrics.iter().all(|m| m.change() == "+0.0%" || m.change() == "±0"), "{:?}", d.metrics);
}

#[test]
fn less_throughput_new_errors_and_an_interrupted_run_are_regressions() {
    let base = load_fixture();
    let mut new = load_fixture();
    new.summary.throughput_per_s = base.summary.throughput_per_s * 0.8;
    new.errors.total = 3;
    new.errors.by_kind.insert("timeout".into(), 3);
    new.complete = false;
    let c = diff(&base, &new, 10.0);
    let regressions = c.regressions();
    assert_eq!(regressions.len(), 3, "{regressions:?}");
    assert!(regressions[0].starts_with("throughput: 2000.3/s -> 1600.2/s (-20.0%, limit -10%)"), "{regressions:?}");
    assert!(regressions[1].starts_with("error rate: 0.0000% -> 0.0375% (from 0"), "{regressions:?}");
    assert!(regressions[2].contains("incomplete"), "{regressions:?}");
    assert!(c.text().contains("timeout  0  3"), "{}", c.text());
    // faster is never a regression
    let mut faster = load_fixture();
    faster.latency_us.p99 /= 2;
    faster.summary.throughput_per_s *= 2.0;
    assert!(diff(&base, &faster, 0.0).regressions().is_empty());
}

#[test]
fn a_load_report_cannot_be_compared_with_a_conformance_report() {
    let e = compare(
        &Report::Load(Box::new(load_fixture())),
        &Report::Conformance(Box::new(crate::common::fixture())),
        "a",
        "b",
        &Thresholds::default(),
    )
    .unwrap_err();
    assert_eq!(e.to_string(), "cannot compare a load report with a conformance report");
}

#[test]
fn the_load_page_has_thresholds_first_four_plots_and_no_outside_reference() {
    let report = load_fixture();
    let html = reports::html::render(&Report::Load(Box::new(report.clone()))).expect("render");
    for id in [
        "summary",
        "thresholds",
        "counts",
        "percentile-distribution",
        "percentiles",
        "latency-over-time",
        "throughput-over-time",
        "connections-over-time",
        "errors",
        "settings",
    ] {
        assert!(html.contains(&format!("id=\"{id}\"")), "missing {id}");
    }
    assert!(html.find("id=\"thresholds\"") < html.find("id=\"latency\""), "thresholds come first (k6)");
    assert_eq!(html.matches("<svg").count(), 4, "one distribution and three time plots");
    assert!(html.contains("99.9%") && html.contains("corrected for coordinated omission"));
    assert!(html.contains("✓ passed"));
    for needle in [" src=", "<link", "@import", "url(", "href=\"http"] {
        assert!(!html.contains(needle), "the page contains {needle:?}");
    }
    let comparison = diff(&report, &report, 10.0);
    let page = reports::html::render_comparison(&comparison).expect("render comparison");
    assert!(page.contains("No regression beyond 10%") && page.matches("<svg").count() == 1);
}

#[test]
fn load_junit_has_one_testcase_per_threshold_and_fails_the_breached_one() {
    let mut report = load_fixture();
    report.thresholds[0].passed = false;
    report.thresholds[0].detail = Some("over the limit by 1ms".into());
    let xml = reports::junit::render_load(&report).expect("render");
    assert_eq!(xml.matches("<testcase ").count(), report.thresholds.len());
    assert!(xml.contains("failures=\"1\""), "{xml}");
    assert!(xml.contains("message=\"observed 4.967ms, over the limit by 1ms\""), "{xml}");
    report.complete = false;
    assert!(reports::junit::render_load(&report).expect("render").contains("wsharness/run-complete"));
}
