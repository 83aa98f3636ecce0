//! The byte-bounded queue: one ring of framed records per signal, bounded in total
//! bytes across signals. When a push would exceed the bound, the oldest records (by
//! arrival, whatever their signal) are dropped and counted.
//!
//! Frames are `u32 record_len, u64 seq, record`: the sequence number orders records
//! across the three rings so "oldest" means the same thing everywhere, and lets a flush
//! name "everything queued before now" as one number.
//!
//! Records taken for a request that comes back go back in sequence order. A batch whose
//! retries ran out goes back *sealed*: the next
//! request of that signal then carries exactly those records again, never merged with
//! newer ones, so a backend that deduplicates by batch (ClickHouse's
//! `insert_deduplication_token`) sees the same block.

use crate::prelude::*;

use super::model::Signal;

const FRAME: usize = 12;

/// Records taken off the front of a ring, still framed so they can be put back.
#[derive(Debug, Default)]
pub struct Taken {
    frames: Vec<u8>,
    /// Number of records.
    pub items: usize,
}

impl Taken {
    /// The records with their sequence numbers, in order.
    pub fn records(&self) -> impl Iterator<Item = (u64, &[u8])> {
        Frames(&self.frames)
    }

    /// The sequence number of the first record (`u64::MAX` when empty).
    pub fn first_seq(&self) -> u64 {
        Frames(&self.frames).next().map_or(u64::MAX, |(seq, _)| seq)
    }

    /// Bytes of the framed records.
    pub fn bytes(&self) -> usize {
        self.frames.len()
    }
}

/// Iterates framed records in a contiguous byte slice.
struct Frames<'a>(&'a [u8]);

impl<'a> Iterator for Frames<'a> {
    type Item = (u64, &'a [u8]);

    fn next(&mut self) -> Option<(u64, &'a [u8])> {
        let len = u32::from_le_bytes(self.0.get(..4)?.try_into().ok()?) as usize;
        let seq = u64::from_le_bytes(self.0.get(4..FRAME)?.try_into().ok()?);
        let record = self.0.get(FRAME..FRAME + len)?;
        self.0 = &self.0[FRAME + len..];
        Some((seq, record))
    }
}

/// A sealed block at the head of a ring: its first `items` records go out together, as
/// the batch identified by `token`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Seal {
    /// Records of the block still queued (the byte bound may drop its oldest).
    pub items: usize,
    /// The block's identity, the same at every resend.
    pub token: u64,
}

/// A FIFO of frames: a byte vector whose live part starts at `head`. Pushes are one
/// memcpy; pops advance `head`. The dead prefix is reclaimed when a push would otherwise
/// grow the vector, so its capacity follows the live bytes, not the traffic.
#[derive(Debug, Default)]
struct Ring {
    data: Vec<u8>,
    head: usize,
    items: usize,
    /// Sealed blocks at the head, in ring order.
    seals: Vec<Seal>,
}

impl Ring {
    fn live(&self) -> &[u8] {
        &self.data[self.head..]
    }

    fn push(&mut self, parts: &[&[u8]]) {
        let n: usize = parts.iter().map(|p| p.len()).sum();
        if self.head > 0 && self.data.len() + n > self.data.capacity() {
            self.data.drain(..self.head);
            self.head = 0;
        }
        parts.iter().for_each(|p| self.data.extend_from_slice(p));
        self.items += 1;
    }

    /// Size and sequence number of the oldest frame.
    fn front(&self) -> Option<(usize, u64)> {
        let live = self.live();
        let len = u32::from_le_bytes(live.get(..4)?.try_into().ok()?) as usize;
        Some((
            FRAME + len,
            u64::from_le_bytes(live.get(4..FRAME)?.try_into().ok()?),
        ))
    }

