//! `index.json` written byte for byte as Autobahn writes it, and read back.

use super::*;

/// What `json.dumps(res, sort_keys=True, indent=3, separators=(',', ': '))` wrote for the results recorded in
/// [`recorded`] (Python 2.7.18, the interpreter Autobahn|Testsuite was written for).
const PYTHON_WROTE: &str = r#"{
   "Tungstenite": {
      "1.1.1": {
         "behavior": "FAILED",
         "behaviorClose": "INFORMATIONAL",
         "duration": 0,
         "remoteCloseCode": null,
         "reportfile": "tungstenite_case_1_1_1.json"
      },
      "10.1.1": {
         "behavior": "NON-STRICT",
         "behaviorClose": "WRONG CODE",
         "duration": 12,
         "remoteCloseCode": 1002,
         "reportfile": "tungstenite_case_10_1_1.json"
      },
      "2.1": {
         "behavior": "OK",
         "behaviorClose": "OK",
         "duration": 1,
         "remoteCloseCode": 1000,
         "reportfile": "tungstenite_case_2_1.json"
      }
   },
   "t\u00fcngstenite \ud83d\ude00": {
      "1.1.1": {
         "behavior": "OK",
         "behaviorClose": "OK",
         "duration": 2,
         "remoteCloseCode": 1000,
         "reportfile": "t_ngstenite_case_1_1_1.json"
      }
   }
}"#;

fn result(verdict: Verdict, close: Option<CloseVerdict>, code: Option<u16>, ms: u64) -> CaseResult {
    CaseResult { verdict, close, remote_close_code: code, duration: Duration::from_micros(ms * 1000 + 400) }
}

fn recorded() -> AutobahnIndex {
    let mut index = AutobahnIndex::default();
    let ok = result(Verdict::Ok, Some(CloseVerdict::Ok), Some(1000), 1);
    let results = [
        ("Tungstenite", "2.1", ok),
        ("Tungstenite", "10.1.1", result(Verdict::NonStrict, Some(CloseVerdict::WrongCode), Some(1002), 12)),
        ("Tungstenite", "1.1.1", result(Verdict::Failed, None, None, 0)),
        ("t\u{fc}ngstenite \u{1F600}", "1.1.1", result(Verdict::Ok, Some(CloseVerdict::Ok), Some(1000), 2)),
    ];
    for (agent, case, result) in results {
        assert_eq!(index.record(agent, case, result).map_err(|e| e.to_string()), Ok(true));
    }
    index
}

#[test]
fn writes_what_python_wrote() {
    assert_eq!(recorded().to_json(), PYTHON_WROTE);
}

#[test]
fn reads_back_what_it_wrote() {
    let index = recorded();
    let read = AutobahnIndex::from_json(&index.to_json()).map_err(|e| e.to_string());
    assert_eq!(read, Ok(index));
}

#[test]
fn reads_tungstenites_expected_results() {
    // the head of tungstenite-rs autobahn/expected-results.json, as its CI diffs it
    let text = r#"{ "Tungstenite": { "1.1.1": { "behavior": "OK", "behaviorClose": "OK", "duration": 1,
        "remoteCloseCode": 1000, "reportfile": "tungstenite_case_1_1_1.json" } } }"#;
    let index = AutobahnIndex::from_json(text).map_err(|e| e.to_string());
    let entry = index.as_ref().ok().and_then(|i| i.entry("Tungstenite", "1.1.1")).cloned();
    assert_eq!(entry.map(|e| (e.behavior, e.remote_close_code)), Some((Verdict::Ok, Some(1000))));
    assert!(AutobahnIndex::from_json(r#"{"a": {"1.1.1": {"behavior": "MAYBE"}}}"#).is_err());
}

#[test]
fn not_run_is_left_out_and_a_rerun_replaces() {
    let mut index = AutobahnIndex::default();
    let not_run = result(Verdict::NotRun, None, None, 0);
    assert_eq!(index.record("a", "1.1.1", not_run).map_err(|e| e.to_string()), Ok(false));
    assert_eq!(index.agents().count(), 0);
    let errored = result(Verdict::Errored, None, None, 3);
    assert!(index.record("a", "1.1.1", errored).is_ok());
    assert!(index.record("a", "1.1.1", result(Verdict::Ok, Some(CloseVerdict::Ok), None, 3)).is_ok());
    assert_eq!(index.entry("a", "1.1.1").map(|e| e.behavior), Some(Verdict::Ok));
}

#[test]
fn agents_are_capped() {
    let mut index = AutobahnIndex::default();
    let ok = result(Verdict::Ok, Some(CloseVerdict::Ok), Some(1000), 1);
    for n in 0..MAX_AGENTS {
        assert!(index.record(&format!("agent{n}"), "1.1.1", ok).is_ok());
    }
    assert!(index.record("agent0", "2.1", ok).is_ok(), "a known agent is not a new one");
    assert!(matches!(index.record("one-more", "1.1.1", ok), Err(IndexError::TooManyAgents { limit: MAX_AGENTS })));
}

#[test]
fn report_files_are_named_as_autobahn_names_them() {
    // FuzzingFactory.cleanForFilename(agent) + "_case_" + case.replace('.', '_') + ".json", run in Python
    let table = [
        ("Tungstenite", "1.1.1", "tungstenite_case_1_1_1.json"),
        ("websockets.sync", "2.10", "websockets_sync_case_2_10.json"),
        (" -My Agent/1.0- ", "1.1.1", "my_agent_1_0_case_1_1_1.json"),
        ("a--b", "12.1.1", "a__b_case_12_1_1.json"),
        ("ws", "client/4.1/accept-wrong", "ws_case_client_4_1_accept-wrong.json"),
    ];
    for (agent, case, expected) in table {
        assert_eq!(report_file_name(agent, case), expected, "{agent} {case}");
    }
}

#[test]
fn an_empty_index_is_an_empty_object() {
    assert_eq!(AutobahnIndex::default().to_json(), "{}");
}
