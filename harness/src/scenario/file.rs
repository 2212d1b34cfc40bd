//! Scenario files: TOML, data not code, every mistake reported as `file:line: message`.
//!
//! ```toml
//! [scenario]
//! name = "json-rpc"          # optional: the file name
//! duration = "10s"           # the measured phase (`-d` overrides); warmup = "1s" optional
//!
//! [[role]]
//! name = "caller"
//! connections = 50
//! path = "/rpc"              # appended to the URL's host; default: the URL's own path
//! subprotocols = ["..."]     # offered in order; headers = { Name = "value" }
//! in_flight = 16             # iterations outstanding per connection (default 1)
//! rate = 2000                # open loop: iterations per second for the role (default: closed loop)
//! unsolicited = "count"      # messages no expectation waits for: "count" (default) or "error"
//!
//! [[role.setup]]             # once per connection, in order, before the loop
//! send = '{"type":"connection_init"}'
//! [[role.setup]]
//! expect = { json = { "/type" = "connection_ack" } }
//!
//! [[role.step]]              # the loop: each iteration runs these in order
//! send = '{"jsonrpc":"2.0","id":{{seq}},"method":"echo","params":{"t":{{now_ns}}}}'
//! [[role.step]]
//! name = "call"              # the histogram this step's latency goes to (`step.call.p99<5ms`)
//! expect = { json = { "/id" = "{{seq}}" } }   # or { regex = '...', equals = "{{seq}}" }, or "any"
//! timeout = "5s"             # default 10s; count = N waits for N such messages
//! [[role.step]]
//! think = "10ms"             # or "5ms..20ms": a pause, uniform in the range
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use super::matcher::Matcher;
use super::pointer::Pointer;
use super::template::Template;

/// Most roles in a file, steps in a role, connections in a role, iterations in flight per connection.
pub const MAX_ROLES: usize = 64;
/// Most steps in a role's setup and loop together.
pub const MAX_STEPS: usize = 256;
/// Most connections of one role.
pub const MAX_CONNECTIONS: u64 = 1_000_000;
/// Most iterations outstanding on one connection.
pub const MAX_IN_FLIGHT: u64 = 1024;
/// Most messages one `expect` step may wait for (`count`).
pub const MAX_COUNT: u64 = 100_000;
/// Largest scenario file.
pub const MAX_FILE_BYTES: usize = 1 << 20;

/// A mistake in a scenario file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}: {message}")]
pub struct ScenarioError {
    /// The file, as given.
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// What is wrong, and what would be right.
    pub message: String,
}

/// A validated scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    /// Its name.
    pub name: String,
    /// The measured phase, if the file says.
    pub duration: Option<Duration>,
    /// Warmup, kept out of the results.
    pub warmup: Duration,
    /// The roles.
    pub roles: Vec<Arc<Role>>,
}

/// One kind of connection and what it does.
#[derive(Debug, Clone, PartialEq)]
pub struct Role {
    /// Its name.
    pub name: String,
    /// How many connections play it.
    pub connections: u64,
    /// The request path, if not the URL's.
    pub path: Option<String>,
    /// Subprotocols offered.
    pub subprotocols: Vec<String>,
    /// Extra handshake headers.
    pub headers: Vec<(String, String)>,
    /// Iterations outstanding per connection at most.
    pub in_flight: u64,
    /// Open loop: iterations per second for the whole role.
    pub rate: Option<f64>,
    /// Whether a message no expectation waits for is an error.
    pub unsolicited_is_error: bool,
    /// Once per connection, before the loop.
    pub setup: Vec<Step>,
    /// The loop (empty for a role that only receives).
    pub steps: Vec<Step>,
    /// Fan-out: the published messages this role receives and times.
    pub receive: Option<Receive>,
}

/// How a receiving role recognises the messages another role publishes (fan-out), and times them on
/// the process clock the publisher stamped them with.
#[derive(Debug, Clone, PartialEq)]
pub struct Receive {
    /// The histogram and counters it goes to.
    pub name: String,
    /// Which messages are published ones.
    pub matcher: Matcher,
    /// JSON pointer to the publisher's stamp (its `{{due_ns}}`: when the message was meant to leave).
    pub sent_ns: Pointer,
    /// JSON pointer to the publisher's `{{run}}`: a stamp from another process is counted, not timed.
    pub run: Option<Pointer>,
    /// JSON pointer to the publisher's identity (`{{conn}}`), if several publish.
    pub publisher: Option<Pointer>,
    /// JSON pointer to the publisher's sequence number (`{{seq}}`).
    pub seq: Pointer,
}

