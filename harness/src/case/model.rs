//! A validated, expanded case: what the runner executes.

use std::time::Duration;

use super::data::DataSet;
use crate::verdict::Verdict;
use crate::wire::deflate::DeflateAccept;
use crate::wire::{Endpoint, FrameSpec, Opcode};

/// One conformance case.
#[derive(Debug, Clone, PartialEq)]
pub struct Case {
    /// Stable id, e.g. `rfc6455/5.2/rsv1-on-text`: never a position.
    pub id: String,
    /// One-line title.
    pub title: String,
    /// The report section (from the file).
    pub section: String,
    /// The RFC reference, e.g. `6455 §5.2`.
    pub rfc: String,
    /// The equivalent Autobahn|Testsuite case id, if any.
    pub autobahn: Option<String>,
    /// The implementations under test the case applies to, in the file's order: the server (the
    /// default, every case that tests servers), the client (we play the server, issue 13), or both.
    pub roles: Vec<Endpoint>,
    /// Why the rule matters (shown in reports).
    pub why: String,
    /// How the connection is opened (testing a server: the request we send).
    pub handshake: Handshake,
    /// Testing a client: the answer we send to its opening request (default: the valid 101).
    pub reply: Reply,
    /// What is sent and expected, in order.
    pub steps: Vec<Step>,
    /// The case's own time budget, when it needs more than the run's `--case-timeout`.
    pub timeout: Option<Duration>,
    /// How the harness reads: `None` reads as fast as data comes; `Some` plays a slow client.
    pub read: Option<ReadPace>,
    /// Where the case was written.
    pub source: Source,
}

impl Case {
    /// Whether the case tests implementations in `role` (a server, or a client).
    pub fn tests(&self, role: Endpoint) -> bool {
        self.roles.contains(&role)
    }
}

/// A place in a case file, for error messages and reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// The file's path as given to the loader.
    pub file: String,
    /// 1-based line of the `[[case]]` table.
    pub line: usize,
}

/// How TCP writes are cut and paced.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Delivery {
    /// Chunk sizes, used in turn and repeated; empty sends everything in one write.
    pub chunks: Vec<usize>,
    /// Pause between chunks.
    pub pause: Duration,
}

/// A slow reader: at most `chunk` bytes per read, `pause` between reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadPace {
    /// Largest read.
    pub chunk: usize,
    /// Pause after each read.
    pub pause: Duration,
}

/// A payload given as a length and a repeating pattern, built when the case runs
/// (a 16 MiB case costs nothing until then).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fill {
    /// Payload length.
    pub len: usize,
    /// Bytes repeated to fill it (never empty).
    pub pattern: Vec<u8>,
}

impl Fill {
    /// The payload.
    pub fn bytes(&self) -> Vec<u8> {
        self.pattern.iter().copied().cycle().take(self.len).collect()
    }
}

/// The opening handshake of a case.
#[derive(Debug, Clone, PartialEq)]
pub struct Handshake {
    /// The request to send.
    pub request: Request,
    /// How the request bytes are delivered.
    pub delivery: Delivery,
    /// `true`: anything but a valid 101 makes the case FAILED before its steps run.
    pub expect_101: bool,
}

/// The request of the opening handshake.
#[derive(Debug, Clone, PartialEq)]
pub enum Request {
    /// The default valid request, with header fields set (`Some`) or removed (`None`).
    Default {
        /// Overrides, in order.
        headers: Vec<(String, Option<String>)>,
    },
    /// A raw request; `{key}`, `{host}` and `{path}` are filled in by the runner.
    Raw(String),
}

/// Our answer to a client's opening request, when we play the server (`[case.reply]`): the valid 101
/// (RFC 6455 §4.2.2) with the case's changes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reply {
    /// Another status (and reason phrase) instead of `101 Switching Protocols`.
    pub status: Option<(u16, String)>,
    /// What `Sec-WebSocket-Accept` carries.
    pub accept: AcceptValue,
    /// Header fields set (`Some`) or removed (`None`), in order, after the accept is written.
    pub headers: Vec<(String, Option<String>)>,
    /// Header fields appended as they are (a second field of a name already there).
    pub append: Vec<(String, String)>,
    /// How the client's permessage-deflate offer is accepted, in order of preference (RFC 7692 §5, §7;
    /// empty: declined, as a server without the extension does).
    pub deflate: Vec<DeflateAccept>,
}

/// The `Sec-WebSocket-Accept` value of a [`Reply`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum AcceptValue {
    /// base64(SHA-1(key + GUID)) of the client's key (RFC 6455 §4.2.2 item 5.4).
    #[default]
    Valid,
    /// The right computation on another key: a client that only checks that the field is there takes it.
    OtherKey,
    /// base64(SHA-1(key)), the GUID forgotten.
    WithoutGuid,
    /// The client's key itself: a client that compares the key with itself takes it.
    TheKey,
    /// This text.
    Literal(String),
}

