//! The flawed-client fixture plays Autobahn's runner contract strictly without flaws, and each flaw visibly changes
//! what it sends.

use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio::time::timeout;
use wsharness::wire::deflate::{Compressor, TAIL};
use wsharness::wire::{FrameSpec, ServerReply};

use crate::support::flawed_client::{End, Fault, Flaw, FlawedClient, Refusal, Settings};
use crate::support::flawed_client_probe::{
    after, binary, close, close_1000, continuation, lines_match, ping, pong, run, serve, text, Exchange, TARGET,
};

// (a) Without flaws the client plays the runner contract strictly.

#[tokio::test]
async fn flawless_client_echoes_messages_answers_pings_and_closes_after_the_server() {
    let _turn = crate::support::turn(module_path!());
    let sizes = [0, 125, 126, 65536];
    let mut frames: Vec<FrameSpec> = sizes.iter().map(|&n| text("é".repeat(n / 2))).collect();
    frames.extend(sizes.iter().map(|&n| binary(vec![0xfe; n])));
    let fragmented = [text("Hel").fin(false), ping("between"), continuation("lo"), binary("bin").fin(false)];
    let exchange =
        Exchange::frames(&frames).then(&fragmented).then(&[continuation("ary"), ping("hi"), close(3000, "bye")]);
    let (lines, logs) = run(&exchange, &[]).await;
    let expected = [
        "request",
        "text \"\"",
        "text 124 bytes",
        "text 126 bytes",
        "text 65536 bytes",
        "binary \"\"",
        "binary 125 bytes",
        "binary 126 bytes",
        "binary 65536 bytes",
        "pong \"between\"",
        "text \"Hello\"",
        "binary \"binary\"",
        "pong \"hi\"",
        "close 3000",
        "waits",
        "eof",
    ];
    assert_eq!(lines, expected);
    let log = &logs[0];
    assert!(log.upgraded);
    assert_eq!((log.echoed, log.pongs, log.server_close, log.sent_close), (10, 2, Some(Some(3000)), Some(Some(3000))));
    assert_eq!((log.fault, log.end), (None, End::ServerClosedTcp));
}

#[tokio::test]
async fn flawless_client_reads_frames_delivered_one_byte_per_write() {
    let _turn = crate::support::turn(module_path!());
    let frames = [text("H\u{e9}").fin(false), ping("p"), continuation("llo"), binary([0xfe; 3]), close_1000()];
    let exchange = Exchange::frames(&[]).bytewise(&frames);
    let (lines, _) = run(&exchange, &[]).await;
    assert_eq!(lines, after(&["pong \"p\"", "text \"Héllo\"", "binary 3 bytes"]));
}

#[tokio::test]
async fn flawless_client_fails_the_connection_on_a_wrong_accept_without_sending_a_frame() {
    let _turn = crate::support::turn(module_path!());
    let (lines, logs) = run(&Exchange::reply(|r| r.accept("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")), &[]).await;
    assert_eq!(lines, ["request", "eof"]);
    assert_eq!((logs[0].upgraded, logs[0].sent_close), (false, None));
    assert_eq!(logs[0].end, End::Refused(Refusal::WrongAccept));
}

#[tokio::test]
async fn flawless_client_takes_an_offered_subprotocol_and_refuses_another() {
    let _turn = crate::support::turn(module_path!());
    let mut offered = Exchange::reply(|r| r.protocol("chat")).then(&[close_1000()]).expect(&after(&[]));
    offered.settings.protocols = vec!["superchat".to_owned(), "chat".to_owned()];
    let (lines, _) = run(&offered, &[]).await;
    assert_eq!(lines, offered.expect);
    let other = Exchange { settings: offered.settings.clone(), ..Exchange::reply(|r| r.protocol("other")) };
    let (lines, logs) = run(&other, &[]).await;
    assert_eq!(lines, ["request", "eof"]);
    assert_eq!(logs[0].end, End::Refused(Refusal::UnofferedSubprotocol));
}

