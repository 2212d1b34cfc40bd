//! The messages a session has sent and not yet seen echoed, in order (an echo server answers in
//! order: RFC 6455 gives a message no identity, so the FIFO is what an echo is checked against).
//!
//! Kept as runs: messages of consecutive sequence numbers, one size, one schedule and one send
//! time make one entry. A closed loop's batch (every message sent at once) is then one entry of
//! 40 bytes, not one per message, and taking its echoes is a counter that moves; an open loop's
//! messages, each with its own schedule, are one entry each. A message's tag is its sequence
//! number's bytes ([`crate::load::payload::PayloadBook::tag`]), so a run keeps the first sequence number only.

use std::collections::VecDeque;

/// One message sent and not yet echoed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sent {
    /// Its sequence number.
    pub seq: u64,
    /// Its payload size.
    pub size: u32,
    /// When it was scheduled to leave (clock ns).
    pub sched_ns: u64,
    /// When it was handed to the socket (clock ns).
    pub sent_ns: u64,
}

/// Messages `seq..seq + n`, each of `size` bytes, scheduled and sent at the same times.
#[derive(Debug, Clone, Copy)]
struct Run {
    first: Sent,
    n: u64,
}

/// The messages awaiting their echoes, oldest first.
#[derive(Debug, Default)]
pub struct Outstanding {
    runs: VecDeque<Run>,
    len: usize,
}

impl Outstanding {
    /// Room for `runs` runs before the first allocation.
    pub fn with_capacity(runs: usize) -> Outstanding {
        Outstanding { runs: VecDeque::with_capacity(runs), len: 0 }
    }

    /// Messages awaited.
    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether none is awaited.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Appends `n` messages: `m.seq` and the `n - 1` sequence numbers after it, all like `m`.
    #[inline]
    pub fn push(&mut self, m: Sent, n: u64) {
        if n == 0 {
            return;
        }
        self.len += n as usize;
        if let Some(back) = self.runs.back_mut() {
            let f = back.first;
            let next = f.seq.wrapping_add(back.n);
            if next == m.seq && f.size == m.size && f.sched_ns == m.sched_ns && f.sent_ns == m.sent_ns {
                back.n += n;
                return;
            }
        }
        self.runs.push_back(Run { first: m, n });
    }

    /// The oldest message awaited.
    #[inline]
    pub fn front(&self) -> Option<Sent> {
        self.runs.front().map(|r| r.first)
    }

    /// The oldest message and how many awaited after it belong to its run (same size, schedule and
    /// send time, the sequence numbers that follow): the echoes a read may take in a row.
    #[inline]
    pub fn front_run(&self) -> Option<(Sent, u64)> {
        self.runs.front().map(|r| (r.first, r.n))
    }

    /// Takes the oldest message.
    #[inline]
    pub fn pop_front(&mut self) -> Option<Sent> {
        let front = self.runs.front_mut()?;
        let m = front.first;
        if front.n > 1 {
            front.n -= 1;
            front.first.seq = m.seq.wrapping_add(1);
        } else {
            self.runs.pop_front();
        }
        self.len -= 1;
        Some(m)
    }

    /// Takes the `n` oldest messages, all of the front run ([`Outstanding::front_run`]: at most its length).
    #[inline]
    pub fn pop_front_run(&mut self, n: u64) {
        let Some(front) = self.runs.front_mut() else { return };
        let n = n.min(front.n);
        if n == front.n {
            self.runs.pop_front();
        } else {
            front.n -= n;
            front.first.seq = front.first.seq.wrapping_add(n);
        }
        self.len -= n as usize;
    }

    /// How many of the oldest messages were sent at or before `sent_by` (clock ns).
    pub fn sent_by(&self, sent_by: u64) -> u64 {
        self.runs.iter().take_while(|r| r.first.sent_ns <= sent_by).map(|r| r.n).sum()
    }

    /// Forgets every message.
    pub fn clear(&mut self) {
        self.runs.clear();
        self.len = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(seq: u64, size: u32, t: u64) -> Sent {
        Sent { seq, size, sched_ns: t, sent_ns: t }
    }

    #[test]
    fn a_batch_is_one_run_and_comes_out_message_by_message_in_order() {
        let mut o = Outstanding::default();
        o.push(m(10, 64, 5), 3);
        o.push(m(13, 64, 5), 1);
        assert_eq!(o.runs.len(), 1);
        o.push(m(14, 64, 6), 1); // another send time
        o.push(m(15, 32, 6), 1); // another size
        o.push(m(17, 32, 6), 1); // not the next sequence number
        o.push(m(18, 32, 6), 0);
        assert_eq!((o.runs.len(), o.len()), (4, 7));
        let seqs: Vec<u64> = std::iter::from_fn(|| o.pop_front()).map(|s| s.seq).collect();
        assert_eq!(seqs, [10, 11, 12, 13, 14, 15, 17]);
        assert!(o.is_empty() && o.front().is_none());
    }

    #[test]
    fn taking_part_of_the_front_run_leaves_the_rest_in_order() {
        let mut o = Outstanding::default();
        o.push(m(0, 8, 1), 5);
        o.push(m(5, 8, 2), 2);
        assert_eq!(o.front_run(), Some((m(0, 8, 1), 5)));
        o.pop_front_run(2);
        assert_eq!(o.front_run(), Some((m(2, 8, 1), 3)));
        o.pop_front_run(9); // no further than the run
        assert_eq!((o.front_run(), o.len()), (Some((m(5, 8, 2), 2)), 2));
        assert_eq!(o.sent_by(1), 0);
        assert_eq!(o.sent_by(2), 2);
        o.clear();
        assert_eq!((o.len(), o.front()), (0, None));
    }

    #[test]
    fn runs_count_the_messages_sent_by_a_time() {
        let mut o = Outstanding::default();
        o.push(m(0, 8, 10), 4);
        o.push(m(4, 8, 20), 3);
        o.push(m(7, 8, 30), 1);
        assert_eq!([5, 10, 25, 30, 99].map(|t| o.sent_by(t)), [0, 4, 7, 8, 8]);
    }
}
