//! The three protocols, sans-IO: a text message in, what to send out.

pub mod graphql_ws;
pub mod jsonrpc;
pub mod shootout;

use std::time::Duration;

/// The subprotocol of `/graphql` (graphql-transport-ws, as graphql-ws names it).
pub const GRAPHQL_TRANSPORT_WS: &str = "graphql-transport-ws";

/// Which protocol a connection speaks, by its request path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// websocket-shootout echo and broadcast (`/`, `/shootout`).
    Shootout,
    /// JSON-RPC 2.0 (`/rpc`).
    Rpc,
    /// graphql-transport-ws (`/graphql`).
    Graphql,
}

impl Route {
    /// The route of a request path (its query string ignored); `None`: 404.
    pub fn of(path: &str) -> Option<Route> {
        match path.split('?').next().unwrap_or_default() {
            "/" | "/shootout" => Some(Route::Shootout),
            "/rpc" => Some(Route::Rpc),
            "/graphql" => Some(Route::Graphql),
            _ => None,
        }
    }
}

/// What one incoming message makes the server do.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Send `text` to this connection, after `hold` (JSON-RPC's reordering).
    Reply {
        /// The message.
        text: String,
        /// How long to hold it first.
        hold: Duration,
    },
    /// Send `all` to every connection, then to this one the shootout's `broadcastResult` of
    /// `payload` with how many clients got it ([`shootout::broadcast_result`]).
    Broadcast {
        /// What every client gets.
        all: String,
        /// The broadcast's payload.
        payload: serde_json::Value,
    },
    /// Close the connection with this code and reason.
    Close {
        /// The close code (RFC 6455 §7.4; 4400-4499 are graphql-transport-ws's).
        code: u16,
        /// Why.
        reason: &'static str,
    },
}

impl Action {
    /// A reply sent at once.
    pub fn reply(text: String) -> Action {
        Action::Reply { text, hold: Duration::ZERO }
    }
}
