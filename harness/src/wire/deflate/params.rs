//! permessage-deflate parameters (RFC 7692 §7.1) as data: what a client offers
//! (any, malformed included) and what a connection negotiated.

use std::fmt;

use crate::wire::Endpoint;

/// The extension token (RFC 7692 §7).
pub const PERMESSAGE_DEFLATE: &str = "permessage-deflate";
/// The four parameter names of RFC 7692 §7.1.
pub const SERVER_NO_CONTEXT_TAKEOVER: &str = "server_no_context_takeover";
/// See [`SERVER_NO_CONTEXT_TAKEOVER`].
pub const CLIENT_NO_CONTEXT_TAKEOVER: &str = "client_no_context_takeover";
/// See [`SERVER_NO_CONTEXT_TAKEOVER`].
pub const SERVER_MAX_WINDOW_BITS: &str = "server_max_window_bits";
/// See [`SERVER_NO_CONTEXT_TAKEOVER`].
pub const CLIENT_MAX_WINDOW_BITS: &str = "client_max_window_bits";
/// The smallest window a `*_max_window_bits` value may name (RFC 7692 §7.1.2).
pub const MIN_WINDOW_BITS: u8 = 8;
/// The largest window, and the window without a `*_max_window_bits` parameter (RFC 7692 §7.1.2).
pub const MAX_WINDOW_BITS: u8 = 15;

/// One parameter as it goes on the wire. The typed variants write the RFC's
/// names with any number (out of range included); [`DeflateParam::Raw`] writes
/// anything: an unknown name, a quoted value, a value on a value-less parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeflateParam {
    /// `server_no_context_takeover`.
    ServerNoContextTakeover,
    /// `client_no_context_takeover`.
    ClientNoContextTakeover,
    /// `server_max_window_bits=N` (any N, 8..=15 is valid).
    ServerMaxWindowBits(u32),
    /// `client_max_window_bits` (value-less, valid in an offer) or `client_max_window_bits=N`.
    ClientMaxWindowBits(Option<u32>),
    /// Any parameter: `name`, `name=value` or `name="value"` (the value written as given, not escaped).
    Raw {
        /// The name, written as given.
        name: String,
        /// The value, if any, written as given.
        value: Option<String>,
        /// Write the value between double quotes.
        quoted: bool,
    },
}

impl DeflateParam {
    /// A raw parameter, `name` or `name=value`.
    pub fn raw(name: impl Into<String>, value: Option<&str>) -> DeflateParam {
        DeflateParam::Raw { name: name.into(), value: value.map(str::to_owned), quoted: false }
    }

    /// A parameter with a quoted value, `name="value"`.
    pub fn quoted(name: impl Into<String>, value: impl Into<String>) -> DeflateParam {
        DeflateParam::Raw { name: name.into(), value: Some(value.into()), quoted: true }
    }
}

impl fmt::Display for DeflateParam {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeflateParam::ServerNoContextTakeover => f.write_str(SERVER_NO_CONTEXT_TAKEOVER),
            DeflateParam::ClientNoContextTakeover => f.write_str(CLIENT_NO_CONTEXT_TAKEOVER),
            DeflateParam::ServerMaxWindowBits(n) => write!(f, "{SERVER_MAX_WINDOW_BITS}={n}"),
            DeflateParam::ClientMaxWindowBits(None) => f.write_str(CLIENT_MAX_WINDOW_BITS),
            DeflateParam::ClientMaxWindowBits(Some(n)) => write!(f, "{CLIENT_MAX_WINDOW_BITS}={n}"),
            DeflateParam::Raw { name, value: None, .. } => f.write_str(name),
            DeflateParam::Raw { name, value: Some(v), quoted: false } => write!(f, "{name}={v}"),
            DeflateParam::Raw { name, value: Some(v), quoted: true } => write!(f, "{name}=\"{v}\""),
        }
    }
}

/// One `permessage-deflate` element: an offer (or, for test servers, a response), parameters in order.
///
/// ```
/// use wsharness::wire::deflate::DeflateOffer;
/// let offer = DeflateOffer::new().client_max_window_bits(None).server_max_window_bits(10);
/// assert_eq!(offer.to_string(), "permessage-deflate; client_max_window_bits; server_max_window_bits=10");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeflateOffer {
    /// The parameters, written in this order; duplicates are written as given.
    pub params: Vec<DeflateParam>,
}

