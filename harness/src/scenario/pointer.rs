//! JSON pointers (RFC 6901), parsed once when the scenario file is read. Looking one up walks its
//! unescaped tokens and allocates nothing; serde_json's `Value::pointer` unescapes every token into
//! a new `String` at every call, and a fan-out receiver looks up four pointers in every message.

use std::fmt;
use std::sync::Arc;

use serde_json::Value;

/// A JSON pointer: `""` (the whole document) or `/`-separated reference tokens.
#[derive(Debug, Clone)]
pub struct Pointer {
    text: Arc<str>,
    tokens: Arc<[String]>,
}

impl Pointer {
    /// `text` as a pointer; `None` unless it is empty or starts with `/` (RFC 6901 §3).
    pub fn parse(text: &str) -> Option<Pointer> {
        if !(text.is_empty() || text.starts_with('/')) {
            return None;
        }
        // RFC 6901 §4: "~1" is '/', then "~0" is '~' (in that order: "~01" is "~1")
        let tokens = text.split('/').skip(1).map(|t| t.replace("~1", "/").replace("~0", "~")).collect();
        Some(Pointer { text: text.into(), tokens })
    }

    /// The pointer as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The value it points at in `doc`, if any.
    pub fn find<'v>(&self, doc: &'v Value) -> Option<&'v Value> {
        self.tokens.iter().try_fold(doc, |v, token| match v {
            Value::Object(map) => map.get(token.as_str()),
            Value::Array(items) => index(token).and_then(|i| items.get(i)),
            _ => None,
        })
    }
}

/// An array index token: digits without a leading zero (RFC 6901 §4; "-" names no element).
fn index(token: &str) -> Option<usize> {
    let digits = !token.is_empty() && token.bytes().all(|b| b.is_ascii_digit());
    if !digits || (token.len() > 1 && token.starts_with('0')) {
        return None;
    }
    token.parse().ok()
}

impl PartialEq for Pointer {
    fn eq(&self, other: &Pointer) -> bool {
        self.text == other.text
    }
}

impl fmt::Display for Pointer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Ours finds the very value serde_json's lookup finds, or nothing where it finds nothing.
    fn same(p: &str, doc: &Value) -> bool {
        let ours = Pointer::parse(p).and_then(|q| q.find(doc));
        match (ours, doc.pointer(p)) {
            (Some(a), Some(b)) => std::ptr::eq(a, b),
            (None, None) => true,
            _ => false,
        }
    }

    #[test]
    fn lookups_agree_with_serde_json_and_rfc_6901() {
        // RFC 6901 §5's example document
        let doc: Value = serde_json::from_str(
            r#"{"foo":["bar","baz"],"":0,"a/b":1,"c%d":2,"e^f":3,"g|h":4,"i\\j":5,"k\"l":6," ":7,"m~n":8}"#,
        )
        .unwrap_or_default();
        assert!(doc.is_object());
        let found =
            ["", "/foo", "/foo/0", "/foo/1", "/", "/a~1b", "/c%d", "/e^f", "/g|h", "/i\\j", "/k\"l", "/ ", "/m~0n"];
        for p in found {
            assert!(same(p, &doc) && doc.pointer(p).is_some(), "{p}");
        }
        for p in ["/foo/2", "/foo/01", "/foo/-", "/foo/+1", "/nope", "/foo/0/x", "/a/b"] {
            assert!(same(p, &doc) && doc.pointer(p).is_none(), "{p}");
        }
        assert!(Pointer::parse("foo").is_none());
        assert_eq!(Pointer::parse("/a~1b").map(|p| p.to_string()), Some("/a~1b".to_string()));
    }
}
