//! Writes the seed corpora of both fuzz crates from the case library and the reference server.
//!
//! `cargo run --manifest-path harness/fuzz/Cargo.toml --example seeds` (from anywhere): reads
//! every case under `cases/`, builds what each one sends (its handshake request
//! with the key of RFC 6455 §1.3, its frames with a fixed masking key), runs the
//! reference server's handshake and connection core on them to get what a server
//! answers, and writes each target's seeds in that target's input layout (see
//! `src/lib.rs` here and in `reference-server/fuzz/`) under
//! `{reference-server,harness}/fuzz/seeds/<target>/`. The output is deterministic:
//! running it again rewrites the same files.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use fuzz_input::{deflate_for, plan_for, FrameDesc, Split, PLANS, T_OPEN, T_PING};
use reference_server::conn::Connection;
use reference_server::handshake::{parse_request, response_101, response_error};
use reference_server::Config;
use wsharness::case::{load_dir, Case, Request, Step};
use wsharness::load::payload::Outbox;
use wsharness::load::session::Session;
use wsharness::load::stats::Tally;
use wsharness::wire::{ClientRequest, FrameReader, FrameSpec, RawRequest};

/// The key of RFC 6455 §1.3 (the `response` target checks accept values against it).
const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
/// The masking key of RFC 6455 §5.7, used wherever a case asks for a fresh one.
const MASK: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];
/// Largest seed: larger streams are cut (libFuzzer's default input limit is 4 KiB; seeds may go beyond).
const MAX_SEED: usize = 16 * 1024;
/// Largest payload built for a seed, and most repetitions of a step.
const MAX_PAYLOAD: usize = 4 * 1024;
const MAX_REPEAT: usize = 3;
/// Seeds whose name starts with this were kept by hand (an input that once failed); regenerating keeps them.
const REGRESSION: &str = "regression-";

/// The seeds of one target, by file name; identical contents are written once.
#[derive(Default)]
struct Corpus(BTreeMap<String, Vec<u8>>);

impl Corpus {
    fn add(&mut self, name: &str, mut bytes: Vec<u8>) {
        bytes.truncate(MAX_SEED);
        if self.0.values().any(|b| *b == bytes) {
            return;
        }
        let clean: String = name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' }).collect();
        self.0.insert(clean, bytes);
    }
}

/// Errors are printed by `main`.
type Result<T> = std::result::Result<T, String>;

fn main() -> std::process::ExitCode {
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("seeds: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run() -> Result<()> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let cases = load_dir(&root.join("cases"))
        .map_err(|errors| errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))?;
    let mut seeds: BTreeMap<(&str, &str), Corpus> = BTreeMap::new();
    let mut put = |krate: &'static str, target: &'static str, name: &str, bytes: Vec<u8>| {
        seeds.entry((krate, target)).or_default().add(name, bytes);
    };
    for case in &cases {
        let id = case.id.as_str();
        let request = request_bytes(case);
        put("reference-server", "handshake", id, Split::encode(&[], &request));
        put(
            "reference-server",
            "handshake",
            &format!("{id}-cut"),
            Split::encode(&[request.len() as u16 / 2], &request),
        );
        let (client, cuts, specs) = client_stream(case);
        let server_head = match parse_request(&request, &Config::default().handshake_policy()) {
            Ok(Some((accepted, _))) => response_101(&accepted),
            Ok(None) => continue,
            Err(e) => response_error(&e),
        };
        let mut conn = Connection::new(Config::default().limits());
        let mut server = Vec::new();
        conn.process(&client, &mut server);
        put("reference-server", "conn", id, [&[0u8][..], &Split::encode(&[], &client)].concat());
        put("reference-server", "conn", &format!("{id}-cut"), [&[0u8][..], &Split::encode(&cuts, &client)].concat());
        for (i, spec) in specs.iter().enumerate() {
            let bytes = spec.encode().unwrap_or_default();
            put("reference-server", "frame_header", &format!("{id}-{i}"), bytes[..bytes.len().min(14)].to_vec());
            if spec.opcode == 0x1 {
                put("reference-server", "utf8", &format!("{id}-{i}"), Split::encode(&[1, 3], &spec.payload));
            }
        }
        let with_frames = [&server_head[..], &server].concat();
        put("harness", "response", id, Split::encode(&[], &with_frames));
        put("harness", "response", &format!("{id}-cut"), Split::encode(&[server_head.len() as u16 / 2], &server_head));
        // `seeds/scan` is a link to these: the conformance connection's scanner reads the same layout
        put("harness", "frame_reader", id, [&[0u8][..], &Split::encode(&[], &server)].concat());
        put("harness", "frame_reader", &format!("{id}-cut"), [&[0u8][..], &Split::encode(&[1, 7], &server)].concat());
        put("harness", "frame_reader", &format!("{id}-client"), [&[0u8][..], &Split::encode(&[], &client)].concat());
        let mut described = vec![0u8];
        specs.iter().chain(&server_specs(&server)).for_each(|s| described.extend(FrameDesc::encode(s)));
        put("harness", "wire_roundtrip", id, described);
    }
    for file in case_files(&root.join("cases"))? {
        let text = std::fs::read(&file).map_err(|e| format!("{}: {e}", file.display()))?;
        let name = file.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        put("harness", "cases", &name, text);
    }
    for variant in 0..PLANS as u8 {
        for close_first in [false, true] {
            let server = load_echo(variant, close_first);
            let config = variant | if close_first { 0x80 } else { 0 };
            let name = format!("plan{variant}{}", if close_first { "-closing" } else { "" });
            put("harness", "session", &name, [&[config][..], &Split::encode(&[], &server)].concat());
            let cuts = [1, 5, server.len() as u16 / 2];
            put("harness", "session", &format!("{name}-cut"), [&[config][..], &Split::encode(&cuts, &server)].concat());
        }
    }
    deflate_seeds(&mut put);
    let mut total = 0;
    for ((krate, target), corpus) in &seeds {
        let dir = root.join(krate).join("fuzz/seeds").join(target);
        clear_generated(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        for (name, bytes) in &corpus.0 {
            std::fs::write(dir.join(name), bytes).map_err(|e| format!("{}: {e}", dir.display()))?;
            total += bytes.len();
        }
        println!("{krate}/fuzz/seeds/{target}: {} seeds", corpus.0.len());
    }
    println!("{total} bytes in all");
    Ok(())
}

/// Empties `dir` of what an earlier run wrote, keeping `regression-*` (inputs that once failed, kept by hand).
fn clear_generated(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if !entry.file_name().to_string_lossy().starts_with(REGRESSION) {
            std::fs::remove_file(entry.path())?;
        }
    }
    Ok(())
}

