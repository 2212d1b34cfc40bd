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
    /// Every sequence number in `run.0..run.1` was got: messages in order only move its end.
    run: (u64, u64),
    /// The others got, outside the run (at most [`MAX_SEEN`]).
    seen: HashSet<u64>,
    /// Whether this process stamped the publisher's messages (it runs here).
    timed: bool,
}

/// What one receiver got from one publisher, for the missing count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Span {
    /// The publisher.
    pub publisher: String,
    /// The first sequence number got, and the highest.
    pub first: u64,
    /// The highest sequence number got.
    pub last: u64,
    /// Distinct sequence numbers got.
    pub distinct: u64,
    /// Whether the publisher runs in this process (its last message is known: the receivers linger
    /// until it has ended).
    pub timed: bool,
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
    /// Sequence number `seq` arrived; `stamped`: this process stamped it (the publisher runs here).
    pub fn arrive(&mut self, seq: u64, stamped: bool) -> Delivery {
        self.timed |= stamped;
        if (self.run.0..self.run.1).contains(&seq) || self.seen.contains(&seq) {
            return Delivery::Duplicate;
        }
        self.remember(seq);
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

    /// Adds `seq` (not got before) to the run when it extends it, else to `seen`.
    fn remember(&mut self, seq: u64) {
        let (lo, hi) = &mut self.run;
        if self.distinct == 0 && seq < u64::MAX {
            (*lo, *hi) = (seq, seq + 1);
        } else if seq == *hi && *hi < u64::MAX {
            *hi += 1;
            while *hi < u64::MAX && self.seen.remove(hi) {
                *hi += 1;
            }
        } else if seq.checked_add(1) == Some(*lo) {
            *lo = seq;
            while *lo > 0 && self.seen.remove(&(*lo - 1)) {
                *lo -= 1;
            }
        } else if self.seen.len() < MAX_SEEN {
            self.seen.insert(seq);
        }
    }

    /// What was got from `publisher`, if anything.
    pub fn span(&self, publisher: &str) -> Option<Span> {
        let first = self.first?;
        let (last, distinct, timed) = (self.highest, self.distinct, self.timed);
        Some(Span { publisher: publisher.to_owned(), first, last, distinct, timed })
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
    /// Per receiver and publisher: what it got.
    pub spans: Vec<Span>,
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

    /// Counts one arrival at `now_ns`, timed from `stamp` when this process stamped it; whether it
    /// is a new message (a duplicate is only counted as one).
    pub fn count(&mut self, arrival: Delivery, stamp: Option<u64>, now_ns: u64) -> bool {
        match arrival {
            Delivery::Duplicate => {
                self.duplicates += 1;
                return false;
            }
            Delivery::OutOfOrder => self.out_of_order += 1,
            Delivery::InOrder => {}
        }
        self.received += 1;
        match stamp {
            Some(s) => self.latency.saturating_record(ns_to_us_ceil(now_ns.saturating_sub(s))),
            None => self.untimed += 1,
        }
        true
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

/// What a message's receivers did: its stamp, when the last of them got it, how many got it.
type Reach = (u64, u64, u64);

/// One publisher's messages, as this process's receivers got them.
#[derive(Debug, Default)]
struct Published {
    /// The highest sequence number any receiver got.
    highest: u64,
    /// Per sequence number stamped by this process.
    messages: HashMap<u64, Reach>,
}

/// Per message of this process's publishers: its stamp, when its last receiver got it, how many got it.
#[derive(Debug, Default)]
pub struct Completion {
    publishers: Mutex<(HashMap<String, Published>, usize)>,
}

impl Completion {
    /// `publisher`'s message `seq`, stamped `stamp_ns`, reached a receiver at `now_ns`.
    pub fn reached(&self, publisher: &str, seq: u64, stamp_ns: Option<u64>, now_ns: u64) {
        let mut guard = self.publishers.lock().unwrap_or_else(|p| p.into_inner());
        let (publishers, kept) = &mut *guard;
        if !publishers.contains_key(publisher) {
            publishers.insert(publisher.to_owned(), Published { highest: seq, ..Published::default() });
        }
        let Some(p) = publishers.get_mut(publisher) else { return };
        p.highest = p.highest.max(seq);
        let Some(stamp) = stamp_ns else { return };
        if let Some(m) = p.messages.get_mut(&seq) {
            m.1 = m.1.max(now_ns);
            m.2 += 1;
        } else if *kept < MAX_MESSAGES {
            p.messages.insert(seq, (stamp, now_ns, 1));
            *kept += 1;
        }
    }

    /// The highest sequence number any receiver got from each publisher.
    pub fn highest(&self) -> HashMap<String, u64> {
        let guard = self.publishers.lock().unwrap_or_else(|p| p.into_inner());
        guard.0.iter().map(|(name, p)| (name.clone(), p.highest)).collect()
    }

    /// Time until the last receiver had each message (µs), and how many messages every one of
    /// `receivers` got.
    pub fn summary(&self, receivers: u64) -> (Histogram<u64>, u64, u64) {
        let guard = self.publishers.lock().unwrap_or_else(|p| p.into_inner());
        let mut h = new_histogram();
        let mut all = 0;
        for (stamp, last, count) in guard.0.values().flat_map(|p| p.messages.values()) {
            h.saturating_record(ns_to_us_ceil(last.saturating_sub(*stamp)));
            all += u64::from(*count >= receivers);
        }
        (h, guard.1 as u64, all)
    }
}

/// Messages the receivers missed: per receiver and publisher, the sequence numbers from its first to
/// the publisher's last it did not get. A publisher of this process ended before its receivers did,
/// so its last is the highest any receiver here got (`highest`); another process's publisher may go
/// on after a receiver here has closed, so only the gaps up to the receiver's own last count.
pub fn missing(spans: &[Span], highest: &HashMap<String, u64>) -> u64 {
    spans
        .iter()
        .map(|s| {
            let last = if s.timed { highest.get(&s.publisher).copied().unwrap_or(s.last) } else { s.last };
            (last.saturating_sub(s.first) + 1).saturating_sub(s.distinct)
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicates_late_arrivals_and_gaps_are_told_apart() {
        let mut t = Track::default();
        let got: Vec<Delivery> = [3, 4, 6, 5, 6].iter().map(|s| t.arrive(*s, false)).collect();
        use Delivery::*;
        assert_eq!(got, [InOrder, InOrder, InOrder, OutOfOrder, Duplicate]);
        let span = t.span("p").unwrap_or_else(|| panic!("got something"));
        assert_eq!((span.first, span.last, span.distinct), (3, 6, 4));
        // the publisher got up to 8 (as another receiver saw): 7 and 8 are missing here
        let highest = HashMap::from([("p".to_string(), 8u64)]);
        assert_eq!(missing(&[Span { timed: true, ..span.clone() }], &highest), 2);
        // from another process, whose last message may have come after this receiver closed: the
        // gaps only (none here)
        assert_eq!(missing(&[span], &highest), 0);
        let mut gap = Track::default();
        let got: Vec<Delivery> = [1, 2, 5].iter().map(|s| gap.arrive(*s, false)).collect();
        assert_eq!(got, [Delivery::InOrder; 3]);
        assert_eq!(gap.span("q").map(|s| missing(&[s], &HashMap::new())), Some(2));
        // a message this process stamped makes the span timed: its missing counts up to the highest
        assert_eq!(t.span("p").map(|s| s.timed), Some(false));
        t.arrive(7, true);
        assert_eq!(t.span("p").map(|s| (s.timed, missing(&[s], &highest))), Some((true, 1)));
    }

    #[test]
    fn a_run_grows_both_ways_and_absorbs_what_was_seen_out_of_it() {
        let mut t = Track::default();
        let got: Vec<Delivery> =
            [10, 9, 8, 12, 11, 8, 12, 13, u64::MAX, u64::MAX].iter().map(|s| t.arrive(*s, false)).collect();
        use Delivery::*;
        let want =
            [InOrder, OutOfOrder, OutOfOrder, InOrder, OutOfOrder, Duplicate, Duplicate, InOrder, InOrder, Duplicate];
        assert_eq!(got, want);
        assert_eq!((t.run, t.seen.len()), ((8, 14), 1));
        assert_eq!(t.span("p").map(|s| (s.first, s.distinct)), Some((8, 7)));
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
