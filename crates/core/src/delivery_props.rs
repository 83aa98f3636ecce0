//! A seeded property test of [`Delivery`]: 2,000 random interleavings (200 steps each,
//! then a drain) of tracking (all three lanes, every kind, random sizes, now and then a
//! malformed record), flushes, replies with random outcomes, time passing (timers handled
//! on time, late, early, or after other events), page hide and show, stray replies and a
//! late shutdown, under random configurations, OTLP or ClickHouse.
//!
//! About 40 % of the runs are browser pages that keep batches (SPEC §8), over a fake
//! `localStorage` shared by every load of the page: a small `persistBytes` (so batches
//! are evicted), writes that throw now and then, `offline` and `online` events and
//! `Offline` replies, `disable()` and `enable()` (the opt-out persists to the next
//! load), pages that go away (hidden first or not, their requests never answered) and
//! next loads, sometimes two pages open at once over one storage, whose claims on a
//! stored batch are exclusive while a page holds them (as the shell's Web Lock is).
//!
//! A model beside the core knows where each item is (each has a unique id, `@<id>#`,
//! read back from request and stored bodies, gunzipped when gzip): in its page's memory,
//! in a request, stored, delivered, evicted, deleted by an opt-out, or lost with its page;
//! and what each lane waits for. It checks after every event:
//!
//! - no panic; conservation across page loads: delivered (2xx, less partial-success
//!   rejections) + counted drops (`dropped.persistFull` included) + queued + in
//!   requests + stored + lost with a dead page + deleted by an opt-out = tracked (less what two
//!   pages both counted: a batch one evicted or opted out while another sent it, or one
//!   evicted from a stale listing); each page's `sent.items`, `dropped.*`, status and
//!   `has_work()` agree with the model;
//! - at most once: no item in two requests at once (across pages), nor stored and sent,
//!   nor sent or answered again once the collector answered it (2xx or refused for good),
//!   by whatever page; the only items the collector may see twice are those of requests
//!   whose answer never came (a timeout, a page that died with them in flight), counted;
//!   a request's items oldest first, a retry with the same body, a ClickHouse token on
//!   one block only;
//! - stored batches: written only when they would otherwise be lost (a lane failed, the
//!   page hid, the browser went offline, the interval while a lane fails or offline),
//!   never after an opt-out, never an item being sent; sent by one page at a time (a page
//!   refused the claim is answered `Refused`, and releases nothing), only while shown and
//!   collecting; deleted only after a 2xx or a refusal for good (or an opt-out), kept on
//!   a failure (one more attempt counted, unless offline); evicted only to make room for
//!   a write; within `persistBytes` (the whole storage while one page writes at a time,
//!   a page's own index once it wrote); an opt-out leaves none; and while a page may
//!   send them, they have a way out (a timer or a request);
//! - offline: nothing sent (a page that keeps nothing aside, at hide) and no retry spent
//!   but on a server's answer; the `online` event sends at once;
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
//!   (one waiting out a `Retry-After`, or offline for a retry, aside), and all of them
//!   once the traffic stops and the collector answers 200; then, pages shown and online
//!   (and a next load for batches no open page knows), every stored batch is delivered
//!   and the storage is empty, and a last flush leaves nothing queued: every item is
//!   delivered, counted dropped, lost with a dead page or opted out.
//!
//! `PROPS_SEED=<n>` runs one seed and prints its events on failure; `PROPS_RUNS=<n>`
//! changes the run count.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write as _;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use crate::config::{Config, Raw};
use crate::delivery::{
    Action, Delivery, FlushId, Reply, RequestId, Timer, Transmit, UNLOAD_BUDGET,
};
use crate::encoder::Identity;
use crate::model::testing::{body, V};
use crate::model::{MetricKind, Signal, Track};
use crate::persist::{stored_len, Then, PREFIX};
use crate::retry::{backoff_ms, Outcome, Verdict, MAX_RETRY_AFTER_MS};
use crate::stats::Stats;

const RUNS: u64 = 2_000;
const STEPS: usize = 200;
/// A wall-clock time of 13 digits, as stored keys carry (they sort oldest first).
const START: f64 = 1_700_000_000_000.0;

