//! Batching: tracked records go into the byte-bounded queue, come out as request bodies
//! (one per signal, split only at `maxBatchBytes`), and are settled as delivered,
//! dropped or re-queued. [`super::delivery`] decides when; nothing here waits.

use crate::prelude::*;

#[cfg(feature = "clickhouse")]
use super::clickhouse::{basic_auth, insert_url, retryable as retryable_code, ClickHouse};
use super::config::{Backend, Config};
use super::encoder::{Encoder, Identity};
use super::gzip::gzip;
use super::ids::{Key, Rng};
use super::json;
use super::model::{Item, Signal, Track};
use super::otlp::Otlp;
use super::privacy::Privacy;
use super::queue::{Queue, Taken};
use super::retry::{Outcome, Verdict};
use super::stats::{DropReason, Stats};

/// Without the ClickHouse backend no exception code means "try later".
#[cfg(not(feature = "clickhouse"))]
fn retryable_code(_: u32) -> bool {
    false
}

/// A request ready to send: its body holds every record taken from the queue.
#[derive(Debug)]
pub struct Request {
    /// The signal the body carries.
    pub signal: Signal,
    /// The body, gzipped when `gzip` is set.
    pub body: Vec<u8>,
    /// Whether the body is gzip-compressed.
    pub gzip: bool,
    /// How many items the body holds.
    pub items: usize,
    /// The batch's identity for backends that deduplicate (ClickHouse): the same at
    /// every resend of these records.
    pub token: Option<u64>,
    /// Values the scrubber changed in these items (counted once they are delivered).
    pub scrubbed: u64,
    taken: Taken,
}

impl Request {
    /// A request for a batch of `items` items the shell sends from storage: the body is
    /// the shell's to read; no queued records are behind it.
    pub fn stored(signal: Signal, items: u64) -> Request {
        Request {
            signal,
            body: Vec::new(),
            gzip: false,
            items: items as usize,
            token: None,
            scrubbed: 0,
            taken: Taken::default(),
        }
    }

    /// The sequence number of the oldest record the request carries.
    pub fn first_seq(&self) -> u64 {
        self.taken.first_seq()
    }
}

/// How a request ended.
#[derive(Clone, Debug, PartialEq)]
pub enum Settle {
    /// 2xx; `rejected` items were refused in a partial success.
    Delivered {
        /// Items the backend rejected.
        rejected: u64,
    },
    /// A failure retrying will not fix: the items are dropped.
    Drop(String),
    /// A transient failure after the last retry: the items go back to the queue head.
    Requeue(String),
}

/// Per-client state that exists only after the first tracking call (no randomness or
/// storage before it).
#[derive(Debug)]
struct Session {
    rng: Rng,
    /// Mixed with a record's sequence number into its key (span and row ids).
    salt: [u64; 2],
    identity: Identity,
    format: Format,
}

/// The session's wire format. An enum rather than a `Box<dyn Encoder>`: in a build without
/// ClickHouse (the browser entry) it has one variant, so the encoder's calls are direct
/// and inlined (113 B less gzipped wasm than through a vtable).
#[derive(Debug)]
enum Format {
    Otlp(Otlp),
    #[cfg(feature = "clickhouse")]
    ClickHouse(ClickHouse),
}

impl Format {
    fn encoder(&self) -> &dyn Encoder {
        match self {
            Format::Otlp(otlp) => otlp,
            #[cfg(feature = "clickhouse")]
            Format::ClickHouse(clickhouse) => clickhouse,
        }
    }
}

/// Queue, encoder and counters of one client.
#[derive(Debug)]
pub struct Pipeline {
    /// The validated configuration.
    pub config: Config,
    /// Delivery counters.
    pub stats: Stats,
    queue: Queue,
    session: Option<Session>,
    /// Scrubbing, unless `scrub: false`; with the scratch record it writes.
    privacy: Option<(Privacy, Vec<u8>)>,
    urls: [String; 3],
    authorization: String,
}

