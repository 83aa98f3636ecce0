//! Surviving the page (SPEC §8): the storage format of persisted batches and the index of
//! those one client knows, bounded by `persistBytes`. What is pure lives here;
//! [`super::delivery`] decides when a batch is written, sent and deleted, and the shell
//! carries out the storage calls it asks for.
//!
//! A batch is stored as the request it was (or would have been) sent as, so restoring it
//! means sending those bytes again, never re-encoding them:
//!
//! - key: `automagik-telemetry:<projectName>:<time>.<writer><n>.<signal>.<items>`: the
//!   time it was written (ms since the epoch, 13 digits, so keys sort oldest first), the
//!   writer's session id's first 8 characters and a counter (unique across tabs), the
//!   signal (`traces`, `metrics`, `logs`) and how many items it holds;
//! - value: [`head`], a newline, then the exact request body: base64 for a gzip body, the
//!   JSON text as is otherwise. The shell writes the body (both front doors share
//!   `crates/host/js/storage.js`); the core counts its length
//!   ([`stored_len`]).

use crate::prelude::*;

use super::json::decimal;
use super::model::Signal;
use super::pipeline::Request;

/// Every key this SDK persists starts with this, then `<projectName>:`.
pub const PREFIX: &str = "automagik-telemetry:";

/// What the shell does with a stored batch before it lets go of this page's claim on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Then {
    /// Leave it as it is.
    Keep = 0,
    /// Remove it.
    Delete = 1,
    /// Count one more attempt in its head.
    Bump = 2,
}

/// A stored batch this client knows of.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    /// Its full storage key.
    pub key: String,
    /// Its lane.
    pub signal: Signal,
    /// Items it holds.
    pub items: u64,
    /// Length of key and value, against `persistBytes`.
    pub bytes: usize,
    /// Sends made so far, as this page knows (0 for a batch an earlier load left): its
    /// backoff grows with them.
    pub attempts: u32,
    /// This page is sending it: it cannot be evicted.
    pub busy: bool,
}

/// The head of a stored value: `<encoding> <attempts> <url>`, the encoding `g` (a gzip
/// body, stored in base64) or `t` (JSON text, stored as is), the sends made so far, and
/// where it goes (a ClickHouse batch's URL carries its `insert_deduplication_token`).
pub fn head(gzip: bool, attempts: u32, url: &str) -> String {
    [
        if gzip { "g " } else { "t " },
        &decimal(attempts.into()),
        " ",
        url,
    ]
    .concat()
}

/// The stored length of a batch whose key and head are these and whose body has `body`
/// bytes: base64 takes 4 characters per 3 bytes. A text body counts its UTF-8 bytes, never
/// fewer than the UTF-16 units a `localStorage` quota counts.
pub fn stored_len(key: &str, head: &str, body: usize, gzip: bool) -> usize {
    key.len() + head.len() + 1 + if gzip { body.div_ceil(3) * 4 } else { body }
}

/// The stored batches one client knows of, oldest first, and its pending writes.
#[derive(Debug)]
pub struct Store {
    /// `automagik-telemetry:<projectName>:`.
    pub prefix: String,
    entries: Vec<Entry>,
    /// Writes not yet acknowledged by the shell, with the records to put back in the
    /// queue should the write fail.
    pub writing: Vec<(String, Option<Request>)>,
    /// Numbers this client's keys.
    counter: u32,
    /// Writes the storage refused.
    pub failed_writes: u64,
    /// The last write failed: the interval does not try again (a lane failure or the page
    /// going away still does).
    pub faulted: bool,
}

impl Store {
    /// An empty index for `project`'s keys.
    pub fn new(project: &str) -> Store {
        Store {
            prefix: [PREFIX, project, ":"].concat(),
            entries: Vec::new(),
            writing: Vec::new(),
            counter: 0,
            failed_writes: 0,
            faulted: false,
        }
    }

    /// Stored batches, oldest first.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// Their length in total.
    pub fn bytes(&self) -> usize {
        self.entries.iter().map(|e| e.bytes).sum()
    }

    /// Forgets `key`.
    pub fn remove(&mut self, key: &str) {
        if let Some(i) = self.entries.iter().position(|e| e.key == key) {
            self.entries.remove(i);
        }
    }

    /// Forgets every batch.
    pub fn clear(&mut self) {
        self.entries.clear();
    }

    /// Adds `entry` as the newest: the listing comes oldest first, before this page writes.
    pub fn push(&mut self, entry: Entry) {
        self.entries.push(entry);
    }

    /// A new key for a batch of `items` items of `signal`, written at `now` by the session
    /// `session_id`.
    pub fn key(&mut self, now: f64, session_id: &str, signal: Signal, items: usize) -> String {
        self.counter += 1;
        let writer = match session_id.get(..8).unwrap_or(session_id) {
            "" => "0",
            w => w,
        };
        [
            &self.prefix,
            &decimal(now as u64),
            ".",
            writer,
            &decimal(self.counter.into()),
            ".",
            signal.name(),
            ".",
            &decimal(items as u64),
        ]
        .concat()
    }

    /// `key` is no longer being sent by this page; `bumped`: its stored attempt count
    /// grew by one (a digit more, at most).
    pub fn release(&mut self, key: &str, bumped: bool) {
        for e in self.entries.iter_mut().filter(|e| e.key == key) {
            e.busy = false;
            e.bytes += usize::from(bumped);
            e.attempts += u32::from(bumped);
        }
    }

