//! Loader tests: what case files mean, and how their mistakes are reported.

use super::super::model::ReadPace;
use super::*;
use crate::wire::{Endpoint, LengthEncoding};

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

// --- what a case costs: refused from the numbers, before anything is built ---

/// A file with one case whose first step is `step` (the step starts on line 8).
fn one_step(step: &str) -> String {
    format!("section = \"s\"\nrfc = \"6455 §5\"\n[[case]]\nid = \"a\"\ntitle = \"t\"\nwhy = \"w\"\n[[case.step]]\n{step}\n[[case.step]]\nexpect = \"echo\"\n")
}

#[test]
fn a_repeated_large_payload_is_refused_with_what_it_would_send() {
    let e = first_error(&one_step("send = \"binary\"\npayload_len = 67108864\nrepeat = 1000000"));
    assert!(e.starts_with("cases/t.toml:7: case 'a', step 1: payload_len = 67108864, repeat = 1000000: "), "{e}");
    assert!(e.contains("1000000 frames, 67108878000000 bytes (61 TiB) on the wire"), "{e}");
    assert!(
        e.ends_with("a case may send at most 201326592 bytes (192 MiB): lower repeat or the payload's size"),
        "{e}"
    );
}

#[test]
fn one_byte_fragments_of_a_large_payload_are_refused_by_their_frame_count() {
    let e = first_error(&one_step("send = \"text\"\npayload_len = 67108864\nfragment = 1"));
    assert!(e.starts_with("cases/t.toml:7: case 'a', step 1: payload_len = 67108864, fragment = 1: "), "{e}");
    assert!(e.contains("67108864 frames, 469762048 bytes (448 MiB) on the wire"), "{e}");
    assert!(e.contains("a case may send at most 1048576 frames and 201326592 bytes (192 MiB): raise fragment"), "{e}");
    let e = first_error(&one_step("send = \"text\"\npayload_len = 1100000\nfragment = 1"));
    assert!(e.ends_with("1100000 frames, 7700000 bytes (7.3 MiB) on the wire; a case may send at most 1048576 frames: raise fragment, or lower payload_len or repeat"), "{e}");
}

#[test]
fn the_steps_of_a_case_add_up() {
    let step = "send = \"binary\"\npayload_len = 60000000\n[[case.step]]\nsend = \"binary\"\npayload_len = 60000000\n[[case.step]]\nsend = \"binary\"\npayload_len = 60000000\n[[case.step]]\nsend = \"binary\"\npayload_len = 60000000";
    let e = first_error(&one_step(step));
    assert_eq!(e, "cases/t.toml:16: case 'a', step 4: payload_len = 60000000: 1 frame, 60000014 bytes (57.2 MiB) on the wire, 240000056 bytes with the steps before it; a case may send at most 201326592 bytes (192 MiB): split the case");
}

#[test]
fn byte_by_byte_delivery_of_a_large_payload_is_refused_by_its_write_count() {
    let e = first_error(&one_step("send = \"binary\"\npayload_len = 1048576\nchunk = 1"));
    assert!(e.contains("step 1: chunk = 1 cuts the step's 1048590 bytes into 1048590 writes"), "{e}");
    assert!(e.contains("a case may make at most 262144 writes: write larger chunks"), "{e}");
}

#[test]
fn repeated_raw_bytes_and_expectations_are_counted() {
    let e = first_error(&one_step("send_raw = \"89 80 00 00 00 00\"\nrepeat = 1100000"));
    assert!(
        e.contains("send_raw of 6 bytes, repeat = 1100000: 1100000 frames, 6600000 bytes (6.3 MiB) on the wire"),
        "{e}"
    );
    let e = first_error(&one_step("expect = \"pong\"\npayload = \"p\"\nrepeat = 1100000"));
    assert!(
        e.contains(
            "step 1: expect repeat = 1100000: 1100000 events expected in all; a case may expect at most 1048576"
        ),
        "{e}"
    );
    let e = first_error(&one_step("expect = \"message\"\npayload_len = 1000000\nrepeat = 210"));
    assert!(e.contains("expect repeat = 210 of a 1000000-byte payload: 210000000 bytes (200.3 MiB) expected"), "{e}");
}

/// A file with a matrix of `names` names of 40 values each: 6 names is the 1.2 KB file asking for 40^6 = 4 billion cases.
fn matrix_bomb(names: usize) -> String {
    let values: Vec<String> = (0..40).map(|v| v.to_string()).collect();
    let names: Vec<String> = (0..names).map(|n| format!("n{n}")).collect();
    let id: Vec<String> = names.iter().map(|n| format!("{{{n}}}")).collect();
    let mut text = format!(
        "section = \"s\"\nrfc = \"6455 §5\"\n\n[[case]]\nid = \"x/{}\"\ntitle = \"t\"\nwhy = \"w\"\n",
        id.join("-")
    );
    for name in &names {
        text.push_str(&format!("matrix.{name} = [{}]\n", values.join(", ")));
    }
    text.push_str("[[case.step]]\nexpect = \"close\"\n");
    text
}

