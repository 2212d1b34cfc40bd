//! What a correct server echoes of what the case sent: the case's own bytes
//! read back as frames, so that `expect = "echo"` knows which messages are due.

use std::collections::VecDeque;

use crate::wire::deflate::{Inflater, Negotiated};
use crate::wire::{
    ClosePayload, Endpoint, FrameHeader, FrameReader, LengthField, Message, MessageAssembler, ObservedFrame, RSV1,
};

/// Data messages the case sent and whose echo is still due.
#[derive(Debug)]
pub struct SentMessages {
    /// Codes of the close frames the case sent.
    pub close_codes: Vec<u16>,
    /// The first close frame the case sent: its code (`None`: no code).
    pub first_close: Option<Option<u16>>,
    /// Whose frames these are: a client's (testing a server, the default) or a server's (testing a
    /// client): a client masks every frame, a server none (RFC 6455 §5.1).
    pub sender: Endpoint,
    /// The case sent a frame that breaks a rule: nothing from it on is echoed.
    broken: bool,
    reader: FrameReader,
    assembler: MessageAssembler,
    /// Echoes due, oldest first.
    pending: VecDeque<Message>,
    /// Bytes the case wrote in all.
    bytes: u64,
    /// permessage-deflate was negotiated: our compressed messages are inflated with our parameters to
    /// know their echo (RFC 7692 §6).
    inflater: Option<Inflater>,
}

impl Default for SentMessages {
    fn default() -> Self {
        SentMessages {
            close_codes: Vec::new(),
            first_close: None,
            sender: Endpoint::Client,
            broken: false,
            reader: FrameReader::default(),
            assembler: MessageAssembler::default(),
            pending: VecDeque::new(),
            bytes: 0,
            inflater: None,
        }
    }
}

impl SentMessages {
    /// Whether the bytes sent so far end inside a frame (or could not be read back as frames at all).
    pub fn mid_frame(&self) -> bool {
        !self.reader.buffered().is_empty() || self.reader.is_failed()
    }

    /// Bytes still to write to end the frame in progress: 0 between frames (or when our bytes cannot be
    /// read as frames), `u64::MAX` while its header is incomplete.
    pub fn to_frame_end(&self) -> u64 {
        let buffered = self.reader.buffered();
        if buffered.is_empty() || self.reader.is_failed() {
            return 0;
        }
        match FrameHeader::parse(buffered) {
            Some((header, len)) => {
                (len as u64).saturating_add(header.declared_len).saturating_sub(buffered.len() as u64)
            }
            None => u64::MAX,
        }
    }

    /// The next message whose echo is due.
    pub fn next_due(&mut self) -> Option<Message> {
        self.pending.pop_front()
    }

    /// Bytes the case has written so far.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// permessage-deflate was negotiated: our messages with RSV1 are compressed with our side's
    /// (`ours`) parameters, each inflating to at most `limit` bytes.
    pub fn with_deflate(mut self, negotiated: &Negotiated, ours: Endpoint, limit: usize) -> SentMessages {
        self.inflater = Some(Inflater::for_sender(negotiated, ours, limit));
        self
    }

    /// A whole message the runner built and wrote as `wire_bytes` bytes of valid frames, whose echo is
    /// `message` (the plain bytes, before any compression; `None`: no echo is due). Its frames are not
    /// read back.
    pub fn message_sent(&mut self, message: Option<Message>, wire_bytes: u64) {
        self.bytes += wire_bytes;
        match message {
            Some(m) if !self.broken && !self.mid_frame() => self.pending.push_back(m),
            // a message without an echo (a bomb): the server must refuse it, nothing after it is echoed
            None => self.broken = true,
            Some(_) => {}
        }
    }

    /// Reads our own frame bytes back to know which messages a correct server
    /// echoes: only messages made of valid client frames, and valid UTF-8 for
    /// text. A frame that breaks a rule makes the server fail the connection
    /// (RFC 6455 §7.1.7), so nothing from it onwards is echoed.
    pub fn track(&mut self, bytes: &[u8]) {
        self.bytes += bytes.len() as u64;
        self.reader.push(bytes);
        while let Ok(Some(frame)) = self.reader.next_frame() {
            if let Some(payload) = frame.close_payload() {
                let code = match payload {
                    ClosePayload::Code { code, .. } => Some(code.0),
                    _ => None,
                };
                self.first_close.get_or_insert(code);
                self.close_codes.extend(code);
            }
            if self.broken || !valid_frame(&frame, self.sender, self.inflater.is_some()) {
                self.broken = true;
                continue;
            }
            match self.assembler.push_owned(frame) {
                Ok(a) if a.violations.is_empty() => {
                    let message = match a.message {
                        Some(m) if a.compressed => self.inflate(m),
                        other => other,
                    };
                    if let Some(m) = message {
                        if m.is_text() && m.as_text().is_none() {
                            self.broken = true;
                        } else {
                            self.pending.push_back(m);
                        }
                    }
                }
                _ => self.broken = true,
            }
        }
    }
}

impl SentMessages {
    /// Our compressed message, inflated as the server must (RFC 7692 §7.2.2); `None` (and nothing echoed
    /// from here on) when it does not inflate: the server fails the connection.
    fn inflate(&mut self, m: Message) -> Option<Message> {
        let inflated = self.inflater.as_mut().map(|i| i.inflate(m.payload()));
        match inflated {
            Some(Ok(plain)) if m.is_text() => Some(Message::Text(plain)),
            Some(Ok(plain)) => Some(Message::Binary(plain)),
            _ => {
                self.broken = true;
                None
            }
        }
    }
}

/// Whether a frame we sent keeps the client's rules of RFC 6455 §5, with permessage-deflate's RSV1 where
/// it was negotiated (`deflate`).
fn valid_frame(f: &ObservedFrame, sender: Endpoint, deflate: bool) -> bool {
    let h = &f.header;
    let Some(opcode) = h.defined_opcode() else {
        // RFC 6455 §5.2: a reserved opcode fails the connection
        return false;
    };
    // RFC 7692 §6.1: RSV1 marks a compressed message, on its first frame only
    let starts_message = opcode.is_data() && opcode != crate::wire::Opcode::Continuation;
    let allowed = if deflate && starts_message { RSV1 } else { 0 };
    // RFC 6455 §5.1: a client masks every frame, a server none; §5.2: RSV bits are 0 unless an extension
    // defines them
    let masked_plain = h.masking_key.is_some() == (sender == Endpoint::Client) && h.rsv & !allowed == 0;
    // RFC 6455 §5.5: control frames are not fragmented and carry at most 125 bytes
    let control_ok = !opcode.is_control() || (h.fin && h.declared_len <= 125);
    // RFC 6455 §5.2: the minimal number of bytes encodes the length
    let minimal = h.length_field == LengthField::minimal_for(h.declared_len);
    masked_plain && control_ok && minimal && h.declared_len == f.payload.len() as u64
}
