//! The fuzzingserver API routed from request targets written as data, as Autobahn's runners send them.

use super::*;

fn cases() -> CaseNumbering {
    CaseNumbering::new([
        ("rfc6455/5.6/text-0", Some("1.1.1")),
        ("rfc6455/5.6/text-125", Some("1.1.2")),
        ("rfc6455/5.5.2/ping-empty", Some("2.1")),
        ("client/4.1/accept-wrong", None),
    ])
}

fn number(n: usize) -> CaseNumber {
    cases().case(n).map(|(number, _)| number).expect("in range")
}

fn run(case: usize, agent: &str) -> Result<ApiRequest, ApiError> {
    Ok(ApiRequest::RunCase { case: number(case), agent: agent.to_owned() })
}

#[test]
fn the_runners_requests_route() {
    // the targets of tungstenite's examples/autobahn-client.rs and websockets' compliance/sync/client.py
    let table: Vec<(&str, Result<ApiRequest, ApiError>)> = vec![
        ("/getCaseCount", Ok(ApiRequest::GetCaseCount)),
        ("/runCase?case=3&agent=Tungstenite", run(3, "Tungstenite")),
        ("/runCase?case=1&agent=websockets.sync", run(1, "websockets.sync")),
        (
            "/updateReports?agent=Tungstenite",
            Ok(ApiRequest::UpdateReports { agent: "Tungstenite".into(), shutdown_on_complete: false }),
        ),
        ("/getCaseInfo?case=2", Ok(ApiRequest::GetCaseInfo { case: number(2) })),
        ("/getCaseStatus?case=4&agent=a", Ok(ApiRequest::GetCaseStatus { case: number(4), agent: "a".into() })),
        ("/stopServer", Ok(ApiRequest::StopServer)),
    ];
    for (target, expected) in table {
        assert_eq!(route(target, &cases()), expected, "{target}");
    }
}

#[test]
fn parameters_are_read_as_autobahn_reads_them() {
    let table: Vec<(&str, Result<ApiRequest, ApiError>)> = vec![
        ("/runCase?agent=a%20b&case=1", run(1, "a b")),
        ("/runCase?agent=a+b&case=1", run(1, "a b")),
        ("/runCase?agent=t%C3%BCng&case=1", run(1, "t\u{fc}ng")),
        ("/runCase?case=%201%20&agent=a", run(1, "a")),
        ("/runCase?case=+2&agent=a", run(2, "a")),
        ("/runCase?case=%2B2&agent=a", run(2, "a")),
        ("/runCase?case=004&agent=a&x=1&x=2", run(4, "a")),
        ("/runCase?casetuple=2.1&agent=a", run(3, "a")),
        ("/runCase?casetuple=%201.1.2%20&agent=a", run(2, "a")),
        ("/runCase?casetuple=client/4.1/accept-wrong&agent=a", run(4, "a")),
        ("/runCase?casetuple=2.1&case=1&agent=a", run(1, "a")),
        ("http://127.0.0.1:9001/runCase?case=1&agent=a", run(1, "a")),
        ("/getCaseCount?agent=a&agent=b&case=1", Err(ApiError::RepeatedParameter { name: "agent" })),
        ("/getCaseCount?case=1&case=1", Err(ApiError::RepeatedParameter { name: "case" })),
        ("/getCaseCount?case=9", Err(ApiError::CaseOutOfRange { case: "9".into(), count: 4 })),
        (
            "/updateReports?agent=a&shutdownOnComplete=Yes",
            Ok(ApiRequest::UpdateReports { agent: "a".into(), shutdown_on_complete: true }),
        ),
        (
            "/updateReports?agent=a&shutdownOnComplete=1",
            Ok(ApiRequest::UpdateReports { agent: "a".into(), shutdown_on_complete: false }),
        ),
    ];
    for (target, expected) in table {
        assert_eq!(route(target, &cases()), expected, "{target}");
    }
}