#[tokio::test]
async fn flawless_client_fails_with_1002_on_a_masked_frame_and_waits_for_the_server_to_close() {
    let _turn = crate::support::turn(module_path!());
    let (lines, logs) = run(&Exchange::frames(&[FrameSpec::text("Hello"), close_1000()]), &[]).await;
    assert_eq!(lines, ["request", "close 1002", "waits", "eof"]);
    assert_eq!((logs[0].fault, logs[0].end), (Some(Fault::MaskedFrame), End::ServerClosedTcp));
    assert_eq!((Fault::MaskedFrame.section(), Fault::MaskedFrame.code()), ("§5.1", 1002));
}

// (b) Every flaw: an exchange the flawless client plays as expected, and what the flawed client makes of it.

/// An exchange for each flaw: the lines of the flawless client, then those of the client with the flaw.
fn exchange_for(flaw: Flaw) -> Exchange {
    use Flaw::*;
    let clean = || Exchange::frames(&[close_1000()]).expect(&after(&[]));
    // the request breaks a rule; the server goes on
    let request = |broken: &str| clean().flawed(&after(&[&format!("request: {broken}")]));
    // a 101 the client must refuse (close TCP, send nothing); a flawed one goes on and waits, and the server gives
    // up (a frame after the 101 could reach the refusing client unread and make its close a reset)
    let refused = |reply| Exchange::reply(reply).expect(&["request", "eof"]).flawed(&["request", "timeout"]);
    match flaw {
        FixedKey => {
            let twice = ["close 1000", "waits", "eof", "second: request"];
            let end = ["second: close 1000", "second: waits", "second: eof"];
            let good = [&["request"], &twice[..], &end].concat();
            let repeated = [&["request"], &twice[..], &["second: request: the key of the connection before"], &end];
            clean().twice().expect(&good).flawed(&repeated.concat())
        }
        ShortKey => request("KeyInvalid"),
        NoHostHeader => request("HostMissing"),
        NoUpgradeHeader => request("RequestUpgradeNotWebsocket"),
        NoConnectionHeader => request("RequestConnectionNotUpgrade"),
        Version8 => request("WebSocketVersionNot13"),
        PostMethod => request("RequestMethodNotGet"),
        Http10 => request("RequestVersionBelowHttp11"),
        DropsQuery => request("target /runCase"),
        IgnoresAccept => refused(|r| r.accept("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")),
        AcceptsAnyStatus => refused(|r| r.status(200, "OK")),
        ExactResponseHead => {
            Exchange::reply(|r| r.header("upgrade", "WebSocket").status(101, "Web Socket Protocol Handshake"))
                .then(&[text("x"), close_1000()])
                .expect(&after(&["text \"x\""]))
                .flawed(&["request", "eof|reset"])
        }
        IgnoresUpgradeHeader => refused(|r| r.remove_header("Upgrade")),
        IgnoresConnectionHeader => refused(|r| r.header("Connection", "keep-alive")),
        AcceptsUnofferedExtension => refused(|r| r.extensions(&["permessage-deflate"])),
        AcceptsUnofferedSubprotocol => refused(|r| r.protocol("chat")),
        // no close after it: a close written later could reach the client in the same read as the 101
        DropsBytesAfterHead => Exchange::reply(|r| r)
            .pipelined(&[text("Hello")])
            .expect(&["request", "text \"Hello\"", "timeout"])
            .flawed(&["request", "timeout"]),
        _ => frame_exchange_for(flaw),
    }
}

