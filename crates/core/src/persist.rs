//! Surviving the page (SPEC §8): the storage format of persisted batches and the index of
//! those one client knows, bounded by `persistBytes`. What is pure lives here;
//! [`super::delivery`] decides when a batch is written, claimed, sent and deleted, and the
//! shell carries out the storage calls it asks for.
//!
//! A batch is stored as the request it was (or would have been) sent as, so restoring it
//! means sending those bytes again, never re-encoding them:
//!
//! - key: `automagik-telemetry:<projectName>:<time>.<writer><n>.<signal>.<items>`: the
//!   time it was written (ms since the epoch, 13 digits, so keys sort oldest first), the
//!   writer's session id's first 8 characters and a counter (unique across tabs), the
//!   signal (`traces`, `metrics`, `logs`) and how many items it holds;
//! - value: `<encoding> <attempts> <url>\n<body>`: `g` for a gzip body in base64, `t` for a
//!   JSON body as is; the attempts made so far; the URL it goes to (a ClickHouse batch's
//!   carries its `insert_deduplication_token`); then the exact request body.
//!
//! Sizes count UTF-16 code units of key and value, as `localStorage` quotas do.

use crate::prelude::*;

use super::model::Signal;
use super::pipeline::Request;

/// Every key this SDK persists starts with this, then `<projectName>:`.
pub const PREFIX: &str = "automagik-telemetry:";

/// How a claim on a stored batch ended (the shell's answer to a claim).
#[derive(Clone, Debug, PartialEq)]
pub enum Claim {
    /// This page holds the batch, whose stored value this is, until it releases it.
    Got(String),
    /// Another page holds it now.
    Busy,
    /// It is no longer stored: another page delivered it.
    Gone,
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
    /// Not claimed before this time (another page held it).
    pub not_before: f64,
    /// This page is claiming or sending it: it cannot be evicted.
    pub busy: bool,
}

/// The stored batches one client knows of, oldest first, and its pending writes.
#[derive(Debug)]
pub struct Store {
    /// `automagik-telemetry:<projectName>:`.
    pub prefix: String,
    entries: Vec<Entry>,
    /// Writes not yet acknowledged by the shell, with the records to put back in the
    /// queue should the write fail (none for a rewrite of a stored batch).
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

    /// The entry stored under `key`.
    pub fn get_mut(&mut self, key: &str) -> Option<&mut Entry> {
        self.entries.iter_mut().find(|e| e.key == key)
    }

    /// Forgets `key`; returns its entry.
    pub fn remove(&mut self, key: &str) -> Option<Entry> {
        let i = self.entries.iter().position(|e| e.key == key)?;
        Some(self.entries.remove(i))
    }

    /// Adds `entry` in key order (oldest first), unless its key is known.
    pub fn insert(&mut self, entry: Entry) {
        if let Err(i) = self
            .entries
            .binary_search_by(|e| e.key.as_str().cmp(&entry.key))
        {
            self.entries.insert(i, entry);
        }
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
            &super::json::decimal(now as u64),
            ".",
            writer,
            &super::json::decimal(self.counter.into()),
            ".",
            signal.name(),
            ".",
            &super::json::decimal(items as u64),
        ]
        .concat()
    }

    /// The oldest batch of `signal` this page may claim at `now`.
    pub fn next_ready(&mut self, signal: Signal, now: f64) -> Option<&mut Entry> {
        self.entries
            .iter_mut()
            .find(|e| e.signal == signal && !e.busy && e.not_before <= now)
    }

    /// When the next batch of `signal` may be claimed, if any waits.
    pub fn wake(&self, signal: Signal) -> Option<f64> {
        self.entries
            .iter()
            .filter(|e| e.signal == signal && !e.busy)
            .map(|e| e.not_before)
            .min_by(f64::total_cmp)
    }

    /// Makes room for `size` more under `max` by evicting the oldest batches this page is
    /// not sending; returns the evicted ones (their keys to remove, their items to count),
    /// or `None`, evicting nothing, when even that would not make room.
    pub fn make_room(&mut self, size: usize, max: usize) -> Option<Vec<Entry>> {
        let busy: usize = self
            .entries
            .iter()
            .filter(|e| e.busy)
            .map(|e| e.bytes)
            .sum();
        if busy + size > max {
            return None;
        }
        let mut total = self.bytes();
        let mut evicted = Vec::new();
        while total + size > max {
            let i = self.entries.iter().position(|e| !e.busy)?;
            let e = self.entries.remove(i);
            total -= e.bytes;
            // A write of this batch still to be acknowledged must not put its records back.
            if let Some(w) = self.writing.iter_mut().find(|w| w.0 == e.key) {
                w.1 = None;
            }
            evicted.push(e);
        }
        Some(evicted)
    }

    /// The entries in the shell's listing: a line `<key suffix> <value length>` per key
    /// under the prefix. Keys that are not this format's are left alone (another project's
    /// whose name extends this one's, a claim).
    pub fn parse_listing(&self, listing: &str) -> Vec<Entry> {
        let mut found = Vec::new();
        for line in listing.as_bytes().split(|&b| b == b'\n') {
            let mut parts = line.split(|&b| b == b' ');
            let (Some(suffix), Some(len), None) = (parts.next(), parts.next(), parts.next()) else {
                continue;
            };
            let (Some((signal, items)), Some(len), Ok(suffix)) = (
                parse_suffix(suffix),
                number(len),
                core::str::from_utf8(suffix),
            ) else {
                continue;
            };
            let key = [&self.prefix, suffix].concat();
            found.push(Entry {
                bytes: len16(&key) + len as usize,
                key,
                signal,
                items,
                not_before: 0.0,
                busy: false,
            });
        }
        found
    }
}

