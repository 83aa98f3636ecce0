//! A seeded property test of [`Delivery`]: 2,000 random interleavings (200 steps each,
//! then a drain) of tracking (all three lanes, every kind, random sizes, now and then a
//! malformed record), flushes, replies with random outcomes, time passing (timers handled
//! on time, late, early, or after other events), page hide and show, stray replies and a
//! late shutdown, under random configurations, OTLP or ClickHouse. A model beside the core
//! knows which items each request carries (each item has a unique id, `@<id>#`, read back
//! from the request bodies, gunzipped when gzip) and what each lane waits for, and checks
//! after every event:
//!
//! - no panic; conservation: delivered (2xx, less partial-success rejections) + counted
//!   drops + queued + in requests = tracked, and `sent.items`, `dropped.rejected`,
//!   `dropped.failed`, the status and `has_work()` agree with the model;
//! - no item in two requests at once, none delivered or dropped twice, a request's items
//!   oldest first, a retry with the same body, a ClickHouse token on one block only;
//! - a retry never before its wait, a `Retry-After` in force honoured, one request per
//!   lane (unload beacons aside) and only on a free lane; a flush sends now on every lane
//!   not held by a `Retry-After`, and settles at once when every lane is so held (or
//!   empty);
//! - a lane never waits on another: the interval timer is never moved once armed, and
//!   when a timer fires every free lane it wakes sends; each lane's timer is armed by the
//!   end of its own retry or backoff, and a free lane never sits on a full batch;
//! - timers: none armed before the shell's last `handle_timeout` (so `poll_timeout` lags
//!   by at most what the shell has not handled), none still due after `handle_timeout`
//!   (no spin), and queued records always have a way out (a timer or a request);
//! - flushes: each settles exactly once, never while a request carries items it covers
//!   (one waiting out a `Retry-After` aside), and all of them once the traffic stops and
//!   the collector answers 200; a last flush then leaves nothing queued.
//!
//! `PROPS_SEED=<n>` runs one seed and prints its events on failure; `PROPS_RUNS=<n>`
//! changes the run count.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use crate::config::{Config, Raw};
use crate::delivery::{Action, Delivery, FlushId, Reply, RequestId, Timer, UNLOAD_BUDGET};
use crate::encoder::Identity;
use crate::model::testing::{body, V};
use crate::model::{MetricKind, Signal, Track};
use crate::retry::{backoff_ms, Outcome, Verdict, MAX_RETRY_AFTER_MS};

const RUNS: u64 = 2_000;
const STEPS: usize = 200;
const START: f64 = 1_000_000.0;

/// xorshift64*: small, fast and deterministic.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        let mut r = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ 0xd1b5_4a32_d192_ed03);
        if r.0 == 0 {
            r.0 = 1;
        }
        for _ in 0..4 {
            r.next();
        }
        r
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[self.below(xs.len() as u64) as usize]
    }

    fn float(&mut self, max: f64) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64 * max
    }
}

/// One run's configuration.
#[derive(Clone, Debug)]
struct Cfg {
    max_retries: u32,
    backoff_base: f64,
    flush_interval: f64,
    batch_size: usize,
    max_queue_bytes: f64,
    max_batch_bytes: f64,
    compression: bool,
    clickhouse: bool,
}

impl Cfg {
    fn random(rng: &mut Rng) -> Cfg {
        Cfg {
            max_retries: rng.below(4) as u32,
            backoff_base: rng.pick(&[0.0, 10.0, 100.0, 1000.0, 5000.0]),
            flush_interval: if rng.chance(25) {
                0.0
            } else {
                rng.pick(&[50.0, 1000.0, 5000.0])
            },
            batch_size: if rng.chance(50) {
                rng.pick(&[1, 2, 3, 5])
            } else {
                rng.pick(&[100, 1000])
            },
            max_queue_bytes: rng.pick(&[16_384.0, 32_768.0, 4.0 * 1024.0 * 1024.0]),
            max_batch_bytes: rng.pick(&[1024.0, 4096.0, 512.0 * 1024.0]),
            compression: rng.chance(10), // gzip is slow in debug builds
            // The draw happens either way, so a seed replays the same run in both builds.
            clickhouse: rng.chance(20) && cfg!(feature = "clickhouse"),
        }
    }

    fn delivery(&self) -> Delivery {
        let n = Raw::Number;
        let mut opts = vec![
            ("maxRetries", n(self.max_retries.into())),
            ("retryBackoffBase", n(self.backoff_base)),
            ("flushInterval", n(self.flush_interval)),
            ("batchSize", n(self.batch_size as f64)),
            ("maxQueueBytes", n(self.max_queue_bytes)),
            ("maxBatchBytes", n(self.max_batch_bytes)),
            ("compressionEnabled", Raw::Bool(self.compression)),
        ];
        if self.clickhouse {
            opts.push(("backend", Raw::Str("clickhouse".into())));
        }
        let config = Config::parse(&mut |k| match k {
            "projectName" | "version" => Raw::Str("p".into()),
            _ => opts
                .iter()
                .find(|(o, _)| *o == k)
                .map_or(Raw::Missing, |(_, v)| v.clone()),
        })
        .unwrap();
        Delivery::new(config)
    }
}

/// A wait whose end lies in `[lo, hi]`: exact (`lo == hi`) for a server's `Retry-After`;
/// our own backoff's jitter is unknown to the model, so only its bounds are.
#[derive(Clone, Copy, Debug)]
struct Win {
    lo: f64,
    hi: f64,
    server: bool,
}

