//! The `Sec-WebSocket-Extensions` grammar (RFC 6455 §9.1), parsed strictly.
//!
//! ```text
//! extension-list = 1#extension
//! extension      = extension-token *( ";" extension-param )
//! extension-param = token [ "=" (token | quoted-string) ]
//! ```
//!
//! Whitespace (space, tab) is allowed around `,`, `;` and `=` (the implied
//! linear white space of RFC 2616's `#` rule), and empty list elements are
//! skipped (RFC 7230 §7). A quoted value is unescaped and must then be a token.

use thiserror::Error;

/// One extension of a `Sec-WebSocket-Extensions` value: its name and parameters, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtensionElement {
    /// The extension token, e.g. `permessage-deflate`, as written.
    pub name: String,
    /// The parameters, in order, duplicates kept.
    pub params: Vec<ExtensionParam>,
}

/// One `name[=value]` parameter of an extension.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtensionParam {
    /// The parameter token, as written.
    pub name: String,
    /// The value (unescaped if it was quoted); `None` for a value-less parameter.
    pub value: Option<String>,
    /// Whether the value was written as a quoted-string.
    pub quoted: bool,
}

/// Where and why a value does not follow the grammar of RFC 6455 §9.1.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("at byte {offset}: expected {expected}")]
pub struct SyntaxError {
    /// Byte offset in the value where the grammar failed.
    pub offset: usize,
    /// What the grammar wanted there.
    pub expected: &'static str,
}

/// `tchar` of RFC 7230 §3.2.6 (also the method and subprotocol grammar of the opening handshake).
pub(crate) fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Parses a whole `Sec-WebSocket-Extensions` value (several header fields: join them with `, ` first).
pub fn parse_extensions(value: &str) -> Result<Vec<ExtensionElement>, SyntaxError> {
    let mut p = Parser { s: value.as_bytes(), at: 0 };
    let mut elements = Vec::new();
    loop {
        p.skip_ows();
        match p.peek() {
            None => break,
            Some(b',') => p.at += 1,
            Some(_) => {
                elements.push(p.element()?);
                p.skip_ows();
                match p.peek() {
                    None => break,
                    Some(b',') => p.at += 1,
                    Some(_) => return Err(p.error("',' or the end of the value")),
                }
            }
        }
    }
    // RFC 6455 §9.1: extension-list = 1#extension
    if elements.is_empty() {
        return Err(SyntaxError { offset: 0, expected: "at least one extension" });
    }
    Ok(elements)
}

struct Parser<'a> {
    s: &'a [u8],
    at: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.at).copied()
    }

    fn error(&self, expected: &'static str) -> SyntaxError {
        SyntaxError { offset: self.at, expected }
    }

    fn skip_ows(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.at += 1;
        }
    }

    fn token(&mut self, what: &'static str) -> Result<String, SyntaxError> {
        let start = self.at;
        while self.peek().is_some_and(is_tchar) {
            self.at += 1;
        }
        if start == self.at {
            return Err(self.error(what));
        }
        // tchar is ASCII, so the slice is UTF-8
        Ok(String::from_utf8_lossy(&self.s[start..self.at]).into_owned())
    }

    fn element(&mut self) -> Result<ExtensionElement, SyntaxError> {
        // RFC 6455 §9.1: extension = extension-token *( ";" extension-param )
        let name = self.token("an extension token")?;
        let mut params = Vec::new();
        loop {
            self.skip_ows();
            if self.peek() != Some(b';') {
                return Ok(ExtensionElement { name, params });
            }
            self.at += 1;
            self.skip_ows();
            params.push(self.param()?);
        }
    }

    fn param(&mut self) -> Result<ExtensionParam, SyntaxError> {
        // RFC 6455 §9.1: extension-param = token [ "=" (token | quoted-string) ]
        let name = self.token("a parameter token")?;
        self.skip_ows();
        if self.peek() != Some(b'=') {
            return Ok(ExtensionParam { name, value: None, quoted: false });
        }
        self.at += 1;
        self.skip_ows();
        if self.peek() != Some(b'"') {
            let value = self.token("a token or a quoted-string value")?;
            return Ok(ExtensionParam { name, value: Some(value), quoted: false });
        }
        let value = self.quoted()?;
        Ok(ExtensionParam { name, value: Some(value), quoted: true })
    }

    fn quoted(&mut self) -> Result<String, SyntaxError> {
        let start = self.at;
        self.at += 1;
        let mut value = Vec::new();
        loop {
            match self.peek() {
                None => return Err(self.error("the closing '\"' of a quoted-string")),
                Some(b'"') => break,
                Some(b'\\') => {
                    self.at += 1;
                    match self.peek() {
                        Some(b) => value.push(b),
                        None => return Err(self.error("a character after '\\'")),
                    }
                }
                Some(b) => value.push(b),
            }
            self.at += 1;
        }
        self.at += 1;
        // RFC 6455 §9.1: the value after quoted-string unescaping MUST conform to the token ABNF
        if value.is_empty() || !value.iter().all(|&b| is_tchar(b)) {
            return Err(SyntaxError { offset: start, expected: "a quoted value that is a token once unescaped" });
        }
        Ok(String::from_utf8_lossy(&value).into_owned())
    }
}
