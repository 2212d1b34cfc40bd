//! Loader tests: what case files mean, and how their mistakes are reported.

use super::super::model::ReadPace;
use super::*;
use crate::wire::LengthEncoding;

fn load(text: &str) -> Result<Vec<Case>, Vec<CaseError>> {
    parse_cases("cases/t.toml", text)
}

fn first_error(text: &str) -> String {
    load(text).expect_err("should be rejected")[0].to_string()
}

const ONE: &str = r#"
section = "5.2 reserved bits"
rfc = "6455 §5.2"

[[case]]
id = "rfc6455/5.2/rsv1-on-text"
title = "Text frame with RSV1 set"
autobahn = "3.1"
why = "Without an extension RSV bits must be 0."

[[case.step]]
send = "text"
payload = "Hello"
rsv = 4

[[case.step]]
expect = "close"
codes = [1002]
"#;

#[test]
fn parses_a_case_with_its_source_line() {
    let cases = load(ONE).unwrap();
    assert_eq!(cases.len(), 1);
    let c = &cases[0];
    assert_eq!(c.id, "rfc6455/5.2/rsv1-on-text");
    assert_eq!(c.rfc, "6455 §5.2");
    assert_eq!(c.autobahn.as_deref(), Some("3.1"));
    assert_eq!(c.source, Source { file: "cases/t.toml".into(), line: 5 });
    assert!(c.handshake.expect_101);
    match &c.steps[0] {
        Step::Frame { frame, delivery, .. } => {
            assert_eq!((frame.opcode, frame.rsv, frame.fin), (1, 4, true));
            assert_eq!(frame.payload, b"Hello");
            assert!(frame.mask.key().is_some(), "masked with a fresh key by default");
            assert!(delivery.chunks.is_empty());
        }
        s => panic!("{s:?}"),
    }
    assert!(
        matches!(&c.steps[1], Step::Expect { what: Expectation::Close { codes, .. }, line: 16, .. } if codes == &[1002])
    );
}

#[test]
fn expands_a_matrix_into_one_case_per_value_with_stable_ids() {
    let text = r#"
section = "4 opcodes"
rfc = "6455 §5.2"
[[case]]
id = "rfc6455/5.2/reserved-opcode-{op}"
title = "Reserved opcode {op}"
autobahn = "4.1.{index}"
why = "Reserved opcodes fail the connection."
matrix.op = [3, 4, 5]
[[case.step]]
send = "{op}"
[[case.step]]
expect = "close"
codes = [1002]
"#;
    let cases = load(text).unwrap();
    let ids: Vec<&str> = cases.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(
        ids,
        ["rfc6455/5.2/reserved-opcode-3", "rfc6455/5.2/reserved-opcode-4", "rfc6455/5.2/reserved-opcode-5"]
    );
    assert_eq!(cases[2].autobahn.as_deref(), Some("4.1.3"));
    assert!(matches!(&cases[1].steps[0], Step::Frame { frame, .. } if frame.opcode == 4));
}

#[test]
fn expands_rows_with_several_parameters() {
    let text = r#"
section = "6 utf-8"
rfc = "6455 §8.1"
[[case]]
id = "rfc6455/8.1/invalid-{name}"
title = "Invalid UTF-8: {name}"
why = "Text must be UTF-8."
[[case.rows]]
name = "surrogate"
hex = "ed a0 80"
[[case.rows]]
name = "overlong"
hex = "c0 80"
[[case.step]]
send = "text"
payload_hex = "{hex}"
chunk = 1
[[case.step]]
expect = "close"
codes = [1007]
"#;
    let cases = load(text).unwrap();
    assert_eq!(cases.len(), 2);
    assert!(
        matches!(&cases[1].steps[0], Step::Frame { frame, delivery, .. } if frame.payload == [0xc0, 0x80] && delivery.chunks == [1])
    );
}

#[test]
fn reports_a_misspelled_field_with_file_and_line() {
    let text = ONE.replace("payload = \"Hello\"", "paylod = \"Hello\"");
    let e = first_error(&text);
    assert!(e.starts_with("cases/t.toml:13: "), "{e}");
    assert!(e.contains("paylod"), "{e}");
}

#[test]
fn reports_an_unknown_opcode_at_its_step() {
    let e = first_error(&ONE.replace("send = \"text\"", "send = \"txt\""));
    assert!(e.starts_with("cases/t.toml:11: case 'rfc6455/5.2/rsv1-on-text', step 1: unknown opcode 'txt'"), "{e}");
}

#[test]
fn reports_fields_that_do_not_apply_to_the_action() {
    let e = first_error(&ONE.replace("codes = [1002]", "codes = [1002]\npayload = \"x\""));
    assert!(e.contains("payload do(es) not apply to expect = \"close\""), "{e}");
}

#[test]
fn rejects_a_step_with_two_actions_or_none() {
    let e = first_error(&ONE.replace("expect = \"close\"", "expect = \"close\"\nwait_ms = 5"));
    assert!(e.contains("exactly one of send, send_raw, wait_ms, expect"), "{e}");
}

#[test]
fn rejects_unknown_placeholders_and_matrices_without_placeholders_in_the_id() {
    let e = first_error(&ONE.replace("payload = \"Hello\"", "payload = \"{size}\""));
    assert!(e.contains("unknown placeholder {size}"), "{e}");
    let e = first_error(&ONE.replace("why = ", "matrix.size = [1, 2]\nwhy = "));
    assert!(e.contains("its id has no {placeholder}"), "{e}");
}

