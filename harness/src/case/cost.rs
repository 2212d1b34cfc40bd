//! What loading and running a case costs, checked against [`super::limits`]:
//! the loader's byte budget ([`Budget`]), and what one case sends, how many
//! frames and writes, and what it expects back ([`CaseCost`]). Costs come from
//! the numbers in the case, before any payload is built.

use std::cell::Cell;
use std::mem::size_of;

use super::limits::{human_bytes, MAX_CASE_BYTES, MAX_CASE_FRAMES, MAX_CASE_WRITES, MAX_LOADED_BYTES};
use super::model::MessageSource;
use super::model::{Case, Delivery, Expectation, Handshake, Request, Step};
use super::send::SendCost;

/// Bytes the loader has built for one load, against [`MAX_LOADED_BYTES`].
#[derive(Debug, Default)]
pub(super) struct Budget {
    used: Cell<u64>,
}

impl Budget {
    /// Bytes built so far.
    #[cfg(test)]
    pub(super) fn used(&self) -> u64 {
        self.used.get()
    }

    /// Refuses `bytes` more when they would pass the cap (`what` names them in the error).
    pub(super) fn check(&self, bytes: u64, what: impl FnOnce() -> String) -> Result<(), String> {
        let total = self.used.get().saturating_add(bytes);
        if total <= MAX_LOADED_BYTES {
            return Ok(());
        }
        Err(format!(
            "{} brings what the loader builds to {total} bytes ({}); the case files of one load may build at most \
             {MAX_LOADED_BYTES} bytes ({}): generate fewer cases, or shorten the strings and payloads they repeat",
            what(),
            human_bytes(total),
            human_bytes(MAX_LOADED_BYTES)
        ))
    }

    /// Counts `bytes` built, refused past the cap.
    pub(super) fn charge(&self, bytes: u64, what: impl FnOnce() -> String) -> Result<(), String> {
        self.check(bytes, what)?;
        self.used.set(self.used.get() + bytes);
        Ok(())
    }
}

/// Bytes a loaded case holds (its strings, payloads, lists and steps).
pub(super) fn held_bytes(case: &Case) -> u64 {
    let strings = [&case.id, &case.title, &case.section, &case.rfc, &case.why, &case.source.file];
    let mut n = size_of::<Case>() + strings.iter().map(|s| s.len()).sum::<usize>();
    n += case.autobahn.as_ref().map_or(0, String::len);
    n += handshake_bytes(&case.handshake);
    for step in &case.steps {
        n += size_of::<Step>()
            + match step {
                Step::Frame { frame, fill, delivery, .. } => {
                    frame.payload.len() + fill.as_ref().map_or(0, |f| f.pattern.len()) + delivery_bytes(delivery)
                }
                Step::Raw { bytes, delivery, .. } => bytes.len() + delivery_bytes(delivery),
                Step::Messages(m) => match &m.source {
                    MessageSource::Bytes(b) => b.len(),
                    MessageSource::Fill(f) => f.pattern.len(),
                    MessageSource::Data { .. } | MessageSource::Bomb { .. } => 0,
                },
                Step::Expect { what, .. } => expectation_bytes(what),
                Step::ShutdownWrite | Step::Wait(_) => 0,
            };
    }
    n as u64
}

fn handshake_bytes(h: &Handshake) -> usize {
    let request = match &h.request {
        Request::Raw(r) => r.len(),
        Request::Default { headers } => headers
            .iter()
            .map(|(k, v)| size_of::<(String, Option<String>)>() + k.len() + v.as_ref().map_or(0, String::len))
            .sum(),
    };
    request + delivery_bytes(&h.delivery)
}

fn delivery_bytes(d: &Delivery) -> usize {
    d.chunks.len() * size_of::<usize>()
}

fn expectation_bytes(e: &Expectation) -> usize {
    match e {
        Expectation::Status { codes, headers, absent } => {
            codes.len() * 2
                + headers.iter().map(|(k, v)| size_of::<(String, String)>() + k.len() + v.len()).sum::<usize>()
                + absent.iter().map(|a| size_of::<String>() + a.len()).sum::<usize>()
        }
        Expectation::Message { payload, .. } | Expectation::Pong { payload } => payload.len(),
        Expectation::Close { codes, .. } => codes.len() * 2,
        _ => 0,
    }
}