    /// The oldest batch of `signal` this page is not sending.
    pub fn next(&mut self, signal: Signal) -> Option<&mut Entry> {
        self.entries
            .iter_mut()
            .find(|e| e.signal == signal && !e.busy)
    }

    /// Makes room for `size` more under `max` by evicting the oldest batches this page is
    /// not sending; returns the evicted ones (their keys to remove, their items to count),
    /// or `None`, evicting nothing, when even that would not make room.
    pub fn make_room(&mut self, size: usize, max: usize) -> Option<Vec<Entry>> {
        let busy = self.entries.iter().filter(|e| e.busy).map(|e| e.bytes);
        if busy.sum::<usize>() + size > max {
            return None;
        }
        let mut total = self.bytes();
        let mut evicted = Vec::new();
        while total + size > max {
            let i = self.entries.iter().position(|e| !e.busy)?;
            let e = self.entries.remove(i);
            total -= e.bytes;
            // A write of this batch still to be acknowledged must not put its records back.
            for w in self.writing.iter_mut().filter(|w| w.0 == e.key) {
                w.1 = None;
            }
            evicted.push(e);
        }
        Some(evicted)
    }

    /// The entries in the shell's listing: a line `<key suffix> <value length>` per stored
    /// batch under the prefix, oldest first (the shell lists only keys of this format).
    pub fn parse_listing(&self, listing: &str) -> Vec<Entry> {
        let mut found = Vec::new();
        for line in listing.as_bytes().split(|&b| b == b'\n') {
            let mut fields = line.split(|&b| b == b' ');
            let (Some(suffix), Some(len)) = (fields.next(), fields.next().and_then(number)) else {
                continue;
            };
            let mut parts = suffix.rsplit(|&b| b == b'.');
            let (Some(items), Some(signal)) = (parts.next().and_then(number), parts.next()) else {
                continue;
            };
            let signal = Signal::ALL
                .into_iter()
                .find(|s| s.name().as_bytes() == signal);
            let (Some(signal), Ok(suffix)) = (signal, core::str::from_utf8(suffix)) else {
                continue;
            };
            let key = [&self.prefix, suffix].concat();
            found.push(Entry {
                bytes: key.len() + len as usize,
                key,
                signal,
                items,
                attempts: 0,
                busy: false,
            });
        }
        found
    }
}

/// A decimal number of digits only.
fn number(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() || digits.len() > 19 {
        return None;
    }
    digits.iter().try_fold(0u64, |n, &d| {
        d.is_ascii_digit().then(|| n * 10 + u64::from(d - b'0'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_head_names_the_encoding_attempts_and_url_and_lengths_count_base64() {
        assert_eq!(
            head(true, 3, "http://c/v1/traces"),
            "g 3 http://c/v1/traces"
        );
        assert_eq!(head(false, 0, "u"), "t 0 u");
        // "k" + "t 0 u" + newline + 10 bytes; base64 of 10 bytes is 16 characters.
        assert_eq!(stored_len("k", "t 0 u", 10, false), 17);
        assert_eq!(stored_len("k", "g 0 u", 10, true), 23);
        assert_eq!(stored_len("k", "g 0 u", 9, true), 19);
    }

    #[test]
    fn keys_sort_oldest_first_and_the_listing_names_signal_items_and_length() {
        let mut s = Store::new("shop");
        let k = s.key(1_733_250_000_123.0, "3f9a1c2e-aaaa", Signal::Logs, 7);
        assert_eq!(k, "automagik-telemetry:shop:1733250000123.3f9a1c2e1.logs.7");
        let listing = "1733250000123.3f9a1c2e1.logs.7 100\n\
                       1733250000999.abcdef011.traces.2 40\n\
                       1733250000123.ab1.spans.7 1\n\
                       1733250000123.ab1.logs.x 1\n\
                       1733250000123.ab1.logs.7\n";
        let found = s.parse_listing(listing);
        assert_eq!(found.len(), 2);
        for e in found {
            s.push(e);
        }
        let keys: Vec<_> = s.entries().iter().map(|e| e.key.as_str()).collect();
        assert_eq!(keys[0], k);
        assert!(keys[1].ends_with(".traces.2"));
        assert_eq!(s.entries()[0].bytes, k.len() + 100);
        assert_eq!(s.entries()[0].items, 7);
        assert_eq!(s.next(Signal::Traces).unwrap().items, 2);
        s.remove(&k);
        assert_eq!(s.entries().len(), 1);
    }

    #[test]
    fn room_is_made_by_evicting_the_oldest_batches_this_page_is_not_sending() {
        let mut s = Store::new("p");
        for (i, busy) in [(1, true), (2, false), (3, false)] {
            s.push(Entry {
                key: format!("k{i}"),
                signal: Signal::Traces,
                items: i,
                bytes: 100,
                attempts: 0,
                busy,
            });
        }
        assert_eq!(s.make_room(250, 300), None, "the busy batch leaves 200");
        assert_eq!(s.bytes(), 300, "nothing was evicted for nothing");
        let evicted = s.make_room(150, 300).unwrap();
        assert_eq!(
            evicted.iter().map(|e| e.key.as_str()).collect::<Vec<_>>(),
            ["k2", "k3"]
        );
        assert_eq!(s.bytes(), 100);
        assert_eq!(s.make_room(200, 300).unwrap(), vec![]);
    }
}
