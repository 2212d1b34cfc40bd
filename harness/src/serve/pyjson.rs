//! JSON byte for byte as Python's `json.dumps` writes it, which is what Autobahn|Testsuite sends and stores.
//!
//! serde_json and Python agree on everything but one default: Python escapes every character outside
//! printable ASCII (`ensure_ascii=True`: `é` is `\u00e9`, DEL is `\u007f`, a character beyond the BMP is a
//! UTF-16 surrogate pair), serde_json writes them as UTF-8. [`ensure_ascii`] turns one into the other. Outside
//! strings serde_json writes only ASCII, so every non-ASCII character of its output is inside a string.

/// Escapes every character at or above U+007F as Python's `ensure_ascii` does (`\u` and four lower-case hex
/// digits, a surrogate pair beyond U+FFFF); the rest is left as it is.
pub fn ensure_ascii(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        if (c as u32) < 0x7f {
            out.push(c);
            continue;
        }
        let mut units = [0u16; 2];
        for unit in c.encode_utf16(&mut units) {
            out.push_str(&format!("\\u{unit:04x}"));
        }
    }
    out
}

/// A JSON string literal as Python writes it: `"` and `\` escaped, control characters as `\n`-style or
/// `\u00XX` escapes, non-ASCII as [`ensure_ascii`] does.
pub fn string(value: &str) -> String {
    // serde_json cannot fail on a string: the fallback is never taken
    let escaped = serde_json::to_string(value).unwrap_or_else(|_| String::from("\"\""));
    ensure_ascii(&escaped)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_ascii_is_escaped_as_python_does() {
        // python2 -c 'import json; print(json.dumps(u"\u00e9\x7f\U0001F600 ok"))'
        assert_eq!(string("\u{e9}\u{7f}\u{1F600} ok"), r#""\u00e9\u007f\ud83d\ude00 ok""#);
    }

    #[test]
    fn quotes_and_control_characters_are_escaped_as_python_does() {
        // python2 -c 'import json; print(json.dumps("Send \"text\"\n\x01/"))'
        assert_eq!(string("Send \"text\"\n\u{1}/"), r#""Send \"text\"\n\u0001/""#);
    }

    #[test]
    fn ascii_outside_strings_is_untouched() {
        assert_eq!(ensure_ascii("{\n   \"a\": [1, null]\n}"), "{\n   \"a\": [1, null]\n}");
    }
}