impl Win {
    fn after(now: f64, server_ms: Option<f64>, base: f64, retries: u32) -> Win {
        match server_ms {
            Some(ms) => {
                let until = now + ms.clamp(0.0, MAX_RETRY_AFTER_MS);
                Win {
                    lo: until,
                    hi: until,
                    server: true,
                }
            }
            None => Win {
                lo: now + backoff_ms(base, retries, 0.0),
                hi: now + backoff_ms(base, retries, 1.0),
                server: false,
            },
        }
    }

    /// Certainly over at `now`.
    fn over(&self, now: f64) -> bool {
        self.hi <= now
    }

    /// Possibly over at `now`.
    fn may_be_over(&self, now: f64) -> bool {
        self.lo <= now
    }

    /// A server's `Retry-After` in force at `now`.
    fn server_holds(&self, now: f64) -> bool {
        self.server && self.lo > now
    }
}

#[derive(Clone, Copy, Debug)]
enum St {
    InFlight,
    Waiting(Win),
}

/// A request the core holds (in flight, or waiting to be retried), as the model knows it.
#[derive(Clone, Debug)]
struct Req {
    id: RequestId,
    lane: usize,
    ids: Vec<u64>,
    sends: u32,
    keepalive: bool,
    size: usize,
    st: St,
}

/// The requests the core holds, by id (a few dozen: a vector is fastest).
#[derive(Default)]
struct Reqs(Vec<Req>);

impl Reqs {
    fn iter(&self) -> impl Iterator<Item = (&RequestId, &Req)> {
        self.0.iter().map(|r| (&r.id, r))
    }

    fn values(&self) -> impl Iterator<Item = &Req> {
        self.0.iter()
    }

    fn get_mut(&mut self, id: &RequestId) -> Option<&mut Req> {
        self.0.iter_mut().find(|r| r.id == *id)
    }

    fn contains_key(&self, id: &RequestId) -> bool {
        self.0.iter().any(|r| r.id == *id)
    }

    fn remove(&mut self, id: &RequestId) -> Option<Req> {
        let i = self.0.iter().position(|r| r.id == *id)?;
        Some(self.0.swap_remove(i))
    }

