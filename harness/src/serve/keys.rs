//! The `Sec-WebSocket-Key` nonces a client sent before (RFC 6455 §4.1: "The nonce MUST be selected
//! randomly for each connection"), remembered per agent: at most [`MAX_KEYS`] each, the oldest
//! forgotten first, each kept to its first [`MAX_KEY_LEN`] bytes (a valid key has 24), so a client that
//! repeats a key is caught across a whole run in bounded memory.

use std::collections::{HashMap, HashSet, VecDeque};

/// Keys remembered per agent.
pub const MAX_KEYS: usize = 4096;

/// The bytes of a key remembered: a valid key is 24 characters of base64 (RFC 6455 §4.1), a longer one
/// is already a violation of its own.
pub const MAX_KEY_LEN: usize = 64;

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
        let end = (0..=key.len().min(MAX_KEY_LEN)).rev().find(|&i| key.is_char_boundary(i)).unwrap_or(0);
        let key = &key[..end];
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

    #[test]
    fn a_long_key_is_remembered_by_its_first_bytes() {
        let mut l = KeyLedger::default();
        let long = "k".repeat(10 * MAX_KEY_LEN);
        assert!(!l.seen_before("a", &long));
        assert!(l.seen_before("a", &long[..MAX_KEY_LEN]));
        assert!(!l.seen_before("a", "é".repeat(MAX_KEY_LEN).as_str()), "cut on a character boundary");
    }
}