/// The signal and item count a key suffix names: `<time>.<writer><n>.<signal>.<items>`.
fn parse_suffix(suffix: &[u8]) -> Option<(Signal, u64)> {
    let mut parts = suffix.split(|&b| b == b'.');
    let (Some(time), Some(writer), Some(signal), Some(items), None) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return None;
    };
    number(time)?;
    if writer.is_empty() || !writer.iter().all(u8::is_ascii_alphanumeric) {
        return None;
    }
    let signal = Signal::ALL
        .into_iter()
        .find(|s| s.name().as_bytes() == signal)?;
    Some((signal, number(items)?))
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

/// The length of `s` in UTF-16 code units, as JS counts it.
pub fn len16(s: &str) -> usize {
    s.chars().map(char::len_utf16).sum()
}

/// A batch as stored: what its request was sent with.
#[derive(Clone, Debug, PartialEq)]
pub struct Batch {
    /// The body is gzip-compressed (`Content-Encoding: gzip`).
    pub gzip: bool,
    /// Sends made so far.
    pub attempts: u32,
    /// Where it goes.
    pub url: String,
    /// The exact request body.
    pub body: Vec<u8>,
}

impl Batch {
    /// The stored value; `None` for a plain body that is not text (never made here).
    pub fn encode(gzip: bool, attempts: u32, url: &str, body: &[u8]) -> Option<String> {
        let mut out = String::with_capacity(body.len() * 4 / 3 + url.len() + 16);
        out.push_str(if gzip { "g " } else { "t " });
        out.push_str(&super::json::decimal(attempts.into()));
        out.push(' ');
        out.push_str(url);
        out.push('\n');
        if gzip {
            base64(body, &mut out);
        } else {
            out.push_str(core::str::from_utf8(body).ok()?);
        }
        Some(out)
    }

    /// The batch a stored value holds; `None` when it is not this format's.
    pub fn decode(value: &str) -> Option<Batch> {
        let bytes = value.as_bytes();
        let newline = bytes.iter().position(|&b| b == b'\n')?;
        let mut head = bytes[..newline].split(|&b| b == b' ');
        let (Some(encoding), Some(attempts), Some(url), None) =
            (head.next(), head.next(), head.next(), head.next())
        else {
            return None;
        };
        let body = &bytes[newline + 1..];
        let (gzip, body) = match encoding {
            b"g" => (true, unbase64(body)?),
            b"t" => (false, body.to_vec()),
            _ => return None,
        };
        Some(Batch {
            gzip,
            attempts: u32::try_from(number(attempts)?).ok()?,
            url: String::from_utf8(url.to_vec()).ok()?,
            body,
        })
    }
}

const BASE64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Appends standard base64 (padded) of `bytes`.
fn base64(bytes: &[u8], out: &mut String) {
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for i in 0..4 {
            out.push(if i <= chunk.len() {
                char::from(BASE64[(n >> (18 - 6 * i) & 63) as usize])
            } else {
                '='
            });
        }
    }
}

