//! The `Sec-WebSocket-Key` nonces a client sent before (RFC 6455 §4.1: "The nonce MUST be selected
//! randomly for each connection"), remembered per agent: at most [`MAX_KEYS`] each, the oldest
//! forgotten first, so a client that repeats a key is caught across a whole run in bounded memory.

use std::collections::{HashMap, HashSet, VecDeque};

/// Keys remembered per agent.
pub const MAX_KEYS: usize = 4096;

/// Every agent's recent keys.
#[derive(Debug, Default)]
pub struct KeyLedger {
    by_agent: HashMap<String, Recent>,
}

#[derive(Debug, Default)]
struct Recent {
    order: VecDeque<String>,
    set: HashSet<String>,
}

impl KeyLedger {
    /// Notes `key` for `agent`; `true` when the agent sent it on an earlier connection.
    pub fn seen_before(&mut self, agent: &str, key: &str) -> bool {
        let recent = self.by_agent.entry(agent.to_owned()).or_default();
        if recent.set.contains(key) {
            return true;
        }
        if recent.order.len() >= MAX_KEYS {
            if let Some(old) = recent.order.pop_front() {
                recent.set.remove(&old);
            }
        }
        recent.order.push_back(key.to_owned());
        recent.set.insert(key.to_owned());
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_repeated_by_one_agent_is_seen_and_other_agents_are_apart() {
        let mut l = KeyLedger::default();
        assert!(!l.seen_before("a", "k1"));
        assert!(!l.seen_before("b", "k1"));
        assert!(l.seen_before("a", "k1"));
        assert!(!l.seen_before("a", "k2"));
    }

    #[test]
    fn the_oldest_keys_are_forgotten_past_the_cap() {
        let mut l = KeyLedger::default();
        for i in 0..=MAX_KEYS {
            assert!(!l.seen_before("a", &i.to_string()));
        }
        assert!(!l.seen_before("a", "0"), "the first key was forgotten");
        assert!(l.seen_before("a", &MAX_KEYS.to_string()));
    }
}
