//! Reliable, ordered delivery over the data channel, without I/O: the caller feeds in
//! arrivals, acknowledgements and the current time, and sends what these types hand out.
//!
//! - [`RetransmissionTimer`]: the reference's adaptive timeout (initial RTO 200 ms, SRTT
//!   100 ms, α = 1/8, β = 1/4, 10 ms clock granularity, capped at 1 s), with Karn's rule:
//!   retransmitted messages give no RTT sample.
//! - [`OutgoingWindow`]: sequence numbers from 0, one per `input_stream_data`, allocated
//!   together with buffering; messages stay until acknowledged; a full window pushes back
//!   on the sender instead of silently evicting the oldest unacknowledged message (the
//!   reference plugin's stall risk).
//! - [`Reorder`]: in-order delivery with a buffer for early arrivals (and for the expected
//!   message while the receiver has no room), bounded in bytes and entries, so that what
//!   is acknowledged is always held somewhere bounded until it is handed over.

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

/// Initial retransmission timeout.
pub const INITIAL_RTO: Duration = Duration::from_millis(200);
/// Initial smoothed round-trip time.
pub const INITIAL_SRTT: Duration = Duration::from_millis(100);
/// Upper bound of the retransmission timeout.
pub const MAX_RTO: Duration = Duration::from_secs(1);
/// Lower bound of the variance term.
pub const CLOCK_GRANULARITY: Duration = Duration::from_millis(10);
/// Messages held for retransmission, and arrivals held for reordering, at most.
pub const DEFAULT_CAPACITY: usize = 10_000;
/// Bytes of arrivals held for reordering at most (beyond the one expected message).
pub const REORDER_BYTES: usize = 2 * 1024 * 1024;

/// The adaptive retransmission timeout (RFC 6298 shape, reference constants).
#[derive(Clone, Debug, PartialEq)]
pub struct RetransmissionTimer {
    srtt: Duration,
    rttvar: Duration,
    rto: Duration,
}

impl Default for RetransmissionTimer {
    fn default() -> Self {
        Self {
            srtt: INITIAL_SRTT,
            rttvar: Duration::ZERO,
            rto: INITIAL_RTO,
        }
    }
}

impl RetransmissionTimer {
    pub fn rto(&self) -> Duration {
        self.rto
    }

    /// The smoothed round-trip time.
    pub fn srtt(&self) -> Duration {
        self.srtt
    }

    /// The round-trip time's variation.
    pub fn rttvar(&self) -> Duration {
        self.rttvar
    }

    /// Folds in one round-trip sample.
    pub fn sample(&mut self, rtt: Duration) {
        let deviation = self.srtt.abs_diff(rtt);
        self.rttvar = self.rttvar.mul_f64(0.75) + deviation.mul_f64(0.25);
        self.srtt = self.srtt.mul_f64(0.875) + rtt.mul_f64(0.125);
        self.rto = (self.srtt + (self.rttvar * 4).max(CLOCK_GRANULARITY)).min(MAX_RTO);
    }
}

#[derive(Clone, Debug)]
struct Pending<M> {
    sequence: i64,
    message: M,
    first_sent: Instant,
    last_sent: Instant,
    attempts: u32,
}

/// The window is full: the sender must wait for acknowledgements.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0} messages await acknowledgement; wait before sending more")]
pub struct WindowFull(pub usize);

/// Sent, unacknowledged messages in sequence order.
#[derive(Debug)]
pub struct OutgoingWindow<M> {
    next_sequence: i64,
    pending: VecDeque<Pending<M>>,
    capacity: usize,
    timer: RetransmissionTimer,
}

impl<M> OutgoingWindow<M> {
    pub fn new(capacity: usize) -> Self {
        Self {
            next_sequence: 0,
            pending: VecDeque::new(),
            capacity: capacity.max(1),
            timer: RetransmissionTimer::default(),
        }
    }

