//! Fan-out: the messages a publisher role sends through the server to every receiver, timed at each
//! receiver on the process clock the publisher stamped them with.
//!
//! Per receiver and publisher, a [`Track`] tells duplicates (a sequence number seen before) and
//! messages out of order (below the highest seen); what it got is kept as the first sequence number
//! and how many distinct ones, so that once the run is over the messages a receiver missed are the
//! publisher's last sequence number (as any receiver saw it) minus its first, plus one, minus what
//! it got. Per message, [`Completion`] (one per process, shared) keeps when the last receiver got
//! it: the time until every receiver had the message.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use hdrhistogram::Histogram;
use reports::load::new_histogram;

use crate::load::stats::ns_to_us_ceil;

/// Sequence numbers remembered per receiver and publisher (for duplicates); beyond, they are counted
/// as distinct.
pub const MAX_SEEN: usize = 100_000;
/// Messages whose completion one process keeps; beyond, they are counted, not timed.
pub const MAX_MESSAGES: usize = 1_000_000;

/// One receiver's view of one publisher.
#[derive(Debug, Clone, Default)]
pub struct Track {
    first: Option<u64>,
    highest: u64,
    distinct: u64,
    seen: HashSet<u64>,
}

/// What one delivery was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// The first time this receiver got it, in order.
    InOrder,
    /// The first time, but after a later one.
    OutOfOrder,
    /// Got before.
    Duplicate,
}

impl Track {
    /// Sequence number `seq` arrived.
    pub fn arrive(&mut self, seq: u64) -> Delivery {
        if self.seen.contains(&seq) {
            return Delivery::Duplicate;
        }
        if self.seen.len() < MAX_SEEN {
            self.seen.insert(seq);
        }
        self.distinct += 1;
        let first = *self.first.get_or_insert(seq);
        let late = self.distinct > 1 && seq < self.highest;
        self.highest = self.highest.max(seq);
        if seq < first {
            self.first = Some(seq);
        }
        if late {
            Delivery::OutOfOrder
        } else {
            Delivery::InOrder
        }
    }

    /// The first sequence number got and how many distinct ones.
    pub fn span(&self) -> Option<(u64, u64)> {
        self.first.map(|f| (f, self.distinct))
    }
}

/// One receive's numbers (per connection, then added up).
#[derive(Debug, Clone)]
pub struct DeliveryTally {
    /// The receiving role.
    pub role: String,
    /// Delivery latency of messages stamped by this process (µs).
    pub latency: Histogram<u64>,
    /// Messages received (distinct, duplicates not counted).
    pub received: u64,
    /// Of them, stamped by another process (counted, not timed).
    pub untimed: u64,
    /// Messages got again.
    pub duplicates: u64,
    /// Messages got after a later one.
    pub out_of_order: u64,
    /// Per receiver and publisher: (publisher, first sequence number, distinct received).
    pub spans: Vec<(String, u64, u64)>,
}

impl DeliveryTally {
    /// An empty tally for `role`.
    pub fn new(role: &str) -> DeliveryTally {
        DeliveryTally {
            role: role.to_owned(),
            latency: new_histogram(),
            received: 0,
            untimed: 0,
            duplicates: 0,
            out_of_order: 0,
            spans: Vec::new(),
        }
    }

    /// Adds another tally.
    pub fn add(&mut self, o: &DeliveryTally) {
        // same bounds on both sides: the addition cannot fail
        let _ = self.latency.add(&o.latency);
        self.received += o.received;
        self.untimed += o.untimed;
        self.duplicates += o.duplicates;
        self.out_of_order += o.out_of_order;
        self.spans.extend(o.spans.iter().cloned());
    }
}

/// A message: its publisher and sequence number.
type MessageId = (String, u64);

/// What a message's receivers did: its stamp, when the last of them got it, how many got it.
type Reach = (u64, u64, u64);

/// Per message of this process's publishers: its stamp, when its last receiver got it, how many got it.
#[derive(Debug, Default)]
pub struct Completion {
    messages: Mutex<HashMap<MessageId, Reach>>,
    highest: Mutex<HashMap<String, u64>>,
}

impl Completion {
    /// `publisher`'s message `seq`, stamped `stamp_ns`, reached a receiver at `now_ns`.
    pub fn reached(&self, publisher: &str, seq: u64, stamp_ns: Option<u64>, now_ns: u64) {
        {
            let mut highest = self.highest.lock().unwrap_or_else(|p| p.into_inner());
            let h = highest.entry(publisher.to_owned()).or_insert(seq);
            *h = (*h).max(seq);
        }
        let Some(stamp) = stamp_ns else { return };
        let mut messages = self.messages.lock().unwrap_or_else(|p| p.into_inner());
        let key = (publisher.to_owned(), seq);
        if let Some(m) = messages.get_mut(&key) {
            m.1 = m.1.max(now_ns);
            m.2 += 1;
        } else if messages.len() < MAX_MESSAGES {
            messages.insert(key, (stamp, now_ns, 1));
        }
    }

    /// The highest sequence number any receiver got from each publisher.
    pub fn highest(&self) -> HashMap<String, u64> {
        self.highest.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Time until the last receiver had each message (µs), and how many messages every one of
    /// `receivers` got.
    pub fn summary(&self, receivers: u64) -> (Histogram<u64>, u64, u64) {
        let messages = self.messages.lock().unwrap_or_else(|p| p.into_inner());
        let mut h = new_histogram();
        let mut all = 0;
        for (stamp, last, count) in messages.values() {
            h.saturating_record(ns_to_us_ceil(last.saturating_sub(*stamp)));
            all += u64::from(*count >= receivers);
        }
        (h, messages.len() as u64, all)
    }
}

/// Messages the receivers missed: per receiver and publisher, the publisher's highest sequence
/// number (as any receiver got it) minus the receiver's first, plus one, minus what it got.
pub fn missing(spans: &[(String, u64, u64)], highest: &HashMap<String, u64>) -> u64 {
    spans
        .iter()
        .map(|(publisher, first, distinct)| {
            let last = highest.get(publisher).copied().unwrap_or(*first);
            (last.saturating_sub(*first) + 1).saturating_sub(*distinct)
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicates_late_arrivals_and_gaps_are_told_apart() {
        let mut t = Track::default();
        let got: Vec<Delivery> = [3, 4, 6, 5, 6].iter().map(|s| t.arrive(*s)).collect();
        use Delivery::*;
        assert_eq!(got, [InOrder, InOrder, InOrder, OutOfOrder, Duplicate]);
        assert_eq!(t.span(), Some((3, 4)));
        // the publisher got up to 8 (as another receiver saw): 7 and 8 are missing here
        let highest = HashMap::from([("p".to_string(), 8u64)]);
        assert_eq!(missing(&[("p".into(), 3, 4)], &highest), 2);
    }

    #[test]
    fn completion_is_when_the_last_receiver_got_each_message() {
        let c = Completion::default();
        c.reached("p", 0, Some(1_000), 2_000_000);
        c.reached("p", 0, Some(1_000), 5_001_000);
        c.reached("p", 1, Some(2_000), 3_002_000);
        c.reached("q", 9, None, 1);
        let (h, messages, all) = c.summary(2);
        assert_eq!((messages, all), (2, 1));
        assert!(h.equivalent(h.max(), 5_000), "{}", h.max());
        assert_eq!(c.highest()["q"], 9);
    }
}