impl DeflateOffer {
    /// `permessage-deflate` without parameters.
    pub fn new() -> DeflateOffer {
        DeflateOffer::default()
    }

    /// Adds any parameter.
    pub fn param(mut self, param: DeflateParam) -> DeflateOffer {
        self.params.push(param);
        self
    }

    /// Adds `server_no_context_takeover`.
    pub fn server_no_context_takeover(self) -> DeflateOffer {
        self.param(DeflateParam::ServerNoContextTakeover)
    }

    /// Adds `client_no_context_takeover`.
    pub fn client_no_context_takeover(self) -> DeflateOffer {
        self.param(DeflateParam::ClientNoContextTakeover)
    }

    /// Adds `server_max_window_bits=bits`.
    pub fn server_max_window_bits(self, bits: u32) -> DeflateOffer {
        self.param(DeflateParam::ServerMaxWindowBits(bits))
    }

    /// Adds `client_max_window_bits` (`None`: value-less) or `client_max_window_bits=bits`.
    pub fn client_max_window_bits(self, bits: Option<u32>) -> DeflateOffer {
        self.param(DeflateParam::ClientMaxWindowBits(bits))
    }
}

impl fmt::Display for DeflateOffer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(PERMESSAGE_DEFLATE)?;
        for param in &self.params {
            write!(f, "; {param}")?;
        }
        Ok(())
    }
}

/// One element of a `Sec-WebSocket-Extensions` offer: typed, or any text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExtensionOffer {
    /// A `permessage-deflate` element.
    Deflate(DeflateOffer),
    /// Any text, written as given (another extension, or a malformed element).
    Raw(String),
}

impl fmt::Display for ExtensionOffer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExtensionOffer::Deflate(offer) => offer.fmt(f),
            ExtensionOffer::Raw(text) => f.write_str(text),
        }
    }
}

/// A `Sec-WebSocket-Extensions` value offering these elements in order (RFC 7692 §5: in order of preference).
pub fn extensions_value(offers: &[ExtensionOffer]) -> String {
    offers.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
}

/// What a permessage-deflate connection agreed on: what each side may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Negotiated {
    /// The server resets its LZ77 window for each message (RFC 7692 §7.1.1.1).
    pub server_no_context_takeover: bool,
    /// The client (we) resets its window for each message (RFC 7692 §7.1.1.2): the server asked for it, or the
    /// offer it accepted carried the hint that we would.
    pub client_no_context_takeover: bool,
    /// The server's window is at most 2^this bytes (RFC 7692 §7.1.2.1); 15 when not limited.
    pub server_max_window_bits: u8,
    /// Our window must be at most 2^this bytes (RFC 7692 §7.1.2.2); 15 when not limited.
    pub client_max_window_bits: u8,
}

impl Default for Negotiated {
    /// `permessage-deflate` accepted without parameters: context takeover, 32 KiB windows.
    fn default() -> Negotiated {
        Negotiated {
            server_no_context_takeover: false,
            client_no_context_takeover: false,
            server_max_window_bits: MAX_WINDOW_BITS,
            client_max_window_bits: MAX_WINDOW_BITS,
        }
    }
}

impl Negotiated {
    /// Whether `sender` resets its LZ77 window for each message: `server_no_context_takeover` for the
    /// server (RFC 7692 §7.1.1.1), `client_no_context_takeover` for the client (§7.1.1.2).
    pub fn no_context_takeover(&self, sender: Endpoint) -> bool {
        match sender {
            Endpoint::Server => self.server_no_context_takeover,
            Endpoint::Client => self.client_no_context_takeover,
        }
    }

    /// The largest window `sender` may use, in bits: `server_max_window_bits` for the server
    /// (RFC 7692 §7.1.2.1), `client_max_window_bits` for the client (§7.1.2.2).
    pub fn max_window_bits(&self, sender: Endpoint) -> u8 {
        match sender {
            Endpoint::Server => self.server_max_window_bits,
            Endpoint::Client => self.client_max_window_bits,
        }
    }
}
