//! Whether a server's response completes the opening handshake (RFC 6455 §4.1, §4.2.2).

use super::key::accept_for;
use super::list::{extension_name, split_list};
use super::response::ServerResponse;
use crate::wire::deflate::{negotiate, PERMESSAGE_DEFLATE};
use crate::wire::violation::{Violation, ViolationKind};

impl ServerResponse {
    /// The rules this response breaks as the answer to a request that sent
    /// `key` and offered `offered_protocols` and `offered_extensions` (each
    /// extension with or without its parameters).
    ///
    /// When permessage-deflate was offered, its response is judged too
    /// ([`crate::wire::deflate::negotiate`], RFC 7692 §7).
    ///
    /// A status other than 101 is reported alone (with the version, if wrong):
    /// a refused handshake has no upgrade fields to check.
    pub fn check_upgrade(&self, key: &str, offered_protocols: &[&str], offered_extensions: &[&str]) -> Vec<Violation> {
        let mut found = Vec::new();
        if self.version != "HTTP/1.1" {
            // RFC 6455 §4.2.2: the server answers with an HTTP/1.1 status line
            found
                .push(Violation::new(ViolationKind::VersionNotHttp11, format!("status line version {}", self.version)));
        }
        if self.status != 101 {
            // RFC 6455 §4.1: any status other than 101 means the handshake did not complete
            found.push(Violation::new(
                ViolationKind::StatusNotSwitchingProtocols,
                format!("status {} {}", self.status, self.reason).trim_end().to_owned(),
            ));
            return found;
        }
        self.check_upgrade_field(&mut found);
        self.check_connection_field(&mut found);
        self.check_accept(key, &mut found);
        self.check_extensions(offered_extensions, &mut found);
        self.check_protocol(offered_protocols, &mut found);
        found
    }

    fn check_upgrade_field(&self, found: &mut Vec<Violation>) {
        let values: Vec<&str> = self.header_values("Upgrade").collect();
        // RFC 6455 §4.1 item 2: Upgrade is present and an ASCII case-insensitive match for "websocket"
        if values.is_empty() {
            found.push(Violation::new(ViolationKind::UpgradeNotWebsocket, "no Upgrade header field"));
        }
        for value in values.iter().filter(|v| !v.trim().eq_ignore_ascii_case("websocket")) {
            found.push(Violation::new(ViolationKind::UpgradeNotWebsocket, format!("Upgrade: {value}")));
        }
    }

    fn check_connection_field(&self, found: &mut Vec<Violation>) {
        let values: Vec<&str> = self.header_values("Connection").collect();
        // RFC 6455 §4.1 item 3: Connection contains the token "Upgrade", case-insensitively
        if values.is_empty() {
            found.push(Violation::new(ViolationKind::ConnectionNotUpgrade, "no Connection header field"));
        } else if !values.iter().flat_map(|v| split_list(v)).any(|token| token.eq_ignore_ascii_case("upgrade")) {
            found.push(Violation::new(
                ViolationKind::ConnectionNotUpgrade,
                format!("Connection: {}", values.join(", ")),
            ));
        }
    }

    fn check_accept(&self, key: &str, found: &mut Vec<Violation>) {
        let values: Vec<&str> = self.header_values("Sec-WebSocket-Accept").collect();
        // RFC 6455 §4.1 item 4: Sec-WebSocket-Accept is present and equals base64(SHA-1(key + GUID))
        if values.is_empty() {
            found.push(Violation::new(ViolationKind::AcceptMissing, "no Sec-WebSocket-Accept header field"));
        }
        if values.len() > 1 {
            // RFC 6455 §11.3.3: Sec-WebSocket-Accept appears at most once
            found.push(Violation::new(
                ViolationKind::AcceptRepeated,
                format!("{} Sec-WebSocket-Accept header fields", values.len()),
            ));
        }
        let expected = accept_for(key);
        for value in values.iter().filter(|v| v.trim() != expected) {
            found.push(Violation::new(
                ViolationKind::AcceptMismatch,
                format!("Sec-WebSocket-Accept: {value} (expected {expected} for key {key})"),
            ));
        }
    }