#[test]
fn refused_requests_say_why() {
    let table: Vec<(&str, ApiError)> = vec![
        ("/", ApiError::UnknownPath { path: "/".into() }),
        ("/runcase?case=1&agent=a", ApiError::UnknownPath { path: "/runcase".into() }),
        ("/runCase?agent=a", ApiError::MissingCase { path: "/runCase" }),
        ("/runCase?case=1", ApiError::MissingAgent { path: "/runCase" }),
        ("/runCase?case=1&agent=", ApiError::MissingAgent { path: "/runCase" }),
        ("/runCase?case=0&agent=a", ApiError::CaseOutOfRange { case: "0".into(), count: 4 }),
        ("/runCase?case=5&agent=a", ApiError::CaseOutOfRange { case: "5".into(), count: 4 }),
        ("/runCase?case=-1&agent=a", ApiError::CaseOutOfRange { case: "-1".into(), count: 4 }),
        (
            "/runCase?case=99999999999999999999999&agent=a",
            ApiError::CaseOutOfRange { case: "99999999999999999999999".into(), count: 4 },
        ),
        ("/runCase?case=1.1.1&agent=a", ApiError::InvalidCaseNumber { value: "1.1.1".into() }),
        ("/runCase?case=0x1&agent=a", ApiError::InvalidCaseNumber { value: "0x1".into() }),
        ("/runCase?casetuple=9.9.9&agent=a", ApiError::UnknownCaseTuple { tuple: "9.9.9".into() }),
        ("/getCaseInfo", ApiError::MissingCase { path: "/getCaseInfo" }),
        ("/getCaseStatus?case=1", ApiError::MissingAgent { path: "/getCaseStatus" }),
        ("/updateReports", ApiError::MissingAgent { path: "/updateReports" }),
        ("/runCase?case=1&agent=a#x", ApiError::Fragment),
    ];
    for (target, expected) in table {
        assert_eq!(route(target, &cases()), Err(expected), "{target}");
    }
}

#[test]
fn what_a_client_sends_is_bounded() {
    let long_agent = format!("/runCase?case=1&agent={}", "a".repeat(MAX_AGENT + 1));
    assert_eq!(route(&long_agent, &cases()), Err(ApiError::AgentTooLong { limit: MAX_AGENT }));
    let at_limit = format!("/runCase?case=1&agent={}", "a".repeat(MAX_AGENT));
    assert!(route(&at_limit, &cases()).is_ok());
    let long_target = format!("/getCaseCount?x={}", "y".repeat(MAX_TARGET));
    assert_eq!(route(&long_target, &cases()), Err(ApiError::TargetTooLong { limit: MAX_TARGET }));
    let many = format!("/getCaseCount?{}", vec!["x=1"; MAX_PARAMETERS + 1].join("&"));
    assert_eq!(route(&many, &cases()), Err(ApiError::TooManyParameters { limit: MAX_PARAMETERS }));
}

#[test]
fn refusals_carry_the_reason_in_the_body() {
    let reply = ApiError::MissingAgent { path: "/runCase" }.reply();
    let text = String::from_utf8(reply.encode()).expect("ascii");
    assert!(text.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{text}");
    assert!(text.ends_with("\r\n\r\n/runCase needs an agent: agent=NAME"), "{text}");
    assert!(text.contains("Content-Length: 35\r\n"), "{text}");
    let reply = ApiError::UnknownPath { path: "/x".into() }.reply();
    assert_eq!((reply.status, reply.reason.as_str()), (404, "Not Found"));
}

#[test]
fn messages_are_written_as_autobahn_writes_them() {
    assert_eq!(case_count_message(517), "517");
    // python2 -c 'import json; print(json.dumps({"id": "1.1.1", "description": u"Send \"text\" \u00e9"}))'
    assert_eq!(
        case_info_message("1.1.1", "Send \"text\" \u{e9}"),
        r#"{"id": "1.1.1", "description": "Send \"text\" \u00e9"}"#
    );
    assert_eq!(case_status_message("NON-STRICT"), r#"{"behavior": "NON-STRICT"}"#);
}

mod any_input {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Any target: a case within the count, or a refusal that says why in its body.
        #[test]
        fn any_target_gets_a_case_in_range_or_a_reason(target in "(/runCase|/getCaseInfo)?[?&=%+a-z0-9.#/ -]{0,60}") {
            match route(&target, &cases()) {
                Ok(ApiRequest::RunCase { case, .. } | ApiRequest::GetCaseInfo { case }) => {
                    prop_assert!((1..=cases().count()).contains(&case.get()));
                }
                Ok(_) => {}
                Err(e) => {
                    let reply = e.reply();
                    prop_assert!(reply.status == 400 || reply.status == 404);
                    prop_assert_eq!(reply.body, e.to_string().into_bytes());
                }
            }
        }

        /// Any agent name, every byte percent-encoded, is decoded back as it was.
        #[test]
        fn percent_encoded_agents_decode_back(agent in "\\PC{1,40}") {
            prop_assume!(agent.len() <= MAX_AGENT);
            let encoded: String = agent.bytes().map(|b| format!("%{b:02X}")).collect();
            let routed = route(&format!("/runCase?case=1&agent={encoded}"), &cases());
            prop_assert_eq!(routed, run(1, &agent));
        }
    }
}
