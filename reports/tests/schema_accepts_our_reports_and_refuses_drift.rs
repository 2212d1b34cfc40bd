//! The committed JSON Schema accepts what the model writes and refuses what it must not contain.

mod common;

use common::{fixture, schema_errors};

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
fn the_schema_refuses_unknown_verdicts_missing_fields_extra_fields_and_other_versions() {
    let good = serde_json::to_value(fixture()).expect("serialize");
    type Breaks = fn(&mut serde_json::Value);
    let broken: [(&str, Breaks); 6] = [
        ("verdict PASSED", |v| v["cases"][0]["verdict"] = "PASSED".into()),
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
