//! The one-line wording of what a step expects and what a message holds, shared by
//! the judge's reasons and the runner's trace notes.

use crate::case::Expectation;
use crate::conformance::trace::preview;
use crate::wire::Message;

/// A message in one line: type, length and a preview of the payload.
pub fn describe_message(m: &Message) -> String {
    let kind = if m.is_text() { "text" } else { "binary" };
    format!("{kind} message of {} bytes {}", m.payload().len(), preview(m.payload()))
}

/// What an expectation requires, in one line.
pub fn describe_expectation(e: &Expectation) -> String {
    match e {
        Expectation::Status { codes, .. } => format!("HTTP status {codes:?}"),
        Expectation::Echo => "the echo of the messages sent".into(),
        Expectation::Message { opcode, payload } => describe_message(&expected_message(*opcode, payload)),
        Expectation::Pong { payload } => format!("a pong with {}", preview(payload)),
        Expectation::Close { codes, .. } => describe_close(codes),
        Expectation::Dropped => "the server to close TCP".into(),
        Expectation::Silence(d) => format!("nothing for {} ms", d.as_millis()),
        Expectation::Alive => "a fresh connection to get a 101 and a pong".into(),
        Expectation::Refused => "the handshake refused".into(),
    }
}

/// "a close frame", or "a close frame with code 1002 or 1007".
pub fn describe_close(codes: &[u16]) -> String {
    if codes.is_empty() {
        "a close frame".to_string()
    } else {
        format!("a close frame with code {}", join_codes(codes))
    }
}

/// The message an `expect = "message"` step names: text for opcode 1, binary otherwise.
pub fn expected_message(opcode: u8, payload: &[u8]) -> Message {
    if crate::wire::Opcode::from_u8(opcode) == Some(crate::wire::Opcode::Text) {
        Message::Text(payload.to_vec())
    } else {
        Message::Binary(payload.to_vec())
    }
}

/// Codes (or statuses) joined with "or", repeats adjacent in the list shown once.
pub fn join_codes(codes: &[u16]) -> String {
    let mut unique = codes.to_vec();
    unique.dedup();
    let s: Vec<String> = unique.iter().map(|c| c.to_string()).collect();
    s.join(" or ")
}
