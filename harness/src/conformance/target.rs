//! The server under test, from a `ws://` URL.

/// Where the cases connect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The URL as given.
    pub url: String,
    /// `wss://`.
    pub secure: bool,
    /// Host name or address (IPv6 without brackets).
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// Path and query, starting with `/`.
    pub path: String,
}

/// Why a URL cannot be a target.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    /// Not `ws://` or `wss://`.
    #[error("'{0}' is not a WebSocket URL: it must start with ws:// or wss://")]
    Scheme(String),
    /// No host between the scheme and the path.
    #[error("'{0}' has no host")]
    NoHost(String),
    /// The port is not a number from 1 to 65535.
    #[error("'{0}' has an invalid port")]
    Port(String),
}

impl Target {
    /// Parses `ws://host[:port][/path][?query]` (default ports 80 and 443).
    pub fn parse(url: &str) -> Result<Target, TargetError> {
        let (secure, rest) = if let Some(r) = strip_prefix_ci(url, "ws://") {
            (false, r)
        } else if let Some(r) = strip_prefix_ci(url, "wss://") {
            (true, r)
        } else {
            return Err(TargetError::Scheme(url.to_string()));
        };
        let split = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(split);
        let tail = tail.split('#').next().unwrap_or_default();
        let path = match tail {
            "" => "/".to_string(),
            t if t.starts_with('?') => format!("/{t}"),
            t => t.to_string(),
        };
        let authority = authority.rsplit('@').next().unwrap_or_default();
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let (h, after) = v6.split_once(']').ok_or_else(|| TargetError::NoHost(url.to_string()))?;
            (h.to_string(), after.strip_prefix(':'))
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (h.to_string(), Some(p)),
                None => (authority.to_string(), None),
            }
        };
        if host.is_empty() {
            return Err(TargetError::NoHost(url.to_string()));
        }
        let port = match port {
            None => {
                if secure {
                    443
                } else {
                    80
                }
            }
            Some(p) => p.parse::<u16>().ok().filter(|p| *p != 0).ok_or_else(|| TargetError::Port(url.to_string()))?,
        };
        Ok(Target { url: url.to_string(), secure, host, port, path })
    }

    /// The `Host` header value (RFC 7230 §5.4): the port only when not the default.
    pub fn host_header(&self) -> String {
        let host = if self.host.contains(':') { format!("[{}]", self.host) } else { self.host.clone() };
        let default = if self.secure { 443 } else { 80 };
        if self.port == default {
            host
        } else {
            format!("{host}:{}", self.port)
        }
    }

    /// `host:port` for connecting.
    pub fn authority(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix).then(|| &s[prefix.len()..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_hosts_ports_paths_and_queries() {
        let t = Target::parse("ws://127.0.0.1:9001/chat?room=1").unwrap();
        assert_eq!((t.host.as_str(), t.port, t.path.as_str(), t.secure), ("127.0.0.1", 9001, "/chat?room=1", false));
        assert_eq!(t.host_header(), "127.0.0.1:9001");
        let t = Target::parse("wss://localhost").unwrap();
        assert_eq!((t.port, t.path.as_str(), t.host_header()), (443, "/", "localhost".to_string()));
        let t = Target::parse("ws://[::1]:8080?x").unwrap();
        assert_eq!((t.host.as_str(), t.port, t.path.as_str()), ("::1", 8080, "/?x"));
        assert_eq!(t.authority(), "[::1]:8080");
    }

    #[test]
    fn rejects_what_is_not_a_websocket_url() {
        assert!(matches!(Target::parse("http://x/"), Err(TargetError::Scheme(_))));
        assert!(matches!(Target::parse("ws:///path"), Err(TargetError::NoHost(_))));
        assert!(matches!(Target::parse("ws://h:99999/"), Err(TargetError::Port(_))));
        assert!(matches!(Target::parse("ws://h:0/"), Err(TargetError::Port(_))));
    }
}
