//! graphql-transport-ws, the protocol of the graphql-ws library (subprotocol
//! `graphql-transport-ws`): `connection_init` → `connection_ack`; `subscribe` → `next`... →
//! `complete`; `ping` → `pong`. The one subscription here ticks `variables.count` times (default 3,
//! at most [`MAX_TICKS`]), each `next` carrying the tick and the subscription's variables back (so a
//! send time in them returns with every tick).

use std::collections::HashSet;

use serde_json::{json, Value};

use super::Action;

/// Most `next` messages one subscription sends.
pub const MAX_TICKS: u64 = 10_000;
/// Most subscriptions one connection may have had (ids are remembered to refuse duplicates).
pub const MAX_SUBSCRIPTIONS: usize = 100_000;

/// One connection's protocol state.
#[derive(Debug, Default)]
pub struct Session {
    acknowledged: bool,
    ids: HashSet<String>,
}

impl Session {
    /// The actions for one message, as graphql-ws's PROTOCOL.md says (its close codes: 4400 bad
    /// message, 4401 unauthorized, 4409 duplicate subscriber, 4429 too many initialisations).
    pub fn handle(&mut self, text: &str) -> Vec<Action> {
        let Ok(msg) = serde_json::from_str::<Value>(text) else {
            return vec![Action::Close { code: 4400, reason: "not JSON" }];
        };
        match msg.get("type").and_then(Value::as_str) {
            Some("connection_init") if self.acknowledged => {
                vec![Action::Close { code: 4429, reason: "Too many initialisation requests" }]
            }
            Some("connection_init") => {
                self.acknowledged = true;
                vec![Action::reply(json!({"type": "connection_ack"}).to_string())]
            }
            Some("ping") => vec![Action::reply(json!({"type": "pong"}).to_string())],
            Some("pong") => Vec::new(),
            Some("subscribe") if !self.acknowledged => vec![Action::Close { code: 4401, reason: "Unauthorized" }],
            Some("subscribe") => self.subscribe(&msg),
            Some("complete") => Vec::new(),
            _ => vec![Action::Close { code: 4400, reason: "unknown message type" }],
        }
    }

    fn subscribe(&mut self, msg: &Value) -> Vec<Action> {
        let Some(id) = msg.get("id").and_then(Value::as_str) else {
            return vec![Action::Close { code: 4400, reason: "subscribe without an id" }];
        };
        if self.ids.len() >= MAX_SUBSCRIPTIONS {
            return vec![Action::Close { code: 4400, reason: "too many subscriptions" }];
        }
        if !self.ids.insert(id.to_owned()) {
            return vec![Action::Close { code: 4409, reason: "Subscriber for this id already exists" }];
        }
        let variables = msg.pointer("/payload/variables").cloned().unwrap_or(Value::Null);
        let count = variables.get("count").and_then(Value::as_u64).unwrap_or(3).min(MAX_TICKS);
        let next = |tick: u64| {
            json!({"id": id, "type": "next", "payload": {"data": {"tick": tick, "variables": variables}}}).to_string()
        };
        let mut out: Vec<Action> = (0..count).map(|t| Action::reply(next(t))).collect();
        out.push(Action::reply(json!({"id": id, "type": "complete"}).to_string()));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(actions: Vec<Action>) -> Vec<Value> {
        actions
            .into_iter()
            .map(|a| match a {
                Action::Reply { text, .. } => serde_json::from_str(&text).unwrap_or_default(),
                other => json!({"close": format!("{other:?}")}),
            })
            .collect()
    }

    #[test]
    fn init_ack_subscribe_next_complete_as_the_protocol_says() {
        let mut s = Session::default();
        assert!(matches!(s.handle(r#"{"type":"subscribe","id":"1"}"#)[0], Action::Close { code: 4401, .. }));
        assert_eq!(
            texts(s.handle(r#"{"type":"connection_init","payload":{}}"#)),
            vec![json!({"type": "connection_ack"})]
        );
        let out = texts(s.handle(
            r#"{"type":"subscribe","id":"a","payload":{"query":"subscription{tick}","variables":{"count":2,"t":9}}}"#,
        ));
        assert_eq!(out.len(), 3);
        assert_eq!(
            out[1],
            json!({"id": "a", "type": "next", "payload": {"data": {"tick": 1, "variables": {"count": 2, "t": 9}}}})
        );
        assert_eq!(out[2], json!({"id": "a", "type": "complete"}));
        assert!(matches!(s.handle(r#"{"type":"subscribe","id":"a"}"#)[0], Action::Close { code: 4409, .. }));
        assert!(matches!(s.handle(r#"{"type":"connection_init"}"#)[0], Action::Close { code: 4429, .. }));
        assert_eq!(texts(s.handle(r#"{"type":"ping"}"#)), vec![json!({"type": "pong"})]);
    }
}
