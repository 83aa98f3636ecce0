//! The byte-bounded queue: one ring of framed records per signal, bounded in total
//! bytes across signals. When a push would exceed the bound, the oldest records (by
//! arrival, whatever their signal) are dropped and counted.
//!
//! Frames are `u32 record_len, u64 seq, record`: the sequence number orders records
//! across the three rings so "oldest" means the same thing everywhere.

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
    /// The records, in order.
    pub fn records(&self) -> impl Iterator<Item = &[u8]> {
        Frames(&self.frames)
    }
}

/// Iterates framed records in a contiguous byte slice.
struct Frames<'a>(&'a [u8]);

impl<'a> Iterator for Frames<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        let len = u32::from_le_bytes(self.0.get(..4)?.try_into().ok()?) as usize;
        let record = self.0.get(FRAME..FRAME + len)?;
        self.0 = &self.0[FRAME + len..];
        Some(record)
    }
}

/// A FIFO of frames: a byte vector whose live part starts at `head`. Pushes are one
/// memcpy; pops advance `head`. The dead prefix is reclaimed when a push would otherwise
/// grow the vector, so its capacity follows the live bytes, not the traffic.
#[derive(Debug, Default)]
struct Ring {
    data: Vec<u8>,
    head: usize,
    items: usize,
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

    /// Removes the first `size` bytes (`n` frames).
    fn pop(&mut self, size: usize, n: usize) {
        self.head += size;
        self.items -= n;
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

    /// The queued records of `signal`, oldest first.
    pub fn records(&self, signal: Signal) -> impl Iterator<Item = &[u8]> {
        Frames(self.rings[signal as usize].live())
    }

    /// Removes the first `n` records of `signal` (see [`Queue::records`]).
    pub fn take(&mut self, signal: Signal, n: usize) -> Taken {
        let ring = &mut self.rings[signal as usize];
        let n = n.min(ring.items);
        let size: usize = Frames(ring.live()).take(n).map(|r| FRAME + r.len()).sum();
        let frames = ring.live()[..size].to_vec();
        ring.pop(size, n);
        self.bytes -= size;
        Taken { frames, items: n }
    }

    /// Puts records taken earlier back at the head of their ring, then enforces the
    /// bound. Returns how many records the bound dropped.
    pub fn requeue(&mut self, signal: Signal, taken: Taken) -> u64 {
        let ring = &mut self.rings[signal as usize];
        let size = taken.frames.len();
        let mut data = taken.frames;
        data.extend_from_slice(ring.live());
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
        q.records(s).map(|r| r[0]).collect()
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
        assert_eq!(t.records().map(|r| r[0]).collect::<Vec<_>>(), vec![0, 1]);
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
        assert_eq!(q.requeue(Signal::Traces, t), 2);
        assert_eq!(names(&q, Signal::Traces), vec![2, 3, 4, 5]);
        let t = q.take(Signal::Traces, 1);
        assert_eq!(q.requeue(Signal::Traces, t), 0);
        assert_eq!(names(&q, Signal::Traces), vec![2, 3, 4, 5]);
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
        let last = q.records(Signal::Traces).last().unwrap().to_vec();
        assert_eq!(&last[..4], &99_999u32.to_le_bytes());
    }
}
