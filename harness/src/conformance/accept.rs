//! A client's connection, accepted: its opening request head read (bounded in size and time) before
//! the case it asks for is known. `wsharness serve` routes on the request's target; the runner then
//! judges the request and answers it ([`super::runner::run_client_case`]).

use tokio::io::AsyncReadExt;
use tokio::time::{timeout_at, Instant};

use super::observe::Io;
use crate::wire::handshake::RequestParser;
use crate::wire::{ReceivedRequest, RequestError};

/// Bytes read at a time while the head is incomplete.
const READ_SIZE: usize = 4096;

/// A client's connection whose request head has been read.
pub struct Accepted {
    /// The connection.
    pub stream: Box<dyn Io>,
    /// The request head, parsed.
    pub request: ReceivedRequest,
    /// Bytes read after the head (frames the client sent at once).
    pub rest: Vec<u8>,
    /// The client sent this request's `Sec-WebSocket-Key` on an earlier connection (RFC 6455 §4.1).
    pub key_reused: bool,
}

impl std::fmt::Debug for Accepted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Accepted").field("target", &self.request.target).field("rest", &self.rest.len()).finish()
    }
}

/// Why no request head could be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AcceptError {
    /// The head did not arrive in time.
    #[error("no complete request head within the time allowed ({received} bytes received)")]
    Timeout {
        /// Bytes that had arrived.
        received: usize,
    },
    /// The head cannot be parsed, is too large, or was cut short by the client.
    #[error("{0}")]
    Request(#[from] RequestError),
    /// The connection broke.
    #[error("the connection broke while reading the request: {0}")]
    Io(String),
}

impl AcceptError {
    /// Whether the client sent something that is not a request (an answer of 400 is due), rather than
    /// nothing, too little, or too slowly.
    pub fn is_malformed(&self) -> bool {
        matches!(
            self,
            AcceptError::Request(
                RequestError::MalformedRequestLine { .. }
                    | RequestError::MalformedHeaders(_)
                    | RequestError::TooManyHeaders { .. }
                    | RequestError::HeadTooLarge { .. }
            )
        )
    }
}

/// Reads the opening request head from `stream` before `deadline`, with the parser's default limits
/// (16 KiB of head, 100 fields). On an error the stream is still usable to answer it.
pub async fn read_request(
    stream: &mut Box<dyn Io>,
    deadline: Instant,
) -> Result<(ReceivedRequest, Vec<u8>), AcceptError> {
    let parser = RequestParser::default();
    let mut head = Vec::with_capacity(READ_SIZE);
    let mut buf = [0u8; READ_SIZE];
    loop {
        let n = match timeout_at(deadline, stream.read(&mut buf)).await {
            Err(_) => return Err(AcceptError::Timeout { received: head.len() }),
            Ok(Err(e)) => return Err(AcceptError::Io(e.to_string())),
            Ok(Ok(n)) => n,
        };
        if n == 0 {
            let (request, len) = parser.parse_closed(&head)?;
            return Ok((request, head.split_off(len)));
        }
        head.extend_from_slice(&buf[..n]);
        if let Some((request, len)) = parser.parse(&head)? {
            return Ok((request, head.split_off(len)));
        }
    }
}
