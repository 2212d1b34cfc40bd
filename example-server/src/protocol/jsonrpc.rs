//! JSON-RPC 2.0 over WebSocket, with replies out of order: `echo` answers with its params, held for
//! a pseudo-random part of the jitter, so requests in flight together are answered out of order (a
//! client must match replies by `id`, not by order).

use std::time::Duration;

use serde_json::{json, Value};

use super::Action;

/// JSON-RPC's error codes (JSON-RPC 2.0 §5.1).
const PARSE_ERROR: i64 = -32700;
const INVALID_REQUEST: i64 = -32600;
const METHOD_NOT_FOUND: i64 = -32601;

/// The reply to one request, held for part of `jitter` chosen from its id.
pub fn handle(text: &str, jitter: Duration) -> Vec<Action> {
    let Ok(req) = serde_json::from_str::<Value>(text) else {
        return vec![Action::reply(error(Value::Null, PARSE_ERROR, "Parse error"))];
    };
    let id = req.get("id").cloned().unwrap_or(Value::Null);
    let (Some("2.0"), Some(method)) = (req.get("jsonrpc").and_then(Value::as_str), req.get("method")) else {
        return vec![Action::reply(error(id, INVALID_REQUEST, "Invalid Request"))];
    };
    if method != "echo" {
        return vec![Action::reply(error(id, METHOD_NOT_FOUND, "Method not found"))];
    }
    let hold = hold_for(&id, jitter);
    let params = req.get("params").cloned().unwrap_or(Value::Null);
    vec![Action::Reply { text: json!({"jsonrpc": "2.0", "id": id, "result": params}).to_string(), hold }]
}

fn error(id: Value, code: i64, message: &str) -> String {
    json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}}).to_string()
}

/// A fraction of `jitter` from a hash of the id (FNV-1a): the same id is always held as long, ids
/// in a row are not held in order.
fn hold_for(id: &Value, jitter: Duration) -> Duration {
    let hash =
        id.to_string().bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3));
    jitter.mul_f64((hash % 1000) as f64 / 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(text: &str) -> (Value, Duration) {
        match handle(text, Duration::from_millis(10)).pop() {
            Some(Action::Reply { text, hold }) => (serde_json::from_str(&text).unwrap_or_default(), hold),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn echo_answers_by_id_with_the_params_and_errors_follow_the_spec() {
        let (r, _) = reply(r#"{"jsonrpc":"2.0","id":42,"method":"echo","params":{"sent_ns":123}}"#);
        assert_eq!(r, json!({"jsonrpc": "2.0", "id": 42, "result": {"sent_ns": 123}}));
        assert_eq!(reply("{").0["error"]["code"], PARSE_ERROR);
        assert_eq!(reply(r#"{"id":1,"method":"echo"}"#).0["error"]["code"], INVALID_REQUEST);
        assert_eq!(reply(r#"{"jsonrpc":"2.0","id":1,"method":"add"}"#).0["error"]["code"], METHOD_NOT_FOUND);
    }

    #[test]
    fn requests_in_a_row_are_held_for_different_times() {
        let holds: Vec<Duration> =
            (0..16).map(|i| reply(&format!(r#"{{"jsonrpc":"2.0","id":{i},"method":"echo"}}"#)).1).collect();
        assert!(holds.iter().all(|h| *h < Duration::from_millis(10)));
        assert!(holds.windows(2).any(|w| w[0] > w[1]), "some later request is answered sooner: {holds:?}");
    }
}