    /// Takes the next sequence number and keeps the message built with it until it is
    /// acknowledged; returns the number. Fails without taking a number when full.
    pub fn push(&mut self, now: Instant, build: impl FnOnce(i64) -> M) -> Result<i64, WindowFull> {
        if self.pending.len() >= self.capacity {
            return Err(WindowFull(self.pending.len()));
        }
        let sequence = self.next_sequence;
        self.next_sequence += 1;
        self.pending.push_back(Pending {
            sequence,
            message: build(sequence),
            first_sent: now,
            last_sent: now,
            attempts: 1,
        });
        Ok(sequence)
    }

    /// Removes an acknowledged message; an unknown or repeated acknowledgement is a no-op.
    /// Only messages sent once give an RTT sample (Karn's rule).
    pub fn acknowledge(&mut self, sequence: i64, now: Instant) -> bool {
        let Some(index) = self.pending.iter().position(|p| p.sequence == sequence) else {
            return false;
        };
        if let Some(acked) = self.pending.remove(index) {
            if acked.attempts == 1 {
                self.timer
                    .sample(now.saturating_duration_since(acked.first_sent));
            }
        }
        true
    }

    /// Unacknowledged messages whose timeout has passed, oldest first and at most `limit`,
    /// marked as sent again now. The caller sends them. (A limit keeps a delayed
    /// acknowledgement stream from turning into a retransmission of the whole window.)
    pub fn due(&mut self, now: Instant, limit: usize) -> Vec<&M> {
        let rto = self.timer.rto();
        self.pending
            .iter_mut()
            .filter(|p| now.saturating_duration_since(p.last_sent) >= rto)
            .take(limit)
            .map(|p| {
                p.last_sent = now;
                p.attempts += 1;
                &p.message
            })
            .collect()
    }

    /// [`OutgoingWindow::due`] bounded in bytes too (`size` tells a message's): a burst
    /// of retransmissions never exceeds `max_bytes`, though it always holds at least one
    /// message when one is due.
    pub fn due_within(
        &mut self,
        now: Instant,
        max_messages: usize,
        max_bytes: usize,
        size: impl Fn(&M) -> usize,
    ) -> Vec<&M> {
        let rto = self.timer.rto();
        let mut bytes = 0usize;
        let mut taken = Vec::new();
        for p in self
            .pending
            .iter_mut()
            .filter(|p| now.saturating_duration_since(p.last_sent) >= rto)
        {
            let length = size(&p.message);
            if taken.len() >= max_messages || (!taken.is_empty() && bytes + length > max_bytes) {
                break;
            }
            bytes += length;
            p.last_sent = now;
            p.attempts += 1;
            taken.push(&p.message);
        }
        taken
    }

    /// Makes every unacknowledged message due at once (their socket is gone): after a
    /// reconnect they go out again in bursts, oldest first.
    pub fn expire_all(&mut self, now: Instant) {
        let due = now.checked_sub(MAX_RTO).unwrap_or(now);
        for p in &mut self.pending {
            p.last_sent = p.last_sent.min(due);
        }
    }

    /// The oldest unacknowledged message if its timeout has passed, marked as sent again
    /// now: the reference agent's retransmission, which looks at nothing else.
    pub fn due_oldest(&mut self, now: Instant) -> Option<&M> {
        let rto = self.timer.rto();
        let oldest = self.pending.front_mut()?;
        if now.saturating_duration_since(oldest.last_sent) < rto {
            return None;
        }
        oldest.last_sent = now;
        oldest.attempts += 1;
        Some(&oldest.message)
    }

    /// When the oldest unacknowledged message was first sent.
    pub fn oldest_first_sent(&self) -> Option<Instant> {
        self.pending.front().map(|p| p.first_sent)
    }

    /// How long the oldest unacknowledged message has waited since it was first sent.
    pub fn oldest_age(&self, now: Instant) -> Option<Duration> {
        self.pending
            .front()
            .map(|p| now.saturating_duration_since(p.first_sent))
    }

    pub fn is_full(&self) -> bool {
        self.pending.len() >= self.capacity
    }

