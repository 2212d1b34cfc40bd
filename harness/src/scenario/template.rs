//! Message templates: text with `{{variables}}` filled in per message.
//!
//! `{{seq}}` the iteration's sequence number on its connection (from 0), `{{conn}}` the connection's
//! index in its role, `{{role}}` the role's name, `{{now_ns}}` the send time in nanoseconds since the
//! run began (the process clock every connection shares), `{{due_ns}}` when the iteration was due
//! (open loop: its intended send time; else when it began), `{{run}}` this process's run id (so a
//! receiver can tell stamps of its own clock from another shard's), `{{random:N}}` N random bytes as
//! 2N hex digits, `{{pad:N}}` N bytes of `x` (to size a message).

use std::fmt::Write;

/// Most bytes one `{{random:N}}` or `{{pad:N}}` adds.
pub const MAX_FILL: usize = 16 << 20;

/// One part of a template.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Literal(String),
    DueNs,
    Run,
    Seq,
    Conn,
    Role,
    NowNs,
    Random(usize),
    Pad(usize),
}

/// A parsed template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    pieces: Vec<Piece>,
}

/// What a template is filled with.
#[derive(Debug, Clone, Copy)]
pub struct Vars<'a> {
    /// `{{seq}}`.
    pub seq: u64,
    /// `{{conn}}`.
    pub conn: u64,
    /// `{{role}}`.
    pub role: &'a str,
    /// `{{now_ns}}`.
    pub now_ns: u64,
    /// `{{due_ns}}`.
    pub due_ns: u64,
}

/// This process's run id (`{{run}}`): 16 hex digits drawn once.
pub fn run_id() -> &'static str {
    static RUN: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    RUN.get_or_init(|| crate::wire::entropy::random_bytes::<8>().iter().map(|b| format!("{b:02x}")).collect())
}

impl Template {
    /// Parses `text`; the error names the variable that is not known.
    pub fn parse(text: &str) -> Result<Template, String> {
        let mut pieces = Vec::new();
        let mut rest = text;
        while let Some(open) = rest.find("{{") {
            if open > 0 {
                pieces.push(Piece::Literal(rest[..open].to_owned()));
            }
            let after = &rest[open + 2..];
            let close = after.find("}}").ok_or_else(|| format!("'{{{{' without '}}}}' in {text:?}"))?;
            pieces.push(variable(after[..close].trim())?);
            rest = &after[close + 2..];
        }
        if !rest.is_empty() {
            pieces.push(Piece::Literal(rest.to_owned()));
        }
        Ok(Template { pieces })
    }

    /// Whether the template has no variable (its text is always the same).
    pub fn is_constant(&self) -> bool {
        self.pieces.iter().all(|p| matches!(p, Piece::Literal(_)))
    }

    /// The most bytes the template can render to (its literals and fills; numbers as 20 digits).
    pub fn max_len(&self, role: &str) -> usize {
        self.pieces
            .iter()
            .map(|p| match p {
                Piece::Literal(s) => s.len(),
                Piece::Seq | Piece::Conn | Piece::NowNs | Piece::DueNs => 20,
                Piece::Run => 16,
                Piece::Role => role.len(),
                Piece::Random(n) => 2 * n,
                Piece::Pad(n) => *n,
            })
            .sum()
    }

    /// The text for `vars`.
    pub fn render(&self, vars: Vars<'_>) -> String {
        let mut out = String::new();
        for p in &self.pieces {
            // writing to a String cannot fail
            let _ = match p {
                Piece::Literal(s) => out.write_str(s),
                Piece::Seq => write!(out, "{}", vars.seq),
                Piece::Conn => write!(out, "{}", vars.conn),
                Piece::Role => out.write_str(vars.role),
                Piece::NowNs => write!(out, "{}", vars.now_ns),
                Piece::DueNs => write!(out, "{}", vars.due_ns),
                Piece::Run => out.write_str(run_id()),
                Piece::Random(n) => (0..n.div_ceil(8)).try_for_each(|i| {
                    let word = crate::wire::entropy::random_bytes::<8>();
                    word.iter().take(n - 8 * i).try_for_each(|b| write!(out, "{b:02x}"))
                }),
                Piece::Pad(n) => {
                    out.extend(std::iter::repeat_n('x', *n));
                    Ok(())
                }
            };
        }
        out
    }
}

fn variable(name: &str) -> Result<Piece, String> {
    let sized = |arg: &str, what: &str| -> Result<usize, String> {
        let n: usize = arg.trim().parse().map_err(|_| format!("{{{{{what}:N}}}}: '{arg}' is not a number"))?;
        if n > MAX_FILL {
            return Err(format!("{{{{{what}:{n}}}}} is more than {MAX_FILL} bytes"));
        }
        Ok(n)
    };
    match name.split_once(':') {
        None if name == "seq" => Ok(Piece::Seq),
        None if name == "conn" => Ok(Piece::Conn),
        None if name == "role" => Ok(Piece::Role),
        None if name == "now_ns" => Ok(Piece::NowNs),
        None if name == "due_ns" => Ok(Piece::DueNs),
        None if name == "run" => Ok(Piece::Run),
        Some(("random", n)) => Ok(Piece::Random(sized(n, "random")?)),
        Some(("pad", n)) => Ok(Piece::Pad(sized(n, "pad")?)),
        _ => Err(format!(
            "unknown variable {{{{{name}}}}} (known: seq, conn, role, now_ns, due_ns, run, random:N, pad:N)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VARS: Vars<'static> = Vars { seq: 7, conn: 3, role: "caller", now_ns: 123, due_ns: 100 };

    #[test]
    fn variables_are_filled_and_literals_kept() {
        let t = Template::parse(r#"{"id":{{seq}},"c":{{ conn }},"r":"{{role}}","t":{{now_ns}},"p":"{{pad:3}}"}"#);
        let t = t.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(t.render(VARS), r#"{"id":7,"c":3,"r":"caller","t":123,"p":"xxx"}"#);
        let due = Template::parse("{{due_ns}}/{{run}}").map(|t| t.render(VARS)).unwrap_or_default();
        assert_eq!(due, format!("100/{}", run_id()));
        let r = Template::parse("{{random:4}}").map(|t| t.render(VARS)).unwrap_or_default();
        assert!(r.len() == 8 && r.chars().all(|c| c.is_ascii_hexdigit()), "{r}");
        assert!(Template::parse("plain").is_ok_and(|t| t.is_constant()));
    }

    #[test]
    fn mistakes_name_the_variable() {
        assert!(Template::parse("{{sequence}}").unwrap_err().contains("unknown variable {{sequence}}"));
        assert!(Template::parse("{{pad:x}}").unwrap_err().contains("'x' is not a number"));
        assert!(Template::parse("{{pad:99999999999}}").is_err());
        assert!(Template::parse("{{seq").unwrap_err().contains("without"));
    }
}
