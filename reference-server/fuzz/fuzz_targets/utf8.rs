//! The streaming UTF-8 validator (RFC 6455 §8.1) against the standard library.
//!
//! Input: a `Split`: the text cut into pieces as frames and reads cut it. The
//! validator accepts every piece and the end exactly when the whole is UTF-8,
//! and fails fast: at the first piece after which the bytes so far cannot
//! begin any valid UTF-8, not later, not sooner.
#![no_main]

use fuzz_input::Split;
use libfuzzer_sys::fuzz_target;
use reference_server::utf8::Utf8Validator;

fuzz_target!(|input: &[u8]| {
    let split = Split::parse(input);
    let mut v = Utf8Validator::new();
    let mut seen = 0;
    for piece in split.pieces() {
        seen += piece.len();
        let so_far = std::str::from_utf8(&split.data[..seen]);
        // a valid prefix is UTF-8, or ends inside a code point (`error_len() == None`)
        let prefix_can_go_on = so_far.as_ref().map_or_else(|e| e.error_len().is_none(), |_| true);
        match v.feed(piece) {
            Ok(()) => assert!(prefix_can_go_on, "missed an error by byte {seen}"),
            Err(_) => {
                assert!(!prefix_can_go_on, "failed at byte {seen} on a valid prefix");
                return;
            }
        }
    }
    assert_eq!(v.finish().is_ok(), std::str::from_utf8(split.data).is_ok());
});
