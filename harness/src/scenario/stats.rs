//! What scenario connections count: per named expect step, the latency of every match (an exact
//! HdrHistogram, µs), matches and timeouts; per role, iterations completed and messages no step
//! waited for; the messages sent and the open-loop send lag. One [`Tally`] per connection, added up
//! at the end.

use std::collections::BTreeMap;

use hdrhistogram::Histogram;
use reports::load::new_histogram;

use super::fanout::DeliveryTally;
use crate::load::stats::ns_to_us_ceil;

/// One expect step's numbers.
#[derive(Debug, Clone)]
pub struct StepTally {
    /// The role the step belongs to.
    pub role: String,
    /// Latency of each match (µs).
    pub latency: Histogram<u64>,
    /// Waits that ran out.
    pub timeouts: u64,
}

impl StepTally {
    fn new(role: &str) -> StepTally {
        StepTally { role: role.to_owned(), latency: new_histogram(), timeouts: 0 }
    }
}

/// One role's counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RoleTally {
    /// Iterations that ran every step.
    pub iterations: u64,
    /// Messages no waiting step took.
    pub unsolicited: u64,
}

/// Everything counted, for one connection or added up.
#[derive(Debug, Clone)]
pub struct Tally {
    /// Per expect step, by name.
    pub steps: BTreeMap<String, StepTally>,
    /// Per role, by name.
    pub roles: BTreeMap<String, RoleTally>,
    /// Messages sent (warmup included).
    pub sent: u64,
    /// Open loop: how late each iteration's first send left (µs).
    pub send_lag: Histogram<u64>,
    /// Handshakes (µs).
    pub handshake: Histogram<u64>,
    /// Errors by detail (`timeout step call`, `unsolicited caller`, `unexpected_close 1011`).
    pub errors: BTreeMap<String, u64>,
    /// Fan-out: per receive, by name.
    pub deliveries: BTreeMap<String, DeliveryTally>,
}

impl Default for Tally {
    fn default() -> Tally {
        Tally {
            steps: BTreeMap::new(),
            roles: BTreeMap::new(),
            sent: 0,
            send_lag: new_histogram(),
            handshake: new_histogram(),
            errors: BTreeMap::new(),
            deliveries: BTreeMap::new(),
        }
    }
}

impl Tally {
    /// A message sent.
    pub fn sent(&mut self) {
        self.sent += 1;
    }

    /// A message that a waiting step of `role` named `step` took, `latency_ns` after what it answers.
    pub fn matched(&mut self, role: &str, step: &str, latency_ns: u64) {
        let us = ns_to_us_ceil(latency_ns);
        with_named(&mut self.steps, step, || StepTally::new(role), |s| s.latency.saturating_record(us));
    }

    /// A wait of `step` that ran out.
    pub fn timeout(&mut self, role: &str, step: &str) {
        with_named(&mut self.steps, step, || StepTally::new(role), |s| s.timeouts += 1);
        self.error(format!("timeout step {step}"));
    }

    /// An iteration of `role` that ran every step.
    pub fn iteration(&mut self, role: &str) {
        with_named(&mut self.roles, role, RoleTally::default, |r| r.iterations += 1);
    }

    /// A message of `role`'s connection that no step waited for; an error if the role says so.
    pub fn unsolicited(&mut self, role: &str, is_error: bool) {
        with_named(&mut self.roles, role, RoleTally::default, |r| r.unsolicited += 1);
        if is_error {
            self.error(format!("unsolicited {role}"));
        }
    }

    /// How late an open-loop iteration's first send left.
    pub fn send_lag(&mut self, lag_ns: u64) {
        self.send_lag.saturating_record(if lag_ns == 0 { 0 } else { ns_to_us_ceil(lag_ns) });
    }

    /// An error, by its detail.
    pub fn error(&mut self, detail: String) {
        *self.errors.entry(detail).or_default() += 1;
    }

    /// Adds another tally (histograms exactly).
    pub fn add(&mut self, o: &Tally) {
        for (name, s) in &o.steps {
            let mine = self.steps.entry(name.clone()).or_insert_with(|| StepTally::new(&s.role));
            // same bounds on both sides: the addition cannot fail
            let _ = mine.latency.add(&s.latency);
            mine.timeouts += s.timeouts;
        }
        for (name, r) in &o.roles {
            let mine = self.roles.entry(name.clone()).or_default();
            mine.iterations += r.iterations;
            mine.unsolicited += r.unsolicited;
        }
        self.sent += o.sent;
        let _ = self.send_lag.add(&o.send_lag);
        let _ = self.handshake.add(&o.handshake);
        for (k, v) in &o.errors {
            *self.errors.entry(k.clone()).or_default() += v;
        }
        for (name, d) in &o.deliveries {
            self.delivery(name, &d.role, |mine| mine.add(d));
        }
    }

    /// `f` on the tally of the receive named `name`, of `role`.
    pub fn delivery<R>(&mut self, name: &str, role: &str, f: impl FnOnce(&mut DeliveryTally) -> R) -> R {
        with_named(&mut self.deliveries, name, || DeliveryTally::new(role), f)
    }

    /// Errors in all.
    pub fn error_count(&self) -> u64 {
        self.errors.values().sum()
    }
}

/// `f` on the entry of `map` named `name`, made by `new` if there is none: the name is copied only
/// then (a step or a receive is tallied per message; `entry` would allocate its key each time).
fn with_named<T, R>(
    map: &mut BTreeMap<String, T>,
    name: &str,
    new: impl FnOnce() -> T,
    f: impl FnOnce(&mut T) -> R,
) -> R {
    match map.get_mut(name) {
        Some(entry) => f(entry),
        None => f(map.entry(name.to_owned()).or_insert_with(new)),
    }
}