    /// Every unacknowledged message, oldest first, for resending after a reconnect.
    pub fn unacknowledged(&self) -> impl Iterator<Item = &M> {
        self.pending.iter().map(|p| &p.message)
    }

    /// Send attempts of the oldest unacknowledged message (the reference gives up after
    /// about 3000, i.e. 5 minutes).
    pub fn oldest_attempts(&self) -> Option<u32> {
        self.pending.front().map(|p| p.attempts)
    }

    pub fn len(&self) -> usize {
        self.pending.len()
    }

    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }

    pub fn next_sequence(&self) -> i64 {
        self.next_sequence
    }

    pub fn timer(&self) -> &RetransmissionTimer {
        &self.timer
    }
}

/// What became of an arriving sequenced message.
#[derive(Debug, PartialEq, Eq)]
pub enum Arrival<T> {
    /// Kept until it can be handed over in order: acknowledge it.
    Stored,
    /// Seen before (handed over, or kept): drop it; acknowledging it again is harmless and
    /// helps when the first acknowledgement was lost.
    Duplicate,
    /// Early, and the buffer has no room for it: it comes back, unacknowledged.
    NoRoom(T),
}

/// In-order delivery of sequenced messages, holding early arrivals — and the expected
/// message while the receiver has no room for it — in a buffer bounded in bytes and in
/// entries. The expected message is always taken (it is what lets the buffer drain), so
/// the buffer holds at most its byte limit plus one message.
#[derive(Debug)]
pub struct Reorder<T> {
    expected: i64,
    held: BTreeMap<i64, (T, usize)>,
    bytes: usize,
    byte_limit: usize,
    count_limit: usize,
}

impl<T> Reorder<T> {
    pub fn new(byte_limit: usize, count_limit: usize) -> Self {
        Self {
            expected: 0,
            held: BTreeMap::new(),
            bytes: 0,
            byte_limit,
            count_limit: count_limit.max(1),
        }
    }

    pub fn expected(&self) -> i64 {
        self.expected
    }

    /// Offers an arrival costing `size` bytes.
    pub fn offer(&mut self, sequence: i64, item: T, size: usize) -> Arrival<T> {
        if sequence < self.expected || self.held.contains_key(&sequence) {
            return Arrival::Duplicate;
        }
        if sequence != self.expected && !self.has_room(size) {
            return Arrival::NoRoom(item);
        }
        self.held.insert(sequence, (item, size));
        self.bytes += size;
        Arrival::Stored
    }

    /// Whether an early arrival of `size` bytes would be kept.
    pub fn has_room(&self, size: usize) -> bool {
        self.held.len() < self.count_limit && self.bytes + size <= self.byte_limit
    }

    /// The expected message was handed over without being stored (the fast path): expect
    /// the next one.
    pub fn advance(&mut self) {
        self.expected += 1;
    }

    /// Whether the expected message is held, waiting to be handed over.
    pub fn has_ready(&self) -> bool {
        self.held.contains_key(&self.expected)
    }

    /// The expected message, when it is held.
    pub fn peek_ready(&self) -> Option<&T> {
        self.held.get(&self.expected).map(|(item, _)| item)
    }

    /// The size of the expected message, when it is held.
    pub fn ready_size(&self) -> Option<usize> {
        self.held.get(&self.expected).map(|(_, size)| *size)
    }

    /// The expected message if it is held; taking it counts as handing it over.
    pub fn take_ready(&mut self) -> Option<T> {
        let (item, size) = self.held.remove(&self.expected)?;
        self.bytes -= size;
        self.expected += 1;
        Some(item)
    }

    /// Messages held (early arrivals, and the expected one waiting for room).
    pub fn len(&self) -> usize {
        self.held.len()
    }

    pub fn is_empty(&self) -> bool {
        self.held.is_empty()
    }