impl Pipeline {
    /// A pipeline for `config`; nothing is generated until [`Pipeline::start`].
    pub fn new(config: Config) -> Self {
        let (urls, authorization) = match config.backend {
            Backend::Otlp => (
                [
                    &config.traces_endpoint,
                    &config.metrics_endpoint,
                    &config.logs_endpoint,
                ]
                .map(String::clone),
                String::new(),
            ),
            #[cfg(feature = "clickhouse")]
            Backend::ClickHouse => (
                [
                    &config.clickhouse.traces_table,
                    &config.clickhouse.metrics_table,
                    &config.clickhouse.logs_table,
                ]
                .map(|t| insert_url(&config, t)),
                if config.clickhouse.username.is_empty() {
                    String::new()
                } else {
                    basic_auth(&config.clickhouse.username, &config.clickhouse.password)
                },
            ),
        };
        Pipeline {
            queue: Queue::new(config.max_queue_bytes as usize),
            privacy: config
                .scrub
                .as_ref()
                .map(|keys| (Privacy::new(keys), Vec::new())),
            config,
            stats: Stats::default(),
            session: None,
            urls,
            authorization,
        }
    }

    /// Whether [`Pipeline::start`] has run.
    pub fn started(&self) -> bool {
        self.session.is_some()
    }

    /// Begins the session with a random seed and the client's identity (first call wins);
    /// until then items queue but no request is made.
    pub fn start(&mut self, seed: u64, identity: Identity) {
        if self.session.is_none() {
            let format = match self.config.backend {
                Backend::Otlp => Format::Otlp(Otlp::new(&self.config, &identity)),
                #[cfg(feature = "clickhouse")]
                Backend::ClickHouse => Format::ClickHouse(ClickHouse::new(&self.config, &identity)),
            };
            let mut rng = Rng::new(seed);
            self.session = Some(Session {
                salt: [rng.next_u64(), rng.next_u64()],
                rng,
                identity,
                format,
            });
        }
    }

    /// The session's identity, once started.
    pub fn identity(&self) -> Option<&Identity> {
        self.session.as_ref().map(|s| &s.identity)
    }

    /// A uniform random number in `[0, 1)` for backoff jitter.
    pub fn jitter(&mut self) -> f64 {
        self.session.as_mut().map_or(0.5, |s| s.rng.unit())
    }

    /// Queues one record whose body the boundary wrote. Returns whether its signal has
    /// reached `batchSize` and should be flushed.
    pub fn ingest(&mut self, track: Track, body: &[u8]) -> bool {
        let (head_bytes, n) = track.encode();
        let signal = track.signal();
        let dropped = self.queue.push(signal, &head_bytes[..n], body);
        self.stats.drop(DropReason::QueueFull, dropped);
        self.queue.items(signal) >= self.config.batch_size as usize
    }

    /// Queued items of `signal`.
    pub fn queued(&self, signal: Signal) -> usize {
        self.queue.items(signal)
    }

    /// Queued bytes across signals.
    pub fn queued_bytes(&self) -> usize {
        self.queue.bytes()
    }

    /// The sequence number the next tracked record gets.
    pub fn next_seq(&self) -> u64 {
        self.queue.next_seq()
    }

    /// The sequence number of the oldest queued record of `signal`.
    pub fn front_seq(&self, signal: Signal) -> Option<u64> {
        self.queue.front_seq(signal)
    }