/// [`exchange_for`] the flaws of reading frames.
fn frame_exchange_for(flaw: Flaw) -> Exchange {
    use Flaw::*;
    // the first frame breaks a rule; a client that takes it goes on to answer the close 1000 after it
    let fails = |frame: FrameSpec, code: &str, flawed: &[&str]| {
        let close = format!("close {code}");
        Exchange::frames(&[frame, close_1000()]).expect(&["request", &close, "waits", "eof"]).flawed(&after(flawed))
    };
    let invalid_utf8 = || text([b'a', 0xC3, 0x28]);
    match flaw {
        AcceptsMaskedFrames => fails(FrameSpec::text("Hello").mask_key([1, 2, 3, 4]), "1002", &["text \"Hello\""]),
        IgnoresRsv => fails(text("Hello").rsv(0b100), "1002", &["text \"Hello\""]),
        AcceptsReservedOpcodes => fails(FrameSpec::new(0x3, "Hello").unmasked(), "1002", &[]),
        AcceptsFragmentedControl => fails(ping("p").fin(false), "1002", &["pong \"p\""]),
        AcceptsLongControl => fails(ping(vec![b'p'; 126]), "1002", &["pong 126 bytes [ControlFrameTooLong]"]),
        AcceptsBadContinuation => fails(continuation("Hello"), "1002", &["binary \"Hello\""]),
        RejectsInterleavedControl => {
            Exchange::frames(&[text("Hel").fin(false), ping("p"), continuation("lo"), close_1000()])
                .expect(&after(&["pong \"p\"", "text \"Hello\""]))
                .flawed(&["request", "close 1002", "waits", "eof"])
        }
        SkipsUtf8Validation => fails(invalid_utf8(), "1007", &["text 3 bytes"]),
        Utf8WrongCode => fails(invalid_utf8(), "1007", &[]).flawed(&["request", "close 1002", "waits", "eof"]),
        // the message never ends: only a fail-fast client answers; the server gives up and drops TCP
        Utf8CheckedOnlyAtMessageEnd => Exchange::frames(&[invalid_utf8().fin(false)])
            .expect(&["request", "close 1007", "waits", "eof"])
            .flawed(&["request", "timeout"]),
        AcceptsInvalidCloseCode => {
            fails(close(1005, ""), "1002", &[]).flawed(&["request", "close 1005", "waits", "eof"])
        }
        AcceptsOneByteClose => {
            fails(FrameSpec::new(0x8, [0x03]).unmasked(), "1002", &[]).flawed(&["request", "close", "waits", "eof"])
        }
        AcceptsInvalidCloseReason => fails(close(1000, [0xC3, 0x28]), "1007", &[]),
        _ => sent_exchange_for(flaw),
    }
}