    /// Bytes held, as their sizes were given.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Drops everything held (a session that ended with a gap: what lies beyond it can
    /// never be handed over in order); returns the messages and bytes dropped.
    pub fn clear(&mut self) -> (usize, usize) {
        let dropped = (self.held.len(), self.bytes);
        self.held.clear();
        self.bytes = 0;
        dropped
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn the_timer_starts_at_the_reference_values_and_adapts() {
        let mut timer = RetransmissionTimer::default();
        assert_eq!(timer.rto(), INITIAL_RTO);
        timer.sample(100 * MS);
        // SRTT stays 100 ms, RTTVAR 0, so RTO = 100 ms + the 10 ms granularity.
        assert_eq!(timer.rto(), 110 * MS);
        for _ in 0..50 {
            timer.sample(5000 * MS);
        }
        assert_eq!(timer.rto(), MAX_RTO, "capped");
    }

    #[test]
    fn sequence_numbers_start_at_zero_and_acks_remove_messages() {
        let start = Instant::now();
        let mut window = OutgoingWindow::new(10);
        let seqs: Vec<i64> = (0..3).map(|_| window.push(start, |s| s).unwrap()).collect();
        assert_eq!(seqs, vec![0, 1, 2]);
        assert!(window.acknowledge(1, start + 30 * MS));
        assert!(
            !window.acknowledge(1, start + 31 * MS),
            "a repeated ack is a no-op"
        );
        assert!(
            !window.acknowledge(99, start + 31 * MS),
            "an unknown ack is a no-op"
        );
        assert_eq!(
            window.unacknowledged().copied().collect::<Vec<_>>(),
            vec![0, 2]
        );
    }

    #[test]
    fn a_full_window_pushes_back_instead_of_evicting() {
        let now = Instant::now();
        let mut window = OutgoingWindow::new(2);
        window.push(now, |s| s).unwrap();
        window.push(now, |s| s).unwrap();
        assert_eq!(window.push(now, |s| s), Err(WindowFull(2)));
        assert_eq!(
            window.next_sequence(),
            2,
            "no number is used up by a refused push"
        );
        assert_eq!(window.unacknowledged().count(), 2, "nothing was evicted");
        window.acknowledge(0, now);
        assert_eq!(window.push(now, |s| s), Ok(2));
    }

    #[test]
    fn unacknowledged_messages_are_resent_after_the_timeout() {
        let start = Instant::now();
        let mut window = OutgoingWindow::new(10);
        window.push(start, |s| s).unwrap();
        assert!(window.due(start + 199 * MS, usize::MAX).is_empty());
        assert_eq!(window.due(start + 200 * MS, usize::MAX), vec![&0]);
        // Marked as sent again: not due until another timeout has passed.
        assert!(window.due(start + 300 * MS, usize::MAX).is_empty());
        assert_eq!(window.due(start + 400 * MS, usize::MAX), vec![&0]);
        assert_eq!(window.oldest_attempts(), Some(3));
    }

    #[test]
    fn retransmitted_messages_give_no_rtt_sample() {
        let start = Instant::now();
        let mut window = OutgoingWindow::new(10);
        window.push(start, |s| s).unwrap();
        window.due(start + 200 * MS, usize::MAX);
        window.acknowledge(0, start + 900 * MS);
        assert_eq!(window.timer(), &RetransmissionTimer::default());
    }

    #[test]
    fn reorder_hands_over_in_order_and_recognises_duplicates() {
        let mut reorder = Reorder::new(1_000, 10);
        assert_eq!(reorder.offer(1, "b", 1), Arrival::Stored);
        assert_eq!(reorder.offer(1, "b", 1), Arrival::Duplicate);
        assert!(!reorder.has_ready());
        assert_eq!(reorder.offer(0, "a", 1), Arrival::Stored);
        assert_eq!(reorder.take_ready(), Some("a"));
        assert_eq!(reorder.take_ready(), Some("b"));
        assert_eq!(reorder.take_ready(), None);
        assert_eq!(reorder.expected(), 2);
        assert_eq!(reorder.offer(0, "a", 1), Arrival::Duplicate);
        assert!(reorder.is_empty());
        assert_eq!(reorder.bytes(), 0);
    }

    #[test]
    fn early_arrivals_beyond_the_byte_bound_come_back_but_the_expected_one_is_always_taken() {
        let mut reorder = Reorder::new(100, 10);
        assert_eq!(reorder.offer(1, 1, 60), Arrival::Stored);
        assert_eq!(reorder.offer(2, 2, 60), Arrival::NoRoom(2));
        assert_eq!(
            reorder.offer(0, 0, 500),
            Arrival::Stored,
            "the expected one"
        );
        assert_eq!(reorder.bytes(), 560);
        assert_eq!(reorder.ready_size(), Some(500));
        assert_eq!(reorder.take_ready(), Some(0));
        assert_eq!(reorder.take_ready(), Some(1));
        assert_eq!(reorder.offer(2, 2, 60), Arrival::Stored);
    }

    #[test]
    fn early_arrivals_beyond_the_entry_bound_come_back() {
        let mut reorder = Reorder::new(usize::MAX, 1);
        assert_eq!(reorder.offer(5, (), 0), Arrival::Stored);
        assert_eq!(reorder.offer(6, (), 0), Arrival::NoRoom(()));
        assert_eq!(reorder.clear(), (1, 0));
    }

    proptest! {
        /// Whatever the order and duplication of arrivals, what is handed over is every
        /// message exactly once, in sequence order, and the buffer never holds more than
        /// its bound plus the expected message.
        #[test]
        fn any_arrival_order_delivers_each_message_once_in_order(
            count in 1usize..60,
            shuffle in proptest::collection::vec(any::<proptest::sample::Index>(), 0..200),
        ) {
            let mut arrivals: Vec<i64> = (0..count as i64).collect();
            for (i, pick) in shuffle.iter().enumerate() {
                // Duplicate or swap, driven by the random input.
                let j = pick.index(arrivals.len());
                if i % 3 == 0 { arrivals.push(arrivals[j]); } else { let k = i % arrivals.len(); arrivals.swap(j, k); }
            }
            let mut reorder = Reorder::new(5 * 8, 100);
            let mut delivered = Vec::new();
            let mut pending = std::collections::VecDeque::from(arrivals);
            let mut rounds = 0;
            // What comes back for lack of room is offered again later, as a peer resends.
            while let Some(seq) = pending.pop_front() {
                rounds += 1;
                prop_assert!(rounds < 100_000);
                if let Arrival::NoRoom(seq) = reorder.offer(seq, seq, 8) {
                    pending.push_back(seq);
                }
                prop_assert!(reorder.bytes() <= 5 * 8 + 8);
                while let Some(item) = reorder.take_ready() {
                    delivered.push(item);
                }
            }
            prop_assert_eq!(delivered, (0..count as i64).collect::<Vec<_>>());
        }
    }

    #[test]
    fn a_burst_of_retransmissions_is_bounded_in_bytes_and_an_expired_window_goes_out_in_bursts() {
        let start = Instant::now();
        let mut window = OutgoingWindow::new(100);
        for _ in 0..10 {
            window.push(start, |seq| seq).unwrap();
        }
        let size = |_: &i64| 1000usize;
        // Nothing is due yet; after a reconnect everything is.
        assert!(window.due_within(start, 8, 2500, size).is_empty());
        window.expire_all(start);
        assert_eq!(window.due_within(start, 8, 2500, size), vec![&0, &1]);
        assert_eq!(window.due_within(start, 8, 2500, size), vec![&2, &3]);
        // A single message larger than the byte bound still goes out alone.
        assert_eq!(window.due_within(start, 8, 10, size), vec![&4]);
        assert_eq!(window.oldest_attempts(), Some(2));
    }

    #[test]
    fn retransmission_takes_the_oldest_messages_first_and_at_most_the_limit() {
        let start = Instant::now();
        let mut window = OutgoingWindow::new(100);
        for _ in 0..10 {
            window.push(start, |seq| seq).unwrap();
        }
        assert_eq!(window.due(start + 300 * MS, 3), vec![&0, &1, &2]);
        assert_eq!(window.due(start + 300 * MS, 3), vec![&3, &4, &5]);
    }
}