    /// Takes the oldest records of `signal` whose encoding fits in `max_bytes` (at least
    /// one record) and encodes them, gzipped when `compress` and above the threshold. A
    /// sealed block at the head goes out alone, with its token. Records that fail to
    /// decode are dropped as invalid.
    pub fn next_request(
        &mut self,
        signal: Signal,
        max_bytes: usize,
        compress: bool,
    ) -> Option<Request> {
        let clickhouse = self.config.backend.is_clickhouse();
        let session = self.session.as_mut()?;
        let encoder = session.format.encoder();
        loop {
            let seal = self.queue.seal(signal);
            let limit = seal.map_or(usize::MAX, |s| s.items);
            let mut body = Vec::new();
            encoder.open(signal, &mut body);
            let (mut consumed, mut written, mut invalid, mut scrubbed) = (0, 0, 0, 0);
            for (seq, record) in self.queue.records(signal).take(limit) {
                let mark = body.len();
                let (changed, record) = match &mut self.privacy {
                    Some((privacy, scratch)) => match privacy.scrub(record, scratch) {
                        0 => (0, record),
                        n => (n, &scratch[..]),
                    },
                    None => (0, record),
                };
                if let Some(item) = Item::decode(record) {
                    if invalid > 0 {
                        break;
                    }
                    if written > 0 {
                        body.push(encoder.separator());
                    }
                    encoder.item(&mut body, &item, Key::new(session.salt, seq));
                    if written > 0 && body.len() + encoder.suffix().len() > max_bytes {
                        if seal.is_some() {
                            // A sealed block goes whole or not at all: its parts would
                            // share one deduplication token, and ClickHouse drop all but
                            // the first.
                            return None;
                        }
                        body.truncate(mark);
                        break;
                    }
                    written += 1;
                    scrubbed += u64::from(changed);
                } else if written > 0 {
                    // A request holds only valid records (one put back would be counted
                    // again): the next one drops this record at the front.
                    break;
                } else {
                    invalid += 1;
                }
                consumed += 1;
            }
            if consumed == 0 {
                return None;
            }
            let taken = self.queue.take(signal, consumed);
            self.stats.drop(DropReason::Invalid, invalid);
            if written == 0 {
                continue;
            }
            body.extend_from_slice(encoder.suffix());
            let gzip_it = compress
                && self.config.compression_enabled
                && body.len() > self.config.compression_threshold as usize;
            if gzip_it {
                body = gzip(&body);
            }
            return Some(Request {
                signal,
                body,
                gzip: gzip_it,
                items: written as usize,
                token: clickhouse.then(|| seal.map_or_else(|| taken.first_seq(), |s| s.token)),
                scrubbed,
                taken,
            });
        }
    }

    /// Puts a request's records back at the head of their queue; a ClickHouse batch stays
    /// sealed with its token, so it goes out again as the same block.
    pub fn restore(&mut self, request: Request) {
        let seal = request
            .token
            .filter(|_| self.config.backend.is_clickhouse());
        let dropped = self.queue.requeue(request.signal, request.taken, seal);
        self.stats.drop(DropReason::QueueFull, dropped);
    }

    /// The URL of `signal`'s requests, as error messages name it.
    pub fn url_base(&self, signal: Signal) -> &str {
        &self.urls[signal as usize]
    }

    /// The URL `request` goes to: ClickHouse's carries the batch's deduplication token.
    pub fn url(&self, request: &Request) -> String {
        let mut url = self.urls[request.signal as usize].clone();
        if let (Some(token), Some(id)) = (request.token, self.identity()) {
            url.push_str("&insert_deduplication_token=");
            url.push_str(&id.session_id);
            url.push('-');
            url.push_str(request.signal.name());
            url.push('-');
            url.push_str(&json::decimal(token));
        }
        url
    }

    /// The `Authorization` header value, or empty when the backend needs none.
    pub fn authorization(&self) -> &str {
        &self.authorization
    }

    /// What to do after an attempt ended in `outcome`. ClickHouse marks transient
    /// failures with an exception code (`X-ClickHouse-Exception-Code`) whatever the status.
    pub fn verdict(&self, outcome: &Outcome, exception_code: Option<u32>) -> Verdict {
        let retry_later =
            self.config.backend.is_clickhouse() && exception_code.is_some_and(retryable_code);
        outcome.verdict(retry_later)
    }