/// The case's handshake request, as the runner builds it, with the RFC's key.
fn request_bytes(case: &Case) -> Vec<u8> {
    match &case.handshake.request {
        Request::Default { headers } => {
            let mut req = ClientRequest::new("127.0.0.1:9001", "/").key(KEY);
            for (name, value) in headers {
                req = match value {
                    Some(v) => req.header(name.clone(), v.clone()),
                    None => req.remove_header(name),
                };
            }
            req.encode()
        }
        Request::Raw(template) => {
            let filled = template.replace("{host}", "127.0.0.1:9001").replace("{path}", "/");
            RawRequest::new(filled.into_bytes()).key(KEY).encode()
        }
    }
}

/// What the case sends after the handshake (payloads and repetitions capped), where its
/// delivery cuts the stream, and the frames it builds.
fn client_stream(case: &Case) -> (Vec<u8>, Vec<u16>, Vec<FrameSpec>) {
    let (mut bytes, mut cuts, mut specs) = (Vec::new(), Vec::new(), Vec::new());
    for step in &case.steps {
        let (start, chunks) = (
            bytes.len(),
            match step {
                Step::Frame { delivery, .. } | Step::Raw { delivery, .. } => delivery.chunks.clone(),
                _ => Vec::new(),
            },
        );
        match step {
            Step::Frame { frame, fill, fragment, fresh_mask, repeat, .. } => {
                let mut frame = frame.clone();
                if let Some(f) = fill {
                    frame.payload = f.bytes().into_iter().take(MAX_PAYLOAD).collect();
                    frame.declared_len = None;
                }
                if *fresh_mask {
                    frame = frame.mask_key(MASK);
                }
                for _ in 0..(*repeat).min(MAX_REPEAT) {
                    for piece in fragments(&frame, *fragment) {
                        bytes.extend(piece.encode().unwrap_or_default());
                        specs.push(piece);
                    }
                }
            }
            Step::Raw { bytes: raw, repeat, .. } => {
                for _ in 0..(*repeat).min(MAX_REPEAT) {
                    bytes.extend_from_slice(raw);
                }
            }
            _ => {}
        }
        // the case's own chop sizes, as cut points
        let mut at = start;
        for size in chunks.iter().cycle().take(8) {
            at += size;
            if at >= bytes.len() || cuts.len() >= 16 {
                break;
            }
            cuts.push(at as u16);
        }
    }
    if cuts.is_empty() {
        cuts = vec![bytes.len() as u16 / 3, 2 * bytes.len() as u16 / 3];
    }
    (bytes, cuts, specs)
}

/// A message cut into fragments as the runner cuts it (RFC 6455 §5.4).
fn fragments(frame: &FrameSpec, fragment: Option<usize>) -> Vec<FrameSpec> {
    let Some(size) = fragment else { return vec![frame.clone()] };
    let pieces: Vec<&[u8]> =
        if frame.payload.is_empty() { vec![&[][..]] } else { frame.payload.chunks(size).collect() };
    let last = pieces.len() - 1;
    pieces
        .into_iter()
        .enumerate()
        .map(|(i, p)| {
            let mut spec = frame.clone().payload(p.to_vec());
            spec.declared_len = None;
            if i > 0 {
                spec.opcode = 0;
                spec.rsv = 0;
            }
            spec.fin = i == last && frame.fin;
            spec
        })
        .collect()
}