/// Items a page's counters account for: delivered, or dropped for any reason.
fn counted(s: &Stats) -> u64 {
    s.sent_items
        + s.dropped_queue_full
        + s.dropped_rejected
        + s.dropped_invalid
        + s.dropped_failed
        + s.dropped_after_shutdown
        + s.dropped_persist_full
}

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
    /// A browser page that keeps batches (SPEC §8): its `persistBytes`; `None` elsewhere.
    persist_bytes: Option<f64>,
    /// Percent of storage writes that throw (a full quota).
    write_faults: u64,
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
            // Small enough to evict now and then, large enough to keep a few batches.
            persist_bytes: rng
                .chance(40)
                .then(|| rng.pick(&[2048.0, 8192.0, 65_536.0])),
            write_faults: rng.pick(&[0, 0, 5, 30]),
        }
    }

    /// A core for one page load; a browser page that keeps batches when `persist_bytes`.
    fn delivery(&self, enabled: bool) -> Delivery {
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
        if let Some(bytes) = self.persist_bytes {
            opts.push(("persistBytes", n(bytes)));
        }
        let config = Config::parse(&mut |k| match k {
            "projectName" | "version" => Raw::Str("p".into()),
            _ => opts
                .iter()
                .find(|(o, _)| *o == k)
                .map_or(Raw::Missing, |(_, v)| v.clone()),
        })
        .unwrap();
        match self.persist_bytes {
            Some(_) => Delivery::new(config).with_host(enabled, "browser".into()),
            None => Delivery::new(config),
        }
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
    /// A stored batch: its key, and whether this page holds its claim (the shell sent
    /// it); unclaimed, its only answer is `Refused`.
    stored: Option<(String, bool)>,
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

    /// The ids of the requests in flight (sent, not answered).
    fn in_flight(&self) -> Vec<RequestId> {
        self.0
            .iter()
            .filter(|r| matches!(r.st, St::InFlight))
            .map(|r| r.id)
            .collect()
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
    /// A page load asks for the stored batches (`open()`).
    Open,
    Offline,
    Online,
    /// `disable()` turns collection off (then flushes); `enable()` back on.
    Disable,
    Enable,
}

/// What the model knew just before an event.
struct Before {
    queued: [usize; 3],
    timers: crate::delivery::TimerTable,
    /// Each request the core held: its id, lane and state.
    reqs: Vec<(RequestId, usize, St)>,
    backoff: [Option<Win>; 3],
    failing: [bool; 3],
    offline: bool,
    retries: u64,
    persists: u64,
    failed_writes: u64,
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
    /// Browser pages: page loads, pages that died (with requests in flight), two pages
    /// open at once.
    browser_runs: u64,
    loads: u64,
    deaths: u64,
    deaths_in_flight: u64,
    concurrent: u64,
    /// Batches written, writes that threw, stored batches sent (and refused a claim),
    /// items evicted, deleted by an opt-out, counted twice across pages.
    persists: u64,
    failed_writes: u64,
    stored_sends: u64,
    claims_refused: u64,
    evicted: u64,
    opted_out: u64,
    overlap: u64,
    stale: u64,
    offline_events: u64,
    disables: u64,
    /// Items delivered that may have reached the collector before (an unanswered
    /// request), and items lost with their page.
    maybe_twice: u64,
    lost: u64,
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

/// Where an item is, as the model knows it.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Is {
    /// In its page's memory: queued, or dropped there (byte bound, invalid, after shutdown).
    Mem,
    /// In a request of its page (in flight or waiting to be retried).
    Req,
    /// In a stored batch (whether or not a page is sending it).
    Stored,
    /// Delivered, or refused for good by the collector.
    Done,
    /// Its stored batch was evicted (`dropped.persistFull`).
    Evicted,
    /// Its stored batch was deleted by an opt-out.
    OptedOut,
    /// In memory (or in a fresh request) of a page that died.
    Lost,
}

/// One tracked item.
#[derive(Clone, Copy, Debug)]
struct Item {
    is: Is,
    /// The page that tracked it.
    page: u32,
    /// The collector answered a request that carried it (2xx or refused for good).
    acked: bool,
    /// Requests that carried it whose answer never came (a timeout, a page that died with
    /// it in flight): each may have arrived, so the collector may see it that many times
    /// more. The only duplicates allowed (SPEC §8's at-least-once cases).
    unanswered: u32,
}

/// The fake `localStorage`'s value under one key, and the page holding its claim.
#[derive(Clone, Debug)]
struct Batch {
    head: String,
    body: Vec<u8>,
    /// The items its body carries.
    ids: Vec<u64>,
    /// The page whose claim it is under (exclusive, let go by its release or its death).
    claim: Option<u32>,
}

impl Batch {
    fn gzip(&self) -> bool {
        self.head.starts_with('g')
    }

    fn attempts(&self) -> u32 {
        self.head.split(' ').nth(1).unwrap().parse().unwrap()
    }

    /// Length of the value, as the shell lists it (a gzip body in base64).
    fn value_len(&self) -> usize {
        stored_len("", &self.head, self.body.len(), self.gzip())
    }
}

/// The items a stored batch's key says it holds (`...<signal>.<items>`).
fn key_items(key: &str) -> u64 {
    key.rsplit('.').next().unwrap().parse().unwrap()
}

/// One page load: its core, and what the model knows of it.
struct Page {
    d: Delivery,
    /// Numbers the page loads of a run.
    uid: u32,
    /// When the shell last called `handle_timeout`.
    last_handled: f64,
    reqs: Reqs,
    backoff: [Option<Win>; 3],
    /// Its counters as the model expects them.
    delivered: u64,
    rejected: u64,
    failed: u64,
    persist_full: u64,
    /// Its items in state [`Is::Mem`], and in its fresh requests.
    mem: u64,
    in_requests: usize,
    /// Pending flushes and the first item id each does not cover.
    pending: HashMap<FlushId, u64>,
    settled: HashSet<FlushId>,
    shut: bool,
    /// The latest page hide's `compress`, and the latest flush's id.
    compress: bool,
    flush_id: FlushId,
    /// A timer may be due and unhandled: the next clock step handles it.
    must_handle: bool,
    /// Browser state the shell reported, and collection on or off.
    offline: bool,
    hidden: bool,
    enabled: bool,
    /// Each lane's last request failed for good (retries ran out, or offline), until a
    /// delivery: with a request waiting to be retried, the lane is failing (it writes).
    lane_failed: [bool; 3],
    /// The sends the core counts for each stored batch it knows (its backoff grows with them).
    attempts: HashMap<String, u32>,
}

impl Page {
    /// Whether it knows stored batches it may claim and send now: collecting, shown, not
    /// shut down (the core keeps itself alive for them).
    fn restoring(&self) -> bool {
        self.enabled && !self.hidden && !self.shut && self.d.status().persisted.batches > 0
    }

    /// Each lane is failing: it failed for good since its last delivery, or waits to
    /// retry (it writes what it queues).
    fn failing(&self) -> [bool; 3] {
        let mut failing = self.lane_failed;
        for r in self.reqs.values() {
            failing[r.lane] |= matches!(r.st, St::Waiting(_));
        }
        failing
    }
}

/// Counters of the pages that died, for conservation.
#[derive(Default, Debug)]
struct Dead {
    /// `sent.items` and every drop counter, summed.
    counted: u64,
    /// Items queued or in fresh requests when their page died.
    lost: u64,
}

struct Run {
    rng: Rng,
    cfg: Cfg,
    seed: u64,
    now: f64,
    verbose: bool,
    log: Vec<String>,
    /// The page events go to, and the other live pages (two at most).
    p: Page,
    others: Vec<Page>,
    /// Page loads so far.
    loads: u32,
    /// Two pages were ever open at once: each bounds only what it knows of the storage.
    concurrent: bool,
    // The model.
    tracked: u64,
    next_item: u64,
    items: Vec<Item>,
    /// The fake `localStorage`: the project's stored batches, oldest first.
    storage: BTreeMap<String, Batch>,
    /// The opt-out persisted by `disable()`: the next load starts disabled.
    opted_out: bool,
    /// Items whose stored batch an opt-out deleted.
    opted_out_items: u64,
    /// Items a page counted delivered or failed after their stored batch was deleted under
    /// its claim (evicted by another page, or by an opt-out): counted twice.
    overlap: u64,
    /// Items a page counted evicted from a batch another page had already deleted (its
    /// index listed it earlier): counted twice.
    stale: u64,
    /// Keys evicted before their write, which then failed.
    unwritten: HashSet<String>,
    /// The stored batch whose reply is being handled, what the core must do to it, and
    /// whether it counts the batch delivered or failed.
    expect_release: Option<(String, Then, bool)>,
    dead: Dead,
    /// The reply being handled is a server's answer: it may spend a retry while the
    /// browser says it is offline (the request went out before).
    answered: bool,
    /// ClickHouse: the items of the latest request sent with each deduplication token.
    tokens: HashMap<String, Vec<u64>>,
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
        let p = Run::page(&cfg, seed, 0, true, START);
        Run {
            rng,
            cfg,
            seed,
            now: START,
            verbose: false,
            log: Vec::new(),
            p,
            others: Vec::new(),
            loads: 1,
            concurrent: false,
            tracked: 0,
            next_item: 0,
            items: Vec::new(),
            storage: BTreeMap::new(),
            opted_out: false,
            opted_out_items: 0,
            overlap: 0,
            stale: 0,
            unwritten: HashSet::new(),
            expect_release: None,
            dead: Dead::default(),
            answered: false,
            tokens: HashMap::new(),
            totals: Totals::default(),
        }
    }

    /// Page load `uid` at `now`: a session of its own (its stored keys name it).
    fn page(cfg: &Cfg, seed: u64, uid: u32, enabled: bool, now: f64) -> Page {
        let mut d = cfg.delivery(enabled);
        let identity = Identity {
            session_id: format!("{uid:08x}-0000-4000-8000-000000000000"),
            ..Identity::default()
        };
        d.pipeline.start(seed + u64::from(uid), identity);
        Page {
            d,
            uid,
            last_handled: now,
            reqs: Reqs::default(),
            backoff: [None; 3],
            delivered: 0,
            rejected: 0,
            failed: 0,
            persist_full: 0,
            mem: 0,
            in_requests: 0,
            pending: HashMap::new(),
            settled: HashSet::new(),
            shut: false,
            compress: false,
            flush_id: 0,
            must_handle: false,
            offline: false,
            hidden: false,
            enabled,
            lane_failed: [false; 3],
            attempts: HashMap::new(),
        }
    }

    fn queued(&self) -> [usize; 3] {
        Signal::ALL.map(|s| self.p.d.pipeline.queued(s))
    }

    fn before(&self) -> Before {
        Before {
            queued: self.queued(),
            timers: *self.p.d.timers(),
            failing: self.p.failing(),
            offline: self.p.offline,
            retries: self.p.d.pipeline.stats.retries,
            persists: self.totals.persists,
            failed_writes: self.totals.failed_writes,
            reqs: self
                .p
                .reqs
                .iter()
                .map(|(id, r)| (*id, r.lane, r.st))
                .collect(),
            backoff: self.p.backoff,
        }
    }

    fn outstanding(&self, lane: usize) -> usize {
        self.p.reqs.values().filter(|r| r.lane == lane).count()
    }

    // ---- events ----------------------------------------------------------------------

    fn track(&mut self) {
        if !self.p.enabled {
            return; // the shell ignores tracking calls while collection is off
        }
        let b = self.before();
        let id = self.next_item;
        self.next_item += 1;
        self.items.push(Item {
            is: Is::Mem,
            page: self.p.uid,
            acked: false,
            unanswered: 0,
        });
        self.p.mem += 1;
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
        self.p.d.track(self.now, track, &bytes);
        self.after(Ev::Track, b);
    }

    fn flush(&mut self, shutdown: bool) {
        let b = self.before();
        let f = if shutdown {
            self.p.shut = true;
            self.p.d.shutdown(self.now)
        } else {
            self.p.d.flush(self.now)
        };
        note!(
            self,
            "t={} {} -> {f}",
            self.now - START,
            if shutdown { "shutdown" } else { "flush" }
        );
        assert!(
            !self.p.settled.contains(&f),
            "flush id {f} reused after it settled"
        );
        // A flush that adds nothing to the newest pending one shares its id (items tracked
        // in between were refused or came after shutdown): it keeps the first snapshot.
        self.p.pending.entry(f).or_insert(self.next_item);
        self.p.flush_id = f;
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
        // A stored batch's reply: the model says what the core must do to it.
        let stored = self.p.reqs.get_mut(&id).and_then(|r| r.stored.clone());
        let verdict = match &outcome {
            Outcome::Status { status, .. } if (200..300).contains(status) => Verdict::Delivered,
            Outcome::Status {
                status: 408 | 429 | 502 | 503 | 504,
                retry_after_ms,
            } => Verdict::Retry(*retry_after_ms),
            Outcome::Status { .. } => Verdict::Drop,
            Outcome::Timeout | Outcome::Network(_) | Outcome::Offline => Verdict::Retry(None),
            Outcome::Refused => Verdict::Restore,
        };
        // Offline, a failure spends no retry: one the browser reported offline, or one
        // without an answer (a timeout) while it is offline. A server's answer is one.
        let offline = match outcome {
            Outcome::Offline => true,
            Outcome::Timeout | Outcome::Network(_) => self.p.offline,
            _ => false,
        };
        if let Some((key, claimed)) = &stored {
            assert_eq!(
                *claimed,
                verdict != Verdict::Restore,
                "the shell refuses exactly the stored batches it could not claim"
            );
            let then = match verdict {
                _ if !claimed => None,
                Verdict::Delivered | Verdict::Drop => Some(Then::Delete),
                _ if !self.p.enabled => Some(Then::Delete),
                Verdict::Retry(_) if offline => Some(Then::Keep),
                Verdict::Retry(_) => Some(Then::Bump),
                Verdict::Restore => None,
            };
            let counted = matches!(verdict, Verdict::Delivered | Verdict::Drop);
            self.expect_release = then.map(|t| (key.clone(), t, counted));
        }
        self.answered = matches!(outcome, Outcome::Status { .. });
        self.p.d.reply(self.now, id, reply);
        // The model settles the attempt before looking at what the core did next.
        let req = self.p.reqs.remove(&id);
        let Some(mut req) = req else {
            assert!(
                self.p.d.body(id).is_none(),
                "reply to an unknown request {id}"
            );
            self.answered = false;
            self.after(Ev::Stray, b);
            return;
        };
        assert!(
            matches!(req.st, St::InFlight),
            "replied to a waiting request"
        );
        self.p.offline |= outcome == Outcome::Offline;
        if outcome == Outcome::Timeout {
            // Its answer never came: it may have arrived.
            for &i in &req.ids {
                self.items[i as usize].unanswered += 1;
            }
        }
        let n = req.ids.len() as u64;
        let still = self.p.d.body(id).is_some();
        let settle = |run: &mut Run, req: &Req| {
            for &i in &req.ids {
                let item = &mut run.items[i as usize];
                assert!(!item.acked, "item {i} delivered or dropped twice");
                item.acked = true;
                run.totals.maybe_twice += u64::from(item.unanswered > 0);
                if item.is == Is::Req {
                    item.is = Is::Done;
                }
            }
            if req.stored.is_none() {
                run.p.in_requests -= req.ids.len();
            }
        };
        let put_back = |run: &mut Run, req: &Req| {
            req.ids
                .iter()
                .for_each(|&i| run.items[i as usize].is = Is::Mem);
            run.p.in_requests -= req.ids.len();
            run.p.mem += req.ids.len() as u64;
        };
        match verdict {
            Verdict::Delivered => {
                assert!(!still);
                let r = rejected.min(n);
                self.p.delivered += n - r;
                self.p.rejected += r;
                self.p.lane_failed[req.lane] = false;
                settle(self, &req);
            }
            Verdict::Drop => {
                assert!(!still);
                self.p.failed += n;
                self.p.lane_failed[req.lane] = false;
                settle(self, &req);
            }
            Verdict::Restore => {
                assert!(!still);
                if req.stored.is_none() {
                    put_back(self, &req);
                }
            }
            Verdict::Retry(after) => {
                let retries = req.sends - 1;
                if let Some((key, _)) = &req.stored {
                    // A stored batch is sent once per claim: kept (its attempts counted
                    // unless offline), and its lane backs off.
                    assert!(!still, "a stored batch is not retried in place");
                    self.p.lane_failed[req.lane] = true;
                    let sends = self.p.attempts.get(key).copied().unwrap_or(0);
                    if !offline {
                        let win = Win::after(self.now, after, self.cfg.backoff_base, sends);
                        self.p.backoff[req.lane] = Some(win);
                        self.p.attempts.insert(key.clone(), sends + 1);
                    }
                } else if offline || retries >= self.cfg.max_retries {
                    assert!(!still, "retries ran out (or offline): the batch goes back");
                    if !offline {
                        let win = Win::after(self.now, after, self.cfg.backoff_base, retries);
                        self.p.backoff[req.lane] = Some(win);
                    }
                    self.p.lane_failed[req.lane] = true;
                    put_back(self, &req);
                    self.totals.requeues += 1;
                } else {
                    assert!(
                        still,
                        "a retry keeps its request ({retries} retries so far)"
                    );
                    let win = Win::after(self.now, after, self.cfg.backoff_base, retries);
                    req.st = St::Waiting(win);
                    req.keepalive = false;
                    self.p.reqs.insert(req);
                }
            }
        }
        self.after(Ev::Reply, b);
        self.answered = false;
        assert!(
            self.expect_release.is_none(),
            "the stored batch's reply released nothing"
        );
    }

    fn handle_timeout(&mut self) {
        let b = self.before();
        note!(
            self,
            "t={} handle_timeout (next {:?})",
            self.now - START,
            b.timers.next().map(|t| t - START)
        );
        self.p.d.handle_timeout(self.now);
        self.p.last_handled = self.now;
        for w in &mut self.p.backoff {
            if w.is_some_and(|w| w.over(self.now)) {
                *w = None;
            }
        }
        self.after(Ev::Timeout, b);
    }

    fn page_hidden(&mut self) {
        let b = self.before();
        self.p.compress = self.rng.chance(50);
        note!(
            self,
            "t={} page_hidden {}",
            self.now - START,
            self.p.compress
        );
        self.p.hidden = true;
        self.p.d.page_hidden(self.now, self.p.compress);
        self.after(Ev::Hidden, b);
    }

    fn page_shown(&mut self) {
        let b = self.before();
        note!(self, "t={} page_shown", self.now - START);
        self.p.hidden = false;
        self.p.d.page_shown(self.now);
        self.after(Ev::Shown, b);
    }

    /// The page asks for what earlier loads stored.
    fn open(&mut self) {
        let b = self.before();
        note!(self, "t={} open page {}", self.now - START, self.p.uid);
        self.p.d.open();
        self.after(Ev::Open, b);
    }

    /// The browser's `online` and `offline` events.
    fn set_online(&mut self, online: bool) {
        let b = self.before();
        note!(self, "t={} online {online}", self.now - START);
        self.p.offline = !online;
        self.totals.offline_events += u64::from(!online);
        self.p.d.set_online(self.now, online);
        self.after(if online { Ev::Online } else { Ev::Offline }, b);
    }

    /// `disable()`: collection off (what is stored is deleted, and the opt-out persists),
    /// then a flush; or `enable()`.
    fn set_enabled(&mut self, on: bool) {
        let b = self.before();
        note!(self, "t={} enabled {on}", self.now - START);
        self.p.enabled = on;
        self.opted_out = !on;
        self.p.d.set_enabled(on);
        self.after(if on { Ev::Enable } else { Ev::Disable }, b);
        if !on {
            self.totals.disables += 1;
            // Opting out wins: nothing this project stored survives it (pages open
            // beside it may write again).
            if self.others.is_empty() {
                assert!(self.storage.is_empty(), "disable() left batches stored");
            }
            self.flush(false);
        }
    }

    /// The page goes away: hidden first (a navigation) or not (a crash), its requests in
    /// flight never answered. What it had in memory is lost, its claims are let go.
    fn end_page(&mut self, next: Option<Page>) {
        if self.rng.chance(70) && !self.p.hidden {
            self.page_hidden();
        }
        let next = next.unwrap_or_else(|| self.others.pop().unwrap());
        let p = std::mem::replace(&mut self.p, next);
        note!(self, "t={} page {} dies", self.now - START, p.uid);
        self.dead.counted += counted(&p.d.pipeline.stats);
        let queued: usize = Signal::ALL.iter().map(|&s| p.d.pipeline.queued(s)).sum();
        let lost = queued as u64 + p.in_requests as u64;
        self.dead.lost += lost;
        self.totals.lost += lost;
        self.totals.deaths += 1;
        self.totals.tally(&p.d.pipeline.stats);
        self.totals.deaths_in_flight +=
            u64::from(p.reqs.values().any(|r| matches!(r.st, St::InFlight)));
        for r in p.reqs.values() {
            let flying = matches!(r.st, St::InFlight);
            if let Some((key, true)) = &r.stored {
                // The browser lets go of a dead tab's claim: the batch stays stored, and
                // may have arrived.
                if let Some(batch) = self.storage.get_mut(key) {
                    assert_eq!(batch.claim, Some(p.uid));
                    batch.claim = None;
                }
            }
            for &i in &r.ids {
                let item = &mut self.items[i as usize];
                item.unanswered += u32::from(flying);
                if item.is == Is::Req {
                    item.is = Is::Lost;
                }
            }
        }
        for item in self
            .items
            .iter_mut()
            .filter(|i| i.page == p.uid && i.is == Is::Mem)
        {
            item.is = Is::Lost;
        }
        self.p.must_handle = self.p.d.poll_timeout().is_some_and(|t| t <= self.now);
    }

    /// A new load of the page over the same storage (the opt-out persisted decides
    /// whether it collects), replacing the current page or opened beside it.
    fn load(&mut self, beside: bool) {
        let uid = self.loads;
        self.loads += 1;
        self.totals.loads += 1;
        let page = Run::page(&self.cfg, self.seed, uid, !self.opted_out, self.now);
        if beside {
            let old = std::mem::replace(&mut self.p, page);
            self.others.push(old);
            self.concurrent = true;
            self.totals.concurrent += 1;
        } else {
            self.end_page(Some(page));
        }
        self.open();
    }

    /// Events go to the other open page from now on.
    fn switch(&mut self) {
        std::mem::swap(&mut self.p, &mut self.others[0]);
        note!(self, "t={} switch to page {}", self.now - START, self.p.uid);
        self.p.must_handle = self.p.d.poll_timeout().is_some_and(|t| t <= self.now);
    }

    /// A browser event: offline or online, a page that goes away or opens beside, events
    /// to the other page, opting out or in.
    fn page_event(&mut self) {
        match self.rng.below(100) {
            0..=29 => self.set_online(self.p.offline),
            30..=44 => self.load(false),
            45..=54 if self.others.is_empty() => self.load(true),
            45..=54 => self.end_page(None),
            55..=69 if !self.others.is_empty() => self.switch(),
            70..=77 if self.p.enabled => self.set_enabled(false),
            70..=84 if !self.p.enabled => self.set_enabled(true),
            _ => {
                if self.p.hidden {
                    self.page_shown();
                } else {
                    self.page_hidden();
                }
            }
        }
    }

    // ---- the fake storage, as the shell carries out the storage calls ----------------

    /// `Action::List`: the stored batches, oldest first.
    fn list(&mut self, ev: Ev, prefix: &str) {
        assert_eq!(prefix, [PREFIX, "p:"].concat());
        assert!(
            matches!(ev, Ev::Open | Ev::Disable),
            "{ev:?} listed the storage"
        );
        let listing: String = self
            .storage
            .iter()
            .map(|(k, b)| format!("{} {}\n", &k[prefix.len()..], b.value_len()))
            .collect();
        if self.p.enabled {
            for key in self.storage.keys() {
                self.p.attempts.insert(key.clone(), 0);
            }
        }
        self.p.d.listed(self.now, Some(&listing));
    }

    /// `Action::Persist`: written, or refused by a full storage now and then. `evicted`:
    /// a later write of the same event evicted it before its write was acknowledged.
    fn persisted(&mut self, ev: Ev, b: &Before, key: &str, head: &str, body: &[u8], evicted: bool) {
        let lane = Signal::ALL
            .iter()
            .position(|s| key.contains(&[".", s.name(), "."].concat()))
            .unwrap();
        // Only what would otherwise be lost is written (SPEC §8): never while everything
        // is delivered, never after an opt-out.
        assert!(self.p.enabled, "{ev:?}: written while collection is off");
        let interval_fired = b.timers.get(Timer::Interval).is_some_and(|t| t <= self.now);
        let why = match ev {
            Ev::Hidden | Ev::Offline => true,
            Ev::Reply => self.p.lane_failed[lane],
            Ev::Timeout => interval_fired && (b.offline || b.failing[lane]),
            _ => false,
        };
        assert!(
            why,
            "{ev:?} wrote {key} (lane {lane} failing {:?}, offline {})",
            b.failing, b.offline
        );
        assert!(key.starts_with(&[PREFIX, "p:"].concat()));
        assert!(!self.storage.contains_key(key), "{key} written twice");
        let ids = ids_in(body, head.starts_with('g'));
        assert_eq!(
            ids.len() as u64,
            key_items(key),
            "{key} names its item count"
        );
        for &i in &ids {
            let item = &self.items[i as usize];
            assert!(
                item.is == Is::Mem && item.page == self.p.uid && !item.acked,
                "item {i} written while {item:?} (a batch is written or sent, never both)"
            );
        }
        self.totals.persists += 1;
        let attempts = head.split(' ').nth(1).unwrap().parse().unwrap();
        self.p.attempts.insert(key.into(), attempts);
        note!(self, "    persist {key} {head} items {ids:?}");
        if self.rng.chance(self.cfg.write_faults) {
            self.totals.failed_writes += 1;
            if evicted {
                // Not put back: counted evicted.
                self.unwritten.insert(key.into());
                ids.iter()
                    .for_each(|&i| self.items[i as usize].is = Is::Evicted);
                self.p.mem -= ids.len() as u64;
            }
            self.p
                .d
                .wrote(self.now, key, Err("QuotaExceededError".into()));
            return;
        }
        ids.iter()
            .for_each(|&i| self.items[i as usize].is = Is::Stored);
        self.p.mem -= ids.len() as u64;
        let batch = Batch {
            head: head.into(),
            body: body.into(),
            ids,
            claim: None,
        };
        self.storage.insert(key.into(), batch);
        self.p.d.wrote(self.now, key, Ok(()));
    }

    /// `Action::Release`: a replied stored batch deleted, kept or bumped (and its claim
    /// let go), or a batch evicted (then `persists`: for a write of the same event) or
    /// deleted by an opt-out.
    fn released(&mut self, key: &str, then: Then, persists: bool) {
        let n = key_items(key);
        note!(self, "    release {key} {then:?}");
        if let Some((_, want, counted)) = self.expect_release.take_if(|(k, ..)| k == key) {
            // Deleted only once delivered or refused for good (or opted out), else kept
            // with its attempt count.
            assert_eq!(then, want, "the stored batch {key}'s release");
            let Some(batch) = self.storage.get_mut(key) else {
                // Deleted under this page's claim (evicted by another page, or an opt-out):
                // the core counts it delivered or failed all the same.
                if counted {
                    self.overlap += n;
                    self.totals.overlap += n;
                }
                return;
            };
            assert_eq!(
                batch.claim,
                Some(self.p.uid),
                "{key} released without its claim"
            );
            batch.claim = None;
            match then {
                Then::Keep => {}
                Then::Bump => {
                    let attempts = batch.attempts() + 1;
                    batch.head = batch.head.replacen(
                        &format!(" {} ", attempts - 1),
                        &format!(" {attempts} "),
                        1,
                    );
                }
                Then::Delete => {
                    let batch = self.storage.remove(key).unwrap();
                    let to = if counted { Is::Done } else { Is::OptedOut };
                    batch
                        .ids
                        .iter()
                        .for_each(|&i| self.items[i as usize].is = to);
                    if !counted {
                        self.opted_out_items += n;
                        self.totals.opted_out += n;
                    }
                }
            }
            return;
        }
        assert_eq!(
            then,
            Then::Delete,
            "only a replied stored batch is kept or bumped"
        );
        let batch = self.storage.remove(key);
        if self.p.enabled {
            // Evicted to make room for a write: the oldest go first, counted.
            assert!(persists, "{key} evicted for no write");
            self.p.persist_full += n;
            self.totals.evicted += n;
            match batch {
                Some(batch) => batch
                    .ids
                    .iter()
                    .for_each(|&i| self.items[i as usize].is = Is::Evicted),
                // Its write failed after it was evicted: counted as evicted then.
                None if self.unwritten.remove(key) => {}
                // Another page delivered (or evicted) it since this page listed it.
                None => {
                    self.stale += n;
                    self.totals.stale += n;
                }
            }
        } else if let Some(batch) = batch {
            batch
                .ids
                .iter()
                .for_each(|&i| self.items[i as usize].is = Is::OptedOut);
            self.opted_out_items += n;
            self.totals.opted_out += n;
        }
    }

    /// A stored batch sent: the shell claims it first, exclusively across pages, and
    /// sends it as stored; when another page holds it, or it is gone, the reply will be
    /// `Refused`.
    fn send_stored(&mut self, ev: Ev, t: &Transmit) {
        let key = &t.url;
        assert!(key.starts_with(&[PREFIX, "p:"].concat()));
        assert!(!t.keepalive, "a stored batch goes in a plain request");
        assert!(
            self.p.enabled && !self.p.hidden && !self.p.shut,
            "{ev:?} sent stored {key} (enabled {}, hidden {}, shut {})",
            self.p.enabled,
            self.p.hidden,
            self.p.shut
        );
        let twice = self
            .p
            .reqs
            .values()
            .any(|r| r.stored.as_ref().is_some_and(|(k, _)| k == key));
        assert!(!twice, "{key} sent twice by one page");
        let uid = self.p.uid;
        let claimed = match self.storage.get_mut(key) {
            Some(batch) if batch.claim.is_none() => {
                batch.claim = Some(uid);
                true
            }
            _ => false,
        };
        let ids = match claimed {
            true => self.storage[key].ids.clone(),
            false => Vec::new(),
        };
        for &i in &ids {
            let item = &self.items[i as usize];
            assert!(
                item.is == Is::Stored && !item.acked,
                "stored item {i} sent while {item:?}"
            );
        }
        self.totals.stored_sends += 1;
        self.totals.claims_refused += u64::from(!claimed);
        note!(
            self,
            "    send stored {} {key} claimed {claimed} items {ids:?}",
            t.id
        );
        self.p.reqs.insert(Req {
            id: t.id,
            lane: t.signal as usize,
            ids,
            sends: 1,
            keepalive: false,
            size: 0,
            st: St::InFlight,
            stored: Some((key.clone(), claimed)),
        });
    }

    // ---- checks ----------------------------------------------------------------------

    /// Takes the core's actions, updates the model and checks every invariant.
    fn after(&mut self, ev: Ev, b: Before) {
        let now = self.now;
        // Waiting requests the core let go of without a reply were taken to be written
        // (page hide, offline); what could not be is back in the queue.
        let taken: Vec<RequestId> = self
            .p
            .reqs
            .values()
            .filter(|r| matches!(r.st, St::Waiting(_)) && self.p.d.body(r.id).is_none())
            .map(|r| r.id)
            .collect();
        for id in taken {
            assert!(
                matches!(ev, Ev::Hidden | Ev::Offline),
                "{ev:?} let go of waiting request {id}"
            );
            let r = self.p.reqs.remove(&id).unwrap();
            r.ids
                .iter()
                .for_each(|&i| self.items[i as usize].is = Is::Mem);
            self.p.in_requests -= r.ids.len();
            self.p.mem += r.ids.len() as u64;
        }
        if matches!(ev, Ev::Flush | Ev::Shutdown | Ev::Online) {
            // Send now: our own backoff is cut short, a server's Retry-After holds.
            for w in &mut self.p.backoff {
                if w.is_some_and(|w| !w.server_holds(now)) {
                    *w = None;
                }
            }
        }
        let flush = matches!(ev, Ev::Flush | Ev::Shutdown);
        // Offline, nothing goes out but a page's keepalive requests where it keeps nothing.
        let offline = self.p.offline || (b.offline && ev != Ev::Online);
        if offline && ev != Ev::Online && !self.answered {
            assert_eq!(
                self.p.d.pipeline.stats.retries, b.retries,
                "{ev:?}: a retry spent while offline"
            );
        }

        // The actions, in order: what was sent (retries of waiting requests, new requests,
        // stored batches), flushes settled, and the storage calls, carried out on the fake
        // storage as the shell does.
        let mut resent = HashSet::new();
        let mut started: [Vec<RequestId>; 3] = Default::default();
        let mut settles = Vec::new();
        let mut fresh_sends = 0;
        loop {
            let actions: Vec<Action> = std::iter::from_fn(|| self.p.d.poll_action()).collect();
            if actions.is_empty() {
                break;
            }
            for (k, a) in actions.iter().enumerate() {
                let t = match a {
                    Action::Send(t) => t,
                    Action::Settle(f) => {
                        settles.push(*f);
                        continue;
                    }
                    Action::List { prefix } => {
                        self.list(ev, prefix);
                        continue;
                    }
                    Action::Persist { key, head, body } => {
                        // Evicted by a later write of the same event, before its write
                        // was acknowledged.
                        let evicted = actions[k + 1..].iter().any(|a| {
                            matches!(a, Action::Release { key: e, then: Then::Delete } if e == key)
                        });
                        self.persisted(ev, &b, key, head, body, evicted);
                        continue;
                    }
                    Action::Release { key, then } => {
                        let persists = actions[k + 1..]
                            .iter()
                            .any(|a| matches!(a, Action::Persist { .. }));
                        self.released(key, *then, persists);
                        continue;
                    }
                };
                assert!(
                    !offline || (ev == Ev::Hidden && t.keepalive && !self.p.enabled),
                    "{ev:?} sent {t:?} while offline"
                );
                let lane = t.signal as usize;
                if t.stored {
                    self.send_stored(ev, t);
                    started[lane].push(t.id);
                    continue;
                }
                fresh_sends += 1;
                if let Some(req) = self.p.reqs.get_mut(&t.id) {
                    let St::Waiting(w) = req.st else {
                        panic!("request {} sent again while in flight", t.id);
                    };
                    assert_eq!(req.lane, lane);
                    assert!(!t.keepalive, "a retry is a plain request");
                    match ev {
                        Ev::Flush | Ev::Shutdown | Ev::Online => assert!(
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
                        self.p.d.body(t.id).map(<[u8]>::len),
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
                        .p
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
                        let item = &mut self.items[i as usize];
                        assert!(
                            !item.acked,
                            "item {i} sent again after it was delivered or dropped"
                        );
                        assert_eq!(item.page, self.p.uid, "item {i} sent by another page");
                        assert!(
                            item.is == Is::Mem,
                            "item {i} sent while {:?} (in two requests, or stored and sent)",
                            item.is
                        );
                        item.is = Is::Req;
                    }
                    self.p.mem -= ids.len() as u64;
                    self.p.in_requests += ids.len();
                    if ev == Ev::Hidden {
                        assert!(t.keepalive, "an unload request is keepalive");
                        assert!(self.p.compress || !t.gzip, "a beacon cannot be gzipped");
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
                    self.p.reqs.insert(Req {
                        id: t.id,
                        lane,
                        ids,
                        sends: 1,
                        keepalive: t.keepalive,
                        size,
                        st: St::InFlight,
                        stored: None,
                    });
                    started[lane].push(t.id);
                    note!(
                        self,
                        "    send {} lane {lane} keepalive {} items {:?}",
                        t.id,
                        t.keepalive,
                        self.p.reqs[&t.id].ids
                    );
                }
            }
        }

        // Flushes settle once each, never while a request carries items they cover
        // (unless a server's Retry-After holds it, or it waits for the browser to be
        // online).
        for f in settles {
            let snapshot = self
                .p
                .pending
                .remove(&f)
                .unwrap_or_else(|| panic!("Settle({f}) for no pending flush"));
            assert!(self.p.settled.insert(f));
            note!(self, "    settle {f} (covers items below {snapshot})");
            // (A stored batch is no flush's: it is older than the page.)
            for (id, r) in self.p.reqs.iter().filter(|(_, r)| r.stored.is_none()) {
                // Offline, a request waiting to be retried waits for the browser.
                let held = match r.st {
                    St::Waiting(w) => w.server_holds(now) || self.p.offline,
                    St::InFlight => false,
                };
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
                    self.p.backoff[l].is_none_or(|w| w.may_be_over(now)),
                    "lane {l} sent during its backoff {:?}",
                    self.p.backoff[l]
                );
                // The lane was free: its backoff, if any, is over.
                self.p.backoff[l] = None;
            }
            let idle_before = before_reqs(l).next().is_none();
            let sent_or_empty = !started[l].is_empty() || queued[l] == 0;
            match ev {
                _ if offline => {} // the `online` event sends
                Ev::Flush | Ev::Shutdown | Ev::Online => {
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
                    let again = self.p.d.timers().get(Timer::Lane(Signal::ALL[l])) == Some(now);
                    if free && (interval_due || lane_due) && b.queued[l] > 0 {
                        assert!(
                            sent_or_empty || again && self.totals.failed_writes > b.failed_writes,
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
        if flush && !offline {
            let held = (0..3).all(|l| {
                let mut reqs = before_reqs(l).peekable();
                if reqs.peek().is_none() {
                    b.queued[l] == 0 || held_before(l)
                } else {
                    reqs.all(|(_, st)| matches!(st, St::Waiting(w) if w.server_holds(now)))
                }
            });
            if held {
                assert_eq!(
                    fresh_sends, 0,
                    "a flush contacted a lane held by Retry-After"
                );
                assert!(
                    self.p.settled.contains(&self.p.flush_id),
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
        let d = &self.p.d;
        let s = &d.pipeline.stats;
        // The core's counters agree with the model's.
        assert_eq!(s.sent_items, self.p.delivered, "sent.items");
        assert_eq!(s.dropped_rejected, self.p.rejected, "dropped.rejected");
        assert_eq!(s.dropped_failed, self.p.failed, "dropped.failed");
        assert_eq!(
            s.dropped_persist_full, self.p.persist_full,
            "dropped.persistFull"
        );
        let in_reqs: usize = self
            .p
            .reqs
            .values()
            .filter(|r| r.stored.is_none())
            .map(|r| r.ids.len())
            .sum();
        assert_eq!(in_reqs, self.p.in_requests);
        let mem = s.dropped_queue_full + s.dropped_invalid + s.dropped_after_shutdown;
        assert_eq!(
            self.p.mem,
            queued.iter().sum::<usize>() as u64 + mem,
            "the page's items in memory: queued, or dropped there"
        );
        // Conservation across page loads: delivered + counted drops (evictions included)
        // + queued + in requests + stored + lost with a dead page + deleted by an opt-out
        // = tracked, less what two pages both counted.
        let mut counted = self.dead.counted;
        let mut held = self.dead.lost;
        for p in std::iter::once(&self.p).chain(&self.others) {
            counted += self::counted(&p.d.pipeline.stats);
            held += Signal::ALL
                .iter()
                .map(|&s| p.d.pipeline.queued(s) as u64)
                .sum::<u64>()
                + p.in_requests as u64;
        }
        let stored: u64 = self.storage.values().map(|b| b.ids.len() as u64).sum();
        assert_eq!(
            counted + held + stored + self.opted_out_items - self.overlap - self.stale,
            self.tracked,
            "counted {counted} + queued, in requests or lost {held} + stored {stored} + opted out {} - overlap {} - stale {} != tracked {}",
            self.opted_out_items,
            self.overlap,
            self.stale,
            self.tracked
        );
        let status = d.status();
        assert_eq!(status.queue_size, queued.iter().sum::<usize>() as u64);
        let flying = self
            .p
            .reqs
            .values()
            .filter(|r| matches!(r.st, St::InFlight))
            .count();
        assert_eq!(status.in_flight, flying as u64);
        assert_eq!(status.sent.items, self.p.delivered);
        let restoring = self.p.restoring();
        assert_eq!(
            d.has_work(),
            d.pipeline.queued_bytes() > 0
                || !self.p.reqs.is_empty()
                || !self.p.pending.is_empty()
                || restoring
        );
        // Stored batches have a way out: a request, or a timer (within one flushInterval
        // of the page load), unless the browser is offline.
        if restoring && !self.p.offline {
            assert!(
                !self.p.reqs.is_empty() || d.poll_timeout().is_some(),
                "{} stored batches wait for nothing",
                status.persisted.batches
            );
        }
        // Stored bytes stay within persistBytes: the whole storage while one page writes
        // at a time (each load lists what the last left); a page's own index, whatever
        // other pages write, once it wrote.
        if let Some(max) = self.cfg.persist_bytes {
            let bytes: usize = self
                .storage
                .iter()
                .map(|(k, b)| k.len() + b.value_len())
                .sum();
            assert!(
                self.concurrent || bytes <= max as usize,
                "{bytes} B stored, persistBytes {max}"
            );
            if self.totals.persists > b.persists {
                assert!(status.persisted.bytes as f64 <= max, "{status:?}");
            }
        }
        assert_eq!(d.flushing(), !self.p.pending.is_empty());

        // Unload requests in flight stay within the page's keepalive budget.
        let keepalive: usize = self
            .p
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
                assert!(at >= self.p.last_handled, "{t:?} armed in the past: {at}");
                // (A refused write puts its records back after the wake-up sent what it
                // had: their lane wakes again at once, for them.)
                let refused = self.totals.failed_writes > b.failed_writes;
                if ev == Ev::Timeout && !(refused && at == now) {
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
                (ev == Ev::Track && !self.p.shut || ev == Ev::Open) && u == now + interval,
                "{ev:?} armed the interval timer at {u}"
            ),
            (None, None) => assert!(
                ev != Ev::Track || self.p.shut || interval == 0.0,
                "a tracking call left the interval timer unarmed"
            ),
        }

        // Per lane: requests held, and the end of the earliest retry wait.
        let mut held = [0; 3];
        let mut retry_by: [Option<(RequestId, Win)>; 3] = [None; 3];
        for r in self.p.reqs.values() {
            held[r.lane] += 1;
            if let St::Waiting(w) = r.st {
                if retry_by[r.lane].is_none_or(|(_, v)| w.hi < v.hi) {
                    retry_by[r.lane] = Some((r.id, w));
                }
            }
        }
        let settles = matches!(
            ev,
            Ev::Flush
                | Ev::Shutdown
                | Ev::Reply
                | Ev::Timeout
                | Ev::Shown
                | Ev::Hidden
                | Ev::Online
                | Ev::Offline
        );
        let drove = matches!(
            ev,
            Ev::Flush | Ev::Shutdown | Ev::Reply | Ev::Timeout | Ev::Shown | Ev::Online
        );
        // Offline, lanes wait for the `online` event, not for a timer.
        let offline = self.p.offline;
        for l in 0..3 {
            let slot = timers.get(Timer::Lane(Signal::ALL[l]));
            let idle = held[l] == 0;
            // A waiting retry is woken by its lane's own timer by the end of its wait.
            if let Some((id, w)) = retry_by[l].filter(|_| !offline) {
                assert!(
                    slot.is_some_and(|at| at <= w.hi),
                    "{ev:?}: lane {l}'s timer {slot:?} misses request {id}'s retry {w:?}"
                );
            }
            // A lane that backs off with records queued wakes itself at the end (armed
            // by every event but a tracking call: until then the interval covers them).
            if let Some(w) = self.p.backoff[l] {
                if settles && idle && queued[l] > 0 && !w.may_be_over(now) && !offline {
                    assert!(
                        slot.is_some_and(|at| at <= w.hi),
                        "lane {l}'s timer {slot:?} misses its backoff end {w:?}"
                    );
                }
            }
            // A free lane never sits on a full batch once the core had a chance to send.
            let free = idle && self.p.backoff[l].is_none_or(|w| w.over(now));
            // (A refused write puts its records back after the core sent what it had:
            // their lane wakes again at once, for them.)
            let again = slot == Some(now) && self.totals.failed_writes > b.failed_writes;
            if drove && free && !offline && !again {
                assert!(
                    queued[l] < self.cfg.batch_size,
                    "free lane {l} sits on a full batch"
                );
            }
            // A batch this call filled wakes its lane now, or when the lane's own backoff
            // ends.
            let filled = b.queued[l] < self.cfg.batch_size && queued[l] >= self.cfg.batch_size;
            if ev == Ev::Track && idle && filled && !offline {
                let until = self.p.backoff[l].map_or(now, |w| w.hi.max(now));
                assert!(
                    slot.is_some_and(|at| at <= until),
                    "a full batch on lane {l} left its timer at {slot:?}"
                );
            }
            // Queued records always have a way out: a request, or a timer.
            if (interval > 0.0 || self.p.shut) && queued[l] > 0 && !offline {
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
        let flying = self.p.reqs.in_flight();
        if flying.is_empty() {
            return self.track();
        }
        let id = self.rng.pick(&flying);
        let (outcome, rejected) = self.outcome_for(id, false);
        self.reply(id, outcome, rejected);
    }

    /// What the shell reports for request `id`: random, or 200 (`ok`), as the shell
    /// would: a stored batch it could not claim is `Refused`, one it sent never is; a
    /// network failure while the browser is offline is `Offline`.
    fn outcome_for(&mut self, id: RequestId, ok: bool) -> (Outcome, u64) {
        let r = &self.p.reqs[&id];
        let (claimed, items) = (r.stored.as_ref().map(|s| s.1), r.ids.len() as u64);
        if claimed == Some(false) {
            return (Outcome::Refused, 0);
        }
        let (outcome, rejected) = match ok {
            true => (
                Outcome::Status {
                    status: 200,
                    retry_after_ms: None,
                },
                0,
            ),
            false => self.random_outcome(items),
        };
        let browser = self.cfg.persist_bytes.is_some();
        let outcome = match outcome {
            Outcome::Network(_) if self.p.offline => Outcome::Offline,
            Outcome::Refused if claimed.is_some() => Outcome::Network("reset".into()),
            // The browser went offline as the request failed (its `offline` event follows).
            Outcome::Refused if browser && self.rng.chance(50) => Outcome::Offline,
            o => o,
        };
        (outcome, rejected)
    }

    /// A late or stray reply, for a request the core no longer holds.
    fn reply_stray(&mut self) {
        let id = self.rng.below(self.totals.requests + 5) as RequestId;
        if !self.p.reqs.contains_key(&id) {
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
        let due = |run: &Run, at: f64| run.p.d.poll_timeout().is_some_and(|t| t <= at);
        let mode = if self.p.must_handle {
            0
        } else {
            self.rng.below(100)
        };
        note!(self, "t={} advance {dt} mode {mode}", self.now - START);
        match mode {
            // On time: each timer handled when due.
            0..=59 => {
                let mut guard = 0;
                while let Some(t) = self.p.d.poll_timeout().filter(|t| *t <= target) {
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
            80..=89 => match self.p.d.poll_timeout() {
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
        self.p.must_handle = due(self, self.now);
    }

    fn step(&mut self) {
        if self.cfg.persist_bytes.is_some() && self.rng.chance(8) {
            return self.page_event();
        }
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

    /// No more traffic on this page: the collector answers 200 to everything and the
    /// clock runs past every timer. Returns the events it took.
    fn drain(&mut self) -> u64 {
        let mut events = 0;
        loop {
            assert!(events < 100_000, "the drain does not end");
            let flying = self.p.reqs.in_flight();
            if !flying.is_empty() {
                for id in flying {
                    let (ok, _) = self.outcome_for(id, true);
                    self.reply(id, ok, 0);
                    events += 1;
                }
                continue;
            }
            match self.p.d.poll_timeout() {
                Some(t) => {
                    self.now = self.now.max(t);
                    self.handle_timeout();
                    events += 1;
                }
                None => break,
            }
        }
        assert!(self.p.reqs.is_empty(), "a waiting request has no timer");
        events
    }

    /// Drains every open page, shown and online again; then, while batches stay stored
    /// (no open page knows them, or only one that cannot send them), a next page load
    /// beside them, drained too: the storage ends empty.
    fn drain_pages(&mut self) {
        for load in 0.. {
            for _ in 0..=self.others.len() {
                if self.p.hidden {
                    self.page_shown();
                }
                if self.p.offline {
                    self.set_online(true);
                }
                self.totals.drain_events += self.drain();
                assert!(
                    self.p.pending.is_empty(),
                    "flushes never settled: {:?}",
                    self.p.pending
                );
                if !self.others.is_empty() {
                    self.switch();
                }
            }
            if self.storage.is_empty() {
                break;
            }
            assert!(
                load < 4,
                "stored batches no page load sends: {:?}",
                self.storage.keys()
            );
            self.load(true);
        }
    }

    fn go(&mut self, steps: usize) {
        if self.cfg.persist_bytes.is_some() {
            self.totals.browser_runs = 1;
            self.totals.loads = 1;
            self.open();
        }
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
            if self.p.must_handle && self.p.d.poll_timeout().is_none_or(|t| t > self.now) {
                self.p.must_handle = false;
            }
        }
        self.totals.steps += steps as u64;
        // Every flush settles once the traffic stops, with no further call, and every
        // stored batch is delivered.
        self.drain_pages();
        // A last flush empties the queues: every item is accounted for.
        for _ in 0..=self.others.len() {
            self.flush(false);
            self.totals.drain_events += self.drain();
            assert!(self.p.pending.is_empty());
            assert_eq!(self.queued(), [0; 3], "queued after the last flush");
            assert!(!self.p.d.has_work() && self.p.d.poll_timeout().is_none());
            if !self.others.is_empty() {
                self.switch();
            }
        }
        assert!(self.storage.is_empty());
        for (i, item) in self.items.iter().enumerate() {
            assert!(
                !matches!(item.is, Is::Req | Is::Stored),
                "item {i} still {:?}",
                item.is
            );
        }
        for p in std::iter::once(&self.p).chain(&self.others) {
            self.totals.tally(&p.d.pipeline.stats);
        }
        self.totals.runs = 1;
        self.totals.tracked = self.tracked;
    }
}

impl Totals {
    /// Adds one page's counters.
    fn tally(&mut self, s: &crate::stats::Stats) {
        self.delivered += s.sent_items;
        self.queue_full += s.dropped_queue_full;
        self.rejected += s.dropped_rejected;
        self.failed += s.dropped_failed;
        self.invalid += s.dropped_invalid;
        self.after_shutdown += s.dropped_after_shutdown;
    }

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
        self.browser_runs += o.browser_runs;
        self.loads += o.loads;
        self.deaths += o.deaths;
        self.deaths_in_flight += o.deaths_in_flight;
        self.concurrent += o.concurrent;
        self.persists += o.persists;
        self.failed_writes += o.failed_writes;
        self.stored_sends += o.stored_sends;
        self.claims_refused += o.claims_refused;
        self.evicted += o.evicted;
        self.opted_out += o.opted_out;
        self.overlap += o.overlap;
        self.stale += o.stale;
        self.offline_events += o.offline_events;
        self.disables += o.disables;
        self.maybe_twice += o.maybe_twice;
        self.lost += o.lost;
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
