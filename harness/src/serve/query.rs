//! Query strings as Autobahn|Testsuite reads them: Python's `urllib.parse.parse_qs` with its defaults.
//!
//! Parameters are separated by `&` (Python 3.10 on; Python 2 also split at `;`), `+` is a space, `%XX` is a
//! byte (an escape that is not one is kept as written), bytes that are not UTF-8 become U+FFFD, and a parameter
//! without `=` or with an empty value is dropped (`keep_blank_values=False`), so `agent=` is no agent at all.

/// The parameters of a query, in order, names and values decoded; repeated names are kept.
pub fn parse_qs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(name, value)| (decode_component(name), decode_component(value)))
        .filter(|(_, value)| !value.is_empty())
        .collect()
}

/// Percent-encodes a query value (RFC 3986 §2.1): unreserved characters as they are, every other byte `%XX`;
/// [`decode_component`] gives it back.
pub fn encode_component(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `+` to space, then percent-decoding (RFC 3986 §2.1), lossily to UTF-8.
pub fn decode_component(component: &str) -> String {
    let bytes = component.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let escaped = match (b, bytes.get(i + 1..i + 3)) {
            (b'%', Some(&[hi, lo])) => hex_value(hi).zip(hex_value(lo)).map(|(hi, lo)| (hi << 4) | lo),
            _ => None,
        };
        match (escaped, b) {
            (Some(byte), _) => {
                out.push(byte);
                i += 3;
            }
            (None, b'+') => {
                out.push(b' ');
                i += 1;
            }
            (None, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex_value(digit: u8) -> Option<u8> {
    char::from(digit).to_digit(16).and_then(|v| u8::try_from(v).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(query: &str) -> Vec<(String, String)> {
        parse_qs(query)
    }

    fn owned(expected: &[(&str, &str)]) -> Vec<(String, String)> {
        expected.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect()
    }

    #[test]
    fn parses_as_python_parse_qs() {
        // python3: urllib.parse.parse_qsl("case=3&agent=a+b%20c&x=1;y=2&e=&bare&bad=%zz%41")
        assert_eq!(
            pairs("case=3&agent=a+b%20c&x=1;y=2&e=&bare&bad=%zz%41"),
            owned(&[("case", "3"), ("agent", "a b c"), ("x", "1;y=2"), ("bad", "%zzA")])
        );
    }

    #[test]
    fn keeps_repeated_names_in_order() {
        assert_eq!(pairs("agent=a&agent=b"), owned(&[("agent", "a"), ("agent", "b")]));
    }

    #[test]
    fn decodes_utf8_and_replaces_invalid_bytes() {
        assert_eq!(decode_component("t%C3%BCng%2Bst"), "t\u{fc}ng+st");
        assert_eq!(decode_component("a%FFb%"), "a\u{fffd}b%");
        assert_eq!(decode_component("%4"), "%4");
    }

    #[test]
    fn empty_query_has_no_parameters() {
        assert!(pairs("").is_empty());
        assert!(pairs("&&").is_empty());
    }
}