    fn insert(&mut self, req: Req) {
        self.0.push(req);
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::ops::Index<&RequestId> for Reqs {
    type Output = Req;

    fn index(&self, id: &RequestId) -> &Req {
        self.0.iter().find(|r| r.id == *id).unwrap()
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Ev {
    Track,
    Flush,
    Shutdown,
    Reply,
    /// A reply for a request the core no longer holds: ignored.
    Stray,
    Timeout,
    Hidden,
    Shown,
}

/// What the model knew just before an event.
struct Before {
    queued: [usize; 3],
    timers: crate::delivery::TimerTable,
    /// Each request the core held: its id, lane and state.
    reqs: Vec<(RequestId, usize, St)>,
    backoff: [Option<Win>; 3],
}

/// Totals over all runs, printed at the end.
#[derive(Default, Debug)]
struct Totals {
    runs: u64,
    steps: u64,
    drain_events: u64,
    tracked: u64,
    delivered: u64,
    requests: u64,
    resends: u64,
    keepalive: u64,
    gzipped: u64,
    flushes: u64,
    ra_settles: u64,
    queue_full: u64,
    rejected: u64,
    failed: u64,
    invalid: u64,
    after_shutdown: u64,
    requeues: u64,
    interval_fires: u64,
    /// Flushes that found a lane waiting out its own backoff (and sent at once).
    backoffs_cut: u64,
    /// Flushes that found a lane held by `Retry-After` (and left it alone).
    ra_held_lanes: u64,
    /// Wake-ups where a lane sent while another lane backed off or waited for a retry.
    sent_beside_a_waiting_lane: u64,
}

/// Notes an event for the failure report; only when one seed runs (formatting every
/// event would be most of the test's time).
macro_rules! note {
    ($run:expr, $($fmt:tt)*) => {
        if $run.verbose {
            let line = format!($($fmt)*);
            $run.log.push(line);
        }
    };
}

struct Run {
    d: Delivery,
    rng: Rng,
    cfg: Cfg,
    now: f64,
    /// When the shell last called `handle_timeout`.
    last_handled: f64,
    verbose: bool,
    log: Vec<String>,
    // The model.
    reqs: Reqs,
    backoff: [Option<Win>; 3],
    tracked: u64,
    next_item: u64,
    delivered: u64,
    rejected: u64,
    failed: u64,
    /// Each item's state, by id: queued or dropped by the byte bound (0), in a request
    /// (1), delivered or dropped (2).
    items: Vec<u8>,
    in_requests: usize,
    done: usize,
    /// Pending flushes and the first item id each does not cover.
    pending: HashMap<FlushId, u64>,
    settled: HashSet<FlushId>,
    /// ClickHouse: the items of the latest request sent with each deduplication token.
    tokens: HashMap<String, Vec<u64>>,
    shut: bool,
    /// The latest page hide's `compress`, and the latest flush's id.
    compress: bool,
    flush_id: FlushId,
    /// A timer may be due and unhandled: the next clock step handles it.
    must_handle: bool,
    totals: Totals,
}

fn ids_in(body: &[u8], gzip: bool) -> Vec<u64> {
    let inflated;
    let text = if gzip {
        assert!(body.starts_with(&[0x1f, 0x8b]), "gzip flag on a plain body");
        inflated = miniz_oxide::inflate::decompress_to_vec(&body[10..body.len() - 8]).unwrap();
        &inflated[..]
    } else {
        assert!(
            !body.starts_with(&[0x1f, 0x8b]),
            "a gzip body without the flag"
        );
        body
    };
    // `str::split` finds the '@'s with std's (optimised) memchr.
    let text = std::str::from_utf8(text).expect("a body is UTF-8");
    text.split('@')
        .skip(1)
        .filter_map(|part| {
            let (digits, _) = part.split_once('#')?;
            digits.parse().ok()
        })
        .collect()
}

impl Run {
    fn new(seed: u64) -> Run {
        let mut rng = Rng::new(seed);
        let cfg = Cfg::random(&mut rng);
        let mut d = cfg.delivery();
        d.pipeline.start(seed, Identity::default());
        Run {
            d,
            rng,
            cfg,
            now: START,
            last_handled: START,
            verbose: false,
            log: Vec::new(),
            reqs: Reqs::default(),
            backoff: [None; 3],
            tracked: 0,
            next_item: 0,
            delivered: 0,
            rejected: 0,
            failed: 0,
            items: Vec::new(),
            in_requests: 0,
            done: 0,
            pending: HashMap::new(),
            settled: HashSet::new(),
            tokens: HashMap::new(),
            shut: false,
            compress: false,
            flush_id: 0,
            must_handle: false,
            totals: Totals::default(),
        }
    }

    fn queued(&self) -> [usize; 3] {
        Signal::ALL.map(|s| self.d.pipeline.queued(s))
    }

    fn before(&self) -> Before {
        Before {
            queued: self.queued(),
            timers: *self.d.timers(),
            reqs: self
                .reqs
                .iter()
                .map(|(id, r)| (*id, r.lane, r.st))
                .collect(),
            backoff: self.backoff,
        }
    }

    fn outstanding(&self, lane: usize) -> usize {
        self.reqs.values().filter(|r| r.lane == lane).count()
    }

    // ---- events ----------------------------------------------------------------------

    fn track(&mut self) {
        let b = self.before();
        let id = self.next_item;
        self.next_item += 1;
        self.items.push(0);
        self.tracked += 1;
        let pad = match self.rng.below(100) {
            0..=74 => self.rng.below(40),
            75..=97 => self.rng.below(600),
            _ => 600 + self.rng.below(10_000),
        } as usize;
        let tag = format!("@{id}#");
        let chunk = "x".repeat(400);
        let mut kvs = vec![("pid", V::S(&tag))];
        let tail = "x".repeat(pad % 400);
        for _ in 0..pad / 400 {
            kvs.push(("pad", V::S(&chunk)));
        }
        kvs.push(("pad", V::S(&tail)));
        let (track, strings): (Track, &[&str]) = match self.rng.below(100) {
            0 => (Track::Event, &[]), // garbage: counted as invalid when encoded
            1..=25 => (Track::Event, &["ev"]),
            26..=35 => (Track::Error, &["TypeError", "boom", "at f (x.js:1:1)"]),
            36..=65 => {
                let kind = self.rng.pick(&[
                    MetricKind::Gauge,
                    MetricKind::Counter,
                    MetricKind::Histogram,
                ]);
                (Track::Metric { kind, value: 1.5 }, &["m", "1.5"])
            }
            _ => (
                Track::Log {
                    severity: 1 + self.rng.below(24) as u8,
                },
                &["msg"],
            ),
        };
        let bytes = if strings.is_empty() {
            b"garbage".to_vec()
        } else {
            body(self.now, strings, &kvs)
        };
        note!(
            self,
            "t={} track #{id} {:?} {} B",
            self.now - START,
            track.signal(),
            bytes.len()
        );
        self.d.track(self.now, track, &bytes);
        self.after(Ev::Track, b);
    }

    fn flush(&mut self, shutdown: bool) {
        let b = self.before();
        let f = if shutdown {
            self.shut = true;
            self.d.shutdown(self.now)
        } else {
            self.d.flush(self.now)
        };
        note!(
            self,
            "t={} {} -> {f}",
            self.now - START,
            if shutdown { "shutdown" } else { "flush" }
        );
        assert!(
            !self.settled.contains(&f),
            "flush id {f} reused after it settled"
        );
        // A flush that adds nothing to the newest pending one shares its id (items tracked
        // in between were refused or came after shutdown): it keeps the first snapshot.
        self.pending.entry(f).or_insert(self.next_item);
        self.flush_id = f;
        self.totals.flushes += 1;
        self.after(if shutdown { Ev::Shutdown } else { Ev::Flush }, b);
    }

    fn reply(&mut self, id: RequestId, outcome: Outcome, rejected: u64) {
        let b = self.before();
        note!(
            self,
            "t={} reply {id} {outcome:?} rejected {rejected}",
            self.now - START
        );
        let reply = Reply {
            outcome: outcome.clone(),
            rejected,
            message: String::new(),
            exception_code: None,
        };
        self.d.reply(self.now, id, reply);
        // The model settles the attempt before looking at what the core did next.
        let req = self.reqs.remove(&id);
        let Some(mut req) = req else {
            assert!(
                self.d.body(id).is_none(),
                "reply to an unknown request {id}"
            );
            self.after(Ev::Stray, b);
            return;
        };
        assert!(
            matches!(req.st, St::InFlight),
            "replied to a waiting request"
        );
        let n = req.ids.len() as u64;
        let verdict = match &outcome {
            Outcome::Status { status, .. } if (200..300).contains(status) => Verdict::Delivered,
            Outcome::Status {
                status: 408 | 429 | 502 | 503 | 504,
                retry_after_ms,
            } => Verdict::Retry(*retry_after_ms),
            Outcome::Status { .. } => Verdict::Drop,
            Outcome::Timeout | Outcome::Network(_) => Verdict::Retry(None),
            Outcome::Refused => Verdict::Restore,
            Outcome::Offline => unreachable!("the runs have no browser that goes offline"),
        };
        let still = self.d.body(id).is_some();
        let settle = |run: &mut Run, req: &Req| {
            for &i in &req.ids {
                assert_eq!(
                    run.items[i as usize], 1,
                    "item {i} delivered or dropped twice"
                );
                run.items[i as usize] = 2;
            }
            run.in_requests -= req.ids.len();
            run.done += req.ids.len();
        };
        let put_back = |run: &mut Run, req: &Req| {
            req.ids.iter().for_each(|&i| run.items[i as usize] = 0);
            run.in_requests -= req.ids.len();
        };
        match verdict {
            Verdict::Delivered => {
                assert!(!still);
                let r = rejected.min(n);
                self.delivered += n - r;
                self.rejected += r;
                settle(self, &req);
            }
            Verdict::Drop => {
                assert!(!still);
                self.failed += n;
                settle(self, &req);
            }
            Verdict::Restore => {
                assert!(!still);
                put_back(self, &req);
            }
            Verdict::Retry(after) => {
                let retries = req.sends - 1;
                let win = Win::after(self.now, after, self.cfg.backoff_base, retries);
                if retries >= self.cfg.max_retries {
                    assert!(!still, "retries ran out: the batch goes back to the queue");
                    self.backoff[req.lane] = Some(win);
                    put_back(self, &req);
                    self.totals.requeues += 1;
                } else {
                    assert!(
                        still,
                        "a retry keeps its request ({retries} retries so far)"
                    );
                    req.st = St::Waiting(win);
                    req.keepalive = false;
                    self.reqs.insert(req);
                }
            }
        }
        self.after(Ev::Reply, b);
    }

    fn handle_timeout(&mut self) {
        let b = self.before();
        note!(
            self,
            "t={} handle_timeout (next {:?})",
            self.now - START,
            b.timers.next().map(|t| t - START)
        );
        self.d.handle_timeout(self.now);
        self.last_handled = self.now;
        for w in &mut self.backoff {
            if w.is_some_and(|w| w.over(self.now)) {
                *w = None;
            }
        }
        self.after(Ev::Timeout, b);
    }

    fn page_hidden(&mut self) {
        let b = self.before();
        self.compress = self.rng.chance(50);
        note!(self, "t={} page_hidden {}", self.now - START, self.compress);
        self.d.page_hidden(self.now, self.compress);
        self.after(Ev::Hidden, b);
    }

    fn page_shown(&mut self) {
        let b = self.before();
        note!(self, "t={} page_shown", self.now - START);
        self.d.page_shown(self.now);
        self.after(Ev::Shown, b);
    }

    // ---- checks ----------------------------------------------------------------------

    /// Takes the core's actions, updates the model and checks every invariant.
    fn after(&mut self, ev: Ev, b: Before) {
        let now = self.now;
        let (mut sends, mut settles) = (Vec::new(), Vec::new());
        while let Some(a) = self.d.poll_action() {
            match a {
                Action::Send(t) => sends.push(t),
                Action::Settle(f) => settles.push(f),
                Action::List { .. } | Action::Persist { .. } | Action::Release { .. } => {
                    unreachable!("the runs are not in a browser page: nothing is stored")
                }
            }
        }
        if matches!(ev, Ev::Track | Ev::Stray) {
            assert!(
                sends.is_empty() && settles.is_empty(),
                "{ev:?}: a tracking call only queues, a stray reply does nothing"
            );
        }
        let flush = matches!(ev, Ev::Flush | Ev::Shutdown);
        if flush {
            // Send now: our own backoff is cut short, a server's Retry-After holds.
            for w in &mut self.backoff {
                if w.is_some_and(|w| !w.server_holds(now)) {
                    *w = None;
                }
            }
        }

        // What was sent: retries of waiting requests, and new requests.
        let mut resent = HashSet::new();
        let mut started: [Vec<RequestId>; 3] = Default::default();
        let no_sends = sends.is_empty();
        for t in sends {
            let lane = t.signal as usize;
            if let Some(req) = self.reqs.get_mut(&t.id) {
                let St::Waiting(w) = req.st else {
                    panic!("request {} sent again while in flight", t.id);
                };
                assert_eq!(req.lane, lane);
                assert!(!t.keepalive, "a retry is a plain request");
                match ev {
                    Ev::Flush | Ev::Shutdown => assert!(
                        !w.server_holds(now),
                        "a flush re-sent request {} before the server's Retry-After ended",
                        t.id
                    ),
                    Ev::Timeout => assert!(
                        w.may_be_over(now),
                        "request {} retried before its wait ended: {w:?}",
                        t.id
                    ),
                    _ => panic!("{ev:?} re-sent waiting request {}", t.id),
                }
                assert_eq!(
                    self.d.body(t.id).map(<[u8]>::len),
                    Some(req.size),
                    "a retry sends the same body"
                );
                req.st = St::InFlight;
                req.sends += 1;
                resent.insert(t.id);
                note!(self, "    resend {}", t.id);
                self.totals.resends += 1;
            } else {
                let body = self
                    .d
                    .body(t.id)
                    .expect("a sent request's body is readable");
                let size = body.len();
                let ids = ids_in(body, t.gzip);
                assert!(!ids.is_empty(), "request {} carries no item", t.id);
                assert!(
                    ids.windows(2).all(|w| w[0] < w[1]),
                    "a request carries its lane's items oldest first: {ids:?}"
                );
                for &i in &ids {
                    assert!(i < self.next_item, "item {i} was never tracked");
                    let state = &mut self.items[i as usize];
                    assert!(
                        *state != 2,
                        "item {i} sent again after it was delivered or dropped"
                    );
                    assert!(*state == 0, "item {i} in two requests at once");
                    *state = 1;
                }
                self.in_requests += ids.len();
                if ev == Ev::Hidden {
                    assert!(t.keepalive, "an unload request is keepalive");
                    assert!(self.compress || !t.gzip, "a beacon cannot be gzipped");
                    self.totals.keepalive += 1;
                } else {
                    assert!(!t.keepalive, "{ev:?} sent a keepalive request");
                }
                if let Some((_, token)) = t.url.split_once("insert_deduplication_token=") {
                    // ClickHouse skips an insert whose token it has seen: a token names
                    // one block, sent again only whole or shrunk by the byte bound.
                    if let Some(last) = self.tokens.get(token) {
                        assert!(
                            ids.iter().all(|i| last.binary_search(i).is_ok()),
                            "token {token} sent with {ids:?} after {last:?}"
                        );
                    }
                    self.tokens.insert(token.into(), ids.clone());
                }
                self.totals.gzipped += u64::from(t.gzip);
                self.totals.requests += 1;
                self.reqs.insert(Req {
                    id: t.id,
                    lane,
                    ids,
                    sends: 1,
                    keepalive: t.keepalive,
                    size,
                    st: St::InFlight,
                });
                started[lane].push(t.id);
                note!(
                    self,
                    "    send {} lane {lane} keepalive {} items {:?}",
                    t.id,
                    t.keepalive,
                    self.reqs[&t.id].ids
                );
            }
        }

        // Flushes settle once each, never while a request carries items they cover
        // (unless a server's Retry-After holds it).
        for f in settles {
            let snapshot = self
                .pending
                .remove(&f)
                .unwrap_or_else(|| panic!("Settle({f}) for no pending flush"));
            assert!(self.settled.insert(f));
            note!(self, "    settle {f} (covers items below {snapshot})");
            for (id, r) in self.reqs.iter() {
                let held = matches!(r.st, St::Waiting(w) if w.server_holds(now));
                assert!(
                    held || r.ids.iter().all(|i| *i >= snapshot),
                    "flush {f} settled while request {id} carries items it covers"
                );
            }
        }

        let queued = self.queued();
        let held_before = |l: usize| b.backoff[l].is_some_and(|w| w.server_holds(now));
        let before_reqs = |l: usize| {
            b.reqs
                .iter()
                .filter(move |r| r.1 == l)
                .map(|&(id, _, st)| (id, st))
        };

        for l in 0..3 {
            // One request per lane (the unload path aside), and only on a free lane.
            if ev != Ev::Hidden && !started[l].is_empty() {
                assert_eq!(started[l].len(), 1, "two requests started on lane {l}");
                assert_eq!(
                    self.outstanding(l),
                    1,
                    "lane {l} started a request beside another"
                );
                assert!(
                    self.backoff[l].is_none_or(|w| w.may_be_over(now)),
                    "lane {l} sent during its backoff {:?}",
                    self.backoff[l]
                );
                // The lane was free: its backoff, if any, is over.
                self.backoff[l] = None;
            }
            let idle_before = before_reqs(l).next().is_none();
            let sent_or_empty = !started[l].is_empty() || queued[l] == 0;
            match ev {
                Ev::Flush | Ev::Shutdown => {
                    // Send now, on every lane not held by a Retry-After.
                    for (id, st) in before_reqs(l) {
                        if let St::Waiting(w) = st {
                            assert_eq!(
                                resent.contains(&id),
                                !w.server_holds(now),
                                "flush and waiting request {id} ({w:?})"
                            );
                        }
                    }
                    if idle_before && held_before(l) {
                        assert!(
                            started[l].is_empty(),
                            "a flush contacted a lane held by Retry-After"
                        );
                        self.totals.ra_held_lanes += 1;
                    } else if idle_before && b.queued[l] > 0 {
                        assert!(sent_or_empty, "a flush left free lane {l} unsent");
                        let backing_off = b.backoff[l].is_some_and(|w| !w.may_be_over(now));
                        self.totals.backoffs_cut += u64::from(backing_off);
                    }
                }
                Ev::Timeout => {
                    for (id, st) in before_reqs(l) {
                        if let St::Waiting(w) = st {
                            if w.over(now) {
                                assert!(
                                    resent.contains(&id),
                                    "request {id} not retried after {w:?}"
                                );
                            }
                        }
                    }
                    let interval_due = b.timers.get(Timer::Interval).is_some_and(|t| t <= now);
                    let lane_due = b
                        .timers
                        .get(Timer::Lane(Signal::ALL[l]))
                        .is_some_and(|t| t <= now);
                    let free = idle_before && b.backoff[l].is_none_or(|w| w.over(now));
                    if free && (interval_due || lane_due) && b.queued[l] > 0 {
                        assert!(
                            sent_or_empty,
                            "lane {l} woken (interval {interval_due}, own {lane_due}) but sent nothing"
                        );
                        // The same, while another lane backs off or waits for a retry.
                        let other_waits = (0..3).filter(|&k| k != l).any(|k| {
                            b.backoff[k].is_some_and(|w| !w.over(now))
                                || before_reqs(k).any(|(_, st)| matches!(st, St::Waiting(_)))
                        });
                        self.totals.sent_beside_a_waiting_lane += u64::from(other_waits);
                    }
                }
                Ev::Shown => {
                    let free = idle_before && b.backoff[l].is_none_or(|w| w.over(now));
                    if free && b.queued[l] > 0 {
                        assert!(sent_or_empty, "page_shown left free lane {l} unsent");
                    }
                }
                _ => {}
            }
        }

        if ev == Ev::Timeout && b.timers.get(Timer::Interval).is_some_and(|t| t <= now) {
            self.totals.interval_fires += 1;
        }
        // A flush whose lanes are all held by a Retry-After (or empty) settles at once,
        // without a request.
        if flush {
            let held = (0..3).all(|l| {
                let mut reqs = before_reqs(l).peekable();
                if reqs.peek().is_none() {
                    b.queued[l] == 0 || held_before(l)
                } else {
                    reqs.all(|(_, st)| matches!(st, St::Waiting(w) if w.server_holds(now)))
                }
            });
            if held {
                assert!(no_sends, "a flush contacted a lane held by Retry-After");
                assert!(
                    self.settled.contains(&self.flush_id),
                    "a flush held only by Retry-After did not settle at once"
                );
                self.totals.ra_settles += 1;
            }
        }

        self.check_state(ev, &b, &queued);
    }

    /// Invariants of the state after any event.
    fn check_state(&mut self, ev: Ev, b: &Before, queued: &[usize; 3]) {
        let now = self.now;
        let d = &self.d;
        let s = &d.pipeline.stats;
        // Conservation, and the core's counters agree with the model's.
        assert_eq!(s.sent_items, self.delivered, "sent.items");
        assert_eq!(s.dropped_rejected, self.rejected, "dropped.rejected");
        assert_eq!(s.dropped_failed, self.failed, "dropped.failed");
        let in_reqs: usize = self.reqs.values().map(|r| r.ids.len()).sum();
        assert_eq!(in_reqs, self.in_requests);
        let drops = s.dropped_queue_full
            + s.dropped_rejected
            + s.dropped_invalid
            + s.dropped_failed
            + s.dropped_after_shutdown;
        let held = queued.iter().sum::<usize>() as u64 + in_reqs as u64;
        assert_eq!(
            self.delivered + drops + held,
            self.tracked,
            "delivered {} + drops {drops} + queued and in requests {held} != tracked {}: {s:?} {queued:?} {in_reqs}",
            self.delivered,
            self.tracked
        );
        let status = d.status();
        assert_eq!(status.queue_size, queued.iter().sum::<usize>() as u64);
        let flying = self
            .reqs
            .values()
            .filter(|r| matches!(r.st, St::InFlight))
            .count();
        assert_eq!(status.in_flight, flying as u64);
        assert_eq!(status.sent.items, self.delivered);
        assert_eq!(
            d.has_work(),
            d.pipeline.queued_bytes() > 0 || !self.reqs.is_empty() || !self.pending.is_empty()
        );
        assert_eq!(d.flushing(), !self.pending.is_empty());

        // Unload requests in flight stay within the page's keepalive budget.
        let keepalive: usize = self
            .reqs
            .values()
            .filter(|r| r.keepalive && matches!(r.st, St::InFlight))
            .map(|r| r.size)
            .sum();
        assert!(
            keepalive <= UNLOAD_BUDGET,
            "{keepalive} B of keepalive bodies in flight"
        );

        // Timers: never armed in the past (so poll_timeout lags at most what the shell
        // has not handled yet), and handle_timeout leaves none due (it never spins).
        let timers = *d.timers();
        let slots = [
            Timer::Interval,
            Timer::Lane(Signal::Traces),
            Timer::Lane(Signal::Metrics),
            Timer::Lane(Signal::Logs),
        ];
        for t in slots {
            if let Some(at) = timers.get(t) {
                assert!(at >= self.last_handled, "{t:?} armed in the past: {at}");
                if ev == Ev::Timeout {
                    assert!(at > now, "{t:?} still due after handle_timeout: spin");
                }
            }
        }
        assert_eq!(d.poll_timeout(), timers.next());

        // The interval timer is never moved: armed by a tracking call, it stays until it
        // fires (or shutdown stops it), whatever another lane does.
        let interval = self.cfg.flush_interval;
        match (b.timers.get(Timer::Interval), timers.get(Timer::Interval)) {
            (Some(t), Some(u)) => assert_eq!(t, u, "{ev:?} moved the interval timer"),
            (Some(t), None) => assert!(
                (ev == Ev::Timeout && t <= now) || ev == Ev::Shutdown,
                "{ev:?} stopped the interval timer"
            ),
            (None, Some(u)) => assert!(
                ev == Ev::Track && !self.shut && u == now + interval,
                "{ev:?} armed the interval timer at {u}"
            ),
            (None, None) => assert!(
                ev != Ev::Track || self.shut || interval == 0.0,
                "a tracking call left the interval timer unarmed"
            ),
        }

        // Per lane: requests held, and the end of the earliest retry wait.
        let mut held = [0; 3];
        let mut retry_by: [Option<(RequestId, Win)>; 3] = [None; 3];
        for r in self.reqs.values() {
            held[r.lane] += 1;
            if let St::Waiting(w) = r.st {
                if retry_by[r.lane].is_none_or(|(_, v)| w.hi < v.hi) {
                    retry_by[r.lane] = Some((r.id, w));
                }
            }
        }
        let settles = matches!(
            ev,
            Ev::Flush | Ev::Shutdown | Ev::Reply | Ev::Timeout | Ev::Shown | Ev::Hidden
        );
        let drove = matches!(
            ev,
            Ev::Flush | Ev::Shutdown | Ev::Reply | Ev::Timeout | Ev::Shown
        );
        for l in 0..3 {
            let slot = timers.get(Timer::Lane(Signal::ALL[l]));
            let idle = held[l] == 0;
            // A waiting retry is woken by its lane's own timer by the end of its wait.
            if let Some((id, w)) = retry_by[l] {
                assert!(
                    slot.is_some_and(|at| at <= w.hi),
                    "{ev:?}: lane {l}'s timer {slot:?} misses request {id}'s retry {w:?}"
                );
            }
            // A lane that backs off with records queued wakes itself at the end (armed
            // by every event but a tracking call: until then the interval covers them).
            if let Some(w) = self.backoff[l] {
                if settles && idle && queued[l] > 0 && !w.may_be_over(now) {
                    assert!(
                        slot.is_some_and(|at| at <= w.hi),
                        "lane {l}'s timer {slot:?} misses its backoff end {w:?}"
                    );
                }
            }
            // A free lane never sits on a full batch once the core had a chance to send.
            let free = idle && self.backoff[l].is_none_or(|w| w.over(now));
            if drove && free {
                assert!(
                    queued[l] < self.cfg.batch_size,
                    "free lane {l} sits on a full batch"
                );
            }
            // A full batch wakes its lane now, or when the lane's own backoff ends.
            if ev == Ev::Track && idle && queued[l] >= self.cfg.batch_size {
                let until = self.backoff[l].map_or(now, |w| w.hi.max(now));
                assert!(
                    slot.is_some_and(|at| at <= until),
                    "a full batch on lane {l} left its timer at {slot:?}"
                );
            }
            // Queued records always have a way out: a request, or a timer.
            if (interval > 0.0 || self.shut) && queued[l] > 0 {
                assert!(
                    !idle || slot.is_some() || timers.get(Timer::Interval).is_some(),
                    "lane {l}'s {} queued records wait for nothing",
                    queued[l]
                );
            }
        }
    }

    // ---- the driver ------------------------------------------------------------------

    fn random_outcome(&mut self, items: u64) -> (Outcome, u64) {
        let status = |status, retry_after_ms| Outcome::Status {
            status,
            retry_after_ms,
        };
        let r = &mut self.rng;
        match r.below(100) {
            0..=29 => (status(200, None), 0),
            30..=37 => (status(r.pick(&[200, 202, 204]), None), r.below(items + 2)),
            38..=45 => (status(r.pick(&[408, 429]), None), 0),
            46..=55 => {
                let ms = r.pick(&[0.0, 1.0, 250.0, 3000.0, 60_000.0, 1e9]);
                (status(r.pick(&[408, 429, 503]), Some(ms)), 0)
            }
            56..=59 => (status(r.pick(&[400, 401, 404, 413]), None), 0),
            60..=63 => (status(500, None), 0),
            64..=73 => (status(r.pick(&[502, 503, 504]), None), 0),
            74..=83 => (Outcome::Timeout, 0),
            84..=93 => (Outcome::Network("reset".into()), 0),
            _ => (Outcome::Refused, 0),
        }
    }

    fn reply_random(&mut self) {
        let flying: Vec<RequestId> = self
            .reqs
            .iter()
            .filter(|(_, r)| matches!(r.st, St::InFlight))
            .map(|(id, _)| *id)
            .collect();
        if flying.is_empty() {
            return self.track();
        }
        let id = self.rng.pick(&flying);
        let (outcome, rejected) = self.random_outcome(self.reqs[&id].ids.len() as u64);
        self.reply(id, outcome, rejected);
    }

    /// A late or stray reply, for a request the core no longer holds.
    fn reply_stray(&mut self) {
        let id = self.rng.below(self.totals.requests + 5) as RequestId;
        if !self.reqs.contains_key(&id) {
            self.reply(id, Outcome::Timeout, 0);
        }
    }

    fn advance(&mut self) {
        let dt = match self.rng.below(6) {
            0 => 0,
            1 => self.rng.below(10),
            2 => self.rng.below(500),
            3 => self.rng.below(5000),
            4 => self.rng.below(60_000),
            _ => 300_001,
        } as f64;
        let target = self.now + dt;
        let due = |run: &Run, at: f64| run.d.poll_timeout().is_some_and(|t| t <= at);
        let mode = if self.must_handle {
            0
        } else {
            self.rng.below(100)
        };
        note!(self, "t={} advance {dt} mode {mode}", self.now - START);
        match mode {
            // On time: each timer handled when due.
            0..=59 => {
                let mut guard = 0;
                while let Some(t) = self.d.poll_timeout().filter(|t| *t <= target) {
                    self.now = self.now.max(t);
                    self.handle_timeout();
                    guard += 1;
                    assert!(guard < 10_000, "handle_timeout spins");
                }
                self.now = target;
            }
            // Late: the shell wakes once, after the due time.
            60..=79 => {
                self.now = target;
                if due(self, self.now) {
                    self.handle_timeout();
                }
            }
            // Early: a wake-up before anything is due.
            80..=89 => match self.d.poll_timeout() {
                Some(t) if t > self.now => {
                    self.now = (self.now + self.rng.float(t - self.now)).min(t);
                    self.handle_timeout();
                }
                _ => self.now = target,
            },
            // Time passes and other events come before the timer fires.
            _ => {
                self.now = target;
            }
        }
        self.must_handle = due(self, self.now);
    }

    fn step(&mut self) {
        match self.rng.below(100) {
            0..=37 => self.track(),
            38..=57 => self.reply_random(),
            58..=77 => self.advance(),
            78..=83 => self.flush(false),
            84..=85 => self.page_hidden(),
            86..=87 => self.page_shown(),
            88..=90 => self.handle_timeout(),
            91..=92 => self.reply_stray(),
            _ => {
                for _ in 0..3 + self.rng.below(12) {
                    self.track();
                }
            }
        }
    }

    /// No more traffic: the collector answers 200 to everything and the clock runs past
    /// every timer. Returns the events it took.
    fn drain(&mut self) -> u64 {
        let mut events = 0;
        loop {
            assert!(events < 100_000, "the drain does not end");
            let flying: Vec<RequestId> = self
                .reqs
                .iter()
                .filter(|(_, r)| matches!(r.st, St::InFlight))
                .map(|(id, _)| *id)
                .collect();
            if !flying.is_empty() {
                for id in flying {
                    let ok = Outcome::Status {
                        status: 200,
                        retry_after_ms: None,
                    };
                    self.reply(id, ok, 0);
                    events += 1;
                }
                continue;
            }
            match self.d.poll_timeout() {
                Some(t) => {
                    self.now = self.now.max(t);
                    self.handle_timeout();
                    events += 1;
                }
                None => break,
            }
        }
        assert!(self.reqs.is_empty(), "a waiting request has no timer");
        events
    }

    fn go(&mut self, steps: usize) {
        let shutdown_at = self
            .rng
            .chance(50)
            .then(|| steps * 7 / 10 + self.rng.below(steps as u64 * 3 / 10) as usize);
        for i in 0..steps {
            if Some(i) == shutdown_at {
                self.flush(true);
            } else {
                self.step();
            }
            if self.must_handle && self.d.poll_timeout().is_none_or(|t| t > self.now) {
                self.must_handle = false;
            }
        }
        self.totals.steps += steps as u64;
        // Every flush settles once the traffic stops, with no further call.
        self.totals.drain_events += self.drain();
        assert!(
            self.pending.is_empty(),
            "flushes never settled: {:?}",
            self.pending
        );
        // A last flush empties the queue: every item is accounted for.
        self.flush(false);
        self.totals.drain_events += self.drain();
        assert!(self.pending.is_empty());
        assert_eq!(self.queued(), [0; 3], "queued after the last flush");
        assert!(!self.d.has_work() && self.d.poll_timeout().is_none());
        let s = &self.d.pipeline.stats;
        let drops = s.dropped_queue_full
            + s.dropped_rejected
            + s.dropped_invalid
            + s.dropped_failed
            + s.dropped_after_shutdown;
        assert_eq!(self.delivered + drops, self.tracked);
        assert_eq!(
            self.done as u64,
            self.delivered + self.rejected + self.failed
        );
        let t = &mut self.totals;
        t.runs = 1;
        t.tracked = self.tracked;
        t.delivered = self.delivered;
        t.queue_full = s.dropped_queue_full;
        t.rejected = s.dropped_rejected;
        t.failed = s.dropped_failed;
        t.invalid = s.dropped_invalid;
        t.after_shutdown = s.dropped_after_shutdown;
    }
}

impl Totals {
    fn add(&mut self, o: &Totals) {
        self.runs += o.runs;
        self.steps += o.steps;
        self.drain_events += o.drain_events;
        self.tracked += o.tracked;
        self.delivered += o.delivered;
        self.requests += o.requests;
        self.resends += o.resends;
        self.keepalive += o.keepalive;
        self.gzipped += o.gzipped;
        self.flushes += o.flushes;
        self.ra_settles += o.ra_settles;
        self.queue_full += o.queue_full;
        self.rejected += o.rejected;
        self.failed += o.failed;
        self.invalid += o.invalid;
        self.after_shutdown += o.after_shutdown;
        self.requeues += o.requeues;
        self.interval_fires += o.interval_fires;
        self.backoffs_cut += o.backoffs_cut;
        self.ra_held_lanes += o.ra_held_lanes;
        self.sent_beside_a_waiting_lane += o.sent_beside_a_waiting_lane;
    }
}

/// Runs `seed`; on a failure, says which seed and how to see its events.
fn run_seed(seed: u64, verbose: bool) -> Totals {
    let mut run = Run::new(seed);
    run.verbose = verbose;
    let result = catch_unwind(AssertUnwindSafe(|| run.go(STEPS)));
    if let Err(panic) = result {
        let mut report = format!("seed {seed} failed; {:?}\n", run.cfg);
        if verbose {
            for line in &run.log {
                let _ = writeln!(report, "  {line}");
            }
        } else {
            let _ = writeln!(report, "rerun with PROPS_SEED={seed} for its events");
        }
        eprintln!("{report}");
        resume_unwind(panic);
    }
    run.totals
}

#[test]
fn delivery_keeps_its_invariants_under_random_interleavings() {
    let clock = std::time::Instant::now();
    if let Ok(seed) = std::env::var("PROPS_SEED") {
        run_seed(seed.parse().unwrap(), true);
        return;
    }
    let runs = std::env::var("PROPS_RUNS").map_or(RUNS, |n| n.parse().unwrap());
    // Seeds 1..=runs, shared by a thread per core (two on the build machine).
    let next = AtomicU64::new(1);
    let failed = AtomicBool::new(false);
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(4));
    let totals = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut totals = Totals::default();
                    while !failed.load(Ordering::Relaxed) {
                        let seed = next.fetch_add(1, Ordering::Relaxed);
                        if seed > runs {
                            break;
                        }
                        let result = catch_unwind(|| run_seed(seed, false));
                        match result {
                            Ok(t) => totals.add(&t),
                            Err(panic) => {
                                failed.store(true, Ordering::Relaxed);
                                resume_unwind(panic);
                            }
                        }
                    }
                    totals
                })
            })
            .collect();
        let mut totals = Totals::default();
        for worker in workers {
            match worker.join() {
                Ok(t) => totals.add(&t),
                Err(panic) => resume_unwind(panic),
            }
        }
        totals
    });
    println!(
        "delivery properties: {} runs, {} random steps + {} drain events, {} threads, {:.2?}",
        totals.runs,
        totals.steps,
        totals.drain_events,
        threads,
        clock.elapsed()
    );
    println!("  {totals:?}");
    assert_eq!(totals.runs, runs);
}
