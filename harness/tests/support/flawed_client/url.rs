//! The `ws://` URL the client connects to (RFC 6455 §3): host, port, resource name.

use super::ClientError;

/// Where to connect and what to ask for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Target {
    /// The host to connect to, without brackets for an IPv6 literal.
    pub host: String,
    pub port: u16,
    /// `host[:port]` as written in the URL: the value of the Host field (RFC 6455 §4.1 item 4).
    pub authority: String,
    /// The path, `/` when the URL has none.
    pub path: String,
    /// The query after `?`, if any.
    pub query: Option<String>,
}

impl Target {
    /// The resource name: the path and the query (RFC 6455 §3).
    pub fn resource(&self) -> String {
        match &self.query {
            Some(query) => format!("{}?{query}", self.path),
            None => self.path.clone(),
        }
    }
}

/// Parses `ws://host[:port][/path][?query]`; `wss://` is not spoken, fragments are refused (RFC 6455 §3).
pub(crate) fn parse(url: &str) -> Result<Target, ClientError> {
    let rest = strip_prefix_ignore_case(url, "ws://").ok_or(ClientError::Url("the scheme is not ws://"))?;
    if rest.contains('#') {
        return Err(ClientError::Url("a WebSocket URL has no fragment"));
    }
    let (authority, resource) = match rest.find(['/', '?']) {
        Some(at) => rest.split_at(at),
        None => (rest, ""),
    };
    if authority.is_empty() || authority.contains('@') {
        return Err(ClientError::Url("no host, or user information"));
    }
    let (host, port) = split_port(authority)?;
    let (path, query) = match resource.split_once('?') {
        Some((path, query)) => (path, Some(query.to_owned())),
        None => (resource, None),
    };
    let path = if path.is_empty() { "/".to_owned() } else { path.to_owned() };
    Ok(Target { host, port, authority: authority.to_owned(), path, query })
}

fn strip_prefix_ignore_case<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix).then(|| &s[prefix.len()..])
}

/// `host`, `host:port`, `[v6]` or `[v6]:port`; port 80 when absent.
fn split_port(authority: &str) -> Result<(String, u16), ClientError> {
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (host, after) = v6.split_once(']').ok_or(ClientError::Url("an unclosed [ in the host"))?;
        (host, after.strip_prefix(':'))
    } else {
        match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    let port = match port {
        None | Some("") => 80,
        Some(port) => port.parse().map_err(|_| ClientError::Url("the port is not a number from 0 to 65535"))?,
    };
    if host.is_empty() {
        return Err(ClientError::Url("no host"));
    }
    Ok((host.to_owned(), port))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(url: &str) -> (String, u16, String, String) {
        let t = parse(url).unwrap_or_else(|e| panic!("{url}: {e}"));
        (t.host.clone(), t.port, t.authority.clone(), t.resource())
    }

    #[test]
    fn flawed_client_url_keeps_the_query_and_the_authority_as_written() {
        let own = |h: &str, p, a: &str, r: &str| (h.to_owned(), p, a.to_owned(), r.to_owned());
        assert_eq!(
            parts("ws://127.0.0.1:9001/runCase?case=1&agent=x"),
            own("127.0.0.1", 9001, "127.0.0.1:9001", "/runCase?case=1&agent=x")
        );
        assert_eq!(parts("WS://example.org"), own("example.org", 80, "example.org", "/"));
        assert_eq!(parts("ws://[::1]:9001?x=1"), own("::1", 9001, "[::1]:9001", "/?x=1"));
        assert_eq!(parts("ws://[::1]/a/b"), own("::1", 80, "[::1]", "/a/b"));
    }

    #[test]
    fn flawed_client_url_refuses_what_it_cannot_connect_to() {
        for url in ["wss://example.org/", "http://example.org/", "ws:///x", "ws://h:99999/", "ws://h/#f", "ws://u@h/"] {
            assert!(parse(url).is_err(), "{url}");
        }
    }
}