/// [`exchange_for`] the flaws of answering, of the client's own frames and of closing.
fn sent_exchange_for(flaw: Flaw) -> Exchange {
    use Flaw::*;
    let two = || {
        Exchange::frames(&[text("one"), text("two"), close_1000()]).expect(&after(&["text \"one\"", "text \"two\""]))
    };
    let clean = || Exchange::frames(&[close_1000()]).expect(&after(&[]));
    match flaw {
        NoPong => Exchange::frames(&[ping("hi"), close_1000()]).expect(&after(&["pong \"hi\""])).flawed(&after(&[])),
        PongWithEmptyPayload => Exchange::frames(&[ping("hi"), close_1000()])
            .expect(&after(&["pong \"hi\""]))
            .flawed(&after(&["pong \"\""])),
        // the three frames come in one read: the first is echoed, the rest lost, and the server gives up
        OneFramePerRead => two().flawed(&["request", "text \"one\"", "timeout"]),
        CrashesOnLargeFrame => Exchange::frames(&[binary(vec![7; 65537]), close_1000()])
            .expect(&after(&["binary 65537 bytes"]))
            .flawed(&["request", "reset|eof"]),
        DropsPartialFrames => Exchange::frames(&[])
            .bytewise(&[text("hi")])
            .then(&[close_1000()])
            .expect(&after(&["text \"hi\""]))
            .flawed(&after(&[])),
        PongsUnsolicitedPongs => {
            Exchange::frames(&[pong("hb"), close_1000()]).expect(&after(&[])).flawed(&after(&["pong \"hb\""]))
        }
        SwapsMessageType => Exchange::frames(&[text("t"), binary("b"), close_1000()])
            .expect(&after(&["text \"t\"", "binary \"b\""]))
            .flawed(&after(&["binary \"t\"", "text \"b\""])),
        EchoesEachFragment => Exchange::frames(&[text("He").fin(false), continuation("llo"), close_1000()])
            .expect(&after(&["text \"Hello\""]))
            .flawed(&after(&["text \"He\"", "text \"llo\""])),
        TruncatesLargeMessages => Exchange::frames(&[binary(vec![7; 65536]), close_1000()])
            .expect(&after(&["binary 65536 bytes"]))
            .flawed(&after(&["binary 65535 bytes"])),
        UnmaskedFrames => two().flawed(&[
            "request",
            "text \"one\" [UnmaskedClientFrame]",
            "text \"two\" [UnmaskedClientFrame]",
            "close 1000 [UnmaskedClientFrame]",
            "waits",
            "eof",
        ]),
        ZeroMaskKey => two().flawed(&after(&["text \"one\" [MaskingKeyZero]", "text \"two\" [MaskingKeyRepeated]"])),
        RepeatedMaskKey => two().flawed(&after(&["text \"one\"", "text \"two\" [MaskingKeyRepeated]"])),
        NoCloseReply => clean().flawed(&["request", "eof"]),
        ClosesTcpFirst => clean().flawed(&["request", "close 1000", "eof"]),
        WrongCloseCodeInReply => clean().flawed(&["request", "close 1002", "waits", "eof"]),
        // the server gives up and drops TCP
        NeverCloses => clean().flawed(&["request", "timeout"]),
        EchoesAfterClose => Exchange::frames(&[close_1000(), text("late")]).expect(&after(&[])).flawed(&[
            "request",
            "close 1000",
            "text \"late\"",
            "waits",
            "eof",
        ]),
        _ => deflate_exchange_for(flaw),
    }
}

/// The client offers permessage-deflate as Python `websockets` and Node `ws` do; the server's 101 accepts it
/// (`reply`) and the script's compressed frames follow.
fn deflating(reply: fn(ServerReply) -> ServerReply, frames: &[FrameSpec]) -> Exchange {
    let mut exchange = Exchange { reply, ..Exchange::frames(frames) };
    exchange.settings.extensions = vec!["permessage-deflate; client_max_window_bits".to_owned()];
    exchange
}

/// Messages compressed by one compressor (`window` bits, context kept unless `fresh`), as RSV1 text frames.
fn compressed(messages: &[&[u8]], window: u8, fresh: bool) -> Vec<Vec<u8>> {
    let mut c = Compressor::new(window, 1, fresh).expect("a zlib window of 9 to 15 bits");
    messages.iter().map(|m| c.compress(m).expect("compressed")).collect()
}

/// The probe's line for a compressed text frame of the client's (RSV1 judged as a frame without extension).
fn compressed_line(payload: &[u8]) -> String {
    let shown = match std::str::from_utf8(payload) {
        Ok(text) if payload.len() <= 32 => format!("{text:?}"),
        _ => format!("{} bytes", payload.len()),
    };
    format!("text {shown} [ReservedBitsSet]")
}