    /// Removes the first `size` bytes (`n` frames), shrinking the seals they belonged to.
    fn pop(&mut self, size: usize, n: usize) {
        self.head += size;
        self.items -= n;
        let mut left = n;
        while left > 0 && !self.seals.is_empty() {
            let cut = left.min(self.seals[0].items);
            self.seals[0].items -= cut;
            left -= cut;
            if self.seals[0].items == 0 {
                self.seals.remove(0);
            }
        }
        if self.items == 0 {
            self.data.clear();
            self.head = 0;
        }
    }
}

/// Queued records for all signals, bounded by `max_bytes` in total.
#[derive(Debug)]
pub struct Queue {
    rings: [Ring; 3],
    bytes: usize,
    max_bytes: usize,
    seq: u64,
}

impl Queue {
    /// An empty queue holding at most `max_bytes` of frames.
    pub fn new(max_bytes: usize) -> Self {
        Queue {
            rings: Default::default(),
            bytes: 0,
            max_bytes,
            seq: 0,
        }
    }

    /// Queued records of `signal`.
    pub fn items(&self, signal: Signal) -> usize {
        self.rings[signal as usize].items
    }

    /// Queued bytes across signals.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Appends a record made of `head` then `body`, dropping the oldest records if the
    /// bound requires it. Returns how many records were dropped (the new one counts if
    /// it is larger than the whole bound).
    pub fn push(&mut self, signal: Signal, head: &[u8], body: &[u8]) -> u64 {
        let len = head.len() + body.len();
        if FRAME + len > self.max_bytes {
            return 1;
        }
        let dropped = self.make_room(FRAME + len);
        self.rings[signal as usize].push(&[
            &(len as u32).to_le_bytes(),
            &self.seq.to_le_bytes(),
            head,
            body,
        ]);
        self.seq += 1;
        self.bytes += FRAME + len;
        dropped
    }

    /// Drops oldest records until `extra` more bytes fit; returns how many.
    fn make_room(&mut self, extra: usize) -> u64 {
        let mut dropped = 0;
        while self.bytes + extra > self.max_bytes {
            let oldest = self
                .rings
                .iter()
                .enumerate()
                .filter_map(|(i, r)| r.front().map(|(size, seq)| (seq, size, i)))
                .min();
            let Some((_, size, i)) = oldest else { break };
            self.rings[i].pop(size, 1);
            self.bytes -= size;
            dropped += 1;
        }
        dropped
    }

    /// The queued records of `signal` with their sequence numbers, oldest first.
    pub fn records(&self, signal: Signal) -> impl Iterator<Item = (u64, &[u8])> {
        Frames(self.rings[signal as usize].live())
    }

    /// The sequence number the next pushed record gets: every record queued so far has
    /// a smaller one.
    pub fn next_seq(&self) -> u64 {
        self.seq
    }

    /// The sequence number of the oldest queued record of `signal`.
    pub fn front_seq(&self, signal: Signal) -> Option<u64> {
        self.rings[signal as usize].front().map(|(_, seq)| seq)
    }

    /// The sealed block at the head of `signal`'s ring, if any.
    pub fn seal(&self, signal: Signal) -> Option<Seal> {
        self.rings[signal as usize].seals.first().copied()
    }

    /// Removes the first `n` records of `signal` (see [`Queue::records`]).
    pub fn take(&mut self, signal: Signal, n: usize) -> Taken {
        let ring = &mut self.rings[signal as usize];
        let n = n.min(ring.items);
        let size: usize = Frames(ring.live())
            .take(n)
            .map(|(_, r)| FRAME + r.len())
            .sum();
        let frames = ring.live()[..size].to_vec();
        ring.pop(size, n);
        self.bytes -= size;
        Taken { frames, items: n }
    }

