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