#[test]
fn a_matrix_bomb_is_refused_quickly_at_its_line() {
    let text = matrix_bomb(6);
    assert!(text.len() < 1300, "{} bytes", text.len());
    let began = std::time::Instant::now();
    let errors = load(&text).expect_err("4 billion cases");
    assert!(began.elapsed() < Duration::from_millis(500), "refused in {:?}: it was expanded", began.elapsed());
    let e = errors[0].to_string();
    assert!(e.starts_with("cases/t.toml:4: matrix.n0 (40 values) x matrix.n1 (40 values) x "), "{e}");
    assert!(e.contains("(40 values): 4096000000 cases; a [[case]] may generate at most 1024: split it"), "{e}");
    // 40^13 does not fit in 64 bits: refused the same way
    let e = first_error(&matrix_bomb(13));
    assert!(e.contains(&format!("(40 values): more than {} cases; a [[case]] may generate", u64::MAX)), "{e}");
}

#[test]
fn a_file_generating_too_many_cases_is_refused_at_the_table_that_passes_the_cap() {
    let family = |n: usize| {
        let values: Vec<String> = (0..1000).map(|v| v.to_string()).collect();
        format!("[[case]]\nid = \"f{n}/{{v}}\"\ntitle = \"t\"\nwhy = \"w\"\nmatrix.v = [{}]\n[[case.step]]\nexpect = \"close\"\n", values.join(","))
    };
    let text = format!("section = \"s\"\nrfc = \"6455 §5\"\n{}", (0..5).map(family).collect::<String>());
    let line = text.lines().enumerate().filter(|(_, l)| *l == "[[case]]").nth(4).map(|(i, _)| i + 1).unwrap();
    let e = first_error(&text);
    assert_eq!(
        e,
        format!("cases/t.toml:{line}: this [[case]] generates 1000 cases, bringing the file to 5000; a file may hold at most 4096 generated cases: split it into several files")
    );
}

#[test]
fn long_strings_repeated_by_a_matrix_are_refused_by_the_load_budget() {
    // each case's why is 16 x 64 KiB = 1 MiB: 300 cases would hold 300 MiB
    let long = "x".repeat(64 << 10);
    let values: Vec<String> = (0..300).map(|v| v.to_string()).collect();
    let text = format!(
        "section = \"s\"\nrfc = \"6455 §5\"\n[[case]]\nid = \"w/{{n}}\"\ntitle = \"t\"\nwhy = \"{}\"\nmatrix.a = [\"{long}\"]\nmatrix.n = [{}]\n[[case.step]]\nexpect = \"close\"\n",
        "{a}".repeat(16),
        values.join(",")
    );
    let e = first_error(&text);
    assert!(e.starts_with("cases/t.toml:3: "), "{e}");
    assert!(e.contains("the case files of one load may build at most 268435456 bytes (256 MiB)"), "{e}");
}

#[test]
fn matrix_and_rows_expand_in_order_with_their_index() {
    let text = r#"
section = "s"
rfc = "6455 §5"
[[case]]
id = "m/{a}-{b}-{r}-{index}"
title = "t"
why = "w"
matrix.a = [1, 2]
matrix.b = ["x", "y"]
rows = [{ r = "p" }, { r = "q" }]
[[case.step]]
expect = "close"
"#;
    let ids: Vec<String> = load(text).unwrap().into_iter().map(|c| c.id).collect();
    assert_eq!(
        ids,
        ["m/1-x-p-1", "m/1-x-q-2", "m/1-y-p-3", "m/1-y-q-4", "m/2-x-p-5", "m/2-x-q-6", "m/2-y-p-7", "m/2-y-q-8"]
    );
    let e = first_error(&text.replace("{ r = \"q\" }", "{ index = \"q\" }"));
    assert!(e.contains("'index' is a reserved placeholder name"), "{e}");
    let e = first_error(&text.replace("matrix.b = [\"x\", \"y\"]", "matrix.b = []"));
    assert!(e.contains("matrix 'b' has no values"), "{e}");
}