/// The bytes of standard base64 (padded); `None` when it is not.
fn unbase64(text: &[u8]) -> Option<Vec<u8>> {
    if text.len() % 4 != 0 {
        return None;
    }
    let mut out = Vec::with_capacity(text.len() / 4 * 3);
    for chunk in text.chunks(4) {
        let (mut n, mut pad) = (0u32, 0);
        for (i, &c) in chunk.iter().enumerate() {
            let v = match c {
                b'A'..=b'Z' => c - b'A',
                b'a'..=b'z' => c - b'a' + 26,
                b'0'..=b'9' => c - b'0' + 52,
                b'+' => 62,
                b'/' => 63,
                b'=' if i >= 2 => {
                    pad += 1;
                    0
                }
                _ => return None,
            };
            n = n << 6 | u32::from(v);
        }
        out.extend_from_slice(&n.to_be_bytes()[1..4 - pad]);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trips_every_length() {
        for len in 0..40u8 {
            let bytes: Vec<u8> = (0..len).map(|i| i.wrapping_mul(37) ^ 0xa5).collect();
            let mut text = String::new();
            base64(&bytes, &mut text);
            assert_eq!(text.len() % 4, 0);
            assert_eq!(unbase64(text.as_bytes()).unwrap(), bytes, "{text}");
        }
        let mut text = String::new();
        base64(b"any carnal pleas", &mut text);
        assert_eq!(text, "YW55IGNhcm5hbCBwbGVhcw==");
        assert_eq!(unbase64(b"YW55?A=="), None);
        assert_eq!(unbase64(b"YW5"), None);
    }

    #[test]
    fn a_value_holds_the_exact_body_with_its_encoding_attempts_and_url() {
        let gz = [0x1f, 0x8b, 0, 255, 10, 32];
        let v = Batch::encode(true, 3, "http://c/v1/traces", &gz).unwrap();
        assert_eq!(v, "g 3 http://c/v1/traces\nH4sA/wog");
        let b = Batch::decode(&v).unwrap();
        assert_eq!(
            (b.gzip, b.attempts, b.url.as_str()),
            (true, 3, "http://c/v1/traces")
        );
        assert_eq!(b.body, gz);
        let json = b"{\"resourceLogs\":[\n]}";
        let v = Batch::encode(false, 0, "http://c/v1/logs", json).unwrap();
        assert_eq!(Batch::decode(&v).unwrap().body, json);
        assert_eq!(Batch::encode(false, 0, "u", &[0xff]), None);
        for bad in [
            "",
            "g 1 u",
            "x 1 u\n",
            "g one u\n",
            "g 1 u extra\n",
            "g 1 u\n***",
        ] {
            assert_eq!(Batch::decode(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn keys_sort_oldest_first_and_only_this_format_is_listed() {
        let mut s = Store::new("shop");
        let k = s.key(1_733_250_000_123.0, "3f9a1c2e-aaaa", Signal::Logs, 7);
        assert_eq!(k, "automagik-telemetry:shop:1733250000123.3f9a1c2e1.logs.7");
        let listing = "1733250000999.abcdef011.traces.2 40\n\
                       1733250000123.3f9a1c2e1.logs.7 100\n\
                       1733250000123.3f9a1c2e1.logs.7:claim 12\n\
                       x:1733250000123.ab1.logs.7 1\n\
                       1733250000123.ab1.spans.7 1\n\
                       1733250000123.ab1.logs 1\n";
        let found = s.parse_listing(listing);
        assert_eq!(found.len(), 2);
        for e in found {
            s.insert(e);
        }
        let keys: Vec<_> = s.entries().iter().map(|e| e.key.as_str()).collect();
        assert_eq!(keys[0], k);
        assert!(keys[1].ends_with(".traces.2"));
        assert_eq!(s.entries()[0].bytes, len16(&k) + 100);
        assert_eq!(s.entries()[0].items, 7);
    }

    #[test]
    fn room_is_made_by_evicting_the_oldest_batches_this_page_is_not_sending() {
        let mut s = Store::new("p");
        for (i, busy) in [(1, true), (2, false), (3, false)] {
            s.insert(Entry {
                key: format!("k{i}"),
                signal: Signal::Traces,
                items: i,
                bytes: 100,
                not_before: 0.0,
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