    /// `text` (a server's error message) with the ClickHouse password masked, whatever
    /// the server chose to echo.
    pub fn redact(&self, text: String) -> String {
        let password = self.config.clickhouse.password.as_bytes();
        if password.is_empty() {
            return text;
        }
        // A plain scan, not `str::replace`: its two-way searcher is ~2 KB of wasm, and
        // these messages are a few hundred bytes.
        let mut rest = text.as_bytes();
        let mut out = Vec::with_capacity(rest.len());
        while let Some((&first, tail)) = rest.split_first() {
            if rest.starts_with(password) {
                out.extend_from_slice(b"***");
                rest = &rest[password.len()..];
            } else {
                out.push(first);
                rest = tail;
            }
        }
        // Whole matches of valid UTF-8 were replaced by ASCII: still valid UTF-8.
        String::from_utf8(out).unwrap_or_default()
    }

    /// Records how `request` ended.
    pub fn settle(&mut self, request: Request, how: Settle) {
        let items = request.items as u64;
        match how {
            Settle::Delivered { rejected } => {
                let rejected = rejected.min(items);
                self.stats.sent_requests += 1;
                self.stats.sent_items += items - rejected;
                self.stats.sent_bytes += request.body.len() as u64;
                self.stats.scrubbed += request.scrubbed;
                self.stats.drop(DropReason::Rejected, rejected);
            }
            Settle::Drop(error) => {
                self.stats.drop(DropReason::Failed, items);
                self.stats.last_error = Some(error);
            }
            Settle::Requeue(error) => {
                self.restore(request);
                self.stats.last_error = Some(error);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Raw;
    use crate::model::testing::{body, V};
    use miniz_oxide::inflate::decompress_to_vec;

    fn pipeline(opts: &[(&str, f64)]) -> Pipeline {
        let config = Config::parse(&mut |n| match n {
            "projectName" => Raw::Str("p".into()),
            "version" => Raw::Str("1".into()),
            _ => opts
                .iter()
                .find(|(k, _)| *k == n)
                .map_or(Raw::Missing, |(_, v)| Raw::Number(*v)),
        })
        .unwrap();
        let mut p = Pipeline::new(config);
        p.start(7, Identity::default());
        p
    }

    /// A started pipeline with the ClickHouse backend and its defaults.
    #[cfg(feature = "clickhouse")]
    fn clickhouse_pipeline() -> Pipeline {
        let config = Config::parse(&mut |n| match n {
            "projectName" | "version" => Raw::Str("p".into()),
            "backend" => Raw::Str("clickhouse".into()),
            _ => Raw::Missing,
        })
        .unwrap();
        let mut p = Pipeline::new(config);
        p.start(3, Identity::default());
        p
    }

    fn next(p: &mut Pipeline, signal: Signal) -> Option<Request> {
        let max = p.config.max_batch_bytes as usize;
        p.next_request(signal, max, true)
    }

    fn event(p: &mut Pipeline, name: &str) -> bool {
        p.ingest(Track::Event, &body(1.0, &[name], &[("k", V::S("v"))]))
    }

    fn text(r: &Request) -> String {
        let raw = if r.gzip {
            decompress_to_vec(&r.body[10..r.body.len() - 8]).unwrap()
        } else {
            r.body.clone()
        };
        String::from_utf8(raw).unwrap()
    }

    #[test]
    fn items_queue_before_the_session_starts_and_go_out_after() {
        let config = pipeline(&[]).config;
        let mut p = Pipeline::new(config);
        assert!(!p.ingest(Track::Event, &body(1.0, &["e"], &[])));
        assert!(
            next(&mut p, Signal::Traces).is_none(),
            "no identity, no request"
        );
        p.start(1, Identity::default());
        assert_eq!(next(&mut p, Signal::Traces).unwrap().items, 1);
    }

    #[test]
    fn reaching_batch_size_asks_for_a_flush() {
        let mut p = pipeline(&[("batchSize", 3.0)]);
        assert!(!event(&mut p, "a"));
        assert!(!event(&mut p, "b"));
        assert!(event(&mut p, "c"));
    }

    #[test]
    fn one_request_holds_every_queued_item_of_a_signal() {
        let mut p = pipeline(&[("compressionEnabled", f64::NAN)][..0]);
        for i in 0..250 {
            event(&mut p, &format!("e{i}"));
        }
        p.ingest(Track::Log { severity: 9 }, &body(1.0, &["hello"], &[]));
        let r = next(&mut p, Signal::Traces).unwrap();
        assert_eq!(r.items, 250);
        assert!(r.gzip);
        let t = text(&r);
        assert_eq!(t.matches("\"traceId\"").count(), 250);
        assert_eq!(t.matches("\"resource\"").count(), 1);
        assert!(next(&mut p, Signal::Traces).is_none());
        assert_eq!(next(&mut p, Signal::Logs).unwrap().items, 1);
        p.settle(r, Settle::Delivered { rejected: 2 });
        assert_eq!(p.stats.sent_items, 248);
        assert_eq!(p.stats.dropped_rejected, 2);
        assert_eq!(p.stats.sent_requests, 1);
    }

    #[test]
    fn requests_split_at_max_batch_bytes() {
        let mut p = pipeline(&[("maxBatchBytes", 4096.0)]);
        for i in 0..100 {
            event(&mut p, &format!("event-{i}"));
        }
        let mut total = 0;
        while let Some(r) = next(&mut p, Signal::Traces) {
            let t = text(&r);
            assert!(t.len() <= 4096, "{}", t.len());
            assert!(t.ends_with("]}]}]}"));
            total += r.items;
        }
        assert_eq!(total, 100);
    }

    #[test]
    fn small_bodies_are_not_compressed() {
        let mut p = pipeline(&[]);
        event(&mut p, "one");
        let r = next(&mut p, Signal::Traces).unwrap();
        assert!(!r.gzip);
        assert!(text(&r).starts_with("{\"resourceSpans\""));
    }

    #[test]
    fn failed_requests_are_dropped_or_requeued_at_the_head() {
        let mut p = pipeline(&[]);
        event(&mut p, "first");
        let r = next(&mut p, Signal::Traces).unwrap();
        event(&mut p, "second");
        p.settle(r, Settle::Requeue("HTTP 503".into()));
        assert_eq!(p.stats.last_error.as_deref(), Some("HTTP 503"));
        let r = next(&mut p, Signal::Traces).unwrap();
        let t = text(&r);
        assert!(t.find("first").unwrap() < t.find("second").unwrap());
        p.settle(r, Settle::Drop("HTTP 400".into()));
        assert_eq!(p.stats.dropped_failed, 2);
        assert_eq!(p.queued(Signal::Traces), 0);
    }

    #[test]
    #[cfg(feature = "clickhouse")]
    fn clickhouse_exception_codes_decide_retries_only_for_clickhouse() {
        let status = |s| Outcome::Status {
            status: s,
            retry_after_ms: None,
        };
        let otlp = pipeline(&[]);
        assert_eq!(otlp.verdict(&status(500), Some(252)), Verdict::Drop);
        let config = Config::parse(&mut |n| match n {
            "projectName" | "version" => Raw::Str("p".into()),
            "backend" => Raw::Str("clickhouse".into()),
            "clickhousePassword" => Raw::Str("hunter2".into()),
            _ => Raw::Missing,
        })
        .unwrap();
        let mut ch = Pipeline::new(config);
        assert_eq!(ch.verdict(&status(500), Some(252)), Verdict::Retry(None));
        assert_eq!(ch.verdict(&status(500), None), Verdict::Drop);
        assert_eq!(ch.verdict(&status(400), Some(27)), Verdict::Drop);
        assert_eq!(ch.verdict(&status(503), Some(27)), Verdict::Retry(None));
        assert_eq!(ch.redact("bad hunter2 here".into()), "bad *** here");
        assert_eq!(otlp.redact("hunter2".into()), "hunter2");
        assert!(ch.authorization().starts_with("Basic "));
        ch.start(1, Identity::default());
        ch.ingest(Track::Log { severity: 9 }, &body(1.0, &["m"], &[]));
        let r = next(&mut ch, Signal::Logs).unwrap();
        assert!(ch
            .url(&r)
            .ends_with("INSERT%20INTO%20telemetry.logs%20FORMAT%20JSONEachRow&insert_deduplication_token=-logs-0"));
    }

    #[test]
    #[cfg(feature = "clickhouse")]
    fn a_clickhouse_batch_requeued_after_failure_goes_out_again_alone_with_its_token() {
        let mut p = clickhouse_pipeline();
        for i in 0..3 {
            event(&mut p, &format!("old{i}"));
        }
        let r = next(&mut p, Signal::Traces).unwrap();
        let (token, first) = (r.token, text(&r));
        event(&mut p, "new");
        p.settle(r, Settle::Requeue("timeout".into()));
        let again = next(&mut p, Signal::Traces).unwrap();
        assert_eq!((again.items, again.token), (3, token));
        assert_eq!(text(&again), first, "the same rows, ids included");
        let newer = next(&mut p, Signal::Traces).unwrap();
        assert_eq!(newer.items, 1);
        assert_ne!(newer.token, token);
    }

    // Found by `delivery_props` (seed 32): the unload path's smaller byte limit cut a
    // sealed block in two, and both parts went out under the block's token.
    #[test]
    #[cfg(feature = "clickhouse")]
    fn a_sealed_block_is_never_split() {
        let mut p = clickhouse_pipeline();
        for i in 0..3 {
            event(&mut p, &format!("e{i}"));
        }
        let r = next(&mut p, Signal::Traces).unwrap();
        let (token, size) = (r.token, r.body.len());
        p.settle(r, Settle::Requeue("timeout".into()));
        assert!(p.next_request(Signal::Traces, size - 1, false).is_none());
        let again = next(&mut p, Signal::Traces).unwrap();
        assert_eq!((again.items, again.token), (3, token));
    }

    #[test]
    fn a_restored_request_comes_back_unchanged() {
        let mut p = pipeline(&[]);
        event(&mut p, "a");
        event(&mut p, "b");
        let r = p.next_request(Signal::Traces, 10, true).unwrap();
        assert_eq!(r.items, 1, "a tight limit still takes one item");
        p.restore(r);
        assert_eq!(next(&mut p, Signal::Traces).unwrap().items, 2);
    }

    // Found by `delivery_props`: a request took the invalid records among its valid
    // ones, so putting it back counted them again at the next request.
    #[test]
    fn an_invalid_record_is_counted_once_however_often_its_neighbours_are_put_back() {
        let mut p = pipeline(&[]);
        event(&mut p, "a");
        p.ingest(Track::Event, b"garbage");
        event(&mut p, "b");
        for _ in 0..3 {
            let r = next(&mut p, Signal::Traces).unwrap();
            p.restore(r);
        }
        let mut items = 0;
        while let Some(r) = next(&mut p, Signal::Traces) {
            items += r.items;
        }
        assert_eq!((items, p.stats.dropped_invalid), (2, 1));
    }

    #[test]
    fn malformed_records_are_dropped_as_invalid() {
        let mut p = pipeline(&[]);
        p.ingest(Track::Event, b"garbage");
        event(&mut p, "ok");
        let r = next(&mut p, Signal::Traces).unwrap();
        assert_eq!(r.items, 1);
        assert_eq!(p.stats.dropped_invalid, 1);
        p.ingest(Track::Event, b"garbage");
        assert!(next(&mut p, Signal::Traces).is_none());
        assert_eq!(p.stats.dropped_invalid, 2);
    }
}