/// How many writes a delivery cuts `bytes` into (all of a step's bytes form one stream).
pub(super) fn writes(bytes: u64, d: &Delivery) -> u64 {
    if bytes == 0 {
        return 0;
    }
    let cycle = d.chunks.iter().fold(0u64, |sum, &c| sum.saturating_add(c as u64));
    if cycle == 0 {
        return 1;
    }
    let (full, rest) = (bytes / cycle, bytes % cycle);
    let mut n = full.saturating_mul(d.chunks.len() as u64);
    let mut covered = 0u64;
    for &c in &d.chunks {
        if covered >= rest {
            break;
        }
        covered += c as u64;
        n += 1;
    }
    n
}

/// What one case costs so far, step by step.
#[derive(Debug, Default)]
pub(super) struct CaseCost {
    sent: SendCost,
    writes: u64,
    expected_bytes: u64,
    expected_events: u64,
}

impl CaseCost {
    /// Adds a step's cost; refused, with what the step costs and the cap, when the case goes past a cap.
    pub(super) fn add(&mut self, step: &Step) -> Result<(), String> {
        match step {
            Step::Frame { delivery, .. } | Step::Raw { delivery, .. } => self.add_send(step, delivery),
            Step::Messages(m) => {
                self.add_send(step, &Delivery::default())?;
                if m.echo {
                    self.add_expect(&Expectation::Echo, m.count as u64)?;
                }
                Ok(())
            }
            Step::Expect { what, repeat, .. } => self.add_expect(what, *repeat as u64),
            Step::ShutdownWrite | Step::Wait(_) => Ok(()),
        }
    }

    fn add_send(&mut self, step: &Step, delivery: &Delivery) -> Result<(), String> {
        let cost = SendCost::of_step(step);
        let sent = self.sent.plus(cost);
        let (frames_over, bytes_over) = (sent.frames > MAX_CASE_FRAMES, sent.bytes > MAX_CASE_BYTES);
        if frames_over || bytes_over {
            let (what, fragmented) = describe_send(step);
            let mut before = Vec::new();
            if frames_over && sent.frames != cost.frames {
                before.push(format!("{} frames", sent.frames));
            }
            if bytes_over && sent.bytes != cost.bytes {
                before.push(format!("{} bytes", sent.bytes));
            }
            let before = if before.is_empty() {
                String::new()
            } else {
                format!(", {} with the steps before it", before.join(", "))
            };
            let mut caps = Vec::new();
            if frames_over {
                caps.push(format!("{MAX_CASE_FRAMES} frames"));
            }
            if bytes_over {
                caps.push(format!("{MAX_CASE_BYTES} bytes ({})", human_bytes(MAX_CASE_BYTES)));
            }
            let advice = if cost.frames > MAX_CASE_FRAMES && fragmented {
                "raise fragment, or lower payload_len or repeat"
            } else if cost.bytes > MAX_CASE_BYTES {
                "lower repeat or the payload's size"
            } else if cost.frames > MAX_CASE_FRAMES {
                "lower repeat"
            } else {
                "split the case"
            };
            return Err(format!(
                "{what}: {}, {} bytes ({}) on the wire{before}; a case may send at most {}: {advice}",
                plural(cost.frames, "frame"),
                cost.bytes,
                human_bytes(cost.bytes),
                caps.join(" and "),
            ));
        }
        let step_writes = writes(cost.bytes, delivery);
        let total_writes = self.writes.saturating_add(step_writes);
        if total_writes > MAX_CASE_WRITES {
            let chunks = match delivery.chunks.as_slice() {
                [one] => format!("chunk = {one}"),
                list if list.len() <= 8 => format!("chunks = {list:?}"),
                list => format!("chunks ({} sizes)", list.len()),
            };
            let before = if total_writes == step_writes {
                String::new()
            } else {
                format!(", {total_writes} with the steps before it")
            };
            return Err(format!(
                "{chunks} cuts the step's {} bytes into {step_writes} writes{before}; a case may make at most \
                 {MAX_CASE_WRITES} writes: {}",
                cost.bytes,
                if step_writes > MAX_CASE_WRITES { "write larger chunks" } else { "split the case" },
            ));
        }
        self.sent = sent;
        self.writes = total_writes;
        Ok(())
    }

