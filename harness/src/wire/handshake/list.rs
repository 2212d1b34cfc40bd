//! Comma-separated header field values (RFC 7230 §7), as used by `Connection`,
//! `Sec-WebSocket-Protocol` and `Sec-WebSocket-Extensions`.

/// Splits a list value at commas outside quoted strings, trims each element and
/// drops empty ones (RFC 7230 §7 allows them).
pub(crate) fn split_list(value: &str) -> Vec<&str> {
    let mut items = Vec::new();
    let (mut start, mut in_quotes, mut escaped) = (0, false, false);
    for (i, c) in value.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if in_quotes => escaped = true,
            '"' => in_quotes = !in_quotes,
            ',' if !in_quotes => {
                items.push(&value[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    items.push(&value[start..]);
    items.into_iter().map(str::trim).filter(|item| !item.is_empty()).collect()
}

/// The extension name of one `Sec-WebSocket-Extensions` element (the token before any `;`).
pub(crate) fn extension_name(element: &str) -> &str {
    element.split(';').next().unwrap_or_default().trim()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_trims_and_drops_empty_elements() {
        assert_eq!(split_list(" keep-alive ,Upgrade,, "), ["keep-alive", "Upgrade"]);
        assert!(split_list("").is_empty());
    }

    #[test]
    fn commas_inside_quotes_do_not_split() {
        assert_eq!(split_list(r#"foo; a="x,y", bar; b="\",""#), [r#"foo; a="x,y""#, r#"bar; b="\",""#]);
    }

    #[test]
    fn extension_name_is_the_token_before_parameters() {
        assert_eq!(extension_name("permessage-deflate; client_max_window_bits"), "permessage-deflate");
        assert_eq!(extension_name("x-webkit"), "x-webkit");
    }
}
