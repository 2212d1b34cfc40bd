//! hashrocket's websocket-shootout protocol: `echo` and `broadcast`.

use serde_json::{json, Value};

use super::Action;

/// The actions for one message; anything but `echo` or `broadcast` JSON closes with 1003 (RFC 6455
/// §7.4.1: data the endpoint cannot accept).
pub fn handle(text: &str) -> Vec<Action> {
    let Ok(msg) = serde_json::from_str::<Value>(text) else {
        return vec![Action::Close { code: 1007, reason: "not JSON" }];
    };
    let payload = msg.get("payload").cloned().unwrap_or(Value::Null);
    match msg.get("type").and_then(Value::as_str) {
        Some("echo") => vec![Action::reply(json!({"type": "echo", "payload": payload}).to_string())],
        Some("broadcast") => {
            vec![Action::Broadcast { all: json!({"type": "broadcast", "payload": payload}).to_string(), payload }]
        }
        _ => vec![Action::Close { code: 1003, reason: "type must be echo or broadcast" }],
    }
}

/// The sender's answer to a broadcast: the payload and how many clients it reached.
pub fn broadcast_result(payload: &Value, listeners: usize) -> String {
    json!({"type": "broadcastResult", "payload": payload, "listenCount": listeners}).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn echo_comes_back_and_broadcast_goes_to_all_then_reports_the_count() {
        let parsed = |s: &str| serde_json::from_str::<Value>(s).unwrap_or_default();
        let Some(Action::Reply { text, .. }) = handle(r#"{"type":"echo","payload":{"seq":7}}"#).pop() else {
            panic!("a reply")
        };
        assert_eq!(parsed(&text), json!({"type": "echo", "payload": {"seq": 7}}));
        let Some(Action::Broadcast { all, payload }) = handle(r#"{"type":"broadcast","payload":3}"#).pop() else {
            panic!("a broadcast")
        };
        assert_eq!(parsed(&all), json!({"type": "broadcast", "payload": 3}));
        assert_eq!(
            parsed(&broadcast_result(&payload, 5)),
            json!({"type": "broadcastResult", "payload": 3, "listenCount": 5})
        );
        assert!(matches!(handle("nope")[0], Action::Close { code: 1007, .. }));
        assert!(matches!(handle(r#"{"type":"other"}"#)[0], Action::Close { code: 1003, .. }));
    }
}
