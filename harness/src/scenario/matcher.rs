//! Which incoming message answers which request: a JSON field (by JSON pointer, RFC 6901) or a
//! regular expression, compared with a template filled for the request's iteration. Replies may come
//! in any order; each message is parsed once and offered to the expectations waiting for it.

use std::sync::Arc;

use regex::Regex;
use serde_json::Value;

use super::pointer::Pointer;
use super::template::{Template, Vars};

/// How an `expect` step recognises its message.
#[derive(Debug, Clone)]
pub enum Matcher {
    /// Each JSON pointer's value equals its template's text (a string as itself, a number or a
    /// boolean as its JSON text).
    Json(Vec<(Pointer, Template)>),
    /// The expression matches the text; with `equals`, its first capture group equals the template's text.
    Regex {
        /// The expression.
        regex: Arc<Regex>,
        /// The template the first capture group must equal.
        equals: Option<Template>,
    },
    /// Any message.
    Any,
}

/// A matcher with its templates filled for one iteration.
#[derive(Debug, Clone)]
pub enum Filled {
    /// Pointer, and the text its value must have.
    Json(Vec<(Pointer, String)>),
    /// The expression, and what its first capture group must be.
    Regex(Arc<Regex>, Option<String>),
    /// Any message.
    Any,
}

impl PartialEq for Filled {
    fn eq(&self, other: &Filled) -> bool {
        match (self, other) {
            (Filled::Json(a), Filled::Json(b)) => a == b,
            (Filled::Regex(a, x), Filled::Regex(b, y)) => a.as_str() == b.as_str() && x == y,
            (Filled::Any, Filled::Any) => true,
            _ => false,
        }
    }
}

impl PartialEq for Matcher {
    fn eq(&self, other: &Matcher) -> bool {
        match (self, other) {
            (Matcher::Json(a), Matcher::Json(b)) => a == b,
            (Matcher::Regex { regex: a, equals: x }, Matcher::Regex { regex: b, equals: y }) => {
                a.as_str() == b.as_str() && x == y
            }
            (Matcher::Any, Matcher::Any) => true,
            _ => false,
        }
    }
}

impl Matcher {
    /// The matcher filled for one iteration.
    pub fn fill(&self, vars: Vars<'_>) -> Filled {
        match self {
            Matcher::Json(fields) => Filled::Json(fields.iter().map(|(p, t)| (p.clone(), t.render(vars))).collect()),
            Matcher::Regex { regex, equals } => {
                Filled::Regex(Arc::clone(regex), equals.as_ref().map(|t| t.render(vars)))
            }
            Matcher::Any => Filled::Any,
        }
    }
}

/// A message as the matchers see it: its text, and its JSON parsed once, when first asked for.
#[derive(Debug)]
pub struct Incoming<'a> {
    text: &'a str,
    json: std::cell::OnceCell<Option<Value>>,
}

impl<'a> Incoming<'a> {
    /// A text message (a binary one is offered as its UTF-8, or not at all).
    pub fn new(text: &'a str) -> Incoming<'a> {
        Incoming { text, json: std::cell::OnceCell::new() }
    }

    /// The message as JSON, if it is.
    pub fn json(&self) -> Option<&Value> {
        self.json.get_or_init(|| serde_json::from_str(self.text).ok()).as_ref()
    }
}

/// The text a JSON value is compared as.
pub fn as_text(v: &Value) -> std::borrow::Cow<'_, str> {
    match v {
        Value::String(s) => s.as_str().into(),
        other => other.to_string().into(),
    }
}

/// Whether [`as_text`] of `v` is `want`, without building the text (a JSON-RPC id is a number: this
/// is compared for every reply and every step waiting).
pub fn text_is(v: &Value, want: &str) -> bool {
    match v {
        Value::String(s) => s == want,
        other => {
            let mut rest = Unmatched(want);
            std::fmt::write(&mut rest, format_args!("{other}")).is_ok() && rest.0.is_empty()
        }
    }
}

/// What is left of the expected text while a value writes itself over it; a write that differs fails.
struct Unmatched<'a>(&'a str);

impl std::fmt::Write for Unmatched<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0 = self.0.strip_prefix(s).ok_or(std::fmt::Error)?;
        Ok(())
    }
}

impl Filled {
    /// Whether `msg` is the message this expectation waits for.
    pub fn matches(&self, msg: &Incoming<'_>) -> bool {
        match self {
            Filled::Any => true,
            Filled::Json(fields) => msg
                .json()
                .is_some_and(|v| fields.iter().all(|(p, want)| p.find(v).is_some_and(|got| text_is(got, want)))),
            Filled::Regex(regex, None) => regex.is_match(msg.text),
            Filled::Regex(regex, Some(want)) => {
                regex.captures(msg.text).and_then(|c| c.get(1)).is_some_and(|g| g.as_str() == want)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VARS: Vars<'static> = Vars { seq: 5, conn: 0, role: "r", now_ns: 0, due_ns: 0 };

    #[test]
    fn text_is_says_what_comparing_as_text_says() {
        let values =
            r#"[7, -7, 70, 1.5, 1e300, "7", "", "é\"", true, false, null, [1,2], {"a":[1]}, 18446744073709551615]"#;
        let values: Vec<Value> = serde_json::from_str(values).unwrap_or_else(|e| panic!("{e}"));
        let wants = [
            "7",
            "-7",
            "70",
            "07",
            "7 ",
            "1.5",
            "1e300",
            "",
            "é\"",
            "\"é\\\"\"",
            "true",
            "tru",
            "truee",
            "null",
            "[1,2]",
            "[1,2",
            r#"{"a":[1]}"#,
            "18446744073709551615",
            "1844674407370955161",
        ];
        for v in &values {
            for want in wants.iter().copied().chain([as_text(v).as_ref()]) {
                assert_eq!(text_is(v, want), as_text(v) == want, "{v} vs {want:?}");
            }
        }
    }

    fn json(fields: &[(&str, &str)]) -> Filled {
        let fields = fields.iter().map(|(p, t)| {
            let p = Pointer::parse(p).unwrap_or_else(|| panic!("{p}"));
            (p, Template::parse(t).unwrap_or_else(|e| panic!("{e}")))
        });
        Matcher::Json(fields.collect()).fill(VARS)
    }

    #[test]
    fn json_fields_match_by_pointer_whatever_their_type_and_order() {
        let reply = Incoming::new(r#"{"jsonrpc":"2.0","result":{"ok":true},"id":5}"#);
        assert!(json(&[("/id", "{{seq}}")]).matches(&reply));
        assert!(json(&[("/id", "5"), ("/result/ok", "true")]).matches(&reply));
        assert!(!json(&[("/id", "6")]).matches(&reply));
        assert!(!json(&[("/missing", "5")]).matches(&reply));
        assert!(json(&[("/id", "s5"), ("/type", "next")]).matches(&Incoming::new(r#"{"type":"next","id":"s5"}"#)));
        assert!(!json(&[("/id", "5")]).matches(&Incoming::new("not json")));
    }

    #[test]
    fn a_regex_matches_or_compares_its_first_group() {
        let re = Arc::new(Regex::new(r"^reply (\d+)$").unwrap_or_else(|e| panic!("{e}")));
        let m = Matcher::Regex { regex: Arc::clone(&re), equals: Template::parse("{{seq}}").ok() };
        assert!(m.fill(VARS).matches(&Incoming::new("reply 5")));
        assert!(!m.fill(VARS).matches(&Incoming::new("reply 6")));
        assert!(Matcher::Regex { regex: re, equals: None }.fill(VARS).matches(&Incoming::new("reply 9")));
    }
}
