//! Header field lists, one definition for both directions: the fields of a head we build
//! ([`super::ClientRequest`], [`super::ServerReply`]) and of a head we received
//! ([`super::ServerResponse`], [`super::ReceivedRequest`]). Names match ASCII
//! case-insensitively (RFC 7230 §3.2).

use super::response::HeaderField;

/// Values of every field named `name` in a list we build, in order.
pub(crate) fn values<'a>(fields: &'a [(String, String)], name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
    fields.iter().filter(move |(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
}

/// Values of every field named `name` in a head we received, in order.
pub(crate) fn received_values<'a>(fields: &'a [HeaderField], name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
    fields.iter().filter(move |f| f.name.eq_ignore_ascii_case(name)).map(|f| f.value.as_str())
}

/// Value of the first field named `name` in a head we received.
pub(crate) fn received_first<'a>(fields: &'a [HeaderField], name: &str) -> Option<&'a str> {
    fields.iter().find(|f| f.name.eq_ignore_ascii_case(name)).map(|f| f.value.as_str())
}

/// The header fields of a head received, from the byte after its start line: `Ok(None)` until the empty line
/// has arrived, then the fields (values lossily decoded) and the bytes they took, the empty line included.
pub(crate) fn parse_received(
    after_start_line: &[u8],
    max_fields: usize,
) -> Result<Option<(Vec<HeaderField>, usize)>, httparse::Error> {
    let mut slots = vec![httparse::EMPTY_HEADER; max_fields];
    let len = match httparse::parse_headers(after_start_line, &mut slots)? {
        httparse::Status::Complete((len, _)) => len,
        httparse::Status::Partial => return Ok(None),
    };
    let fields = slots
        .iter()
        .take_while(|h| !h.name.is_empty())
        .map(|h| HeaderField { name: h.name.to_owned(), value: String::from_utf8_lossy(h.value).into_owned() })
        .collect();
    Ok(Some((fields, len)))
}

/// The first line of a head without its line ending (all of `buf` if no line end has arrived).
pub(crate) fn first_line(buf: &[u8]) -> &[u8] {
    let end = buf.iter().position(|&b| b == b'\n').unwrap_or(buf.len());
    buf[..end].strip_suffix(b"\r").unwrap_or(&buf[..end])
}

/// Replaces the first field named `name` and removes the others, or appends the field if there is none.
pub(crate) fn set(fields: &mut Vec<(String, String)>, name: String, value: String) {
    let mut replaced = false;
    fields.retain_mut(|field| {
        if !field.0.eq_ignore_ascii_case(&name) {
            return true;
        }
        if replaced {
            return false;
        }
        replaced = true;
        *field = (name.clone(), value.clone());
        true
    });
    if !replaced {
        fields.push((name, value));
    }
}

/// Removes every field named `name`.
pub(crate) fn remove(fields: &mut Vec<(String, String)>, name: &str) {
    fields.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
}

/// A head's bytes: the start line, each field as `Name: value`, the empty line; values written as given.
pub(crate) fn encode_head(start_line: &str, fields: &[(String, String)]) -> Vec<u8> {
    let mut out = String::with_capacity(start_line.len() + 2 + fields.len() * 32 + 2);
    out.push_str(start_line);
    out.push_str("\r\n");
    for (name, value) in fields {
        out.push_str(name);
        out.push_str(": ");
        out.push_str(value);
        out.push_str("\r\n");
    }
    out.push_str("\r\n");
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect()
    }

    #[test]
    fn set_replaces_the_first_in_place_and_drops_the_rest() {
        let mut fields = list(&[("A", "1"), ("b", "2"), ("a", "3")]);
        set(&mut fields, "A".into(), "x".into());
        assert_eq!(fields, list(&[("A", "x"), ("b", "2")]));
        set(&mut fields, "C".into(), "y".into());
        assert_eq!(fields, list(&[("A", "x"), ("b", "2"), ("C", "y")]));
    }

    #[test]
    fn remove_and_values_match_names_case_insensitively() {
        let mut fields = list(&[("Upgrade", "websocket"), ("upgrade", "h2c"), ("Host", "h")]);
        assert_eq!(values(&fields, "UPGRADE").collect::<Vec<_>>(), ["websocket", "h2c"]);
        remove(&mut fields, "UPGRADE");
        assert_eq!(fields, list(&[("Host", "h")]));
    }

    #[test]
    fn head_is_start_line_fields_and_empty_line() {
        assert_eq!(encode_head("HTTP/1.1 200 OK", &list(&[("A", "1")])), b"HTTP/1.1 200 OK\r\nA: 1\r\n\r\n");
    }
}