    fn check_extensions(&self, offered: &[&str], found: &mut Vec<Violation>) {
        let offered_names: Vec<&str> = offered.iter().map(|offer| extension_name(offer)).collect();
        let selected = self.header_values("Sec-WebSocket-Extensions").flat_map(split_list).map(extension_name);
        for name in selected.filter(|name| !offered_names.iter().any(|o| o.eq_ignore_ascii_case(name))) {
            // RFC 6455 §4.1 item 5: only extensions present in the client's handshake
            found.push(Violation::new(
                ViolationKind::ExtensionNotOffered,
                format!("server selected extension {name:?}, offered {offered_names:?}"),
            ));
        }
        if offered_names.iter().any(|name| name.eq_ignore_ascii_case(PERMESSAGE_DEFLATE)) {
            // RFC 7692 §7: permessage-deflate offered: its response is judged parameter by parameter
            let values: Vec<&str> = self.header_values("Sec-WebSocket-Extensions").collect();
            if let Err(violations) = negotiate(offered, &values) {
                found.extend(violations.into_iter().filter(|v| v.kind != ViolationKind::ExtensionNotOffered));
            }
        }
    }

    fn check_protocol(&self, offered: &[&str], found: &mut Vec<Violation>) {
        let values: Vec<&str> = self.header_values("Sec-WebSocket-Protocol").collect();
        if values.len() > 1 {
            // RFC 6455 §11.3.4: Sec-WebSocket-Protocol appears at most once in a response
            found.push(Violation::new(
                ViolationKind::ProtocolRepeated,
                format!("{} Sec-WebSocket-Protocol header fields", values.len()),
            ));
        }
        for value in values.iter().map(|v| v.trim()).filter(|v| !offered.contains(v)) {
            // RFC 6455 §4.1 item 6: only a subprotocol present in the client's handshake
            found.push(Violation::new(
                ViolationKind::ProtocolNotOffered,
                format!("server selected subprotocol {value:?}, offered {offered:?}"),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::handshake::request::ClientRequest;
    use crate::wire::handshake::response::parse_response;

    const RFC_KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
    const RFC_ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

    fn response(head: &str) -> ServerResponse {
        parse_response(head.as_bytes()).expect("well-formed").expect("complete head").0
    }

    fn upgrade_with(extra: &str) -> ServerResponse {
        response(&format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Accept: {RFC_ACCEPT}\r\n{extra}\r\n"
        ))
    }

    fn kinds(response: &ServerResponse, protocols: &[&str], extensions: &[&str]) -> Vec<ViolationKind> {
        response.check_upgrade(RFC_KEY, protocols, extensions).into_iter().map(|v| v.kind).collect()
    }

    #[test]
    fn rfc_response_completes_the_handshake() {
        assert!(kinds(&upgrade_with(""), &[], &[]).is_empty());
    }

    #[test]
    fn header_names_and_values_match_case_insensitively() {
        let r = response(&format!(
            "HTTP/1.1 101 OK\r\nupgrade: WebSocket\r\nconnection: keep-alive, UPGRADE\r\nsec-websocket-accept: {RFC_ACCEPT}\r\n\r\n"
        ));
        assert!(kinds(&r, &[], &[]).is_empty());
    }

    #[test]
    fn refusal_is_reported_alone() {
        let r = response("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
        let found = r.check_upgrade(RFC_KEY, &[], &[]);
        assert_eq!(found.iter().map(|v| v.kind).collect::<Vec<_>>(), [ViolationKind::StatusNotSwitchingProtocols]);
        assert_eq!(found[0].observed, "status 400 Bad Request");
    }

    #[test]
    fn http_1_0_status_line_is_a_violation() {
        let r = response(&format!(
            "HTTP/1.0 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {RFC_ACCEPT}\r\n\r\n"
        ));
        assert_eq!(kinds(&r, &[], &[]), [ViolationKind::VersionNotHttp11]);
    }

    #[test]
    fn missing_or_wrong_upgrade_and_connection_are_violations() {
        let r = response(&format!("HTTP/1.1 101 OK\r\nSec-WebSocket-Accept: {RFC_ACCEPT}\r\n\r\n"));
        assert_eq!(kinds(&r, &[], &[]), [ViolationKind::UpgradeNotWebsocket, ViolationKind::ConnectionNotUpgrade]);
        let r = response(&format!(
            "HTTP/1.1 101 OK\r\nUpgrade: h2c\r\nConnection: keep-alive\r\nSec-WebSocket-Accept: {RFC_ACCEPT}\r\n\r\n"
        ));
        assert_eq!(kinds(&r, &[], &[]), [ViolationKind::UpgradeNotWebsocket, ViolationKind::ConnectionNotUpgrade]);
    }

    #[test]
    fn missing_wrong_and_repeated_accept_are_violations() {
        let r = response("HTTP/1.1 101 OK\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n");
        assert_eq!(kinds(&r, &[], &[]), [ViolationKind::AcceptMissing]);
        let wrong = upgrade_with("").check_upgrade("AAAAAAAAAAAAAAAAAAAAAA==", &[], &[]);
        assert_eq!(wrong.iter().map(|v| v.kind).collect::<Vec<_>>(), [ViolationKind::AcceptMismatch]);
        assert_eq!(
            kinds(&upgrade_with(&format!("Sec-WebSocket-Accept: {RFC_ACCEPT}\r\n")), &[], &[]),
            [ViolationKind::AcceptRepeated]
        );
    }

    #[test]
    fn unoffered_subprotocol_is_a_violation() {
        let r = upgrade_with("Sec-WebSocket-Protocol: chat\r\n");
        assert!(kinds(&r, &["superchat", "chat"], &[]).is_empty());
        assert_eq!(kinds(&r, &[], &[]), [ViolationKind::ProtocolNotOffered]);
        assert_eq!(kinds(&r, &["Chat"], &[]), [ViolationKind::ProtocolNotOffered]);
        let two = upgrade_with("Sec-WebSocket-Protocol: chat\r\nSec-WebSocket-Protocol: chat\r\n");
        assert_eq!(kinds(&two, &["chat"], &[]), [ViolationKind::ProtocolRepeated]);
    }

    #[test]
    fn unoffered_extension_is_a_violation() {
        let r = upgrade_with("Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover\r\n");
        assert!(kinds(&r, &[], &["permessage-deflate; client_max_window_bits"]).is_empty());
        assert_eq!(kinds(&r, &[], &[]), [ViolationKind::ExtensionNotOffered]);
        assert_eq!(kinds(&r, &[], &["x-webkit-deflate-frame"]), [ViolationKind::ExtensionNotOffered]);
    }

    #[test]
    fn offered_permessage_deflate_is_judged_parameter_by_parameter() {
        let offer = ["permessage-deflate"];
        let r = upgrade_with("Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=10\r\n");
        assert_eq!(kinds(&r, &[], &offer), [ViolationKind::DeflateClientWindowNotOffered]);
        let r = upgrade_with("Sec-WebSocket-Extensions: permessage-deflate, permessage-deflate\r\n");
        assert_eq!(kinds(&r, &[], &offer), [ViolationKind::DeflateRepeated]);
        let r = upgrade_with("Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=8\r\n");
        assert!(kinds(&r, &[], &offer).is_empty());
    }

    #[test]
    fn client_request_checks_against_its_own_key_and_offers() {
        let request = ClientRequest::new("h", "/").key(RFC_KEY).protocols(&["chat"]);
        assert!(request.check_response(&upgrade_with("Sec-WebSocket-Protocol: chat\r\n")).is_empty());
        let other = ClientRequest::new("h", "/");
        assert_eq!(other.check_response(&upgrade_with("")).len(), 1);
    }
}