    /// Puts records taken earlier back at the head of their ring, sealed as the block
    /// `seal` when given, then enforces the bound. Returns how many records the bound
    /// dropped. Two requests of one lane can come back in either order (unload sends
    /// several), so the records are merged by sequence number: the ring stays oldest
    /// first, as flushes read it. A sealed block stays whole (a request takes one block,
    /// or newer records only: no queued record falls inside a block).
    pub fn requeue(&mut self, signal: Signal, taken: Taken, seal: Option<u64>) -> u64 {
        let ring = &mut self.rings[signal as usize];
        if let Some(token) = seal.filter(|_| taken.items > 0) {
            let first = taken.first_seq();
            let older = Frames(ring.live())
                .take_while(|(seq, _)| *seq < first)
                .count();
            let mut covered = 0;
            let index = ring
                .seals
                .iter()
                .take_while(|s| {
                    covered += s.items;
                    covered <= older
                })
                .count();
            ring.seals.insert(
                index,
                Seal {
                    items: taken.items,
                    token,
                },
            );
        }
        let size = taken.frames.len();
        let mut data = Vec::with_capacity(ring.live().len() + size);
        let mut back = Frames(&taken.frames).peekable();
        let mut queued = Frames(ring.live()).peekable();
        loop {
            let newer_queued = match (back.peek(), queued.peek()) {
                (Some(b), Some(q)) => q.0 < b.0,
                (b, _) => b.is_none(),
            };
            let next = if newer_queued {
                queued.next()
            } else {
                back.next()
            };
            let Some((seq, record)) = next else { break };
            data.extend_from_slice(&(record.len() as u32).to_le_bytes());
            data.extend_from_slice(&seq.to_le_bytes());
            data.extend_from_slice(record);
        }
        ring.data = data;
        ring.head = 0;
        ring.items += taken.items;
        self.bytes += size;
        self.make_room(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(q: &Queue, s: Signal) -> Vec<u8> {
        q.records(s).map(|(_, r)| r[0]).collect()
    }

    #[test]
    fn records_come_out_in_order_per_signal() {
        let mut q = Queue::new(1 << 20);
        for i in 0..5u8 {
            assert_eq!(q.push(Signal::Traces, &[i], b"body"), 0);
        }
        q.push(Signal::Logs, &[9], b"");
        assert_eq!(q.items(Signal::Traces), 5);
        assert_eq!(q.bytes(), 5 * (FRAME + 5) + FRAME + 1);
        assert_eq!(names(&q, Signal::Traces), vec![0, 1, 2, 3, 4]);
        let t = q.take(Signal::Traces, 2);
        assert_eq!(t.items, 2);
        assert_eq!(
            t.records().map(|(_, r)| r[0]).collect::<Vec<_>>(),
            vec![0, 1]
        );
        assert_eq!(t.first_seq(), 0);
        assert_eq!(q.front_seq(Signal::Traces), Some(2));
        assert_eq!(q.front_seq(Signal::Logs), Some(5));
        assert_eq!(q.next_seq(), 6);
        assert_eq!(names(&q, Signal::Traces), vec![2, 3, 4]);
        assert_eq!(names(&q, Signal::Logs), vec![9]);
    }

    #[test]
    fn a_full_queue_drops_the_oldest_across_signals() {
        let rec = FRAME + 10;
        let mut q = Queue::new(3 * rec);
        q.push(Signal::Metrics, &[0], &[0; 9]);
        q.push(Signal::Traces, &[1], &[0; 9]);
        q.push(Signal::Logs, &[2], &[0; 9]);
        assert_eq!(q.push(Signal::Traces, &[3], &[0; 9]), 1);
        assert_eq!(q.items(Signal::Metrics), 0);
        assert_eq!(names(&q, Signal::Traces), vec![1, 3]);
        assert_eq!(q.push(Signal::Logs, &[4], &[0; 9]), 1);
        assert_eq!(names(&q, Signal::Traces), vec![3]);
        assert_eq!(q.bytes(), 3 * rec);
    }

    #[test]
    fn a_record_larger_than_the_bound_is_refused() {
        let mut q = Queue::new(32);
        assert_eq!(q.push(Signal::Traces, &[0], &[0; 64]), 1);
        assert_eq!(q.items(Signal::Traces), 0);
    }

    #[test]
    fn requeued_records_return_to_the_head_and_stay_bounded() {
        let rec = FRAME + 2;
        let mut q = Queue::new(4 * rec);
        for i in 0..3u8 {
            q.push(Signal::Traces, &[i], &[0]);
        }
        let t = q.take(Signal::Traces, 2);
        q.push(Signal::Traces, &[3], &[0]);
        q.push(Signal::Traces, &[4], &[0]);
        q.push(Signal::Traces, &[5], &[0]);
        assert_eq!(q.requeue(Signal::Traces, t, None), 2);
        assert_eq!(names(&q, Signal::Traces), vec![2, 3, 4, 5]);
        let t = q.take(Signal::Traces, 1);
        assert_eq!(q.requeue(Signal::Traces, t, None), 0);
        assert_eq!(names(&q, Signal::Traces), vec![2, 3, 4, 5]);
    }

    // Found by `delivery_props`: records put back were prepended, so two requests of one
    // lane coming back oldest first left the ring out of order.
    #[test]
    fn records_put_back_in_any_order_come_out_oldest_first() {
        let mut q = Queue::new(1 << 20);
        for i in 0..3u8 {
            q.push(Signal::Traces, &[i], b"");
        }
        let a = q.take(Signal::Traces, 1);
        let b = q.take(Signal::Traces, 2);
        q.push(Signal::Traces, &[3], b"");
        q.requeue(Signal::Traces, a, None);
        assert_eq!(names(&q, Signal::Traces), vec![0, 3]);
        // A request that spans b's records, and b, come back in either order.
        let c = q.take(Signal::Traces, 2);
        q.push(Signal::Traces, &[4], b"");
        q.requeue(Signal::Traces, b, None);
        assert_eq!(names(&q, Signal::Traces), vec![1, 2, 4]);
        q.requeue(Signal::Traces, c, None);
        assert_eq!(names(&q, Signal::Traces), vec![0, 1, 2, 3, 4]);
        assert_eq!(q.front_seq(Signal::Traces), Some(0));
    }

    #[test]
    fn memory_stays_flat_under_sustained_overflow() {
        let mut q = Queue::new(64 * 1024);
        let mut dropped = 0;
        for i in 0..100_000u32 {
            dropped += q.push(Signal::Traces, &i.to_le_bytes(), &[7; 60]);
        }
        assert!(q.bytes() <= 64 * 1024);
        assert!(
            q.rings[0].data.capacity() <= 2 * 64 * 1024,
            "capacity follows the bound"
        );
        assert_eq!(dropped as usize + q.items(Signal::Traces), 100_000);
        let last = q.records(Signal::Traces).last().unwrap().1.to_vec();
        assert_eq!(&last[..4], &99_999u32.to_le_bytes());
    }

    #[test]
    fn a_sealed_block_keeps_its_token_and_shrinks_when_the_bound_drops_its_oldest() {
        let rec = FRAME + 2;
        let mut q = Queue::new(4 * rec);
        for i in 0..3u8 {
            q.push(Signal::Logs, &[i], &[0]);
        }
        let t = q.take(Signal::Logs, 3);
        let token = t.first_seq();
        q.push(Signal::Logs, &[3], &[0]);
        assert_eq!(q.requeue(Signal::Logs, t, Some(token)), 0);
        assert_eq!(q.seal(Signal::Logs), Some(Seal { items: 3, token }));
        q.push(Signal::Logs, &[4], &[0]);
        assert_eq!(q.seal(Signal::Logs), Some(Seal { items: 2, token }));
        let t = q.take(Signal::Logs, 2);
        assert_eq!(q.seal(Signal::Logs), None);
        assert_eq!(
            t.records().map(|(_, r)| r[0]).collect::<Vec<_>>(),
            vec![1, 2]
        );
    }
}