/// A fresh directory under the system's temporary one.
fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("wsharness-load-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn a_file_that_is_not_utf8_is_reported_at_its_first_invalid_byte() {
    let dir = temp_dir("utf8");
    let mut bytes = ONE.as_bytes().to_vec();
    let at = ONE.find("Hello").unwrap() + 2;
    bytes[at] = 0xff;
    std::fs::write(dir.join("t.toml"), &bytes).unwrap();
    let e = load_dir(&dir).expect_err("not UTF-8")[0].to_string();
    let name = format!("{}/t.toml", dir.file_name().unwrap().to_string_lossy());
    // line 13 is `payload = "Hello"`: the 0xff is its 14th byte
    assert_eq!(e, format!("{name}:13: not UTF-8 (byte 0xff at column 14): save the file as UTF-8"));
    // on the first line, and as the first byte
    std::fs::write(dir.join("t.toml"), b"\xfe = 1\n").unwrap();
    let e = load_dir(&dir).expect_err("not UTF-8")[0].to_string();
    assert_eq!(e, format!("{name}:1: not UTF-8 (byte 0xfe at column 1): save the file as UTF-8"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_file_too_large_to_be_a_case_file_is_refused_before_it_is_parsed() {
    let dir = temp_dir("large");
    std::fs::write(dir.join("big.toml"), vec![b'#'; (MAX_FILE_BYTES + 1) as usize]).unwrap();
    let e = load_dir(&dir).expect_err("too large")[0].to_string();
    assert!(
        e.ends_with(
            "big.toml:1: the file is larger than 4194304 bytes (4 MiB), the most a case file may hold: split it"
        ),
        "{e}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn roles_default_to_servers_and_name_who_the_case_tests() {
    let c = &load(ONE).unwrap()[0];
    assert_eq!(c.roles, [Endpoint::Server]);
    assert!(c.tests(Endpoint::Server) && !c.tests(Endpoint::Client));
    let both = ONE.replace("autobahn = \"3.1\"", "autobahn = \"3.1\"\nroles = [\"client\", \"server\"]");
    let c = &load(&both).unwrap()[0];
    assert_eq!(c.roles, [Endpoint::Client, Endpoint::Server]);
    assert!(c.tests(Endpoint::Client) && c.tests(Endpoint::Server));
}

#[test]
fn a_wrong_roles_list_is_refused_at_its_case() {
    for (roles, says) in [
        ("[\"browser\"]", "roles: unknown role \"browser\"; write \"server\", \"client\" or both"),
        ("[\"client\", \"client\"]", "roles: \"client\" is listed twice"),
        ("[]", "roles is empty"),
    ] {
        let text = ONE.replace("autobahn = \"3.1\"", &format!("autobahn = \"3.1\"\nroles = {roles}"));
        let e = first_error(&text);
        assert!(e.starts_with("cases/t.toml:5:") && e.contains(says), "{roles}: {e}");
    }
}

const CLIENT: &str = r#"
section = "4.1 opening handshake (clients)"
rfc = "6455 §4.1"

[[case]]
id = "client/4.1/accept-wrong"
title = "A 101 with a wrong Sec-WebSocket-Accept is refused"
roles = ["client"]
why = "The accept proves the server read the key."

[case.reply]
accept = "other-key"
status = 101
reason = "Switching"
headers = { Sec-WebSocket-Protocol = "chat" }
remove = ["Connection"]
append = { Upgrade = "websocket" }

[[case.step]]
send = "text"
payload = "Hello"

[[case.step]]
expect = "refused"
"#;

#[test]
fn a_reply_table_shapes_our_answer_to_a_client() {
    let c = &load(CLIENT).unwrap()[0];
    assert_eq!(c.roles, [Endpoint::Client]);
    assert_eq!(c.reply.accept, AcceptValue::OtherKey);
    assert_eq!(c.reply.status, Some((101, "Switching".to_string())));
    assert_eq!(
        c.reply.headers,
        [("Sec-WebSocket-Protocol".to_string(), Some("chat".to_string())), ("Connection".to_string(), None)]
    );
    assert_eq!(c.reply.append, [("Upgrade".to_string(), "websocket".to_string())]);
    for (accept, want) in [
        ("without-guid", AcceptValue::WithoutGuid),
        ("the-key", AcceptValue::TheKey),
        ("valid", AcceptValue::Valid),
        ("abc=", AcceptValue::Literal("abc=".into())),
    ] {
        let c = &load(&CLIENT.replace("\"other-key\"", &format!("{accept:?}"))).unwrap()[0];
        assert_eq!(c.reply.accept, want);
    }
}

#[test]
fn what_a_client_case_cannot_hold_is_refused_at_its_line() {
    for (change, says) in [
        (("roles = [\"client\"]", "roles = [\"server\"]"), "'[case.reply]' is our answer to a client under test"),
        (("reason = \"Switching\"\n", "reason = \"Switching\"\nstatus_x = 1\n"), "unknown field"),
        (("status = 101", "status = 42"), "reply.status must be a three-digit HTTP status"),
        (("expect = \"refused\"", "expect = \"alive\""), "tests clients: expect = \"alive\" judges a server"),
        (
            ("[case.reply]", "[case.handshake]\nremove = [\"Host\"]\n\n[case.reply]"),
            "'[case.handshake]' shapes the request",
        ),
        (("payload = \"Hello\"", "payload = \"Hello\"\ncompress = true"), "say how we accept the client's offer"),
        (
            ("status = 101", "status = 101\ndeflate = [{ client_max_window_bits = 7 }]"),
            "reply.deflate.client_max_window_bits must be 8-15, got 7",
        ),
        (("status = 101", "status = 101\ndeflate = [{ server_max_window_bits = 9 }]"), "unknown field"),
    ] {
        let e = first_error(&CLIENT.replace(change.0, change.1));
        assert!(e.contains(says), "{change:?}: {e}");
    }
}
