//! Reading case files: TOML to [`RawFile`], matrix expansion, validation into
//! [`Case`]s. Every mistake is reported as `file:line: message`.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use super::cost::{held_bytes, Budget, CaseCost};
use super::data::DataSet;
use super::limits::{MAX_BOMB, MAX_FILE_BYTES, MAX_FILE_CASES, MAX_PAYLOAD_LEN, MAX_REPEAT};
use super::matrix;
use super::model::{
    AcceptValue, Case, Delivery, Expectation, Fill, Handshake, MessageSource, Messages, ReadPace, Reply, Request,
    Source, Step,
};
use super::raw::{MaskField, Param, RawCase, RawFile, RawHandshake, RawRead, RawReply, RawStep, Value};
use crate::verdict::Verdict;
use crate::wire::deflate::DeflateAccept;
use crate::wire::{Endpoint, FrameSpec, LengthEncoding, Opcode};

/// A mistake in a case file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}: {message}")]
pub struct CaseError {
    /// The file, as given to the loader.
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// What is wrong, and what would be right.
    pub message: String,
}

/// The 1-based line of a byte offset.
fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())].iter().filter(|&&b| b == b'\n').count() + 1
}

/// Parses one case file's text. `file` names it in errors and in each case's [`Source`].
pub fn parse_cases(file: &str, text: &str) -> Result<Vec<Case>, Vec<CaseError>> {
    parse_with_budget(file, text, &Budget::default())
}