/// [`exchange_for`] the flaws of permessage-deflate (RFC 7692): the server's 101 accepts the client's offer.
fn deflate_exchange_for(flaw: Flaw) -> Exchange {
    use Flaw::*;
    let server = |messages: &[&[u8]]| -> Vec<FrameSpec> {
        let mut frames: Vec<FrameSpec> =
            compressed(messages, 15, false).into_iter().map(|p| text(p).rsv(0b100)).collect();
        frames.push(close_1000());
        frames
    };
    let lines = |payloads: &[Vec<u8>]| -> Vec<String> { payloads.iter().map(|p| compressed_line(p)).collect() };
    let refs = |lines: &[String]| -> Vec<String> {
        let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
        after(&lines).into_iter().map(str::to_owned).collect()
    };
    let hello: &[u8] = b"Hello, Hello, Hello";
    match flaw {
        DeflateLeavesTail => {
            let good = compressed(&[hello], 15, false);
            let mut bad = good.clone();
            bad[0].extend_from_slice(&TAIL);
            let mut e = deflating(|r| r.header("Sec-WebSocket-Extensions", "permessage-deflate"), &server(&[hello]));
            (e.expect, e.flawed) = (refs(&lines(&good)), refs(&lines(&bad)));
            e
        }
        DeflateKeepsContext => {
            let reply =
                |r: ServerReply| r.header("Sec-WebSocket-Extensions", "permessage-deflate; client_no_context_takeover");
            let mut e = deflating(reply, &server(&[hello, hello]));
            let (good, bad) = (compressed(&[hello, hello], 15, true), compressed(&[hello, hello], 15, false));
            (e.expect, e.flawed) = (refs(&lines(&good)), refs(&lines(&bad)));
            e
        }
        DeflateIgnoresClientWindow => {
            // 300 bytes, then the same 300 again: a back-reference 300 bytes back, past a 9-bit window's reach
            let first: Vec<u8> = (0..300u32).map(|i| b'a' + ((i * 7 + i / 26) % 26) as u8).collect();
            let message = [first.clone(), first].concat();
            let reply =
                |r: ServerReply| r.header("Sec-WebSocket-Extensions", "permessage-deflate; client_max_window_bits=9");
            let mut e = deflating(reply, &server(&[&message]));
            let (good, bad) = (compressed(&[&message], 9, false), compressed(&[&message], 15, false));
            assert_ne!(good[0].len(), bad[0].len(), "the window must show in the compressed size");
            (e.expect, e.flawed) = (refs(&lines(&good)), refs(&lines(&bad)));
            e
        }
        DeflateInflatesWithoutContext => {
            let mut e =
                deflating(|r| r.header("Sec-WebSocket-Extensions", "permessage-deflate"), &server(&[hello, hello]));
            let good = lines(&compressed(&[hello, hello], 15, false));
            e.expect = refs(&good);
            // the second message refers back into the first: inflated on its own it is corrupt
            e.flawed = ["request", good[0].as_str(), "close 1007", "waits", "eof"].map(str::to_owned).to_vec();
            e
        }
        DeflateUtf8BeforeInflating => {
            let mut e = deflating(|r| r.header("Sec-WebSocket-Extensions", "permessage-deflate"), &server(&[b"Hello"]));
            assert!(std::str::from_utf8(&compressed(&[b"Hello"], 15, false)[0]).is_err());
            e.expect = refs(&lines(&compressed(&[b"Hello"], 15, false)));
            e.flawed = ["request", "close 1007", "waits", "eof"].map(str::to_owned).to_vec();
            e
        }
        DeflateRsv1OnClose => {
            let mut e = deflating(|r| r.header("Sec-WebSocket-Extensions", "permessage-deflate"), &[close_1000()]);
            e.expect = refs(&[]);
            e.flawed = ["request", "close 1000 [ReservedBitsSet]", "waits", "eof"].map(str::to_owned).to_vec();
            e
        }
        _ => unreachable!("{flaw:?} has an exchange in exchange_for, frame_exchange_for or sent_exchange_for"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_flaw_changes_an_exchange_that_the_flawless_client_plays_as_expected() {
    let _turn = crate::support::turn(module_path!());
    let mut runs = JoinSet::new();
    for &flaw in Flaw::ALL {
        runs.spawn(async move {
            let exchange = exchange_for(flaw);
            let flaws = [flaw];
            let ((good, _), (bad, bad_logs)) = tokio::join!(run(&exchange, &[]), run(&exchange, &flaws));
            (flaw, exchange, good, bad, bad_logs)
        });
    }
    let mut problems = Vec::new();
    while let Some(run) = runs.join_next().await {
        let (flaw, exchange, good, bad, bad_logs) = run.expect("exchange task");
        if good != exchange.expect {
            let expected = &exchange.expect;
            problems.push(format!("{flaw:?}: the flawless client\nexpected: {expected:#?}\nactual:   {good:#?}"));
        }
        if lines_match(&exchange.expect, &bad) || !lines_match(&exchange.flawed, &bad) {
            let expected = &exchange.flawed;
            let rule = flaw.rule();
            problems.push(format!("{flaw:?} ({rule})\nexpected: {expected:#?}\nactual:   {bad:#?}\n{bad_logs:#?}"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}

#[test]
fn every_flaw_names_the_rfc_rule_it_breaks_and_is_found_by_its_name() {
    let mut rules = Vec::new();
    for &flaw in Flaw::ALL {
        let rule = flaw.rule();
        let rfc = rule.starts_with("Breaks RFC 6455 §") || rule.starts_with("Breaks RFC 7692 §");
        assert!(rfc && rule.ends_with('.'), "{flaw:?}: {rule}");
        assert!(!rules.contains(&rule), "{flaw:?} repeats {rule}");
        rules.push(rule);
        assert_eq!(Flaw::from_name(&format!("{flaw:?}")), Some(flaw));
    }
    assert_eq!(Flaw::NoPong.rule(), "Breaks RFC 6455 §5.5.2: never answers a ping.");
    assert_eq!(Flaw::from_name("nopong"), None);
}

// (c) The client as a separate process, as `client-conformance --exec` launches one.

/// The URL the process mode connects to.
const URL_VAR: &str = "WSHARNESS_FLAWED_CLIENT_URL";
/// The flaws of the process mode: comma-separated variant names.
const FLAWS_VAR: &str = "WSHARNESS_FLAWED_CLIENT_FLAWS";

/// Does nothing unless `WSHARNESS_FLAWED_CLIENT_URL` is set; then runs the client once against it with the flaws
/// in `WSHARNESS_FLAWED_CLIENT_FLAWS` and prints its log (see `support/flawed_client.rs`).
#[test]
fn flawed_client_as_a_process() {
    let Some(url) = std::env::var_os(URL_VAR) else { return };
    let url = url.into_string().expect("a UTF-8 URL");
    let names = std::env::var(FLAWS_VAR).unwrap_or_default();
    let flaws: Vec<Flaw> = names
        .split(',')
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .map(|name| Flaw::from_name(name).unwrap_or_else(|| panic!("{FLAWS_VAR}: no flaw named {name:?}")))
        .collect();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a tokio runtime");
    match runtime.block_on(FlawedClient::run(&url, &flaws, &Settings::default())) {
        Ok(log) => println!("flawed client: {log:?}"),
        Err(e) => panic!("flawed client: {e}"),
    }
}

#[tokio::test]
async fn the_test_binary_runs_the_flawed_client_as_a_process() {
    let _turn = crate::support::turn(module_path!());
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1:0");
    let url = format!("ws://{}{TARGET}", listener.local_addr().expect("local address"));
    let exchange = Exchange::frames(&[text("Hello"), close_1000()]);
    let server = tokio::spawn(serve(listener, Arc::new(exchange)));
    let child = tokio::process::Command::new(std::env::current_exe().expect("the test binary"))
        .args(["--exact", "flawed_client_fixture::flawed_client_as_a_process", "--nocapture"])
        .env(URL_VAR, &url)
        .env(FLAWS_VAR, "UnmaskedFrames")
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .output();
    let output = timeout(Duration::from_secs(30), child).await.expect("the process ends").expect("the process runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{output:?}");
    assert!(stdout.contains("end: ServerClosedTcp"), "{stdout}");
    let lines = server.await.expect("the server task");
    let expected =
        ["request", "text \"Hello\" [UnmaskedClientFrame]", "close 1000 [UnmaskedClientFrame]", "waits", "eof"];
    assert_eq!(lines, expected);
}