    fn add_expect(&mut self, what: &Expectation, repeat: u64) -> Result<(), String> {
        let events = self.expected_events.saturating_add(repeat);
        if events > MAX_CASE_FRAMES {
            return Err(format!(
                "expect repeat = {repeat}: {events} events expected in all; a case may expect at most \
                 {MAX_CASE_FRAMES} events: lower repeat"
            ));
        }
        let len = match what {
            Expectation::Message { payload, .. } | Expectation::Pong { payload } => payload.len() as u64,
            _ => 0,
        };
        let bytes = len.saturating_mul(repeat);
        let total = self.expected_bytes.saturating_add(bytes);
        if total > MAX_CASE_BYTES {
            return Err(format!(
                "expect repeat = {repeat} of a {len}-byte payload: {bytes} bytes ({}) expected{}; a case may expect \
                 at most {MAX_CASE_BYTES} bytes ({}): lower repeat or payload_len",
                human_bytes(bytes),
                if bytes == total { String::new() } else { format!(", {total} with the steps before it") },
                human_bytes(MAX_CASE_BYTES),
            ));
        }
        self.expected_events = events;
        self.expected_bytes = total;
        Ok(())
    }
}

/// `1 frame`, `2 frames`.
fn plural(n: u64, unit: &str) -> String {
    if n == 1 {
        format!("1 {unit}")
    } else {
        format!("{n} {unit}s")
    }
}

/// The fields that make a send step's cost, as written (`payload_len = 67108864, repeat = 1000000`),
/// and whether the step is fragmented.
fn describe_send(step: &Step) -> (String, bool) {
    match step {
        Step::Frame { frame, fill, fragment, repeat, .. } => {
            let mut parts = vec![match fill {
                Some(f) => format!("payload_len = {}", f.len),
                None => format!("a {}-byte payload", frame.payload.len()),
            }];
            if let Some(f) = fragment {
                parts.push(format!("fragment = {f}"));
            }
            if *repeat > 1 {
                parts.push(format!("repeat = {repeat}"));
            }
            (parts.join(", "), fragment.is_some())
        }
        Step::Raw { bytes, repeat, .. } => (format!("send_raw of {} bytes, repeat = {repeat}", bytes.len()), false),
        Step::Messages(m) => {
            let mut parts = vec![match &m.source {
                MessageSource::Bomb { inflated } => format!("bomb = {inflated}"),
                other => format!("payload_len = {}", other.plain_len()),
            }];
            if let Some(f) = m.fragment {
                parts.push(format!("fragment = {f}"));
            }
            parts.push(format!("repeat = {}", m.count));
            (parts.join(", "), m.fragment.is_some())
        }
        _ => (String::new(), false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_follow_the_chunk_cycle() {
        let d = |chunks: &[usize]| Delivery { chunks: chunks.to_vec(), pause: Default::default() };
        assert_eq!(writes(0, &d(&[])), 0);
        assert_eq!(writes(100, &d(&[])), 1);
        assert_eq!(writes(10, &d(&[1])), 10);
        assert_eq!(writes(1 << 20, &d(&[64])), 16384);
        // 2, 3, 2, 3, 2 | 1 left: 2 + 3 + 2 + 3 = 10, then 1 more write
        assert_eq!(writes(11, &d(&[2, 3])), 5);
        assert_eq!(writes(10, &d(&[2, 3])), 4);
        assert_eq!(writes(1, &d(&[2, 3])), 1);
    }

    #[test]
    fn the_budget_refuses_past_its_cap_and_keeps_count() {
        let b = Budget::default();
        b.charge(MAX_LOADED_BYTES - 10, || "most".into()).unwrap();
        assert!(b.check(10, || "ten".into()).is_ok());
        let e = b.charge(11, || "eleven more".into()).unwrap_err();
        assert!(e.starts_with("eleven more brings what the loader builds to 268435457 bytes (256 MiB)"), "{e}");
        assert_eq!(b.used(), MAX_LOADED_BYTES - 10);
    }
}