/// The server's frames, as specs (unmasked, as sent).
fn server_specs(server: &[u8]) -> Vec<FrameSpec> {
    let mut reader = FrameReader::new();
    reader.push(server);
    let mut specs = Vec::new();
    while let Ok(Some(f)) = reader.next_frame() {
        specs.push(FrameSpec::new(f.opcode(), f.payload.clone()).fin(f.fin()).unmasked());
    }
    specs
}

/// What the reference server answers to a load session's first messages (and its close); with
/// permessage-deflate, as the server negotiates it for the plan's offer (its default settings).
fn load_echo(variant: u8, close_first: bool) -> Vec<u8> {
    let plan = plan_for(variant);
    let deflate = deflate_for(variant);
    let mut s = Session::new(&plan, 0, 1, T_OPEN);
    if let Some((_, negotiated)) = deflate {
        s.set_deflate(&plan, negotiated);
    }
    let (mut t, mut out) = (Tally::default(), Outbox::default());
    s.fill(&plan, T_OPEN, &mut out, &mut t);
    s.fill(&plan, T_PING, &mut out, &mut t);
    if close_first {
        s.begin_close(&plan, T_OPEN, &mut out);
    }
    let agreed = deflate.and_then(|(params, _)| {
        let offer = format!("permessage-deflate; {params}");
        reference_server::deflate::negotiate([offer.as_str()], &reference_server::deflate::DeflateConfig::default())
    });
    let mut conn = Connection::with_deflate(Config::default().limits(), agreed);
    let mut server = Vec::new();
    conn.process(&out.to_vec(&plan.book), &mut server);
    server
}

/// The case files, sorted.
fn case_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(d) = pending.pop() {
        for entry in std::fs::read_dir(&d).map_err(|e| format!("{}: {e}", d.display()))? {
            let path = entry.map_err(|e| format!("{}: {e}", d.display()))?.path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|x| x == "toml") {
                files.push(path);
            }
        }
    }
    files.sort();
    Ok(files)
}

/// `inflate`: messages of one connection (RFC 7692 §7.2.3's examples, the crafted payloads, flate2's output
/// at each window and level, two messages sharing a window); `extensions`: a response value, then offers.
fn deflate_seeds(put: &mut impl FnMut(&'static str, &'static str, &str, Vec<u8>)) {
    use wsharness::wire::deflate::{craft, Compressor};
    let messages = |parts: &[&[u8]]| {
        let mut cuts = Vec::new();
        let mut at = 0;
        for p in &parts[..parts.len().saturating_sub(1)] {
            at += p.len();
            cuts.push(at as u16);
        }
        Split::encode(&cuts, &parts.concat())
    };
    put("harness", "inflate", "rfc-hello", messages(&[&craft::RFC_HELLO]));
    put("harness", "inflate", "rfc-shared-window", messages(&[&craft::RFC_HELLO, &craft::RFC_HELLO_SHARED_WINDOW]));
    put("harness", "inflate", "rfc-stored", messages(&[&craft::RFC_HELLO_STORED]));
    put("harness", "inflate", "rfc-bfinal", messages(&[&craft::RFC_HELLO_BFINAL]));
    put("harness", "inflate", "rfc-two-blocks", messages(&[&craft::RFC_HELLO_TWO_BLOCKS]));
    put("harness", "inflate", "empty", messages(&[&craft::EMPTY_STORED, &craft::EMPTY_FIXED]));
    put("harness", "inflate", "corrupt", messages(&[&craft::CORRUPT_RESERVED_BLOCK]));
    put("harness", "inflate", "bomb", messages(&[&craft::bomb_message(1 << 20)]));
    put("harness", "inflate", "reference-513", messages(&[&craft::reference_message(513).0]));
    let text = b"permessage-deflate; client_max_window_bits; server_max_window_bits=10, permessage-deflate";
    for bits in [9u8, 12, 15] {
        for level in [1u32, 6, 9] {
            let Ok(mut c) = Compressor::new(bits, level, false) else { continue };
            let (Ok(a), Ok(b)) = (c.compress(text), c.compress(&text.repeat(40))) else { continue };
            put("harness", "inflate", &format!("flate2-w{bits}-l{level}"), messages(&[&a, &b]));
        }
    }
    let pairs: [(&str, &[&str]); 6] = [
        ("permessage-deflate", &["permessage-deflate"]),
        (
            "permessage-deflate; server_no_context_takeover; client_max_window_bits=10",
            &["permessage-deflate; client_max_window_bits"],
        ),
        (
            "permessage-deflate; server_max_window_bits=\"9\"",
            &["permessage-deflate; server_max_window_bits=10", "permessage-deflate"],
        ),
        ("permessage-deflate, permessage-deflate; x=1", &["permessage-deflate; client_no_context_takeover"]),
        ("x-webkit-deflate-frame", &["permessage-deflate; server_max_window_bits=16"]),
        ("permessage-deflate; client_max_window_bits=08", &["permessage-deflate; client_max_window_bits=8"]),
    ];
    for (i, (response, offers)) in pairs.iter().enumerate() {
        let parts: Vec<&[u8]> =
            std::iter::once(response.as_bytes()).chain(offers.iter().map(|o| o.as_bytes())).collect();
        put("harness", "extensions", &format!("pair-{i}"), messages(&parts));
    }
}