/// One step of a case.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Send a frame: anything, valid or not.
    Frame {
        /// The frame (its payload is empty when `fill` builds it).
        frame: FrameSpec,
        /// A generated payload, built when the case runs.
        fill: Option<Fill>,
        /// Send the payload as one message in frames of this many bytes
        /// (first frame the opcode, then continuations, `frame.fin` on the last).
        fragment: Option<usize>,
        /// `true`: every frame gets a fresh random masking key when sent.
        fresh_mask: bool,
        /// How many times the frame (or the fragmented message) is sent, back to back.
        repeat: usize,
        /// How its bytes are delivered (all repetitions form one byte stream).
        delivery: Delivery,
    },
    /// Send data messages whose payloads the harness builds (a data set, a fill, fixed bytes, a
    /// decompression bomb), compressed with the connection's permessage-deflate or not, and await
    /// their echoes batch by batch when asked.
    Messages(Messages),
    /// Send raw bytes.
    Raw {
        /// The bytes.
        bytes: Vec<u8>,
        /// How many times, back to back.
        repeat: usize,
        /// How they are delivered.
        delivery: Delivery,
    },
    /// Half-close: send TCP FIN and keep reading.
    ShutdownWrite,
    /// Wait, reading whatever arrives.
    Wait(Duration),
    /// Expect something from the server.
    Expect {
        /// What is expected.
        what: Expectation,
        /// How long to wait for it (default: the case timeout).
        timeout: Option<Duration>,
        /// The verdict if it does not happen.
        mismatch: Verdict,
        /// How many times in a row it must happen.
        repeat: usize,
        /// 1-based line of the step, for reports.
        line: usize,
    },
}

/// A `send` step that builds its messages when the case runs (RFC 7692 cases, Autobahn 12.x/13.x).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Messages {
    /// Text or binary.
    pub opcode: Opcode,
    /// Where each message's payload comes from.
    pub source: MessageSource,
    /// How many messages.
    pub count: usize,
    /// Compress each message with the negotiated permessage-deflate parameters (RSV1 on its first frame).
    pub compress: bool,
    /// Cut each message's wire payload (compressed, if it is) into frames of this many bytes.
    pub fragment: Option<usize>,
    /// Await the echo of each batch of messages before sending the next (bounded memory, like Autobahn's
    /// lock-step but a batch at a time).
    pub echo: bool,
    /// 1-based line of the step, for reports.
    pub line: usize,
}

/// Where a [`Messages`] step's payloads come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MessageSource {
    /// The same bytes every time.
    Bytes(Vec<u8>),
    /// A length and a repeating pattern.
    Fill(Fill),
    /// The next `len` bytes of a data set each time, wrapping around (Autobahn's cases 12/13), or the
    /// same first `len` bytes every time.
    Data {
        /// The set.
        set: DataSet,
        /// Bytes per message.
        len: usize,
        /// Every message is the set's first `len` bytes.
        same: bool,
    },
    /// A compressed payload that inflates to this many zero bytes (RFC 7692 §8.1 warns of these):
    /// sent with RSV1 as it is, never through the compressor.
    Bomb {
        /// The inflated size.
        inflated: usize,
    },
}

impl MessageSource {
    /// The largest payload of one message before compression (a bomb's inflated size).
    pub fn plain_len(&self) -> usize {
        match self {
            MessageSource::Bytes(b) => b.len(),
            MessageSource::Fill(f) => f.len,
            MessageSource::Data { len, .. } => *len,
            MessageSource::Bomb { inflated } => *inflated,
        }
    }

    /// The largest wire payload of one message: what is sent before any compression can shrink it
    /// (DEFLATE adds at most 5 bytes per 16 KiB stored block and a few bytes of framing).
    pub fn max_wire_len(&self) -> usize {
        match self {
            MessageSource::Bomb { inflated } => inflated / 150 + 64,
            other => {
                let n = other.plain_len();
                n + (n / 16384 + 1) * 5 + 16
            }
        }
    }
}

/// What the server should do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expectation {
    /// An HTTP response with one of these statuses, with these header fields
    /// (name, value, compared case-insensitively; value `*` means present).
    Status {
        /// Acceptable statuses.
        codes: Vec<u16>,
        /// Required header fields.
        headers: Vec<(String, String)>,
        /// Header fields that must be absent.
        absent: Vec<String>,
    },
    /// The echo of every data message sent since the previous echo expectation.
    Echo,
    /// A data message with this opcode (1 text, 2 binary) and payload.
    Message {
        /// 1 or 2.
        opcode: u8,
        /// Reassembled payload.
        payload: Vec<u8>,
    },
    /// A pong with this payload.
    Pong {
        /// The payload of the ping it answers.
        payload: Vec<u8>,
    },
    /// A close frame with one of these codes (empty: any code, or none).
    Close {
        /// Acceptable codes.
        codes: Vec<u16>,
        /// Also accept the TCP connection dropped without a close frame.
        allow_drop: bool,
    },
    /// The TCP connection closed by the server.
    Dropped,
    /// Nothing received for this long.
    Silence(Duration),
    /// A fresh connection to the server gets a 101 and a pong: the server survived.
    Alive,
    /// The opening handshake refused: any status but 101, or the connection closed without a response.
    Refused,
}
