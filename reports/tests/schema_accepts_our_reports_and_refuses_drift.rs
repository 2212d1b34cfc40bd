//! The committed JSON Schema accepts what the model writes and refuses what it must not contain.

use crate::common::{fixture, schema_errors};

#[test]
fn the_fixture_and_the_model_round_trip_validate() {
    let report = fixture();
    let value = serde_json::to_value(&report).expect("serialize");
    assert_eq!(schema_errors("conformance.schema.json", &value), Vec::<String>::new());
    // the model reads back what it wrote
    let again: reports::conformance::ConformanceReport = serde_json::from_value(value).expect("read back");
    assert_eq!(again, report);
}

#[test]
fn a_report_on_a_client_names_its_role_and_agent_and_validates() {
    let mut report = fixture();
    report.role = reports::conformance::Role::Client;
    report.target.agent = Some("tokio-tungstenite".into());
    let value = serde_json::to_value(&report).expect("serialize");
    assert_eq!(
        (value["role"].as_str(), value["target"]["agent"].as_str()),
        (Some("client"), Some("tokio-tungstenite"))
    );
    assert_eq!(schema_errors("conformance.schema.json", &value), Vec::<String>::new());
    // a report on a server leaves both out, as every report written before clients could be tested
    let server = serde_json::to_value(fixture()).expect("serialize");
    assert!(server.get("role").is_none() && server["target"].get("agent").is_none());
    let mut wrong = value.clone();
    wrong["role"] = "browser".into();
    assert!(!schema_errors("conformance.schema.json", &wrong).is_empty());
}

#[test]
fn the_schema_refuses_unknown_verdicts_missing_fields_extra_fields_and_other_versions() {
    let good = serde_json::to_value(fixture()).expect("serialize");
    type Breaks = fn(&mut serde_json::Value);
    let broken: [(&str, Breaks); 9] = [
        ("verdict PASSED", |v| v["cases"][0]["verdict"] = "PASSED".into()),
        ("verdict NOT-RUN", |v| v["cases"][0]["verdict"] = "NOT-RUN".into()),
        ("fail_on strict", |v| v["fail_on"] = "strict".into()),
        ("a negative NOT RUN count", |v| v["summary"]["NOT RUN"] = (-1).into()),
        ("no reason field", |v| {
            v["cases"][1].as_object_mut().expect("case").remove("reason");
        }),
        ("an extra field", |v| v["cases"][1]["colour"] = "red".into()),
        ("schema_version 2", |v| v["schema_version"] = 2.into()),
        ("hex with capitals", |v| v["cases"][0]["wire"][3]["hex"] = "C1 85".into()),
        ("bytes without a direction", |v| v["cases"][0]["wire"][3]["dir"] = serde_json::Value::Null),
    ];
    for (what, breaks) in broken {
        let mut v = good.clone();
        breaks(&mut v);
        assert!(!schema_errors("conformance.schema.json", &v).is_empty(), "the schema accepted {what}");
    }
}

#[test]
fn a_report_written_before_the_gate_and_not_run_were_recorded_still_validates_and_loads_as_failed() {
    let mut old = serde_json::to_value(fixture()).expect("serialize");
    old.as_object_mut().expect("object").remove("fail_on");
    old["summary"].as_object_mut().expect("summary").remove("NOT RUN");
    old["cases"].as_array_mut().expect("cases").retain(|c| c["verdict"] != "NOT RUN");
    old["summary"]["total"] = 8.into();
    assert_eq!(schema_errors("conformance.schema.json", &old), Vec::<String>::new());
    let bytes = serde_json::to_vec(&old).expect("bytes");
    let reports::Report::Conformance(report) = reports::parse_report(&bytes, "old.json").expect("loads") else {
        panic!("a conformance report")
    };
    assert_eq!(report.fail_on, reports::verdict::FailOn::Failed);
    assert_eq!(report.cases.len(), 8);
}

#[test]
fn the_summary_written_has_one_count_per_verdict_and_adds_up() {
    let report = fixture();
    let summary = report.tally().summary();
    assert_eq!(summary, report.summary, "the fixture's summary is what the model writes");
    let keys: Vec<&str> = summary.keys().map(String::as_str).filter(|k| *k != "total").collect();
    let mut names: Vec<&str> = reports::verdict::Verdict::ALL.iter().map(|v| v.as_str()).collect();
    names.sort_unstable();
    assert_eq!(keys, names);
    assert_eq!(summary.iter().filter(|(k, _)| *k != "total").map(|(_, n)| n).sum::<u64>(), summary["total"]);
}