#[test]
fn rejects_a_case_that_cannot_fail() {
    let text = r#"
section = "x"
rfc = "6455 §4.2.1"
[[case]]
id = "rfc6455/4.2.1/no-check"
title = "t"
why = "w"
handshake.expect_101 = false
"#;
    let e = first_error(text);
    assert!(e.contains("can never fail"), "{e}");
}

#[test]
fn rejects_duplicate_ids_across_files() {
    let mut a = load(ONE).unwrap();
    let mut b = parse_cases("cases/u.toml", ONE).unwrap();
    a.append(&mut b);
    let e = check_unique_ids(&a).unwrap_err()[0].to_string();
    assert_eq!(e, "cases/u.toml:5: duplicate case id 'rfc6455/5.2/rsv1-on-text' (also at cases/t.toml:5)");
}

#[test]
fn builds_close_payloads_masks_lengths_and_raw_handshakes() {
    let text = r#"
section = "7"
rfc = "6455 §7.4"
[[case]]
id = "x/close-reason"
title = "t"
why = "w"
handshake.request = "GET {path} HTTP/1.1\r\nHost: {host}\r\nSec-WebSocket-Key: {key}\r\n\r\n"
handshake.expect_101 = false
handshake.chunk = 1
[[case.step]]
expect = "status"
status = [400, 426]
[[case.step]]
send = "close"
close_code = 1000
reason = "bye"
mask = "01020304"
length = 64
[[case.step]]
send_raw = "81 05 48 65"
chunks = [1, 3]
pause_ms = 10
"#;
    let c = &load(text).unwrap()[0];
    assert!(matches!(&c.handshake.request, Request::Raw(r) if r.contains("{key}") && r.contains("\r\n")));
    assert_eq!(c.handshake.delivery.chunks, [1]);
    assert!(matches!(&c.steps[1], Step::Frame { frame, .. }
        if frame.payload == [0x03, 0xe8, b'b', b'y', b'e'] && frame.mask.key().map(|k| k.bytes()) == Some([1, 2, 3, 4]) && frame.length == LengthEncoding::Bits64));
    assert!(
        matches!(&c.steps[2], Step::Raw { bytes, delivery, .. } if bytes == &[0x81, 5, 0x48, 0x65] && delivery.pause.as_millis() == 10)
    );
}

#[test]
fn a_toml_syntax_error_names_its_line() {
    let e = first_error("section = \"x\"\n[[case]\nid = 1\n");
    assert!(e.starts_with("cases/t.toml:2: "), "{e}");
}

const FEATURES: &str = r#"
section = "s"
rfc = "6455 §5.4"

[[case]]
id = "rfc6455/5.4/features"
title = "t"
why = "w"
timeout_ms = 20000
read = { chunk = 1024, pause_ms = 2 }

[[case.step]]
send = "binary"
payload_len = 10
fill_hex = "fe ff"
fragment = 4
repeat = 3

[[case.step]]
send_raw = "81 80 00 00 00 00"
repeat = 2

[[case.step]]
shutdown = "write"

[[case.step]]
expect = "pong"
payload = "p"
repeat = 5

[[case.step]]
expect = "alive"
"#;

#[test]
fn reads_fill_hex_fragment_repeat_shutdown_read_pace_and_alive() {
    let cases = load(FEATURES).unwrap();
    let c = &cases[0];
    assert_eq!(c.timeout, Some(Duration::from_secs(20)));
    assert_eq!(c.read, Some(ReadPace { chunk: 1024, pause: Duration::from_millis(2) }));
    match &c.steps[0] {
        Step::Frame { frame, fill: Some(fill), fragment, fresh_mask, repeat, .. } => {
            assert!(frame.payload.is_empty(), "a generated payload is built when the case runs");
            assert_eq!(fill.bytes(), [0xfe, 0xff, 0xfe, 0xff, 0xfe, 0xff, 0xfe, 0xff, 0xfe, 0xff]);
            assert_eq!((*fragment, *fresh_mask, *repeat), (Some(4), true, 3));
        }
        s => panic!("{s:?}"),
    }
    assert!(matches!(&c.steps[1], Step::Raw { repeat: 2, .. }));
    assert!(matches!(&c.steps[2], Step::ShutdownWrite));
    assert!(matches!(&c.steps[3], Step::Expect { what: Expectation::Pong { .. }, repeat: 5, .. }));
    assert!(matches!(&c.steps[4], Step::Expect { what: Expectation::Alive, repeat: 1, .. }));
}

#[test]
fn rejects_fragment_with_a_forced_length_and_fill_without_a_length() {
    let base = "section = \"s\"\nrfc = \"6455 §5\"\n[[case]]\nid = \"a\"\ntitle = \"t\"\nwhy = \"w\"\n[[case.step]]\n";
    let e = first_error(&format!("{base}send = \"text\"\npayload = \"abc\"\nfragment = 1\nlength = 64\n"));
    assert!(e.contains("'fragment' cannot be combined"), "{e}");
    let e = first_error(&format!("{base}send = \"text\"\npayload = \"abc\"\nfill_hex = \"fe\"\n"));
    assert!(e.contains("need payload_len"), "{e}");
    let e = first_error(&format!("{base}send = \"text\"\nrepeat = 0\n"));
    assert!(e.contains("repeat must be at least 1"), "{e}");
    let e = first_error(&format!("{base}shutdown = \"read\"\n"));
    assert!(e.contains("shutdown takes \"write\""), "{e}");
    let e = first_error(&format!("{base}expect = \"alive\"\nrepeat = 2\n"));
    assert!(e.contains("repeat do(es) not apply"), "{e}");
}