/// [`parse_cases`], charging what is built to `budget` (shared by the files of one load).
fn parse_with_budget(file: &str, text: &str, budget: &Budget) -> Result<Vec<Case>, Vec<CaseError>> {
    let error = |line: usize, message: String| CaseError { file: file.to_string(), line, message };
    let raw: RawFile = toml::from_str(text).map_err(|e| {
        let line = e.span().map(|s| line_of(text, s.start)).unwrap_or(1);
        vec![error(line, e.message().trim().to_string())]
    })?;
    let lines: Vec<usize> = raw.cases.iter().map(|c| line_of(text, c.span().start)).collect();
    // count every family before expanding any
    let mut counts = Vec::with_capacity(raw.cases.len());
    let mut errors = Vec::new();
    let mut in_file = 0u64;
    for (spanned, &line) in raw.cases.iter().zip(&lines) {
        match matrix::count(spanned.get_ref()) {
            Ok(n) => {
                in_file = in_file.saturating_add(n);
                if in_file > MAX_FILE_CASES && errors.is_empty() {
                    let message = format!(
                        "this [[case]] generates {n} cases, bringing the file to {in_file}; a file may hold at most \
                         {MAX_FILE_CASES} generated cases: split it into several files"
                    );
                    errors.push(error(line, message));
                }
                counts.push(n);
            }
            Err(message) => errors.push(error(line, message)),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let mut cases = Vec::new();
    for ((spanned, &line), &n) in raw.cases.iter().zip(&lines).zip(&counts) {
        match expand_case(&raw, spanned.get_ref(), n, &Place { text, path: file, line, budget }) {
            Ok(mut c) => cases.append(&mut c),
            Err(e) => errors.push(error(e.line.unwrap_or(line), e.message)),
        }
    }
    if errors.is_empty() {
        Ok(cases)
    } else {
        Err(errors)
    }
}

/// Checks ids across files: each must be unique.
pub fn check_unique_ids(cases: &[Case]) -> Result<(), Vec<CaseError>> {
    let mut seen: BTreeMap<&str, &Source> = BTreeMap::new();
    let mut errors = Vec::new();
    for c in cases {
        if let Some(first) = seen.insert(&c.id, &c.source) {
            errors.push(CaseError {
                file: c.source.file.clone(),
                line: c.source.line,
                message: format!("duplicate case id '{}' (also at {}:{})", c.id, first.file, first.line),
            });
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// An error inside a case, with the line of the step when known.
struct Problem {
    line: Option<usize>,
    message: String,
}

impl<S: fmt::Display> From<S> for Problem {
    fn from(s: S) -> Self {
        Problem { line: None, message: s.to_string() }
    }
}

type R<T> = Result<T, Problem>;

/// Where a `[[case]]` is: its file's text and name, its line, and the load's budget.
struct Place<'a> {
    text: &'a str,
    path: &'a str,
    line: usize,
    budget: &'a Budget,
}

/// The `n` cases of a `[[case]]` family (`n` from [`matrix::count`]), built one at a time.
fn expand_case(file: &RawFile, case: &RawCase, n: u64, at: &Place<'_>) -> R<Vec<Case>> {
    if n > 1 && !case.id.contains('{') {
        return Err(
            format!("case '{}' has a matrix but its id has no {{placeholder}}: ids would repeat", case.id).into()
        );
    }
    let mut cases = Vec::new();
    for i in 0..n {
        let params = matrix::params(case, i, n);
        at.budget.charge(matrix::params_bytes(&params), || format!("the parameters of generated case {}", i + 1))?;
        let built =
            build_case(file, case, &Ctx { params: &params, text: at.text, budget: at.budget }, at.path, at.line)?;
        at.budget.charge(held_bytes(&built), || format!("case '{}'", built.id))?;
        cases.push(built);
    }
    Ok(cases)
}

/// Placeholders of a raw handshake request, filled in by the runner for each connection.
const RUNTIME_PLACEHOLDERS: &[&str] = &["key", "host", "path"];

/// Placeholder substitution for one generated case.
struct Ctx<'a> {
    params: &'a BTreeMap<String, Value>,
    text: &'a str,
    /// Filled-in strings may not outgrow what the load has left.
    budget: &'a Budget,
}

impl Ctx<'_> {
    /// Fills `{name}` placeholders; `{{` and `}}` are literal braces.
    fn fill(&self, s: &str) -> R<String> {
        let mut out = String::with_capacity(s.len());
        let mut rest = s;
        while let Some(i) = rest.find(['{', '}']) {
            out.push_str(&rest[..i]);
            let tail = &rest[i..];
            if tail.starts_with("{{") || tail.starts_with("}}") {
                out.push_str(&tail[..1]);
                rest = &tail[2..];
                continue;
            }
            if tail.starts_with('}') {
                return Err(format!("unmatched '}}' in \"{s}\" (write }}}} for a literal brace)").into());
            }
            let Some(end) = tail.find('}') else {
                return Err(format!("unclosed '{{' in \"{s}\" (write {{{{ for a literal brace)").into());
            };
            let name = &tail[1..end];
            if RUNTIME_PLACEHOLDERS.contains(&name) {
                // filled by the runner at connection time
                out.push_str(&tail[..=end]);
                rest = &tail[end + 1..];
                continue;
            }
            match self.params.get(name) {
                Some(v) => {
                    out.push_str(&v.to_string());
                    let len = out.len() as u64;
                    self.budget.check(len, || format!("filling in the placeholders of \"{}...\"", preview(s)))?;
                }
                None => {
                    let known: Vec<&str> = self.params.keys().map(String::as_str).collect();
                    return Err(format!(
                        "unknown placeholder {{{name}}} in \"{s}\"; defined: {}",
                        if known.is_empty() {
                            "none (add a [case.matrix] or [[case.rows]])".to_string()
                        } else {
                            known.join(", ")
                        }
                    )
                    .into());
                }
            }
            rest = &tail[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }

    /// Hex bytes, placeholders filled in first.
    fn hex(&self, s: &str) -> R<Vec<u8>> {
        parse_hex(&self.fill(s)?)
    }

    fn int(&self, field: &str, p: &Param) -> R<i64> {
        match p {
            Param::Int(i) => Ok(*i),
            Param::Placeholder(s) => {
                let filled = self.fill(s)?;
                filled.trim().parse().map_err(|_| format!("{field} must be a number, got \"{filled}\"").into())
            }
        }
    }

    fn ranged(&self, field: &str, p: &Param, max: u64) -> R<u64> {
        let v = self.int(field, p)?;
        u64::try_from(v)
            .ok()
            .filter(|v| *v <= max)
            .ok_or_else(|| format!("{field} must be between 0 and {max}, got {v}").into())
    }
}

fn build_case(file: &RawFile, case: &RawCase, ctx: &Ctx<'_>, path: &str, line: usize) -> R<Case> {
    let id = ctx.fill(&case.id)?;
    if id.is_empty() || !id.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "./_-§".contains(c)) {
        return Err(format!("id '{id}' must be lower-case letters, digits and . / _ - only").into());
    }
    let rfc = match (&case.rfc, &file.rfc) {
        (Some(r), _) | (None, Some(r)) => ctx.fill(r)?,
        (None, None) => return Err(format!("case '{id}' names no RFC section: set rfc in the case or the file").into()),
    };
    let handshake = handshake(&case.handshake, ctx)?;
    let mut steps = Vec::with_capacity(case.steps.len());
    let mut cost = CaseCost::default();
    for (i, s) in case.steps.iter().enumerate() {
        let step_line = line_of(ctx.text, s.span().start);
        let step = build_step(s.get_ref(), ctx, step_line)
            .and_then(|step| cost.add(&step).map(|()| step).map_err(Problem::from))
            .map_err(|p| Problem {
                line: Some(p.line.unwrap_or(step_line)),
                message: format!("case '{id}', step {}: {}", i + 1, p.message),
            })?;
        steps.push(step);
    }
    let judges = steps.iter().any(|s| matches!(s, Step::Expect { .. }));
    if !judges && !handshake.expect_101 {
        return Err(format!("case '{id}' can never fail: it has no expect step and does not require a 101").into());
    }
    if !handshake.expect_101
        && !steps
            .iter()
            .any(|s| matches!(s, Step::Expect { what: Expectation::Status { .. } | Expectation::Refused, .. }))
    {
        return Err(
            format!("case '{id}' sets expect_101 = false but has no expect = \"status\" or \"refused\" step").into()
        );
    }
    let autobahn = case.autobahn.as_deref().map(|a| ctx.fill(a)).transpose()?;
    let roles = roles(case.roles.as_deref())?;
    let timeout = case
        .timeout_ms
        .as_ref()
        .map(|t| ctx.ranged("timeout_ms", t, 600_000).map(Duration::from_millis))
        .transpose()?;
    let read = case.read.as_ref().map(|r| read_pace(r, ctx)).transpose()?;
    let reply = match &case.reply {
        Some(r) if roles.contains(&Endpoint::Client) => reply(r, ctx)?,
        Some(_) => return Err("'[case.reply]' is our answer to a client under test: add roles = [\"client\"]".into()),
        None => Reply::default(),
    };
    check_client_steps(&id, &roles, &case.handshake, &steps, !reply.deflate.is_empty())?;
    Ok(Case {
        id,
        title: ctx.fill(&case.title)?,
        section: file.section.clone(),
        rfc,
        autobahn,
        roles,
        why: ctx.fill(&case.why)?.trim().to_string(),
        handshake,
        reply,
        steps,
        timeout,
        read,
        source: Source { file: path.to_string(), line },
    })
}

/// `roles = ["server", "client"]`: the implementations a case tests (absent: servers).
fn roles(names: Option<&[String]>) -> R<Vec<Endpoint>> {
    let Some(names) = names else { return Ok(vec![Endpoint::Server]) };
    let mut roles = Vec::with_capacity(names.len());
    for name in names {
        let role = match name.as_str() {
            "server" => Endpoint::Server,
            "client" => Endpoint::Client,
            other => return Err(format!("roles: unknown role {other:?}; write \"server\", \"client\" or both").into()),
        };
        if roles.contains(&role) {
            return Err(format!("roles: {name:?} is listed twice").into());
        }
        roles.push(role);
    }
    if roles.is_empty() {
        return Err(
            "roles is empty: a case tests a \"server\", a \"client\" or both (leave roles out for servers)".into()
        );
    }
    Ok(roles)
}

/// `[case.reply]`.
fn reply(r: &RawReply, ctx: &Ctx<'_>) -> R<Reply> {
    let status = match &r.status {
        Some(p) => {
            let code = ctx.ranged("reply.status", p, 999)? as u16;
            if code < 100 {
                return Err(format!("reply.status must be a three-digit HTTP status, got {code}").into());
            }
            Some((code, r.reason.as_deref().map(|s| ctx.fill(s)).transpose()?.unwrap_or_default()))
        }
        None if r.reason.is_some() => return Err("reply.reason needs reply.status".into()),
        None => None,
    };
    let accept = match r.accept.as_deref() {
        None | Some("valid") => AcceptValue::Valid,
        Some("other-key") => AcceptValue::OtherKey,
        Some("without-guid") => AcceptValue::WithoutGuid,
        Some("the-key") => AcceptValue::TheKey,
        Some(literal) => AcceptValue::Literal(ctx.fill(literal)?),
    };
    let mut headers = Vec::new();
    for (k, v) in &r.headers {
        headers.push((ctx.fill(k)?, Some(ctx.fill(v)?)));
    }
    for k in &r.remove {
        headers.push((ctx.fill(k)?, None));
    }
    let mut append = Vec::new();
    for (k, v) in &r.append {
        append.push((ctx.fill(k)?, ctx.fill(v)?));
    }
    let mut deflate = Vec::new();
    for a in r.deflate.iter().flatten() {
        let bits = match &a.client_max_window_bits {
            // RFC 7692 §7.1.2.2: 8 to 15
            Some(p) => match ctx.ranged("reply.deflate.client_max_window_bits", p, 15)? {
                b @ 8..=15 => Some(b as u8),
                b => return Err(format!("reply.deflate.client_max_window_bits must be 8-15, got {b}").into()),
            },
            None => None,
        };
        deflate.push(DeflateAccept {
            client_no_context_takeover: a.client_no_context_takeover,
            client_max_window_bits: bits,
        });
    }
    Ok(Reply { status, accept, headers, append, deflate })
}

/// What a case that tests clients cannot do: judge a server's response (`status`, `alive`), or compress
/// without accepting the client's permessage-deflate offer (`accepts_deflate`: `[case.reply] deflate`);
/// and a case for clients only has no request of ours to shape.
fn check_client_steps(
    id: &str,
    roles: &[Endpoint],
    handshake: &RawHandshake,
    steps: &[Step],
    accepts_deflate: bool,
) -> R<()> {
    if !roles.contains(&Endpoint::Client) {
        return Ok(());
    }
    for step in steps {
        let compresses =
            matches!(step, Step::Messages(m) if m.compress || matches!(m.source, MessageSource::Bomb { .. }));
        if let (Step::Messages(m), false) = (step, accepts_deflate) {
            if compresses {
                return Err(Problem {
                    line: Some(m.line),
                    message: format!(
                        "case '{id}' tests clients and compresses: say how we accept the client's offer \
                         ([case.reply] deflate = [{{}}])"
                    ),
                });
            }
        }
        if let Step::Expect { what: what @ (Expectation::Status { .. } | Expectation::Alive), line, .. } = step {
            let name = if matches!(what, Expectation::Alive) { "alive" } else { "status" };
            return Err(Problem {
                line: Some(*line),
                message: format!(
                    "case '{id}' tests clients: expect = \"{name}\" judges a server (set roles = [\"server\"])"
                ),
            });
        }
    }
    let shapes_request = handshake.request.is_some() || !handshake.headers.is_empty() || !handshake.remove.is_empty();
    if !roles.contains(&Endpoint::Server) && shapes_request {
        return Err(format!(
            "case '{id}' tests clients only: '[case.handshake]' shapes the request we send to a server; \
             the answer to a client is '[case.reply]'"
        )
        .into());
    }
    Ok(())
}

fn read_pace(r: &RawRead, ctx: &Ctx<'_>) -> R<ReadPace> {
    let chunk = ctx.ranged("read.chunk", &r.chunk, 1 << 30)? as usize;
    if chunk == 0 {
        return Err("read.chunk must be at least 1".into());
    }
    let pause = r.pause_ms.as_ref().map(|p| ctx.ranged("read.pause_ms", p, 60_000)).transpose()?.unwrap_or(0);
    Ok(ReadPace { chunk, pause: Duration::from_millis(pause) })
}

fn handshake(h: &RawHandshake, ctx: &Ctx<'_>) -> R<Handshake> {
    let request = match &h.request {
        Some(raw) => {
            if !h.headers.is_empty() || !h.remove.is_empty() {
                return Err(
                    "handshake: 'headers' and 'remove' apply to the default request, not to a raw 'request'".into()
                );
            }
            Request::Raw(ctx.fill(raw)?)
        }
        None => {
            let mut headers = Vec::new();
            for (k, v) in &h.headers {
                headers.push((ctx.fill(k)?, Some(ctx.fill(v)?)));
            }
            for k in &h.remove {
                headers.push((ctx.fill(k)?, None));
            }
            Request::Default { headers }
        }
    };
    let delivery = delivery(&h.chunk, &h.chunks, &h.pause_ms, ctx).map_err(|p| format!("handshake: {}", p.message))?;
    Ok(Handshake { request, delivery, expect_101: h.expect_101.unwrap_or(true) })
}

fn delivery(chunk: &Option<Param>, chunks: &Option<Vec<u64>>, pause_ms: &Option<Param>, ctx: &Ctx<'_>) -> R<Delivery> {
    let pause_ms = pause_ms.as_ref().map(|p| ctx.ranged("pause_ms", p, 60_000)).transpose()?;
    let chunks = match (chunk, chunks) {
        (Some(_), Some(_)) => return Err("set 'chunk' or 'chunks', not both".into()),
        (Some(c), None) => vec![ctx.ranged("chunk", c, 1 << 30)? as usize],
        (None, Some(list)) => list.iter().map(|&c| c as usize).collect(),
        (None, None) => Vec::new(),
    };
    if chunks.contains(&0) {
        return Err("chunk sizes must be at least 1".into());
    }
    if pause_ms.is_some_and(|p| p > 0) && chunks.is_empty() {
        return Err("'pause_ms' needs 'chunk' or 'chunks' to pause between".into());
    }
    Ok(Delivery { chunks, pause: Duration::from_millis(pause_ms.unwrap_or(0)) })
}

/// The names of the fields set in a step, to reject those that do not apply.
fn set_fields(s: &RawStep) -> Vec<&'static str> {
    let mut v = Vec::new();
    macro_rules! check {
        ($($f:ident),*) => { $( if s.$f.is_some() { v.push(stringify!($f)); } )* };
    }
    check!(
        fin,
        rsv,
        mask,
        length,
        declared_len,
        payload,
        payload_hex,
        payload_len,
        fill,
        fill_hex,
        fragment,
        compress,
        data,
        bomb,
        echo,
        same_payload,
        repeat,
        close_code,
        reason,
        reason_hex,
        chunk,
        chunks,
        pause_ms,
        status,
        headers,
        absent,
        opcode,
        codes,
        allow_drop,
        ms,
        timeout_ms,
        mismatch
    );
    v
}

fn only(s: &RawStep, action: &str, allowed: &[&str]) -> R<()> {
    let stray: Vec<&str> = set_fields(s).into_iter().filter(|f| !allowed.contains(f)).collect();
    if stray.is_empty() {
        Ok(())
    } else {
        Err(format!("{} do(es) not apply to {action}; it takes: {}", stray.join(", "), allowed.join(", ")).into())
    }
}

const FRAME_FIELDS: &[&str] = &[
    "fin",
    "rsv",
    "mask",
    "length",
    "declared_len",
    "payload",
    "payload_hex",
    "payload_len",
    "fill",
    "fill_hex",
    "fragment",
    "repeat",
    "close_code",
    "reason",
    "reason_hex",
    "chunk",
    "chunks",
    "pause_ms",
];

const MESSAGES_FIELDS: &[&str] = &[
    "compress",
    "data",
    "bomb",
    "echo",
    "same_payload",
    "payload",
    "payload_hex",
    "payload_len",
    "fill",
    "fill_hex",
    "fragment",
    "repeat",
];

/// A send step whose messages are built when the case runs: `compress`, `data`, `bomb`, `echo`.
fn messages(s: &RawStep, op: &Param, ctx: &Ctx<'_>, line: usize) -> R<Step> {
    let opcode = match op {
        Param::Placeholder(p) => match ctx.fill(p)?.trim() {
            "text" => Opcode::Text,
            "binary" => Opcode::Binary,
            other => {
                return Err(
                    format!("a step with compress, data, bomb or echo sends text or binary, got '{other}'").into()
                )
            }
        },
        Param::Int(i) => {
            return Err(format!("a step with compress, data, bomb or echo sends \"text\" or \"binary\", got {i}").into())
        }
    };
    if s.same_payload.is_some() && s.data.is_none() {
        return Err("same_payload goes with data = \"...\"".into());
    }
    let source = match (&s.data, &s.bomb) {
        (Some(_), Some(_)) => return Err("set data or bomb, not both".into()),
        (Some(name), None) => {
            let name = ctx.fill(name)?;
            let set = DataSet::parse(&name)
                .ok_or_else(|| format!("unknown data set '{name}': use json, image, text, html or pdf"))?;
            let len = s.payload_len.as_ref().ok_or("data = \"...\" needs payload_len = N (bytes per message)")?;
            if s.payload.is_some() || s.payload_hex.is_some() || s.fill.is_some() || s.fill_hex.is_some() {
                return Err("data takes payload_len only, not payload, payload_hex, fill or fill_hex".into());
            }
            let len = ctx.ranged("payload_len", len, MAX_PAYLOAD_LEN)? as usize;
            MessageSource::Data { set, len, same: s.same_payload.unwrap_or(false) }
        }
        (None, Some(b)) => {
            if s.compress == Some(true) || s.payload.is_some() || s.payload_hex.is_some() || s.payload_len.is_some() {
                return Err(
                    "bomb is a compressed payload of its own: it takes no compress, payload or payload_len".into()
                );
            }
            MessageSource::Bomb { inflated: ctx.ranged("bomb", b, MAX_BOMB)? as usize }
        }
        (None, None) => match payload_source(s, ctx)? {
            Payload::Bytes(b) => MessageSource::Bytes(b),
            Payload::Fill(f) => MessageSource::Fill(f),
        },
    };
    let fragment = match &s.fragment {
        None => None,
        Some(f) => match ctx.ranged("fragment", f, MAX_PAYLOAD_LEN)? {
            0 => return Err("fragment must be at least 1 byte".into()),
            n => Some(n as usize),
        },
    };
    Ok(Step::Messages(Messages {
        opcode,
        source,
        count: repeat(s, ctx)?,
        compress: s.compress.unwrap_or(false),
        fragment,
        echo: s.echo.unwrap_or(false),
        line,
    }))
}

fn repeat(s: &RawStep, ctx: &Ctx<'_>) -> R<usize> {
    match &s.repeat {
        None => Ok(1),
        Some(r) => match ctx.ranged("repeat", r, MAX_REPEAT)? {
            0 => Err("repeat must be at least 1".into()),
            n => Ok(n as usize),
        },
    }
}

fn build_step(s: &RawStep, ctx: &Ctx<'_>, line: usize) -> R<Step> {
    let actions =
        [s.send.is_some(), s.send_raw.is_some(), s.wait_ms.is_some(), s.expect.is_some(), s.shutdown.is_some()];
    if actions.iter().filter(|a| **a).count() != 1 {
        return Err("a step has exactly one of send, send_raw, wait_ms, expect, shutdown".into());
    }
    if let Some(op) = &s.send {
        if [s.compress, s.echo, s.same_payload].iter().any(Option::is_some) || s.data.is_some() || s.bomb.is_some() {
            only(s, "a send step that builds messages (compress, data, bomb, echo)", MESSAGES_FIELDS)?;
            return messages(s, op, ctx, line);
        }
        only(s, "send", FRAME_FIELDS)?;
        let (frame, fill) = frame(s, op, ctx)?;
        let fragment = match &s.fragment {
            None => None,
            Some(f) => match ctx.ranged("fragment", f, MAX_PAYLOAD_LEN)? {
                0 => return Err("fragment must be at least 1 byte".into()),
                n => Some(n as usize),
            },
        };
        if fragment.is_some() && (s.declared_len.is_some() || s.length.is_some()) {
            return Err("'fragment' cannot be combined with declared_len or length".into());
        }
        return Ok(Step::Frame {
            frame,
            fill,
            fragment,
            fresh_mask: matches!(s.mask, None | Some(MaskField::Flag(true))),
            repeat: repeat(s, ctx)?,
            delivery: delivery(&s.chunk, &s.chunks, &s.pause_ms, ctx)?,
        });
    }
    if let Some(hex) = &s.send_raw {
        only(s, "send_raw", &["chunk", "chunks", "pause_ms", "repeat"])?;
        return Ok(Step::Raw {
            bytes: ctx.hex(hex)?,
            repeat: repeat(s, ctx)?,
            delivery: delivery(&s.chunk, &s.chunks, &s.pause_ms, ctx)?,
        });
    }
    if let Some(how) = &s.shutdown {
        only(s, "shutdown", &[])?;
        if how != "write" {
            return Err(format!("shutdown takes \"write\" (half-close: FIN, keep reading), got \"{how}\"").into());
        }
        return Ok(Step::ShutdownWrite);
    }
    if let Some(ms) = &s.wait_ms {
        only(s, "wait_ms", &[])?;
        return Ok(Step::Wait(Duration::from_millis(ctx.ranged("wait_ms", ms, 600_000)?)));
    }
    let kind = s.expect.as_deref().unwrap_or_default();
    let what = match kind {
        "status" => {
            only(s, "expect = \"status\"", &["status", "headers", "absent", "timeout_ms", "mismatch"])?;
            let codes = s.status.as_ref().ok_or("expect = \"status\" needs status = [codes]")?;
            let codes = codes.iter().map(|c| ctx.ranged("status", c, 999).map(|c| c as u16)).collect::<R<Vec<_>>>()?;
            let mut headers = Vec::new();
            for (k, v) in s.headers.iter().flatten() {
                headers.push((ctx.fill(k)?, ctx.fill(v)?));
            }
            let absent = s.absent.iter().flatten().map(|a| ctx.fill(a)).collect::<R<Vec<_>>>()?;
            Expectation::Status { codes, headers, absent }
        }
        "echo" => {
            only(s, "expect = \"echo\"", &["timeout_ms", "mismatch", "repeat"])?;
            Expectation::Echo
        }
        "message" => {
            only(
                s,
                "expect = \"message\"",
                &[
                    "opcode",
                    "payload",
                    "payload_hex",
                    "payload_len",
                    "fill",
                    "fill_hex",
                    "timeout_ms",
                    "mismatch",
                    "repeat",
                ],
            )?;
            let opcode = match s.opcode.as_deref() {
                Some("text") | None => 1,
                Some("binary") => 2,
                Some(o) => return Err(format!("message opcode must be text or binary, got '{o}'").into()),
            };
            Expectation::Message { opcode, payload: payload(s, ctx)? }
        }
        "pong" => {
            only(
                s,
                "expect = \"pong\"",
                &["payload", "payload_hex", "payload_len", "fill", "fill_hex", "timeout_ms", "mismatch", "repeat"],
            )?;
            Expectation::Pong { payload: payload(s, ctx)? }
        }
        "close" => {
            only(s, "expect = \"close\"", &["codes", "allow_drop", "timeout_ms", "mismatch", "repeat"])?;
            let codes =
                s.codes.iter().flatten().map(|c| ctx.ranged("codes", c, 65535).map(|c| c as u16)).collect::<R<_>>()?;
            Expectation::Close { codes, allow_drop: s.allow_drop.unwrap_or(false) }
        }
        "dropped" => {
            only(s, "expect = \"dropped\"", &["timeout_ms", "mismatch"])?;
            Expectation::Dropped
        }
        "alive" => {
            only(s, "expect = \"alive\"", &["timeout_ms", "mismatch"])?;
            Expectation::Alive
        }
        "refused" => {
            only(s, "expect = \"refused\"", &["timeout_ms", "mismatch"])?;
            Expectation::Refused
        }
        "silence" => {
            only(s, "expect = \"silence\"", &["ms", "mismatch"])?;
            let ms = s.ms.as_ref().ok_or("expect = \"silence\" needs ms = N")?;
            Expectation::Silence(Duration::from_millis(ctx.ranged("ms", ms, 600_000)?))
        }
        other => {
            return Err(format!(
            "unknown expectation '{other}': use status, refused, echo, message, pong, close, dropped, silence or alive"
        )
            .into())
        }
    };
    let mismatch = match s.mismatch.as_deref().map(|m| ctx.fill(m)).transpose()? {
        None => Verdict::Failed,
        Some(m) => match Verdict::parse(&m) {
            Some(v @ (Verdict::NonStrict | Verdict::Informational | Verdict::Unimplemented | Verdict::Failed)) => v,
            _ => {
                return Err(
                    format!("mismatch must be FAILED, NON-STRICT, INFORMATIONAL or UNIMPLEMENTED, got '{m}'").into()
                )
            }
        },
    };
    let repeat = repeat(s, ctx)?;
    Ok(Step::Expect { what, timeout: s.timeout_ms.map(Duration::from_millis), mismatch, repeat, line })
}

fn opcode_of(name: &str) -> R<u8> {
    Ok(match name.trim() {
        "continuation" => 0,
        "text" => 1,
        "binary" => 2,
        "close" => 8,
        "ping" => 9,
        "pong" => 10,
        n => match n.parse::<u8>() {
            Ok(v) if v < 16 => v,
            _ => {
                return Err(format!(
                    "unknown opcode '{n}': use continuation, text, binary, close, ping, pong or a number 0-15"
                )
                .into())
            }
        },
    })
}

fn frame(s: &RawStep, op: &Param, ctx: &Ctx<'_>) -> R<(FrameSpec, Option<Fill>)> {
    let opcode = match op {
        Param::Int(i) => u8::try_from(*i).ok().filter(|v| *v < 16).ok_or(format!("opcode {i} is not 0-15"))?,
        Param::Placeholder(p) => opcode_of(&ctx.fill(p)?)?,
    };
    let has_close_body = s.close_code.is_some() || s.reason.is_some() || s.reason_hex.is_some();
    let mut fill = None;
    let payload = if has_close_body {
        if s.payload.is_some() || s.payload_hex.is_some() || s.payload_len.is_some() {
            return Err("set close_code/reason or a payload, not both".into());
        }
        let mut body = Vec::new();
        if let Some(code) = &s.close_code {
            body.extend_from_slice(&(ctx.ranged("close_code", code, 65535)? as u16).to_be_bytes());
        } else {
            return Err("a close reason needs a close_code before it".into());
        }
        match (&s.reason, &s.reason_hex) {
            (Some(_), Some(_)) => return Err("set reason or reason_hex, not both".into()),
            (Some(r), None) => body.extend_from_slice(ctx.fill(r)?.as_bytes()),
            (None, Some(h)) => body.extend(ctx.hex(h)?),
            (None, None) => {}
        }
        body
    } else {
        match payload_source(s, ctx)? {
            Payload::Bytes(b) => b,
            Payload::Fill(f) => {
                fill = Some(f);
                Vec::new()
            }
        }
    };
    let length = match &s.length {
        None => LengthEncoding::Minimal,
        Some(Param::Int(7)) => LengthEncoding::Bits7,
        Some(Param::Int(16)) => LengthEncoding::Bits16,
        Some(Param::Int(64)) => LengthEncoding::Bits64,
        Some(Param::Placeholder(p)) => match ctx.fill(p)?.as_str() {
            "minimal" => LengthEncoding::Minimal,
            "7" => LengthEncoding::Bits7,
            "16" => LengthEncoding::Bits16,
            "64" => LengthEncoding::Bits64,
            other => return Err(format!("length must be 7, 16, 64 or \"minimal\", got '{other}'").into()),
        },
        Some(Param::Int(other)) => return Err(format!("length must be 7, 16, 64 or \"minimal\", got {other}").into()),
    };
    let declared_len = s.declared_len.as_ref().map(|d| ctx.ranged("declared_len", d, u64::MAX >> 1)).transpose()?;
    let actual_len = fill.as_ref().map_or(payload.len(), |f| f.len) as u64;
    let shown_len = declared_len.unwrap_or(actual_len);
    if length == LengthEncoding::Bits7 && shown_len > 125 {
        return Err(format!("a 7-bit length field cannot hold {shown_len}: use length = 16 or 64").into());
    }
    if length == LengthEncoding::Bits16 && shown_len > 0xFFFF {
        return Err(format!("a 16-bit length field cannot hold {shown_len}: use length = 64").into());
    }
    let mut spec = FrameSpec::new(opcode, payload)
        .fin(s.fin.unwrap_or(true))
        .rsv(ctx.ranged("rsv", s.rsv.as_ref().unwrap_or(&Param::Int(0)), 7)? as u8)
        .length(length);
    if let Some(d) = declared_len {
        spec = spec.declared_len(d);
    }
    match &s.mask {
        None | Some(MaskField::Flag(true)) => {}
        Some(MaskField::Flag(false)) => spec = spec.unmasked(),
        Some(MaskField::Key(k)) => {
            let bytes = ctx.hex(k)?;
            let key: [u8; 4] = bytes.try_into().map_err(|_| "mask key must be 4 bytes of hex, e.g. \"37fa213d\"")?;
            spec = spec.mask_key(key);
        }
    }
    if fill.is_some() && declared_len.is_none() {
        // the header must announce the payload built at run time
        spec = spec.declared_len(actual_len);
    }
    Ok((spec, fill))
}

/// A payload as written: bytes, or a length and a pattern built when the case runs.
enum Payload {
    Bytes(Vec<u8>),
    Fill(Fill),
}

fn payload_source(s: &RawStep, ctx: &Ctx<'_>) -> R<Payload> {
    if s.payload_len.is_none() && (s.fill.is_some() || s.fill_hex.is_some()) {
        return Err("'fill' and 'fill_hex' need payload_len".into());
    }
    match (&s.payload, &s.payload_hex, &s.payload_len) {
        (None, None, None) => Ok(Payload::Bytes(Vec::new())),
        (Some(p), None, None) => Ok(Payload::Bytes(ctx.fill(p)?.into_bytes())),
        (None, Some(h), None) => Ok(Payload::Bytes(ctx.hex(h)?)),
        (None, None, Some(n)) => {
            let len = ctx.ranged("payload_len", n, MAX_PAYLOAD_LEN)? as usize;
            let pattern = match (&s.fill, &s.fill_hex) {
                (Some(_), Some(_)) => return Err("set fill or fill_hex, not both".into()),
                (Some(f), None) => ctx.fill(f)?.into_bytes(),
                (None, Some(h)) => ctx.hex(h)?,
                (None, None) => b"*".to_vec(),
            };
            if pattern.is_empty() {
                return Err("'fill' must not be empty".into());
            }
            Ok(Payload::Fill(Fill { len, pattern }))
        }
        _ => Err("set one of payload, payload_hex, payload_len".into()),
    }
}

/// The payload of an expectation, built now (when the load's budget has room for it).
fn payload(s: &RawStep, ctx: &Ctx<'_>) -> R<Vec<u8>> {
    Ok(match payload_source(s, ctx)? {
        Payload::Bytes(b) => b,
        Payload::Fill(f) => {
            ctx.budget.check(f.len as u64, || format!("an expected payload of payload_len = {}", f.len))?;
            f.bytes()
        }
    })
}

/// The start of a string, for error messages.
fn preview(s: &str) -> String {
    s.chars().take(40).collect()
}

/// Hex bytes; spaces, underscores and colons between bytes are ignored.
fn parse_hex(s: &str) -> R<Vec<u8>> {
    let digits: Vec<u8> = s.bytes().filter(|b| !matches!(b, b' ' | b'_' | b':' | b'\n' | b'\t')).collect();
    if digits.len() % 2 != 0 {
        return Err(format!("hex \"{s}\" has an odd number of digits").into());
    }
    digits
        .chunks(2)
        .map(|pair| {
            std::str::from_utf8(pair)
                .ok()
                .and_then(|p| u8::from_str_radix(p, 16).ok())
                .ok_or_else(|| format!("\"{s}\" is not hex").into())
        })
        .collect()
}

#[cfg(test)]
mod tests;

/// Loads every `*.toml` below `dir` (sorted, so the order is stable), naming
/// files relative to `dir`'s parent in errors. Ids must be unique across files.
pub fn load_dir(dir: &std::path::Path) -> Result<Vec<Case>, Vec<CaseError>> {
    let io_error = |path: &std::path::Path, e: std::io::Error| {
        vec![CaseError { file: path.display().to_string(), line: 0, message: format!("cannot read: {e}") }]
    };
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(d) = pending.pop() {
        for entry in std::fs::read_dir(&d).map_err(|e| io_error(&d, e))? {
            let path = entry.map_err(|e| io_error(&d, e))?.path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|x| x == "toml") {
                files.push(path);
            }
        }
    }
    files.sort();
    let base = dir.parent().unwrap_or(dir);
    let budget = Budget::default();
    collect(files.iter().map(|path| {
        let name = path.strip_prefix(base).unwrap_or(path).display().to_string();
        let text = read_case_file(path, &name).map_err(|e| vec![e])?;
        parse_with_budget(&name, &text, &budget)
    }))
}

/// A case file's text: at most [`MAX_FILE_BYTES`], UTF-8 (the first invalid byte is named by line and column).
fn read_case_file(path: &std::path::Path, name: &str) -> Result<String, CaseError> {
    use std::io::Read as _;
    let error = |line: usize, message: String| CaseError { file: name.to_string(), line, message };
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes))
        .map_err(|e| error(0, format!("cannot read: {e}")))?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(error(
            1,
            format!(
                "the file is larger than {MAX_FILE_BYTES} bytes ({}), the most a case file may hold: split it",
                super::limits::human_bytes(MAX_FILE_BYTES)
            ),
        ));
    }
    String::from_utf8(bytes).map_err(|e| {
        let bytes = e.as_bytes();
        let at = e.utf8_error().valid_up_to();
        let before = &bytes[..at];
        let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
        let column = at - before.iter().rposition(|&b| b == b'\n').map_or(0, |nl| nl + 1) + 1;
        let byte = bytes.get(at).copied().unwrap_or_default();
        error(line, format!("not UTF-8 (byte {byte:#04x} at column {column}): save the file as UTF-8"))
    })
}

/// Gathers the cases of several files, or every mistake of all of them; ids must be unique.
pub fn collect(files: impl Iterator<Item = Result<Vec<Case>, Vec<CaseError>>>) -> Result<Vec<Case>, Vec<CaseError>> {
    let mut cases = Vec::new();
    let mut errors = Vec::new();
    for file in files {
        match file {
            Ok(mut c) => cases.append(&mut c),
            Err(mut e) => errors.append(&mut e),
        }
    }
    if let Err(mut e) = check_unique_ids(&cases) {
        errors.append(&mut e);
    }
    if errors.is_empty() {
        Ok(cases)
    } else {
        Err(errors)
    }
}
