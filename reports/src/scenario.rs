//! The part of a load report that a scenario run adds (`"scenario"` in the JSON): per named expect
//! step its latency (exact histogram, µs), matches and timeouts; per role its connections,
//! iterations and unsolicited messages. Shards merge exactly: steps and roles by name, histograms
//! added bucket by bucket.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::load::{decode_histogram, encode_histogram, HistogramError, Percentiles};

/// What a scenario run measured.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ScenarioReport {
    /// The scenario's name.
    pub name: String,
    /// The scenario file, as given.
    pub file: String,
    /// Each named expect step, in name order.
    pub steps: Vec<StepReport>,
    /// Each role, in name order.
    pub roles: Vec<RoleReport>,
    /// Fan-out: each receive, in name order (absent: none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deliveries: Vec<DeliveryReport>,
}

/// Fan-out: the messages one role published through the server, as another role's connections got
/// them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DeliveryReport {
    /// The receive's name.
    pub name: String,
    /// The receiving role.
    pub role: String,
    /// Delivery latency at each receiver, from the publisher's intended send time, on one process
    /// clock (µs); messages stamped by another process are counted in `untimed`.
    pub latency_us: Percentiles,
    /// Its histogram, lossless.
    pub histogram: String,
    /// Messages received, counted once per receiver.
    pub received: u64,
    /// Of them, stamped by another process (another shard's publisher): counted, not timed.
    pub untimed: u64,
    /// Messages a receiver got again.
    pub duplicates: u64,
    /// Messages a receiver got after a later one of the same publisher.
    pub out_of_order: u64,
    /// Messages a receiver never got, from the first it got to the publisher's last.
    pub missing: u64,
    /// Distinct messages published by this process's publishers and received.
    pub messages: u64,
    /// Of them, those every receiver got.
    pub reached_all: u64,
    /// Per message, the time until its last receiver had it (µs; this process's receivers).
    pub completion_us: Percentiles,
    /// Its histogram, lossless.
    pub completion_histogram: String,
}

/// One expect step.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StepReport {
    /// Its name (thresholds: `step.NAME.p99<10ms`).
    pub name: String,
    /// Its role.
    pub role: String,
    /// Latency of each matched message (µs): from the send before the step, or in open loop from
    /// when the iteration was due.
    pub latency_us: Percentiles,
    /// Waits that ran out.
    pub timeouts: u64,
    /// The latency histogram, lossless (HdrHistogram V2, base64).
    pub histogram: String,
}

/// One role.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RoleReport {
    /// Its name.
    pub name: String,
    /// Connections that play it (this shard's).
    pub connections: u64,
    /// Iterations that ran every step, in the measured phase.
    pub iterations: u64,
    /// Messages no waiting step took (counted; errors only where the role says so).
    pub unsolicited: u64,
}

impl ScenarioReport {
    /// Adds another shard's report of the same scenario.
    pub fn add(&mut self, other: &ScenarioReport) -> Result<(), HistogramError> {
        let mut steps: BTreeMap<String, StepReport> = self.steps.drain(..).map(|s| (s.name.clone(), s)).collect();
        for s in &other.steps {
            match steps.get_mut(&s.name) {
                Some(mine) => {
                    let mut h = decode_histogram(&mine.histogram)?;
                    h.add(decode_histogram(&s.histogram)?).map_err(HistogramError::Add)?;
                    mine.latency_us = Percentiles::of(&h);
                    mine.histogram = if h.is_empty() { String::new() } else { encode_histogram(&h)? };
                    mine.timeouts += s.timeouts;
                }
                None => {
                    steps.insert(s.name.clone(), s.clone());
                }
            }
        }
        self.steps = steps.into_values().collect();
        let mut roles: BTreeMap<String, RoleReport> = self.roles.drain(..).map(|r| (r.name.clone(), r)).collect();
        for r in &other.roles {
            let mine = roles
                .entry(r.name.clone())
                .or_insert_with(|| RoleReport { name: r.name.clone(), ..RoleReport::default() });
            mine.connections += r.connections;
            mine.iterations += r.iterations;
            mine.unsolicited += r.unsolicited;
        }
        self.roles = roles.into_values().collect();
        for d in &other.deliveries {
            match self.deliveries.iter_mut().find(|m| m.name == d.name) {
                Some(mine) => mine.add(d)?,
                None => self.deliveries.push(d.clone()),
            }
        }
        Ok(())
    }

    /// The receive named `name` (case-insensitively).
    pub fn delivery(&self, name: &str) -> Option<&DeliveryReport> {
        self.deliveries.iter().find(|d| d.name.eq_ignore_ascii_case(name))
    }

    /// The step named `name` (case-insensitively).
    pub fn step(&self, name: &str) -> Option<&StepReport> {
        self.steps.iter().find(|s| s.name.eq_ignore_ascii_case(name))
    }
}

impl DeliveryReport {
    /// Adds another shard's numbers: counts add up, histograms exactly; a message's completion is per
    /// process (its receivers in other shards are not seen), so completions are pooled.
    pub fn add(&mut self, o: &DeliveryReport) -> Result<(), HistogramError> {
        let merge = |a: &str, b: &str| -> Result<(Percentiles, String), HistogramError> {
            let mut h = decode_histogram(a)?;
            h.add(decode_histogram(b)?).map_err(HistogramError::Add)?;
            Ok((Percentiles::of(&h), if h.is_empty() { String::new() } else { encode_histogram(&h)? }))
        };
        (self.latency_us, self.histogram) = merge(&self.histogram, &o.histogram)?;
        (self.completion_us, self.completion_histogram) = merge(&self.completion_histogram, &o.completion_histogram)?;
        self.received += o.received;
        self.untimed += o.untimed;
        self.duplicates += o.duplicates;
        self.out_of_order += o.out_of_order;
        self.missing += o.missing;
        self.messages += o.messages;
        self.reached_all += o.reached_all;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::new_histogram;

    fn step(name: &str, values: &[u64], timeouts: u64) -> StepReport {
        let mut h = new_histogram();
        values.iter().for_each(|v| h.saturating_record(*v));
        StepReport {
            name: name.into(),
            role: "r".into(),
            latency_us: Percentiles::of(&h),
            timeouts,
            histogram: encode_histogram(&h).unwrap_or_default(),
        }
    }

    #[test]
    fn shards_add_up_exactly_by_step_and_role() {
        let role = |n: u64| RoleReport { name: "r".into(), connections: n, iterations: 10 * n, unsolicited: 1 };
        let mut a =
            ScenarioReport { steps: vec![step("call", &[100, 200], 1)], roles: vec![role(2)], ..Default::default() };
        let b = ScenarioReport {
            steps: vec![step("call", &[300], 2), step("ack", &[5], 0)],
            roles: vec![role(3)],
            ..Default::default()
        };
        a.add(&b).unwrap_or_else(|e| panic!("{e}"));
        let call = a.step("call").cloned().unwrap_or_default();
        assert_eq!((call.latency_us.count, call.latency_us.max, call.timeouts), (3, 300, 3));
        assert_eq!(a.steps.len(), 2);
        assert_eq!(a.roles, vec![RoleReport { name: "r".into(), connections: 5, iterations: 50, unsolicited: 2 }]);
    }
}