/// One step.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Send a message.
    Send {
        /// Its text.
        template: Template,
        /// As a binary message.
        binary: bool,
    },
    /// Wait for messages.
    Expect {
        /// The histogram and counters it goes to.
        name: String,
        /// Which messages.
        matcher: Matcher,
        /// How many.
        count: u64,
        /// How long, from the send before it.
        timeout: Duration,
    },
    /// Pause: a fixed time, or uniform in a range.
    Think {
        /// Shortest.
        min: Duration,
        /// Longest.
        max: Duration,
    },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    scenario: Option<RawHeader>,
    #[serde(default, rename = "role")]
    roles: Vec<Spanned<RawRole>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHeader {
    name: Option<String>,
    duration: Option<Spanned<String>>,
    warmup: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRole {
    name: String,
    #[serde(default = "one")]
    connections: u64,
    path: Option<String>,
    #[serde(default)]
    subprotocols: Vec<String>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    #[serde(default = "one")]
    in_flight: u64,
    rate: Option<f64>,
    unsolicited: Option<String>,
    #[serde(default)]
    setup: Vec<Spanned<RawStep>>,
    #[serde(default, rename = "step")]
    steps: Vec<Spanned<RawStep>>,
    receive: Option<RawReceive>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawReceive {
    name: Option<String>,
    #[serde(rename = "match")]
    matches: RawExpect,
    sent_ns: String,
    run: Option<String>,
    publisher: Option<String>,
    seq: String,
}

fn one() -> u64 {
    1
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStep {
    name: Option<String>,
    send: Option<String>,
    #[serde(default)]
    binary: bool,
    expect: Option<RawExpect>,
    timeout: Option<String>,
    count: Option<u64>,
    think: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum RawExpect {
    Any(String),
    Table(RawMatch),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMatch {
    json: Option<BTreeMap<String, String>>,
    regex: Option<String>,
    equals: Option<String>,
}

/// The 1-based line of a byte offset.
fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())].iter().filter(|&&b| b == b'\n').count() + 1
}

/// Reads and validates a scenario file.
pub fn load(path: &std::path::Path) -> Result<Scenario, ScenarioError> {
    let file = path.display().to_string();
    let error = |message: String| ScenarioError { file: file.clone(), line: 0, message };
    let meta = std::fs::metadata(path).map_err(|e| error(format!("cannot read: {e}")))?;
    if meta.len() > MAX_FILE_BYTES as u64 {
        return Err(error(format!("{} bytes: a scenario file may take at most {MAX_FILE_BYTES}", meta.len())));
    }
    let text = std::fs::read_to_string(path).map_err(|e| error(format!("cannot read: {e}")))?;
    let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    parse(&file, &text, &stem)
}

/// Parses a scenario file's text; `file` names it in errors, `stem` is the default name.
pub fn parse(file: &str, text: &str, stem: &str) -> Result<Scenario, ScenarioError> {
    let at =
        |offset: usize, message: String| ScenarioError { file: file.to_owned(), line: line_of(text, offset), message };
    let raw: RawFile =
        toml::from_str(text).map_err(|e| at(e.span().map_or(0, |s| s.start), e.message().trim().into()))?;
    let header = raw.scenario.unwrap_or(RawHeader { name: None, duration: None, warmup: None });
    let duration = header
        .duration
        .map(|d| positive_duration(d.get_ref()).map_err(|m| at(d.span().start, format!("duration: {m}"))))
        .transpose()?;
    let warmup = match header.warmup {
        Some(w) => humantime::parse_duration(w.get_ref()).map_err(|e| at(w.span().start, format!("warmup: {e}")))?,
        None => Duration::ZERO,
    };
    if raw.roles.is_empty() {
        return Err(at(0, "a scenario needs at least one [[role]]".into()));
    }
    if raw.roles.len() > MAX_ROLES {
        return Err(at(raw.roles[MAX_ROLES].span().start, format!("at most {MAX_ROLES} roles")));
    }
    let mut names = BTreeSet::new();
    let mut roles = Vec::new();
    for r in &raw.roles {
        let role = build_role(r.get_ref()).map_err(|(offset, m)| at(offset.unwrap_or(r.span().start), m))?;
        if !names.insert(role.name.clone()) {
            return Err(at(r.span().start, format!("two roles are named '{}'", role.name)));
        }
        roles.push(Arc::new(role));
    }
    Ok(Scenario { name: header.name.unwrap_or_else(|| stem.to_owned()), duration, warmup, roles })
}

/// A problem, at an offset when a step knows it (else the role's).
type Problem = (Option<usize>, String);

fn build_role(r: &RawRole) -> Result<Role, Problem> {
    let msg = |m: String| (None, format!("role '{}': {m}", r.name));
    if !valid_name(&r.name) {
        return Err((None, format!("role name '{}': use letters, digits, '-' and '_'", r.name)));
    }
    if !(1..=MAX_CONNECTIONS).contains(&r.connections) {
        return Err(msg(format!("connections = {}: from 1 to {MAX_CONNECTIONS}", r.connections)));
    }
    if !(1..=MAX_IN_FLIGHT).contains(&r.in_flight) {
        return Err(msg(format!("in_flight = {}: from 1 to {MAX_IN_FLIGHT}", r.in_flight)));
    }
    if let Some(rate) = r.rate.filter(|r| !(r.is_finite() && *r > 0.0)) {
        return Err(msg(format!("rate = {rate}: a positive number of iterations per second")));
    }
    if let Some(p) = r.path.as_deref().filter(|p| !p.starts_with('/')) {
        return Err(msg(format!("path = '{p}': it must start with '/'")));
    }
    let unsolicited_is_error = match r.unsolicited.as_deref() {
        None | Some("count") => false,
        Some("error") => true,
        Some(other) => return Err(msg(format!("unsolicited = '{other}': \"count\" or \"error\""))),
    };
    let mut headers = Vec::new();
    for (name, value) in &r.headers {
        let (n, v) = crate::load::connect::parse_header(&format!("{name}: {value}")).map_err(msg)?;
        headers.push((n, v));
    }
    if r.steps.is_empty() && r.receive.is_none() {
        return Err(msg("needs at least one [[role.step]] (the loop), or a [role.receive] table".into()));
    }
    let receive = r.receive.as_ref().map(|rc| build_receive(rc, &r.name)).transpose().map_err(msg)?;
    if r.setup.len() + r.steps.len() > MAX_STEPS {
        return Err(msg(format!("at most {MAX_STEPS} steps")));
    }
    let mut step_names = BTreeSet::new();
    let mut build_all = |steps: &[Spanned<RawStep>], part: &str| -> Result<Vec<Step>, Problem> {
        let mut out = Vec::new();
        for (i, s) in steps.iter().enumerate() {
            let default_name = format!("{}.{part}{}", r.name, i + 1);
            let step = build_step(s.get_ref(), &r.name, default_name).map_err(|m| (Some(s.span().start), m))?;
            if let Step::Expect { name, .. } = &step {
                if !step_names.insert(name.clone()) {
                    return Err((
                        Some(s.span().start),
                        format!("two expect steps of role '{}' are named '{name}'", r.name),
                    ));
                }
            }
            out.push(step);
        }
        Ok(out)
    };
    let setup = build_all(&r.setup, "setup")?;
    let steps = build_all(&r.steps, "step")?;
    Ok(Role {
        name: r.name.clone(),
        connections: r.connections,
        path: r.path.clone(),
        subprotocols: r.subprotocols.clone(),
        headers,
        in_flight: r.in_flight,
        rate: r.rate,
        unsolicited_is_error,
        setup,
        steps,
        receive,
    })
}

fn build_receive(rc: &RawReceive, role: &str) -> Result<Receive, String> {
    let pointer = |field: &str, p: &str| -> Result<Pointer, String> {
        match Pointer::parse(p) {
            Some(pointer) if !p.is_empty() => Ok(pointer),
            _ => Err(format!("receive.{field} = '{p}': a JSON pointer (RFC 6901), e.g. \"/payload/{field}\"")),
        }
    };
    let matcher = match &rc.matches {
        RawExpect::Any(any) if any == "any" => Matcher::Any,
        RawExpect::Any(other) => {
            return Err(format!("receive.match = '{other}': \"any\", or a table with json or regex"))
        }
        RawExpect::Table(m) => build_matcher(m)?,
    };
    let name = rc.name.clone().unwrap_or_else(|| format!("{role}.receive"));
    if !valid_name(&name.replace('.', "")) {
        return Err(format!("receive.name '{name}': use letters, digits, '-', '_' and '.'"));
    }
    Ok(Receive {
        name,
        matcher,
        sent_ns: pointer("sent_ns", &rc.sent_ns)?,
        run: rc.run.as_deref().map(|p| pointer("run", p)).transpose()?,
        publisher: rc.publisher.as_deref().map(|p| pointer("publisher", p)).transpose()?,
        seq: pointer("seq", &rc.seq)?,
    })
}

fn build_step(s: &RawStep, role: &str, default_name: String) -> Result<Step, String> {
    let kinds = [s.send.is_some(), s.expect.is_some(), s.think.is_some()].iter().filter(|k| **k).count();
    if kinds != 1 {
        return Err("a step is exactly one of send, expect or think".into());
    }
    let only_for = |field: &str, present: bool, kind: &str| {
        if present {
            Err(format!("{field} belongs to {kind} steps"))
        } else {
            Ok(())
        }
    };
    if let Some(text) = &s.send {
        only_for("timeout", s.timeout.is_some(), "expect")?;
        only_for("count", s.count.is_some(), "expect")?;
        only_for("name", s.name.is_some(), "expect")?;
        let template = Template::parse(text)?;
        return Ok(Step::Send { template, binary: s.binary });
    }
    only_for("binary", s.binary, "send")?;
    if let Some(think) = &s.think {
        only_for("timeout", s.timeout.is_some(), "expect")?;
        let (min, max) = match think.split_once("..") {
            Some((a, b)) => (pause(a)?, pause(b)?),
            None => (pause(think)?, pause(think)?),
        };
        if min > max {
            return Err(format!("think = '{think}': the range goes backwards"));
        }
        return Ok(Step::Think { min, max });
    }
    let name = s.name.clone().unwrap_or(default_name);
    if !valid_name(&name.replace('.', "")) {
        return Err(format!("name '{name}': use letters, digits, '-', '_' and '.'"));
    }
    let count = s.count.unwrap_or(1);
    if !(1..=MAX_COUNT).contains(&count) {
        return Err(format!("count = {count}: from 1 to {MAX_COUNT}"));
    }
    let timeout = s.timeout.as_deref().map(positive_duration).transpose()?.unwrap_or(Duration::from_secs(10));
    let matcher = match &s.expect {
        Some(RawExpect::Any(any)) if any == "any" => Matcher::Any,
        Some(RawExpect::Any(other)) => {
            return Err(format!("expect = '{other}': \"any\", or a table with json or regex"))
        }
        Some(RawExpect::Table(m)) => build_matcher(m)?,
        None => return Err(format!("role '{role}': a step without an action")),
    };
    Ok(Step::Expect { name, matcher, count, timeout })
}

fn build_matcher(m: &RawMatch) -> Result<Matcher, String> {
    match (&m.json, &m.regex) {
        (Some(fields), None) => {
            if m.equals.is_some() {
                return Err("equals goes with regex; with json, give each pointer its value".into());
            }
            if fields.is_empty() {
                return Err("expect.json needs at least one \"/pointer\" = \"value\"".into());
            }
            let mut out = Vec::new();
            for (text, value) in fields {
                let Some(pointer) = Pointer::parse(text) else {
                    return Err(format!("'{text}' is not a JSON pointer (RFC 6901: \"/id\", \"/payload/seq\")"));
                };
                out.push((pointer, Template::parse(value)?));
            }
            Ok(Matcher::Json(out))
        }
        (None, Some(re)) => {
            let regex =
                regex::RegexBuilder::new(re).size_limit(1 << 20).build().map_err(|e| format!("expect.regex: {e}"))?;
            let equals = m.equals.as_deref().map(Template::parse).transpose()?;
            if equals.is_some() && regex.captures_len() < 2 {
                return Err("expect.equals compares the regex's first group: the regex has none".into());
            }
            Ok(Matcher::Regex { regex: Arc::new(regex), equals })
        }
        _ => Err("expect is one of: \"any\", { json = { ... } }, { regex = '...' [, equals = '...'] }".into()),
    }
}

fn valid_name(name: &str) -> bool {
    !name.is_empty() && name.len() <= 64 && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

fn positive_duration(s: &str) -> Result<Duration, String> {
    match humantime::parse_duration(s) {
        Ok(d) if d.is_zero() => Err(format!("'{s}' must be more than 0")),
        Ok(d) => Ok(d),
        Err(e) => Err(format!("'{s}': {e}")),
    }
}

fn pause(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s.trim()).map_err(|e| format!("think: '{}': {e}", s.trim()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(text: &str) -> (usize, String) {
        match parse("s.toml", text, "s") {
            Err(e) => {
                assert_eq!(e.to_string(), format!("s.toml:{}: {}", e.line, e.message));
                (e.line, e.message)
            }
            Ok(s) => panic!("accepted: {s:?}"),
        }
    }

    #[test]
    fn every_mistake_names_its_line_and_what_would_be_right() {
        let base = "[[role]]\nname = \"r\"\n";
        assert_eq!(error("[[role]]\nname = \"r\"\nconections = 3\n").0, 3, "an unknown field");
        let (line, m) = error(&format!("{base}[[role.step]]\nsend = \"a\"\n\n[[role.step]]\nexpect = {{ json = {{ \"/id\" = \"{{{{sqe}}}}\" }} }}\n"));
        assert_eq!(line, 6);
        assert!(m.contains("unknown variable {{sqe}}"), "{m}");
        let (line, m) = error(&format!("{base}[[role.step]]\nsend = \"a\"\nthink = \"1ms\"\n"));
        assert_eq!(line, 3);
        assert!(m.contains("exactly one of send, expect or think"), "{m}");
        assert!(error(&format!("{base}[[role.step]]\nexpect = {{ regex = \"(\" }}\n")).1.contains("expect.regex"));
        assert!(error(&format!("{base}[[role.step]]\nexpect = {{ regex = \"x\", equals = \"1\" }}\n"))
            .1
            .contains("has none"));
        assert!(error(&format!("{base}[[role.step]]\nexpect = {{ json = {{ \"id\" = \"1\" }} }}\n"))
            .1
            .contains("JSON pointer"));
        assert!(error(&format!("{base}in_flight = 0\n[[role.step]]\nsend = \"a\"\n")).1.contains("in_flight = 0"));
        assert!(error(&format!("{base}rate = -1\n[[role.step]]\nsend = \"a\"\n")).1.contains("rate = -1"));
        assert!(error(&format!("{base}[[role.step]]\nthink = \"5ms..1ms\"\n")).1.contains("backwards"));
        assert!(error(base).1.contains("needs at least one [[role.step]]"));
        assert!(error("[scenario]\nduration = \"0s\"\n[[role]]\nname = \"r\"\n[[role.step]]\nsend = \"a\"\n")
            .1
            .contains("more than 0"));
        assert!(error("").1.contains("at least one [[role]]"));
        let twice = format!("{base}[[role.step]]\nsend = \"a\"\n[[role]]\nname = \"r\"\n[[role.step]]\nsend = \"b\"\n");
        assert_eq!(error(&twice), (5, "two roles are named 'r'".into()));
    }

    #[test]
    fn a_valid_file_has_defaults_and_its_steps_in_order() {
        let s = parse(
            "s.toml",
            "[[role]]\nname = \"r\"\n[[role.step]]\nsend = \"a\"\n[[role.step]]\nexpect = \"any\"\n",
            "stem",
        );
        let s = s.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((s.name.as_str(), s.duration, s.warmup), ("stem", None, Duration::ZERO));
        let r = &s.roles[0];
        assert_eq!((r.connections, r.in_flight, r.rate, r.unsolicited_is_error), (1, 1, None, false));
        assert!(matches!(&r.steps[1], Step::Expect { name, matcher: Matcher::Any, count: 1, .. } if name == "r.step2"));
    }
}
