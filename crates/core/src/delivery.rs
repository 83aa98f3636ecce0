//! Delivery as a sans-IO state machine, after `quinn-proto`: it takes events (an item
//! tracked, a flush asked for, a reply, time passing, the page hidden) with the current
//! time, and answers with [`Action`]s for the I/O shell to carry out (send this body,
//! settle that flush) and the next time it wants to be woken ([`Delivery::poll_timeout`]).
//! It never touches a socket, a timer or a promise, so every flush, retry and unload
//! decision is unit-tested here with a fake clock.
//!
//! Each signal is its own lane: one request in flight at most, its own backoff and
//! `Retry-After`, its own re-queue and its own slot in the [`TimerTable`]; a failing lane
//! never delays another. A flush is a snapshot: it names the records queued when it was
//! asked for (by sequence number) and settles once none of them is queued or in flight,
//! or their lane gave up for now. A flush means "send now": a lane waiting out its own
//! backoff tries at once; only a server's `Retry-After` still in force holds it back.
//!
//! In a browser page, unsent batches survive the page (SPEC §8): a lane that fails (its
//! retries ran out, or the browser is offline) and a page going away write them to
//! `localStorage` ([`Action::Persist`]), and the next load of the page restores them.
//! A stored batch is sent ([`Transmit::stored`]) by one page at a time, which claims it
//! first; it is sent as it was stored, deleted once the collector accepted it (or refused
//! it for good), and kept with its attempt count when it failed ([`Action::Release`]). The
//! format and the bound are [`super::persist`]'s.

use crate::prelude::*;

use alloc::collections::VecDeque;

use super::config::{Config, Raw};
use super::encoder::Identity;
use super::json;
use super::model::{MetricKind, Signal, Track};
use super::persist::{head, stored_len, Entry, Store, Then};
use super::pipeline::{Pipeline, Request, Settle};
use super::retry::{backoff_ms, Outcome, Verdict};
use super::severity;
use super::stats::DropReason;
use super::status::{Coerced, Dropped, PerSignal, Persisted, Sent, Status};

/// Chrome's budget for the bodies of keepalive requests a page has in flight; every
/// beacon and keepalive `fetch` of the page shares it.
pub const UNLOAD_BUDGET: usize = 64 * 1024;

/// Identifies one request to the shell, from its send to its reply.
pub type RequestId = u32;
/// Identifies one `flush()` (or `shutdown()`) waiting to settle.
pub type FlushId = u32;

/// What the shell learned about a request it sent.
#[derive(Clone, Debug, PartialEq)]
pub struct Reply {
    /// Status, timeout, network error, or refused by the host.
    pub outcome: Outcome,
    /// Items refused in a 2xx partial success.
    pub rejected: u64,
    /// The server's explanation (error body or partial-success message), cut short.
    pub message: String,
    /// ClickHouse's `X-ClickHouse-Exception-Code`, when present.
    pub exception_code: Option<u32>,
}

/// A request for the shell to send; its body is [`Delivery::body`].
#[derive(Clone, Debug, PartialEq)]
pub struct Transmit {
    /// Echoed back with the reply.
    pub id: RequestId,
    /// The lane it belongs to.
    pub signal: Signal,
    /// Where it goes.
    pub url: String,
    /// Whether the body is gzip-compressed (`Content-Encoding: gzip`).
    pub gzip: bool,
    /// The `Authorization` header's value, or empty for none.
    pub authorization: String,
    /// Give up after this long.
    pub timeout_ms: u32,
    /// Sent while the page goes away: it must outlive the page (keepalive or beacon).
    pub keepalive: bool,
    /// A stored batch (SPEC §8): `url` is its storage key. The shell claims it for this
    /// page (waiting, for at most `timeout_ms` + 5 s, while another page holds it), then
    /// sends it as stored (its body, encoding and URL); when it is gone (another page
    /// delivered it) or the wait ran out, the reply is [`Outcome::Refused`] and the claim is
    /// let go. Else the claim is held until [`Action::Release`].
    pub stored: bool,
}

/// What the shell must do.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// Send a request.
    Send(Transmit),
    /// Resolve this flush's promise.
    Settle(FlushId),
    /// List the stored batches: every key that starts with `prefix`, answered with
    /// [`Delivery::listed`].
    List {
        /// `automagik-telemetry:<projectName>:`.
        prefix: String,
    },
    /// Store a batch under `key`: its [`head`], a newline, then `body` (base64 for a gzip
    /// body); then answer with [`Delivery::wrote`].
    Persist {
        /// The storage key.
        key: String,
        /// The value's first line.
        head: String,
        /// The request body.
        body: Vec<u8>,
    },
    /// Do `then` to the batch stored under `key`, then let go of this page's claim on it,
    /// if it holds one.
    Release {
        /// The storage key.
        key: String,
        /// Keep, delete, or count one more attempt.
        then: Then,
    },
}

/// A wait imposed on a request or a lane, and by whom.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Wait {
    /// Until when.
    until: f64,
    /// The server asked for it (`Retry-After`): a flush honours it. Our own backoff a
    /// flush cuts short.
    server: bool,
}

impl Wait {
    fn new(until: f64, server: bool) -> Wait {
        Wait { until, server }
    }

    /// Whether the wait still holds `now` for a flush (`urgent`) or for a timer.
    fn holds(&self, now: f64, urgent: bool) -> bool {
        self.until > now && (self.server || !urgent)
    }
}

/// One request of a lane: in flight, or waiting to be retried.
#[derive(Debug)]
struct Attempt {
    id: RequestId,
    request: Request,
    /// Retries made so far.
    retries: u32,
    /// When to retry; `None` while in flight.
    retry: Option<Wait>,
    keepalive: bool,
    /// A stored batch: its key. It is sent once per claim.
    stored: Option<String>,
}

impl Attempt {
    /// Whether it waits out a server's `Retry-After` at `now`.
    fn retry_after(&self, now: f64) -> bool {
        self.retry.is_some_and(|w| w.holds(now, true))
    }
}

/// One signal's delivery state.
#[derive(Debug, Default)]
struct Lane {
    attempts: Vec<Attempt>,
    /// After retries ran out: no request before this time, unless a flush cuts it short.
    backoff: Option<Wait>,
    /// Records with a smaller sequence number go out as soon as the lane is free.
    send_through: u64,
    /// The last request that ended failed (its retries ran out, or offline).
    failed: bool,
}

impl Lane {
    /// Whether the lane may start a request now.
    fn free(&self, now: f64) -> bool {
        self.attempts.is_empty() && !self.backoff.is_some_and(|w| w.holds(now, false))
    }

    /// Whether a retry waits out a server's `Retry-After` at `now`.
    fn retry_after_holds(&self, now: f64) -> bool {
        self.attempts.iter().any(|a| a.retry_after(now))
    }

    /// Whether the lane is failing: its last request failed for good (from then until a
    /// delivery, its backoff over or not), or it waits to retry one.
    fn failing(&self) -> bool {
        self.failed || self.attempts.iter().any(|a| a.retry.is_some())
    }
}

/// What the core can be woken for: the interval flush, and each lane's next retry,
/// backoff end or full batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Timer {
    /// The `flushInterval` flush of every lane.
    Interval,
    /// One lane's own wake-up.
    Lane(Signal),
}

impl Timer {
    fn index(self) -> usize {
        match self {
            Timer::Interval => 0,
            Timer::Lane(signal) => 1 + signal as usize,
        }
    }
}

/// When each [`Timer`] is due, after `quinn-proto`'s `TimerTable`: the shell needs only
/// the earliest ([`TimerTable::next`]).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct TimerTable {
    due: [Option<f64>; 4],
}

impl TimerTable {
    /// Arms `timer` for `at`, replacing its previous time.
    pub fn set(&mut self, timer: Timer, at: f64) {
        self.due[timer.index()] = Some(at);
    }

    /// Disarms `timer`.
    pub fn stop(&mut self, timer: Timer) {
        self.due[timer.index()] = None;
    }

    /// When `timer` is due.
    pub fn get(&self, timer: Timer) -> Option<f64> {
        self.due[timer.index()]
    }

    /// The earliest time any timer is due.
    pub fn next(&self) -> Option<f64> {
        self.due.iter().flatten().copied().min_by(f64::total_cmp)
    }

    /// Disarms `timer` and says whether it was due by `now`.
    fn expire(&mut self, timer: Timer, now: f64) -> bool {
        let due = self.get(timer).is_some_and(|at| at <= now);
        if due {
            self.stop(timer);
        }
        due
    }
}

/// The delivery state machine of one client.
#[derive(Debug)]
pub struct Delivery {
    /// Queue, encoder and counters.
    pub pipeline: Pipeline,
    lanes: [Lane; 3],
    /// Pending flushes, the sequence number each must see settled below, and the lanes
    /// (bits) a server's `Retry-After` held when it was asked for: it does not wait on them.
    waiters: Vec<(FlushId, u64, u8)>,
    timers: TimerTable,
    next_id: u32,
    actions: VecDeque<Action>,
    shut: bool,
    /// Whether tracking calls are collected (SPEC §6: decided by the host's facts at
    /// construction, then by `enable()` and `disable()`).
    enabled: bool,
    /// The runtime's name, for the status.
    runtime: String,
    /// The host's timers failed: time passes at each event instead ([`Delivery::tick`]).
    timerless: bool,
    /// Tracking calls that came while the client was busy.
    reentrant: u64,
    /// Bodies of keepalive requests still in flight, against [`UNLOAD_BUDGET`].
    keepalive_bytes: usize,
    /// Stored batches (SPEC §8): `None` where nothing is kept across page loads (not a
    /// browser, no `localStorage`, `persistBytes: 0`).
    store: Option<Store>,
    /// The browser said it is offline: nothing is sent (or retried) until it is online.
    offline: bool,
    /// The page is hidden: stored batches wait until it is shown (it may be going away).
    hidden: bool,
}

impl Delivery {
    /// A delivery core for `config`, idle until items are tracked.
    pub fn new(config: Config) -> Self {
        Delivery {
            pipeline: Pipeline::new(config),
            lanes: Default::default(),
            waiters: Vec::new(),
            timers: TimerTable::default(),
            next_id: 0,
            actions: VecDeque::new(),
            shut: false,
            enabled: true,
            runtime: String::new(),
            timerless: false,
            reentrant: 0,
            keepalive_bytes: 0,
            store: None,
            offline: false,
            hidden: false,
        }
    }

    fn config(&self) -> &Config {
        &self.pipeline.config
    }

    /// Whether [`Delivery::shutdown`] was called.
    pub fn is_shut(&self) -> bool {
        self.shut
    }

    /// Requests in flight now.
    pub fn in_flight(&self) -> usize {
        self.lanes
            .iter()
            .flat_map(|l| &l.attempts)
            .filter(|a| a.retry.is_none())
            .count()
    }

    /// Sets what the host found at construction: whether collection is on, and the
    /// runtime's name. Batches are persisted in browser pages only (SPEC §8), unless
    /// `persistBytes` is 0: Deno has `localStorage` too, but a script's storage outlives
    /// it on disk and would resend one run's failures from whatever later run of it.
    pub fn with_host(mut self, enabled: bool, runtime: String) -> Self {
        self.enabled = enabled;
        if runtime == "browser" && self.config().persist_bytes > 0 {
            self.store = Some(Store::new(&self.config().project_name));
        }
        self.runtime = runtime;
        self
    }

    /// Whether tracking calls are collected.
    pub fn is_enabled(&self) -> bool {
        self.enabled
    }

    /// Turns collection on or off; `disable()` then flushes ([`Delivery::flush`]).
    /// Turning it off deletes every stored batch ([`Delivery::listed`]).
    pub fn set_enabled(&mut self, on: bool) {
        self.enabled = on;
        if !on {
            self.forget_stored();
        }
    }

    /// Deletes every stored batch: it forgets those it knows of and asks for the list of
    /// all, which [`Delivery::listed`] deletes while collection is off.
    fn forget_stored(&mut self) {
        if let Some(store) = self.store.as_mut() {
            store.clear();
            self.actions.push_back(Action::List {
                prefix: store.prefix.clone(),
            });
        }
    }

    /// Called once by the shell after construction: a page that keeps batches asks for
    /// those an earlier load left ([`Action::List`]). Nothing else is read or written.
    pub fn open(&mut self) {
        if let Some(store) = &self.store {
            self.actions.push_back(Action::List {
                prefix: store.prefix.clone(),
            });
        }
    }

    /// The shell's answer to [`Action::List`]: a line `<key suffix> <value length>` per
    /// key under the prefix, or `None` where there is no storage (nothing is persisted
    /// then). Stored batches are restored the first time a lane sends, or within one
    /// `flushInterval`; while collection is off they are deleted instead.
    pub fn listed(&mut self, now: f64, listing: Option<&str>) {
        let Some(listing) = listing else {
            self.store = None;
            return;
        };
        let Some(store) = self.store.as_mut() else {
            return;
        };
        let found = store.parse_listing(listing);
        if found.is_empty() {
            return;
        }
        for entry in found {
            if self.enabled {
                store.push(entry);
            } else {
                self.actions.push_back(Action::Release {
                    key: entry.key,
                    then: Then::Delete,
                });
            }
        }
        let interval = f64::from(self.pipeline.config.flush_interval_ms);
        if self.enabled && self.timers.get(Timer::Interval).is_none() {
            self.timers.set(Timer::Interval, now + interval);
        }
    }

    /// The shell's answer to [`Action::Persist`]. A refused write (full or throwing
    /// storage) puts the batch's records back at the head of their queue: they stay in
    /// memory, their lane wakes for them as for any queued records, and the fault shows
    /// in the status.
    pub fn wrote(&mut self, now: f64, key: &str, result: Result<(), String>) {
        let Some(store) = self.store.as_mut() else {
            return;
        };
        let Some(i) = store.writing.iter().position(|w| w.0 == key) else {
            return;
        };
        let (_, request) = store.writing.swap_remove(i);
        store.faulted = result.is_err();
        if let Err(e) = result {
            store.failed_writes += 1;
            if let Some(request) = request {
                store.remove(key);
                self.pipeline.restore(request);
                self.settle(now);
            }
            self.pipeline.stats.last_error = Some(["localStorage: ", &e].concat());
        }
    }

    /// The browser went online (sends at once: stored batches, waiting retries, what is
    /// queued) or offline (nothing is sent or retried until it is back; where the page
    /// keeps batches, what is queued or waiting to be retried is written now).
    pub fn set_online(&mut self, now: f64, online: bool) {
        self.offline = !online;
        if online {
            self.send_now(now);
        } else {
            for signal in Signal::ALL {
                self.persist_lane(now, signal, true);
            }
        }
        self.settle(now);
    }

    /// The metric a `trackMetric` call describes: its finite value and its type (an
    /// unknown type is tracked as a gauge and counted). `None` for a value that is not
    /// a finite number: the item is invalid.
    pub fn metric(&mut self, value: &Raw, metric_type: &Raw) -> Option<Track> {
        let value = match value {
            Raw::Number(v) if v.is_finite() => *v,
            _ => return None,
        };
        let (kind, coerced) = MetricKind::coerce(metric_type);
        self.pipeline.stats.coerced_metric_type += u64::from(coerced);
        Some(Track::Metric { kind, value })
    }

    /// The log a `trackLog` call describes: an unknown severity is INFO, and counted.
    pub fn log(&mut self, severity: &Raw) -> Track {
        let (severity, coerced) = severity::coerce(severity);
        self.pipeline.stats.coerced_severity += u64::from(coerced);
        Track::Log { severity }
    }

    /// Counts an item whose arguments made no valid record.
    pub fn invalid(&mut self) {
        self.pipeline.stats.drop(DropReason::Invalid, 1);
    }

    /// Counts `n` tracking calls that came while the client was busy (from inside it).
    pub fn reentrant(&mut self, n: u64) {
        self.reentrant += n;
    }

    /// Whether the host should start the session now ([`Delivery::start_session`]): once
    /// something was tracked, never at construction and never inside a tracking call.
    pub fn needs_session(&self) -> bool {
        !self.pipeline.started() && self.pipeline.queued_bytes() > 0
    }

    /// Begins the session with the host's randomness and identity; `fault` says why the
    /// randomness had to fall back, if it did.
    pub fn start_session(&mut self, seed: u64, identity: Identity, fault: Option<String>) {
        self.pipeline.start(seed, identity);
        if fault.is_some() {
            self.pipeline.stats.last_error = fault;
        }
    }

    /// A host fault (a missing or throwing host API): it shows in the status.
    pub fn host_fault(&mut self, error: String) {
        self.pipeline.stats.last_error = Some(error);
    }

    /// The host armed the timer for [`Delivery::poll_timeout`] (`Ok`), or could not: then
    /// time passes at each event instead, and the fault shows in the status.
    pub fn timer_armed(&mut self, result: Result<(), String>) {
        self.timerless = result.is_err();
        if let Err(e) = result {
            self.host_fault(e);
        }
    }

    /// Lets time pass where the host's timers failed; a no-op otherwise. The host calls
    /// it after every event.
    pub fn tick(&mut self, now: f64) {
        if self.timerless {
            self.handle_timeout(now);
        }
    }

    /// The one-time warning a page should print: a ClickHouse password in a browser
    /// page ships to every visitor.
    pub fn page_warning(&self) -> Option<&'static str> {
        let c = &self.pipeline.config;
        (self.runtime == "browser" && c.backend.is_clickhouse() && !c.clickhouse.password.is_empty())
            .then_some("the ClickHouse password in this page's configuration is sent to every visitor's browser; use a write-only user, or an OTLP collector in front of ClickHouse")
    }

    /// Whether the client has work that must outlive the app's references to it: records
    /// queued or in flight, or a flush waiting to settle. The host keeps the client alive
    /// while it has (SPEC §7: a client lives until `shutdown()`).
    pub fn has_work(&self) -> bool {
        self.pipeline.queued_bytes() > 0
            || self.lanes.iter().any(|l| !l.attempts.is_empty())
            || !self.waiters.is_empty()
            || self.restoring() && self.store.as_ref().is_some_and(|s| !s.entries().is_empty())
    }

    /// Whether stored batches may be claimed and sent: collection is on, the page shown,
    /// the client not shut down.
    fn restoring(&self) -> bool {
        self.enabled && !self.hidden && !self.shut && self.store.is_some()
    }

    /// The status snapshot.
    pub fn status(&self) -> Status {
        let p = &self.pipeline;
        let (c, s) = (&p.config, &p.stats);
        let id = p.identity();
        let queued = |signal| p.queued(signal) as u64;
        let queue_sizes = PerSignal {
            traces: queued(Signal::Traces),
            metrics: queued(Signal::Metrics),
            logs: queued(Signal::Logs),
        };
        let clickhouse = c.backend.is_clickhouse();
        let store = self.store.as_ref();
        Status {
            enabled: self.enabled,
            user_id: id.map(|i| i.user_id.clone()),
            session_id: id.map(|i| i.session_id.clone()),
            project_name: c.project_name.clone(),
            project_version: c.version.clone(),
            backend: if clickhouse { "clickhouse" } else { "otlp" },
            endpoint: if clickhouse {
                c.clickhouse.endpoint.clone()
            } else {
                c.traces_endpoint.clone()
            },
            metrics_endpoint: c.metrics_endpoint.clone(),
            logs_endpoint: c.logs_endpoint.clone(),
            verbose: c.verbose,
            batch_size: c.batch_size.into(),
            queue_size: queue_sizes.traces + queue_sizes.metrics + queue_sizes.logs,
            queue_sizes,
            queued_bytes: p.queued_bytes() as u64,
            max_queue_bytes: c.max_queue_bytes.into(),
            in_flight: self.in_flight() as u64,
            sent: Sent {
                requests: s.sent_requests,
                items: s.sent_items,
                bytes: s.sent_bytes,
            },
            dropped: Dropped {
                queue_full: s.dropped_queue_full,
                rejected: s.dropped_rejected,
                invalid: s.dropped_invalid,
                failed: s.dropped_failed,
                after_shutdown: s.dropped_after_shutdown,
                reentrant: self.reentrant,
                persist_full: s.dropped_persist_full,
            },
            persisted: Persisted {
                batches: store.map_or(0, |s| s.entries().len() as u64),
                bytes: store.map_or(0, |s| s.bytes() as u64),
                failed_writes: store.map_or(0, |s| s.failed_writes),
            },
            coerced: Coerced {
                metric_type: s.coerced_metric_type,
                log_severity: s.coerced_severity,
            },
            retries: s.retries,
            scrubbed: s.scrubbed,
            last_error: s.last_error.clone(),
            runtime: self.runtime.clone(),
        }
    }

    /// Queues a tracked record whose body the boundary wrote. A lane that reached
    /// `batchSize` is sent at the next wake-up, due at once: encoding, compressing and
    /// sending stay out of the tracking call.
    pub fn track(&mut self, now: f64, track: Track, body: &[u8]) {
        if self.shut {
            self.pipeline.stats.drop(DropReason::AfterShutdown, 1);
            return;
        }
        let interval = f64::from(self.config().flush_interval_ms);
        let signal = track.signal();
        if self.pipeline.ingest(track, body) {
            // A full batch wakes its lane at once, or when the lane's backoff ends; never
            // later than the lane's timer was armed for (a retry).
            let lane = &self.lanes[signal as usize];
            let at = lane
                .backoff
                .filter(|w| w.until > now)
                .map_or(now, |w| w.until);
            let armed = self.timers.get(Timer::Lane(signal));
            self.timers
                .set(Timer::Lane(signal), armed.map_or(at, |t| t.min(at)));
        }
        // Also after a full batch: `maxBatchBytes` may send it in parts, and what is left
        // below `batchSize` goes at the interval.
        if self.timers.get(Timer::Interval).is_none() && interval > 0.0 {
            self.timers.set(Timer::Interval, now + interval);
        }
    }

    /// Asks for everything queued now to be sent; the returned flush settles (an
    /// [`Action::Settle`]) once each of those records was delivered, dropped, or put back
    /// after its lane's retries ran out; a lane a server's `Retry-After` holds now, it
    /// does not wait on (SPEC §7). A flush that adds nothing to the newest pending one
    /// shares its id.
    pub fn flush(&mut self, now: f64) -> FlushId {
        let through = self.pipeline.next_seq();
        let held = (0..self.lanes.len())
            .filter(|&l| self.lanes[l].retry_after_holds(now))
            .fold(0, |bits, l| bits | 1 << l);
        let id = match self.waiters.last() {
            Some(&(id, t, h)) if t == through && h == held => id,
            _ => {
                let id = self.fresh_id();
                self.waiters.push((id, through, held));
                id
            }
        };
        self.send_now(now);
        self.settle(now);
        id
    }

    /// A last flush: no timer after it, and later tracking calls are counted and ignored.
    pub fn shutdown(&mut self, now: f64) -> FlushId {
        self.shut = true;
        self.timers.stop(Timer::Interval);
        self.flush(now)
    }

    /// "Send now": every lane sends what is queued, cutting its own backoff and retry
    /// waits short; a server's `Retry-After` still in force keeps its lane waiting.
    fn send_now(&mut self, now: f64) {
        let through = self.pipeline.next_seq();
        for signal in Signal::ALL {
            let l = signal as usize;
            let lane = &mut self.lanes[l];
            lane.send_through = through;
            if lane.backoff.is_some_and(|w| !w.holds(now, true)) {
                lane.backoff = None;
            }
            for i in 0..lane.attempts.len() {
                let waiting = self.lanes[l].attempts[i].retry;
                if !self.offline && waiting.is_some_and(|w| !w.holds(now, true)) {
                    self.lanes[l].attempts[i].retry = None;
                    self.transmit(signal, i);
                }
            }
        }
        self.drive(now);
    }

    /// Handles the reply to request `id`.
    pub fn reply(&mut self, now: f64, id: RequestId, reply: Reply) {
        let Some((signal, index)) = self.find(id) else {
            return;
        };
        let lane = signal as usize;
        let keepalive = self.lanes[lane].attempts[index].keepalive;
        if keepalive {
            let size = self.lanes[lane].attempts[index].request.body.len();
            self.keepalive_bytes = self.keepalive_bytes.saturating_sub(size);
        }
        // Offline, a failure spends no retry: the lane waits for the browser to be online.
        // A request that timed out (or failed) while the browser says it is offline failed
        // for that, whatever the shell could tell; a server's answer still counts.
        let offline = match reply.outcome {
            Outcome::Offline => true,
            Outcome::Timeout | Outcome::Network(_) => self.offline,
            _ => false,
        };
        self.offline |= offline;
        let p = &mut self.pipeline;
        // Only a failure is described, for `lastError`: a delivery needs no text.
        let failure = |p: &Pipeline| {
            let mut what = reply.outcome.describe();
            if !reply.message.is_empty() {
                what = [&what, ": ", reply.message.trim_ascii()].concat();
            }
            p.redact([p.url_base(signal), ": ", &what].concat())
        };
        let verdict = p.verdict(&reply.outcome, reply.exception_code);
        let attempt = &mut self.lanes[lane].attempts[index];
        if let Verdict::Retry(after) = verdict {
            let wait = Wait::new(
                now + after.unwrap_or_else(|| {
                    backoff_ms(p.config.retry_backoff_base_ms, attempt.retries, p.jitter())
                }),
                after.is_some(),
            );
            p.stats.last_error = Some(failure(p));
            if !offline && attempt.stored.is_none() && attempt.retries < p.config.max_retries {
                attempt.retries += 1;
                attempt.retry = Some(wait);
                attempt.keepalive = false;
                p.stats.retries += 1;
                self.drive(now);
                self.settle(now);
                return;
            }
            // The lane failed: it waits out its backoff (its own timer wakes it when the
            // backoff ends), or, offline, for the browser to be online.
            if !offline {
                self.lanes[lane].backoff = Some(wait);
            }
        }
        let attempt = self.lanes[lane].attempts.swap_remove(index);
        let sends = attempt.retries + u32::from(!offline);
        if verdict != Verdict::Restore {
            self.lanes[lane].failed = matches!(verdict, Verdict::Retry(_));
        }
        if let Some(key) = &attempt.stored {
            // A stored batch is deleted once delivered (or refused for good), else kept
            // with its attempt count. One this page could not claim is forgotten: another
            // page holds it, or delivered it.
            let failed = matches!(verdict, Verdict::Retry(_));
            let then = match verdict {
                Verdict::Restore => None,
                Verdict::Retry(_) if offline => Some(Then::Keep),
                Verdict::Retry(_) => Some(Then::Bump),
                _ => Some(Then::Delete),
            };
            self.pipeline.stats.retries += u64::from(then == Some(Then::Bump));
            self.release_stored(key, then);
            if failed || then.is_none() {
                self.drive(now);
                self.settle(now);
                return;
            }
        }
        let p = &mut self.pipeline;
        match verdict {
            Verdict::Delivered => {
                if reply.rejected > 0 {
                    let why = [
                        "partial success, ",
                        &json::decimal(reply.rejected),
                        " rejected: ",
                        &reply.message,
                    ]
                    .concat();
                    p.stats.last_error = Some(p.redact(why));
                }
                p.settle(
                    attempt.request,
                    Settle::Delivered {
                        rejected: reply.rejected,
                    },
                );
            }
            Verdict::Drop => p.settle(attempt.request, Settle::Drop(failure(p))),
            Verdict::Restore => p.restore(attempt.request),
            Verdict::Retry(_) => {
                // This batch, and what else the lane has queued, are written where the page
                // keeps batches (SPEC §8); otherwise it goes back to the head of its queue.
                if let Some(request) = self.persist(now, attempt.request, sends) {
                    self.pipeline.restore(request);
                }
                self.persist_lane(now, signal, false);
            }
        }
        self.drive(now);
        self.settle(now);
    }

    /// After a stored batch was sent: `then` is done to it (deleted whatever `then` says
    /// while collection is off) and the claim let go; `None`, it was not sent (not claimed),
    /// and is forgotten.
    fn release_stored(&mut self, key: &str, then: Option<Then>) {
        let Some(store) = self.store.as_mut() else {
            return;
        };
        let then = then.map(|t| if self.enabled { t } else { Then::Delete });
        if !matches!(then, Some(Then::Keep | Then::Bump)) {
            store.remove(key);
        }
        store.release(key, then == Some(Then::Bump));
        if let Some(then) = then {
            self.actions.push_back(Action::Release {
                key: key.into(),
                then,
            });
        }
    }

    /// Writes `request` (sent `attempts` times) as a stored batch, evicting the oldest
    /// batches (counted in `dropped.persistFull`) to stay within `persistBytes`. Gives the
    /// request back when it cannot be stored: collection is off, the page keeps nothing,
    /// or there cannot be room for it.
    fn persist(&mut self, now: f64, request: Request, attempts: u32) -> Option<Request> {
        let max = self.config().persist_bytes as usize;
        let (Some(store), true) = (self.store.as_mut(), self.enabled) else {
            return Some(request);
        };
        let head = head(request.gzip, attempts, &self.pipeline.url(&request));
        let session = self.pipeline.identity().map_or("", |i| &i.session_id);
        let key = store.key(now, session, request.signal, request.items);
        let size = stored_len(&key, &head, request.body.len(), request.gzip);
        let Some(evicted) = store.make_room(size, max) else {
            return Some(request);
        };
        for e in evicted {
            self.pipeline.stats.drop(DropReason::PersistFull, e.items);
            self.actions.push_back(Action::Release {
                key: e.key,
                then: Then::Delete,
            });
        }
        store.push(Entry {
            key: key.clone(),
            signal: request.signal,
            items: request.items as u64,
            bytes: size,
            attempts,
            busy: false,
        });
        self.actions.push_back(Action::Persist {
            key: key.clone(),
            head,
            body: request.body.clone(),
        });
        store.writing.push((key, Some(request)));
        None
    }

    /// Writes what `signal`'s lane has queued (and, when `waiting`, the requests it waits
    /// to retry) as stored batches, each small enough for `persistBytes` (half of it
    /// uncompressed: base64 of a gzip body is at most that). What cannot be stored stays
    /// queued.
    fn persist_lane(&mut self, now: f64, signal: Signal, waiting: bool) {
        if !self.enabled || self.store.is_none() {
            return;
        }
        let l = signal as usize;
        let mut i = 0;
        while waiting && i < self.lanes[l].attempts.len() {
            let a = &self.lanes[l].attempts[i];
            if a.retry.is_none() || a.stored.is_some() {
                i += 1;
                continue;
            }
            let a = self.lanes[l].attempts.swap_remove(i);
            if let Some(request) = self.persist(now, a.request, a.retries) {
                self.pipeline.restore(request);
            }
        }
        let c = self.config();
        let limit = (c.max_batch_bytes / 2).min(c.persist_bytes / 2) as usize;
        while let Some(request) = self.pipeline.next_request(signal, limit, true) {
            if let Some(request) = self.persist(now, request, 0) {
                self.pipeline.restore(request);
                return;
            }
        }
    }

    /// Handles time passing: the interval flush, and each lane's retries, backoff end or
    /// full batch that came due.
    pub fn handle_timeout(&mut self, now: f64) {
        let through = self.pipeline.next_seq();
        let interval = self.timers.expire(Timer::Interval, now);
        for signal in Signal::ALL {
            let l = signal as usize;
            let woken = self.timers.expire(Timer::Lane(signal), now);
            let lane = &mut self.lanes[l];
            if lane.backoff.is_some_and(|w| w.until <= now) {
                lane.backoff = None;
            }
            // The interval flushes every lane; a lane's own wake-up (its backoff ended, or
            // a batch filled) flushes that lane.
            if interval || woken {
                lane.send_through = lane.send_through.max(through);
            }
            for i in 0..lane.attempts.len() {
                let due = self.lanes[l].attempts[i].retry;
                if !self.offline && due.is_some_and(|w| w.until <= now) {
                    self.lanes[l].attempts[i].retry = None;
                    self.transmit(signal, i);
                }
            }
            // While a lane fails (or the browser is offline), the interval writes what it
            // queued where the page keeps batches: a crash loses at most one interval.
            let writable = matches!(&self.store, Some(s) if !s.faulted);
            if interval && writable && (self.offline || self.lanes[l].failing()) {
                self.persist_lane(now, signal, false);
            }
        }
        self.drive(now);
        self.settle(now);
    }

    /// The page is hidden, maybe for good: everything queued goes now, in keepalive
    /// requests that together stay within [`UNLOAD_BUDGET`], gzipped when `compress` (the
    /// host can send `Content-Encoding`). Where the page keeps batches, what the budget
    /// could not take is written to storage, and so is everything of a lane that is failing
    /// (its requests waiting to be retried included) or while the browser is offline: those
    /// would not arrive. What can be neither stays queued.
    pub fn page_hidden(&mut self, now: f64, compress: bool) {
        self.hidden = true;
        let keeps = self.enabled && self.store.is_some();
        for signal in Signal::ALL {
            if !keeps || !(self.offline || self.lanes[signal as usize].failing()) {
                self.unload_lane(signal, compress);
            }
            self.persist_lane(now, signal, true);
        }
        self.settle(now);
    }

    /// The page is back (shown again, or from the back/forward cache): send what stayed
    /// queued, and the stored batches.
    pub fn page_shown(&mut self, now: f64) {
        self.hidden = false;
        let through = self.pipeline.next_seq();
        for lane in &mut self.lanes {
            lane.send_through = through;
        }
        self.drive(now);
        self.settle(now);
    }

    /// The next action for the shell.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// The body of request `id`, while it is in flight.
    pub fn body(&self, id: RequestId) -> Option<&[u8]> {
        let (signal, index) = self.find(id)?;
        Some(&self.lanes[signal as usize].attempts[index].request.body)
    }

    /// When [`Delivery::handle_timeout`] should next be called: the earliest timer.
    pub fn poll_timeout(&self) -> Option<f64> {
        self.timers.next()
    }

    /// The timer table, for tests and the shell's diagnostics.
    pub fn timers(&self) -> &TimerTable {
        &self.timers
    }

    /// Whether a flush is waiting to settle (the shell keeps the process alive for it).
    pub fn flushing(&self) -> bool {
        !self.waiters.is_empty()
    }

    fn fresh_id(&mut self) -> u32 {
        self.next_id = self.next_id.wrapping_add(1);
        self.next_id
    }

    fn find(&self, id: RequestId) -> Option<(Signal, usize)> {
        Signal::ALL.into_iter().find_map(|signal| {
            let lane = &self.lanes[signal as usize];
            let i = lane.attempts.iter().position(|a| a.id == id)?;
            Some((signal, i))
        })
    }

    /// Starts a request on every free lane that has something to send now: its oldest
    /// stored batch first (through a claim), then its queued records. Offline, nothing.
    fn drive(&mut self, now: f64) {
        let batch = self.config().batch_size as usize;
        let max = self.config().max_batch_bytes as usize;
        for signal in Signal::ALL {
            let l = signal as usize;
            if self.offline || !self.lanes[l].free(now) || self.send_stored(signal) {
                continue;
            }
            let lane = &self.lanes[l];
            let wanted = self
                .pipeline
                .front_seq(signal)
                .is_some_and(|seq| seq < lane.send_through)
                || self.pipeline.queued(signal) >= batch;
            if !wanted {
                continue;
            }
            if let Some(request) = self.pipeline.next_request(signal, max, true) {
                self.start_attempt(signal, request, 0, false, None);
            }
        }
    }

    /// Sends `signal`'s oldest stored batch, if stored batches may go now.
    fn send_stored(&mut self, signal: Signal) -> bool {
        if !self.restoring() {
            return false;
        }
        let Some(entry) = self.store.as_mut().and_then(|s| s.next(signal)) else {
            return false;
        };
        entry.busy = true;
        let (key, items, sends) = (entry.key.clone(), entry.items, entry.attempts);
        self.start_attempt(
            signal,
            Request::stored(signal, items),
            sends,
            false,
            Some(key),
        );
        true
    }

    fn start_attempt(
        &mut self,
        signal: Signal,
        request: Request,
        retries: u32,
        keepalive: bool,
        stored: Option<String>,
    ) {
        let id = self.fresh_id();
        let attempts = &mut self.lanes[signal as usize].attempts;
        attempts.push(Attempt {
            id,
            request,
            retries,
            retry: None,
            keepalive,
            stored,
        });
        let index = attempts.len() - 1;
        self.transmit(signal, index);
    }

    fn transmit(&mut self, signal: Signal, index: usize) {
        let a = &self.lanes[signal as usize].attempts[index];
        self.actions.push_back(Action::Send(Transmit {
            id: a.id,
            signal: a.request.signal,
            url: match &a.stored {
                Some(key) => key.clone(),
                None => self.pipeline.url(&a.request),
            },
            gzip: a.request.gzip,
            authorization: self.pipeline.authorization().into(),
            timeout_ms: self.pipeline.config.timeout_ms,
            keepalive: a.keepalive,
            stored: a.stored.is_some(),
        }));
    }

    /// Sends `signal`'s queued records in keepalive requests while the budget lasts.
    /// The compressed size is known only after encoding, so a request that comes out too
    /// large goes back and is rebuilt from fewer records.
    fn unload_lane(&mut self, signal: Signal, compress: bool) {
        let max = self.config().max_batch_bytes as usize;
        loop {
            let room = UNLOAD_BUDGET.saturating_sub(self.keepalive_bytes);
            let mut limit = if compress { room * 8 } else { room }.min(max);
            loop {
                let Some(request) = self.pipeline.next_request(signal, limit, compress) else {
                    return;
                };
                let size = request.body.len();
                if size <= room {
                    self.keepalive_bytes += size;
                    self.start_attempt(signal, request, 0, true, None);
                    break;
                }
                let items = request.items;
                self.pipeline.restore(request);
                if items == 1 {
                    return; // one record larger than what is left: it waits for later
                }
                limit = (limit as f64 * room as f64 / size as f64 * 0.9) as usize;
            }
        }
    }

    /// Whether every record below `through` is settled, or was put back by a lane that
    /// gave up for now (or waits for the browser to be online); the lanes in `held` are let
    /// off while a `Retry-After` holds them.
    fn settled_below(&self, through: u64, held: u8, now: f64) -> bool {
        self.lanes
            .iter()
            .zip(Signal::ALL)
            .enumerate()
            .all(|(l, (lane, signal))| {
                let queued = self.pipeline.front_seq(signal);
                let let_off = held & 1 << l != 0 && lane.retry_after_holds(now);
                lane.attempts.iter().all(|a| {
                    (let_off && a.retry_after(now))
                        || (self.offline && a.retry.is_some())
                        || a.request.first_seq() >= through
                }) && (let_off
                    || self.offline
                    || lane.backoff.is_some_and(|w| w.until > now)
                    || !matches!(queued, Some(seq) if seq < through))
            })
    }

    /// After an event: each lane's timer slot follows its state, and the flushes whose
    /// records are all settled are.
    fn settle(&mut self, now: f64) {
        for signal in Signal::ALL {
            match self.lane_wake(signal, now) {
                Some(at) => self.timers.set(Timer::Lane(signal), at),
                None => self.timers.stop(Timer::Lane(signal)),
            }
        }
        self.check_waiters(now);
    }

    /// When `signal`'s lane next needs the timer: its earliest retry, or, with records queued
    /// and nothing in flight, the end of its backoff; at once for what a free lane should
    /// have sent but could not hold yet. (A full batch on a free lane was usually sent by
    /// [`Delivery::drive`] before this runs; [`Delivery::track`] wakes its lane.)
    fn lane_wake(&self, signal: Signal, now: f64) -> Option<f64> {
        if self.offline {
            return None; // the `online` event wakes every lane
        }
        let lane = &self.lanes[signal as usize];
        let retry = lane
            .attempts
            .iter()
            .filter_map(|a| a.retry.map(|w| w.until));
        // A lane with stored batches wakes when its backoff ends (a free lane sent its
        // oldest in `drive`, before this runs).
        let stored = self.restoring()
            && self
                .store
                .as_ref()
                .is_some_and(|s| s.entries().iter().any(|e| e.signal == signal && !e.busy));
        let waiting = lane.attempts.is_empty() && (self.pipeline.queued(signal) > 0 || stored);
        let backoff = lane
            .backoff
            .filter(|w| waiting && w.until > now)
            .map(|w| w.until);
        // Records a flush asked for, or a full batch, on a free lane that did not send them
        // (put back by a refused write, or left queued at page hide): the lane wakes for
        // them at once.
        let asked = lane.free(now)
            && (self.pipeline.queued(signal) >= self.config().batch_size as usize
                || self
                    .pipeline
                    .front_seq(signal)
                    .is_some_and(|seq| seq < lane.send_through));
        retry
            .chain(backoff)
            .chain(asked.then_some(now))
            .min_by(f64::total_cmp)
    }

    /// Settles every flush whose records are all settled.
    fn check_waiters(&mut self, now: f64) {
        let mut i = 0;
        while i < self.waiters.len() {
            let (id, through, held) = self.waiters[i];
            if self.settled_below(through, held, now) {
                self.waiters.remove(i);
                self.actions.push_back(Action::Settle(id));
            } else {
                i += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Raw;
    use crate::encoder::Identity;
    use crate::model::testing::{body, V};
    use std::collections::BTreeMap;

    /// A delivery core on a fake clock, with what it asked the shell to do, and a fake
    /// `localStorage` the shell's storage calls go to.
    struct World {
        d: Delivery,
        now: f64,
        sent: Vec<Transmit>,
        settled: Vec<FlushId>,
        /// The page's `localStorage`: each stored batch's head and body (the shell stores
        /// them as one string: the head, a newline, the body in base64 or as text).
        storage: BTreeMap<String, (String, Vec<u8>)>,
        /// Writes throw (a full quota).
        full: bool,
        /// Keys another page holds a claim on.
        elsewhere: Vec<String>,
        /// The bodies of stored batches sent, by request id, as read under the claim.
        stored_sent: BTreeMap<RequestId, Vec<u8>>,
        /// Storage calls, in order: `list`, `set k`, `send k` (claim and send),
        /// `release k Keep|Delete|Bump`.
        log: Vec<String>,
    }

    impl World {
        fn new(opts: &[(&str, Raw)]) -> Self {
            World::page(opts, "", true, BTreeMap::new(), 1_000_000.0)
        }

        /// A page whose client runs in `runtime` with collection `enabled`, opened over
        /// `storage`.
        fn page(
            opts: &[(&str, Raw)],
            runtime: &str,
            enabled: bool,
            storage: BTreeMap<String, (String, Vec<u8>)>,
            now: f64,
        ) -> Self {
            let config = Config::parse(&mut |n| match n {
                "projectName" | "version" => Raw::Str("p".into()),
                _ => opts
                    .iter()
                    .find(|(k, _)| *k == n)
                    .map_or(Raw::Missing, |(_, v)| v.clone()),
            })
            .unwrap();
            let mut d = Delivery::new(config).with_host(enabled, runtime.into());
            let identity = Identity {
                session_id: format!("{:08x}-0000-4000-8000-000000000000", now as u64),
                ..Identity::default()
            };
            d.pipeline.start(9, identity);
            let mut w = World {
                d,
                now,
                sent: Vec::new(),
                settled: Vec::new(),
                storage,
                full: false,
                elsewhere: Vec::new(),
                stored_sent: BTreeMap::new(),
                log: Vec::new(),
            };
            w.d.open();
            w.pump();
            w
        }

        fn browser(opts: &[(&str, Raw)]) -> Self {
            World::page(opts, "browser", true, BTreeMap::new(), 1_000_000.0)
        }

        /// The next load of the page, `later` ms on, over this one's storage.
        fn next_load(&self, opts: &[(&str, Raw)], later: f64) -> Self {
            World::page(
                opts,
                "browser",
                true,
                self.storage.clone(),
                self.now + later,
            )
        }

        /// Carries out the core's actions as the shell does, until there are none.
        fn pump(&mut self) {
            while let Some(a) = self.d.poll_action() {
                match a {
                    Action::Send(t) if t.stored => {
                        self.log.push(format!("send {}", t.url));
                        let stored = self.storage.get(&t.url);
                        match stored.filter(|_| !self.elsewhere.contains(&t.url)) {
                            Some((_, body)) => {
                                self.stored_sent.insert(t.id, body.clone());
                                self.sent.push(t);
                            }
                            // Not claimed: another page holds it, or it is gone.
                            None => self.d.reply(self.now, t.id, reply(Outcome::Refused)),
                        }
                    }
                    Action::Send(t) => self.sent.push(t),
                    Action::Settle(id) => self.settled.push(id),
                    Action::List { prefix } => {
                        self.log.push("list".into());
                        let listing: String = self
                            .storage
                            .iter()
                            .filter_map(|(k, (head, body))| {
                                let suffix = k.strip_prefix(&prefix)?;
                                let len = stored_len("", head, body.len(), head.starts_with('g'));
                                Some(format!("{suffix} {len}\n"))
                            })
                            .collect();
                        self.d.listed(self.now, Some(&listing));
                    }
                    Action::Persist { key, head, body } => {
                        self.log.push(format!("set {key}"));
                        let result = if self.full {
                            Err("QuotaExceededError".into())
                        } else {
                            self.storage.insert(key.clone(), (head, body));
                            Ok(())
                        };
                        self.d.wrote(self.now, &key, result);
                    }
                    Action::Release { key, then } => {
                        self.log.push(format!("release {key} {then:?}"));
                        match then {
                            Then::Delete => drop(self.storage.remove(&key)),
                            Then::Bump => {
                                let stored = self.storage.get_mut(&key).unwrap();
                                let b = Stored::of(stored);
                                stored.0 = head(b.gzip, b.attempts + 1, &b.url);
                            }
                            Then::Keep => {}
                        }
                    }
                }
            }
        }

        /// The body a request carried: a stored batch's as read from storage.
        fn body_of(&self, t: &Transmit) -> Vec<u8> {
            match self.stored_sent.get(&t.id) {
                Some(body) => body.clone(),
                None => self.d.body(t.id).unwrap().to_vec(),
            }
        }

        /// The stored keys, oldest first.
        fn keys(&self) -> Vec<String> {
            self.storage.keys().cloned().collect()
        }

        fn stored(&self, key: &str) -> Stored {
            Stored::of(&self.storage[key])
        }

        /// Length of what is stored, as `persistBytes` counts it.
        fn stored_bytes(&self) -> usize {
            self.storage
                .iter()
                .map(|(k, (h, b))| stored_len(k, h, b.len(), h.starts_with('g')))
                .sum()
        }

        /// Storage calls since the last call, with the prefix left out.
        fn take_log(&mut self) -> Vec<String> {
            ::core::mem::take(&mut self.log)
                .into_iter()
                .map(|l| l.replace("automagik-telemetry:p:", ""))
                .collect()
        }

        fn track(&mut self, track: Track, name: &str) {
            // A metric's body carries its value's text after the name.
            let strings: &[&str] = match track {
                Track::Metric { .. } => &[name, "1"],
                _ => &[name],
            };
            let b = body(self.now, strings, &[("k", V::S("v"))]);
            self.d.track(self.now, track, &b);
            self.pump();
        }

        fn event(&mut self, name: &str) {
            self.track(Track::Event, name);
        }

        fn flush(&mut self) -> FlushId {
            let id = self.d.flush(self.now);
            self.pump();
            id
        }

        /// The requests sent since the last call.
        fn take_sent(&mut self) -> Vec<Transmit> {
            ::core::mem::take(&mut self.sent)
        }

        fn answer(&mut self, id: RequestId, outcome: Outcome) {
            self.d.reply(self.now, id, reply(outcome));
            self.pump();
        }

        fn status(&mut self, id: RequestId, status: u16) {
            self.answer(
                id,
                Outcome::Status {
                    status,
                    retry_after_ms: None,
                },
            );
        }

        /// Wakes the core until it sends something; returns what it sent.
        fn wake_until_sent(&mut self) -> Vec<Transmit> {
            for _ in 0..10 {
                self.wake();
                if !self.sent.is_empty() {
                    return self.take_sent();
                }
            }
            panic!("nothing sent after 10 wake-ups");
        }

        /// Advances the fake clock to the next wake-up the core asked for.
        fn wake(&mut self) -> f64 {
            let at = self.d.poll_timeout().expect("a wake-up is due");
            let waited = at - self.now;
            self.now = self.now.max(at);
            self.d.handle_timeout(self.now);
            self.pump();
            waited
        }
    }

    fn reply(outcome: Outcome) -> Reply {
        Reply {
            outcome,
            rejected: 0,
            message: String::new(),
            exception_code: None,
        }
    }

    /// A stored batch's head, read back, and its body.
    #[derive(Debug, PartialEq)]
    struct Stored {
        gzip: bool,
        attempts: u32,
        url: String,
        body: Vec<u8>,
    }

    impl Stored {
        fn of((head, body): &(String, Vec<u8>)) -> Stored {
            let mut parts = head.splitn(3, ' ');
            let (encoding, attempts, url) = (parts.next(), parts.next(), parts.next());
            Stored {
                gzip: encoding == Some("g"),
                attempts: attempts.unwrap().parse().unwrap(),
                url: url.unwrap().into(),
                body: body.clone(),
            }
        }
    }

    /// A request body as text, gunzipped when it is gzip.
    fn text(body: &[u8]) -> String {
        let raw = if body.starts_with(&[0x1f, 0x8b]) {
            miniz_oxide::inflate::decompress_to_vec(&body[10..body.len() - 8]).unwrap()
        } else {
            body.to_vec()
        };
        String::from_utf8(raw).unwrap()
    }

    fn num(v: f64) -> Raw {
        Raw::Number(v)
    }

    #[test]
    fn a_dead_lane_never_holds_back_the_others() {
        let mut w = World::new(&[
            ("maxRetries", num(2.0)),
            ("retryBackoffBase", num(20_000.0)),
        ]);
        w.event("e");
        w.track(
            Track::Metric {
                kind: crate::model::MetricKind::Gauge,
                value: 1.0,
            },
            "m",
        );
        w.track(Track::Log { severity: 9 }, "l");
        let f = w.flush();
        let sent = w.take_sent();
        assert_eq!(sent.len(), 3, "one request per lane, all at once");
        let traces = sent.iter().find(|t| t.signal == Signal::Traces).unwrap();
        w.answer(traces.id, Outcome::Network("refused".into()));
        for t in sent.iter().filter(|t| t.signal != Signal::Traces) {
            w.status(t.id, 200);
        }
        assert_eq!(
            w.d.pipeline.stats.sent_items, 2,
            "metrics and logs delivered"
        );
        assert!(w.settled.is_empty(), "the flush still waits on traces");
        // Traces retry twice, then give up for now: the flush settles, items re-queued.
        for _ in 0..2 {
            let retry = w.wake_until_sent();
            assert_eq!(retry.len(), 1);
            w.answer(retry[0].id, Outcome::Timeout);
        }
        assert_eq!(w.settled, vec![f]);
        assert_eq!(w.d.pipeline.queued(Signal::Traces), 1);
        // While traces back off, the interval timer still sends new metrics on time.
        w.track(
            Track::Metric {
                kind: crate::model::MetricKind::Gauge,
                value: 2.0,
            },
            "m2",
        );
        assert_eq!(w.wake(), 5000.0, "the metrics interval is not pushed back");
        let sent = w.take_sent();
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].signal, Signal::Metrics);
        // A flush means send now: traces try again at once, cutting their backoff short.
        w.flush();
        let sent = w.take_sent();
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].signal, Signal::Traces);
    }

    #[test]
    fn a_flush_settles_under_a_steady_stream() {
        let mut w = World::new(&[("batchSize", num(10.0))]);
        for i in 0..25 {
            w.event(&format!("before{i}"));
        }
        assert!(
            w.take_sent().is_empty(),
            "no request inside a tracking call"
        );
        assert_eq!(w.wake(), 0.0, "batchSize wakes the shell at once");
        let first = w.take_sent();
        assert_eq!(
            first.len(),
            1,
            "batchSize sent a request; one per lane in flight"
        );
        let f = w.flush();
        let mut rounds = 0;
        let mut in_flight = first;
        while !w.settled.contains(&f) {
            rounds += 1;
            assert!(rounds < 5, "the flush must settle within a few round trips");
            // The stream keeps coming while each request is in flight.
            for i in 0..20 {
                w.event(&format!("during{rounds}-{i}"));
            }
            for t in ::core::mem::take(&mut in_flight) {
                w.status(t.id, 200);
            }
            w.wake();
            in_flight = w.take_sent();
        }
        assert!(rounds <= 2, "settled after {rounds} round trips");
        assert!(w.d.pipeline.stats.sent_items >= 25);
    }

    #[test]
    fn backoff_doubles_within_jitter_bounds() {
        let mut w = World::new(&[("retryBackoffBase", num(100.0)), ("maxRetries", num(3.0))]);
        w.event("e");
        w.flush();
        let mut id = w.take_sent()[0].id;
        for attempt in 0..3 {
            w.status(id, 503);
            let waited = w.wake();
            let expected = 100.0 * 2f64.powi(attempt);
            assert!(
                (expected * 0.8..=expected * 1.2).contains(&waited),
                "retry {attempt} waited {waited} ms"
            );
            id = w.take_sent()[0].id;
        }
        w.status(id, 200);
        assert_eq!(w.d.pipeline.stats.retries, 3);
        assert_eq!(w.d.pipeline.stats.sent_items, 1);
    }

    #[test]
    fn a_retry_after_wait_is_honoured() {
        let mut w = World::new(&[("retryBackoffBase", num(10.0)), ("flushInterval", num(0.0))]);
        w.event("e");
        w.flush();
        let id = w.take_sent()[0].id;
        w.answer(
            id,
            Outcome::Status {
                status: 429,
                retry_after_ms: Some(3000.0),
            },
        );
        assert_eq!(w.wake(), 3000.0);
        assert_eq!(w.take_sent().len(), 1, "then it retries");
    }

    #[test]
    fn a_batch_whose_retries_ran_out_returns_to_the_head_and_the_lane_backs_off() {
        let mut w = World::new(&[
            ("maxRetries", num(0.0)),
            ("retryBackoffBase", num(3000.0)),
            ("flushInterval", num(1000.0)),
        ]);
        w.event("first");
        w.flush();
        let id = w.take_sent()[0].id;
        w.event("second");
        w.status(id, 503);
        assert_eq!(w.d.pipeline.queued(Signal::Traces), 2);
        assert!(w
            .d
            .pipeline
            .stats
            .last_error
            .as_deref()
            .unwrap()
            .contains("HTTP 503"));
        assert_eq!(w.wake(), 1000.0, "the interval comes first");
        assert!(w.take_sent().is_empty(), "and finds traces backing off");
        let waited = 1000.0 + w.wake();
        assert!(
            (2400.0..=3600.0).contains(&waited),
            "the lane's own timer wakes it when the backoff ends: {waited}"
        );
        let sent = w.take_sent();
        assert_eq!(
            sent.len(),
            1,
            "after the backoff the re-queued batch goes by itself"
        );
        let body = text(w.d.body(sent[0].id).unwrap());
        assert!(body.find("first").unwrap() < body.find("second").unwrap());
    }

    #[test]
    fn a_flush_cuts_our_own_backoff_short_but_honours_retry_after() {
        let mut w = World::new(&[
            ("maxRetries", num(0.0)),
            ("retryBackoffBase", num(20_000.0)),
            ("flushInterval", num(60_000.0)),
        ]);
        w.event("e");
        w.flush();
        let id = w.take_sent()[0].id;
        w.status(id, 503);
        assert_eq!(w.d.pipeline.queued(Signal::Traces), 1, "re-queued");
        w.flush();
        let again = w.take_sent();
        assert_eq!(again.len(), 1, "a second flush sends at once");
        // Now the server asks for 3 s: flushes settle without contacting it.
        w.answer(
            again[0].id,
            Outcome::Status {
                status: 429,
                retry_after_ms: Some(3000.0),
            },
        );
        for _ in 0..3 {
            let f = w.flush();
            assert!(w.take_sent().is_empty(), "Retry-After is in force");
            assert!(w.settled.contains(&f), "and the flush resolves");
            w.now += 500.0;
        }
        // When the 3 s are up the lane goes by itself.
        let waited = w.wake();
        assert_eq!(w.now, 1_000_000.0 + 3000.0, "woken at the end: {waited}");
        assert_eq!(w.take_sent().len(), 1);
    }

    #[test]
    fn a_pending_retry_waits_for_its_own_timer_and_a_flush_hurries_it() {
        let mut w = World::new(&[
            ("retryBackoffBase", num(10_000.0)),
            ("maxRetries", num(3.0)),
            ("flushInterval", num(0.0)),
        ]);
        w.event("e");
        w.flush();
        let id = w.take_sent()[0].id;
        w.status(id, 503);
        assert!(w.take_sent().is_empty());
        let at = w.d.timers().get(Timer::Lane(Signal::Traces)).unwrap();
        assert!(
            (8000.0..=12000.0).contains(&(at - w.now)),
            "its lane's timer slot"
        );
        assert_eq!(w.d.timers().get(Timer::Interval), None);
        w.flush();
        assert_eq!(w.take_sent().len(), 1, "send now");
    }

    #[test]
    fn a_full_batch_wakes_only_its_lane_and_waits_for_its_backoff() {
        let mut w = World::new(&[
            ("batchSize", num(2.0)),
            ("maxRetries", num(0.0)),
            ("retryBackoffBase", num(4000.0)),
            ("flushInterval", num(0.0)),
        ]);
        w.event("a");
        w.event("b");
        assert_eq!(w.wake(), 0.0, "a full batch wakes at once");
        let id = w.take_sent()[0].id;
        w.status(id, 503);
        w.event("c");
        w.event("d");
        let waited = w.wake();
        assert!(waited >= 3200.0, "not before the backoff ends: {waited}");
        assert_eq!(w.take_sent().len(), 1);
    }

    #[test]
    fn the_byte_bound_holds_while_a_lane_is_down_and_drops_are_counted() {
        let mut w = World::new(&[
            ("maxRetries", num(0.0)),
            ("maxQueueBytes", num(16384.0)),
            ("flushInterval", num(0.0)),
        ]);
        w.event("e0");
        w.flush();
        let id = w.take_sent()[0].id;
        w.answer(id, Outcome::Network("down".into()));
        let mut tracked = 1;
        for i in 1..500 {
            w.event(&format!("e{i}"));
            tracked += 1;
            assert!(w.d.pipeline.queued_bytes() <= 16384);
        }
        let s = &w.d.pipeline.stats;
        let queued = w.d.pipeline.queued(Signal::Traces) as u64;
        assert!(s.dropped_queue_full > 0);
        assert_eq!(s.dropped_queue_full + queued, tracked);
    }

    #[test]
    fn shutdown_flushes_once_then_ignores_and_counts_tracking() {
        let mut w = World::new(&[]);
        w.event("e");
        let f = w.d.shutdown(w.now);
        w.pump();
        assert!(
            w.d.poll_timeout().is_none(),
            "no interval timer after shutdown"
        );
        let id = w.take_sent()[0].id;
        w.event("late");
        assert_eq!(w.d.pipeline.stats.dropped_after_shutdown, 1);
        w.status(id, 200);
        assert_eq!(w.settled, vec![f]);
        assert!(w.d.is_shut());
        assert_eq!(w.d.pipeline.queued(Signal::Traces), 0);
    }

    #[test]
    fn the_interval_timer_flushes_what_waits() {
        let mut w = World::new(&[("flushInterval", num(5000.0))]);
        assert!(
            w.d.poll_timeout().is_none(),
            "nothing queued, nothing to wake for"
        );
        w.event("e");
        assert!(w.take_sent().is_empty());
        assert_eq!(w.wake(), 5000.0);
        assert_eq!(w.take_sent().len(), 1);
    }

    #[test]
    fn unload_sends_everything_within_the_budget_and_keeps_the_rest() {
        let mut w = World::new(&[("flushInterval", num(60_000.0)), ("batchSize", num(1000.0))]);
        for i in 0..500 {
            w.track(
                Track::Log { severity: 9 },
                &format!("{i:04} {}", "x".repeat(180)),
            );
        }
        w.d.page_hidden(w.now, true);
        w.pump();
        let sent = w.take_sent();
        let total: usize = sent.iter().map(|t| w.d.body(t.id).unwrap().len()).sum();
        assert!(total <= UNLOAD_BUDGET, "{total}");
        assert!(sent.iter().all(|t| t.keepalive && t.gzip), "{sent:?}");
        assert_eq!(
            w.d.pipeline.queued(Signal::Logs),
            0,
            "500 compressed logs fit"
        );
        // Uncompressed (a beacon cannot say Content-Encoding), only part fits.
        let mut w2 = World::new(&[("flushInterval", num(60_000.0)), ("batchSize", num(1000.0))]);
        for i in 0..500 {
            w2.track(
                Track::Log { severity: 9 },
                &format!("{i:04} {}", "x".repeat(180)),
            );
        }
        w2.d.page_hidden(w2.now, false);
        w2.pump();
        let sent2 = w2.take_sent();
        let total: usize = sent2.iter().map(|t| w2.d.body(t.id).unwrap().len()).sum();
        assert!(total <= UNLOAD_BUDGET, "{total}");
        let left = w2.d.pipeline.queued(Signal::Logs);
        assert!(left > 0 && left < 500, "{left} left queued");
        // A refused beacon puts its records back; the page coming back sends them all.
        w2.answer(sent2[0].id, Outcome::Refused);
        assert!(w2.d.pipeline.queued(Signal::Logs) > left);
        for t in &sent2[1..] {
            w2.status(t.id, 200);
        }
        w2.d.page_shown(w2.now);
        w2.pump();
        let mut rounds = 0;
        while w2.d.pipeline.queued(Signal::Logs) > 0 || w2.d.in_flight() > 0 {
            for t in w2.take_sent() {
                w2.status(t.id, 200);
            }
            rounds += 1;
            assert!(rounds < 10);
        }
        assert_eq!(w2.d.pipeline.stats.sent_items, 500, "none twice, none lost");
    }

    #[test]
    fn an_item_sent_at_unload_is_not_sent_again_by_the_timer() {
        let mut w = World::new(&[("flushInterval", num(1000.0))]);
        w.event("once");
        w.d.page_hidden(w.now, true);
        w.pump();
        assert_eq!(w.take_sent().len(), 1);
        w.wake();
        assert!(w.take_sent().is_empty());
    }

    #[test]
    fn how_many_events_one_unload_budget_holds() {
        // The browser test's event: a name and ~170 bytes of payload, about 200 bytes.
        let fits = |compress: bool| {
            let mut w = World::new(&[
                ("flushInterval", num(60_000.0)),
                ("batchSize", num(100_000.0)),
            ]);
            for i in 0..5000 {
                let b = body(
                    w.now,
                    &[&format!("unload.{i}")],
                    &[("index", V::I(i)), ("payload", V::S(&"p".repeat(170)))],
                );
                w.d.track(w.now, Track::Event, &b);
            }
            w.d.page_hidden(w.now, compress);
            w.pump();
            5000 - w.d.pipeline.queued(Signal::Traces)
        };
        let (gzip, plain) = (fits(true), fits(false));
        println!("one {UNLOAD_BUDGET} B unload budget holds {gzip} events gzipped, {plain} plain");
        assert!(gzip >= 500, "{gzip}");
        assert!(plain < gzip);
    }

    #[test]
    #[cfg(feature = "clickhouse")]
    fn a_partial_success_message_is_redacted_like_every_error() {
        let mut w = World::new(&[
            ("backend", Raw::Str("clickhouse".into())),
            ("clickhousePassword", Raw::Str("hunter2".into())),
        ]);
        w.event("e");
        w.flush();
        let id = w.take_sent()[0].id;
        let reply = Reply {
            outcome: Outcome::Status {
                status: 200,
                retry_after_ms: None,
            },
            rejected: 1,
            message: "rejected for user default:hunter2".into(),
            exception_code: None,
        };
        w.d.reply(w.now, id, reply);
        let error = w.d.pipeline.stats.last_error.clone().unwrap();
        assert_eq!(
            error,
            "partial success, 1 rejected: rejected for user default:***"
        );
    }

    // Found by `delivery_props` (seed 3): two unload requests of one lane came back
    // refused, the older first, and the newer records went in front of the older ones;
    // a flush then took the queue's front for its oldest record and settled with the
    // older records still queued, unsent.
    #[test]
    fn records_put_back_out_of_order_keep_the_flush_that_covers_them_waiting() {
        let mut w = World::new(&[("flushInterval", num(60_000.0))]);
        w.event("older");
        w.d.page_hidden(w.now, true);
        w.pump();
        let older = w.take_sent();
        let f = w.flush();
        w.event("newer");
        w.d.page_hidden(w.now, true);
        w.pump();
        let newer = w.take_sent();
        w.answer(older[0].id, Outcome::Refused);
        w.answer(newer[0].id, Outcome::Refused);
        assert!(!w.settled.contains(&f), "the flush covers the older record");
        let sent = w.take_sent();
        assert_eq!(sent.len(), 1, "the flush's record goes out");
        let body = text(w.d.body(sent[0].id).unwrap());
        assert!(body.find("older").unwrap() < body.find("newer").unwrap());
    }

    // Found by `delivery_props` (seed 9): a full batch re-armed its lane's timer for the
    // lane's backoff end, later than a retry that lane's other (unload) request waited for.
    #[test]
    fn a_full_batch_does_not_push_back_a_retry_of_its_lane() {
        let mut w = World::new(&[
            ("maxRetries", num(1.0)),
            ("batchSize", num(2.0)),
            ("flushInterval", num(0.0)),
        ]);
        let unload = |w: &mut World, name: &str| {
            w.event(name);
            w.d.page_hidden(w.now, true);
            w.pump();
            w.take_sent()[0].id
        };
        let (a, b) = (unload(&mut w, "a"), unload(&mut w, "b"));
        // b runs out of retries and the server asks the lane to wait a minute.
        w.status(b, 503);
        assert_eq!(w.wake_until_sent()[0].id, b);
        let retry_after = Outcome::Status {
            status: 429,
            retry_after_ms: Some(60_000.0),
        };
        w.answer(b, retry_after);
        // a waits for its own retry, about a second.
        w.status(a, 503);
        let retry = w.d.poll_timeout().unwrap();
        assert!(retry <= w.now + 1200.0);
        w.event("c"); // with b's record back in the queue, a full batch
        assert_eq!(w.d.poll_timeout(), Some(retry), "a's retry stays on time");
    }

    // Found by `delivery_props` (seed 33): a flush asked for while a retry (not the last)
    // waited out a Retry-After waited for it too (SPEC §7: it resolves without contacting
    // that lane). A flush already under way when the Retry-After came still waits.
    #[test]
    fn a_flush_resolves_while_a_retry_waits_out_retry_after() {
        let mut w = World::new(&[("flushInterval", num(0.0))]);
        w.event("e");
        let under_way = w.flush();
        let id = w.take_sent()[0].id;
        let retry_after = Outcome::Status {
            status: 429,
            retry_after_ms: Some(3000.0),
        };
        w.answer(id, retry_after);
        let f = w.flush();
        assert!(w.take_sent().is_empty(), "Retry-After is in force");
        assert_eq!(w.settled, vec![f], "and the flush resolves");
        assert_eq!(w.wake(), 3000.0);
        let retry = w.take_sent();
        assert_eq!(retry.len(), 1, "then the lane retries by itself");
        w.status(retry[0].id, 200);
        assert_eq!(w.settled, vec![f, under_way]);
    }

    // Found by `delivery_props` (seed 43): tracking calls that found their lane's batch
    // full did not arm the interval; when `maxBatchBytes` split that batch, what was left
    // below `batchSize` waited for nothing.
    #[test]
    fn what_a_split_batch_leaves_goes_at_the_next_interval() {
        let mut w = World::new(&[
            ("batchSize", num(2.0)),
            ("maxBatchBytes", num(1024.0)),
            ("flushInterval", num(5000.0)),
        ]);
        let big = |i: u32| format!("{i}{}", "x".repeat(400));
        w.event(&big(0));
        w.event(&big(1));
        assert_eq!(w.wake(), 0.0, "the full batch goes, one record per request");
        let mut in_flight = w.take_sent();
        assert_eq!(
            w.wake(),
            5000.0,
            "the interval fires while the lane is busy"
        );
        w.event(&big(2));
        w.event(&big(3));
        while let Some(t) = in_flight.pop() {
            w.status(t.id, 200);
            in_flight.extend(w.take_sent());
        }
        assert_eq!(w.d.pipeline.queued(Signal::Traces), 1);
        assert!(w.wake() <= 5000.0);
        assert_eq!(w.take_sent().len(), 1, "the last record goes by itself");
    }

    // Surviving the page (SPEC §8): what is written, when, and in what order it is
    // restored and deleted, with a fake storage and a fake clock.

    /// `n` events named `<prefix>.<i>`.
    fn events(w: &mut World, prefix: &str, n: usize) {
        for i in 0..n {
            w.event(&format!("{prefix}.{i}"));
        }
    }

    fn short(key: &str) -> String {
        key.replace("automagik-telemetry:p:", "")
    }

    /// Answers every request sent with `status`, until none is sent (at most 20 rounds).
    fn answer_all(w: &mut World, status: u16) {
        for _ in 0..20 {
            let sent = w.take_sent();
            if sent.is_empty() {
                return;
            }
            for t in sent {
                w.status(t.id, status);
            }
        }
        panic!("still sending after 20 rounds");
    }

    #[test]
    fn the_happy_path_writes_nothing() {
        let mut w = World::browser(&[("flushInterval", num(1000.0))]);
        assert_eq!(w.take_log(), ["list"], "one read at construction");
        events(&mut w, "ok", 3);
        w.flush();
        answer_all(&mut w, 200);
        w.event("at.unload");
        w.d.page_hidden(w.now, true);
        w.pump();
        assert!(w.take_sent()[0].keepalive);
        assert!(w.take_log().is_empty(), "no storage call");
        assert!(w.storage.is_empty());
        assert_eq!(w.d.status().persisted, Persisted::default());
    }

    #[test]
    fn a_lane_whose_retries_ran_out_writes_its_batch_and_sends_those_bytes_after_its_backoff() {
        let mut w = World::browser(&[("maxRetries", num(0.0)), ("retryBackoffBase", num(1000.0))]);
        w.take_log();
        events(&mut w, "a", 2);
        let f = w.flush();
        let first = w.take_sent().remove(0);
        let body = w.body_of(&first);
        w.status(first.id, 503);
        assert!(
            w.settled.contains(&f),
            "the flush settles: its items are stored"
        );
        assert_eq!(w.d.pipeline.queued(Signal::Traces), 0);
        let keys = w.keys();
        assert_eq!(keys.len(), 1);
        let key = short(&keys[0]);
        assert!(key.ends_with(".traces.2"), "{key}");
        assert_eq!(w.take_log(), [format!("set {key}")]);
        let expected = Stored {
            gzip: first.gzip,
            attempts: 1,
            url: first.url.clone(),
            body: body.clone(),
        };
        assert_eq!(
            w.stored(&keys[0]),
            expected,
            "the request as it was sent, with its attempt count"
        );
        let status = w.d.status();
        assert_eq!(status.persisted.batches, 1);
        assert_eq!(status.persisted.bytes as usize, w.stored_bytes());
        // Tracked meanwhile: queued, behind the stored batch.
        w.event("c");
        let waited = w.wake();
        assert!(
            (800.0..=1200.0).contains(&waited),
            "after the backoff: {waited}"
        );
        assert_eq!(w.take_log(), [format!("send {key}")]);
        let again = w.take_sent();
        assert_eq!(again.len(), 1);
        assert!(again[0].stored && again[0].url == keys[0]);
        assert_eq!(
            w.body_of(&again[0]),
            body,
            "the stored bytes, not re-encoded"
        );
        w.status(again[0].id, 200);
        assert_eq!(
            w.take_log(),
            [format!("release {key} Delete")],
            "deleted once delivered"
        );
        assert!(w.storage.is_empty());
        let next = w.take_sent();
        assert_eq!(next.len(), 1, "then the queue");
        assert!(text(&w.body_of(&next[0])).contains("\"c\""));
        w.status(next[0].id, 200);
        assert_eq!(w.d.pipeline.stats.sent_items, 3);
        assert_eq!(w.d.status().persisted, Persisted::default());
    }

    #[test]
    fn a_stored_batch_that_fails_again_is_kept_with_its_attempt_count() {
        let mut w = World::browser(&[("maxRetries", num(0.0)), ("retryBackoffBase", num(1000.0))]);
        w.event("e");
        w.flush();
        let id = w.take_sent()[0].id;
        w.status(id, 503);
        w.wake();
        let resend = w.take_sent()[0].id;
        w.take_log();
        w.status(resend, 503);
        let keys = w.keys();
        assert_eq!(w.take_log(), [format!("release {} Bump", short(&keys[0]))]);
        assert_eq!(w.stored(&keys[0]).attempts, 2);
        assert_eq!(w.d.pipeline.stats.retries, 1);
        let waited = w.wake();
        assert!(
            (1600.0..=2400.0).contains(&waited),
            "the backoff grows: {waited}"
        );
        let last = w.take_sent()[0].id;
        w.status(last, 200);
        assert!(w.storage.is_empty());
        assert_eq!(w.d.pipeline.stats.sent_items, 1);
    }

    #[test]
    fn a_new_load_restores_oldest_first_within_one_flush_interval_or_at_its_first_send() {
        let opts = [("maxRetries", num(0.0)), ("flushInterval", num(5000.0))];
        let mut a = World::browser(&opts);
        a.event("first");
        a.flush();
        let id = a.take_sent()[0].id;
        a.status(id, 503);
        a.now += 10.0;
        a.event("second");
        a.track(Track::Log { severity: 9 }, "log");
        a.d.page_hidden(a.now, true);
        a.pump();
        let sent = a.take_sent();
        assert_eq!(sent.len(), 1, "the healthy lane uses the keepalive budget");
        assert!(sent[0].keepalive && sent[0].signal == Signal::Logs);
        let keys = a.keys();
        assert_eq!(
            keys.len(),
            2,
            "the failing lane wrote, the keepalive batch did not"
        );
        let bodies: Vec<_> = keys.iter().map(|k| a.stored(k).body).collect();
        assert!(text(&bodies[0]).contains("first") && text(&bodies[1]).contains("second"));

        // The next load sends nothing before its flush interval, then each batch, oldest first.
        let mut b = a.next_load(&opts, 60_000.0);
        assert!(b.take_sent().is_empty());
        assert_eq!(b.d.status().persisted.batches, 2);
        assert_eq!(b.wake(), 5000.0);
        for body in &bodies {
            let s = b.take_sent();
            assert_eq!(s.len(), 1);
            assert_eq!(&b.body_of(&s[0]), body);
            b.status(s[0].id, 200);
        }
        let (k0, k1) = (short(&keys[0]), short(&keys[1]));
        assert_eq!(
            b.take_log(),
            [
                "list".into(),
                format!("send {k0}"),
                format!("release {k0} Delete"),
                format!("send {k1}"),
                format!("release {k1} Delete"),
            ]
        );
        assert!(b.storage.is_empty());
        assert_eq!(b.d.pipeline.stats.sent_items, 2);

        // A load that sends before its interval sends the stored batches first.
        let mut c = a.next_load(&opts, 60_000.0);
        c.event("new");
        c.flush();
        let mut order = Vec::new();
        for _ in 0..3 {
            let s = c.take_sent();
            order.push(text(&c.body_of(&s[0])));
            c.status(s[0].id, 200);
        }
        assert!(order[0].contains("first") && order[1].contains("second"));
        assert!(order[2].contains("\"new\""));
    }

    #[test]
    fn a_batch_another_page_holds_or_delivered_is_left_to_it() {
        let opts = [("maxRetries", num(0.0))];
        let mut a = World::browser(&opts);
        a.event("one");
        a.track(Track::Log { severity: 9 }, "three");
        a.flush();
        for t in a.take_sent() {
            a.status(t.id, 503);
        }
        a.now += 1.0;
        a.event("two");
        a.d.page_hidden(a.now, true);
        a.pump();
        let keys = a.keys();
        assert_eq!(keys.len(), 3);
        let find = |what: &str| {
            let k = keys.iter().find(|k| text(&a.stored(k).body).contains(what));
            k.unwrap().clone()
        };
        let (one, two, three) = (find("one"), find("two"), find("three"));
        let mut b = a.next_load(&opts, 1000.0);
        b.elsewhere.push(one.clone());
        b.storage.remove(&three); // another page delivered the log batch already
        b.flush();
        let s = b.take_sent();
        assert_eq!(s.len(), 1, "the traces lane moved on to its next batch");
        assert!(text(&b.body_of(&s[0])).contains("two"));
        b.status(s[0].id, 200);
        let log = b.take_log();
        for key in [&one, &two, &three] {
            let sends = log
                .iter()
                .filter(|l| **l == format!("send {}", short(key)))
                .count();
            assert_eq!(sends, 1, "{log:?}");
        }
        assert_eq!(
            log.last().unwrap(),
            &format!("release {} Delete", short(&two))
        );
        assert_eq!(
            b.d.status().persisted.batches,
            0,
            "the others are not this page's"
        );
        assert!(
            b.storage.contains_key(&one),
            "and are left to the page holding it"
        );
        assert_eq!(b.d.pipeline.stats.sent_items, 1);
    }

    #[test]
    fn persisted_batches_stay_within_persist_bytes_and_the_oldest_go_first() {
        let mut w = World::browser(&[
            ("persistBytes", num(4000.0)),
            ("compressionEnabled", Raw::Bool(false)),
        ]);
        w.d.set_online(w.now, false);
        w.pump();
        for i in 0..50 {
            w.track(
                Track::Log { severity: 9 },
                &format!("log.{i:02} {}", "x".repeat(300)),
            );
            if i % 5 == 4 {
                w.wake(); // the interval writes what an offline page queued
            }
        }
        assert!(w.take_sent().is_empty());
        assert!(w.stored_bytes() <= 4000, "{}", w.stored_bytes());
        let status = w.d.status();
        assert_eq!(status.persisted.bytes as usize, w.stored_bytes());
        let stored: u64 = w
            .keys()
            .iter()
            .map(|k| k.rsplit('.').next().unwrap().parse::<u64>().unwrap())
            .sum();
        let evicted = w.d.pipeline.stats.dropped_persist_full;
        assert!(evicted > 0);
        assert_eq!(
            evicted + stored + w.d.pipeline.queued(Signal::Logs) as u64,
            50
        );
        let newest = w.keys().last().cloned().unwrap();
        assert!(
            text(&w.stored(&newest).body).contains("log.49"),
            "the newest are kept"
        );
        let oldest = text(&w.stored(&w.keys()[0]).body);
        assert!(!oldest.contains("log.00"), "the oldest went first");
    }

    #[test]
    fn page_hide_writes_what_the_keepalive_budget_could_not_take_and_nothing_it_sent() {
        let mut w = World::browser(&[("flushInterval", num(60_000.0)), ("batchSize", num(1000.0))]);
        for i in 0..500 {
            w.track(
                Track::Log { severity: 9 },
                &format!("{i:04} {}", "x".repeat(180)),
            );
        }
        w.take_log();
        w.d.page_hidden(w.now, false);
        w.pump();
        let keepalive = w.take_sent();
        let sent: Vec<String> = keepalive.iter().map(|t| text(&w.body_of(t))).collect();
        assert_eq!(
            w.d.pipeline.queued(Signal::Logs),
            0,
            "nothing is left in memory"
        );
        let stored: Vec<String> = w.keys().iter().map(|k| text(&w.stored(k).body)).collect();
        assert!(!stored.is_empty());
        for i in 0..500 {
            let name = format!("\"{i:04} ");
            let n = sent
                .iter()
                .chain(&stored)
                .filter(|b| b.contains(&name))
                .count();
            assert_eq!(n, 1, "log {i} is sent or stored, once");
        }
        assert!(w.take_log().iter().all(|l| l.starts_with("set ")));
        for t in keepalive {
            w.status(t.id, 200);
        }
        // The page comes back: the stored batches go.
        w.d.page_shown(w.now);
        w.pump();
        answer_all(&mut w, 200);
        assert!(w.storage.is_empty());
        assert_eq!(w.d.pipeline.stats.sent_items, 500);
    }

    #[test]
    fn a_failing_lane_at_page_hide_writes_its_retries_and_sends_no_keepalive() {
        let mut w = World::browser(&[("maxRetries", num(3.0))]);
        w.event("e");
        w.flush();
        let id = w.take_sent()[0].id;
        w.status(id, 503);
        w.event("f");
        w.d.page_hidden(w.now, true);
        w.pump();
        assert!(
            w.take_sent().is_empty(),
            "a failing lane's batches would not arrive"
        );
        let keys = w.keys();
        assert_eq!(keys.len(), 2);
        assert_eq!(
            w.stored(&keys[0]).attempts,
            1,
            "the waiting retry, with its attempt"
        );
        assert_eq!(w.d.pipeline.queued(Signal::Traces), 0);
        assert_eq!(w.d.in_flight(), 0, "no retry is left to wait for");
        // Hidden, a page sends no stored batch (it may be going away).
        w.now += 60_000.0;
        w.d.handle_timeout(w.now);
        w.pump();
        assert!(w.take_sent().is_empty());
    }

    #[test]
    fn a_lane_fails_from_its_failure_to_its_next_delivery() {
        let mut w = World::browser(&[("maxRetries", num(0.0)), ("retryBackoffBase", num(100.0))]);
        w.event("a");
        w.flush();
        let id = w.take_sent()[0].id;
        w.status(id, 503);
        w.event("b");
        w.wake();
        let resend = w.take_sent();
        assert!(
            resend[0].stored,
            "its backoff is over: the stored batch goes again"
        );
        // The page goes away meanwhile: the lane has not delivered since it failed.
        w.d.page_hidden(w.now, true);
        w.pump();
        assert!(w.take_sent().is_empty(), "no keepalive for a failing lane");
        assert_eq!(w.keys().len(), 2, "b is written");
        w.status(resend[0].id, 200);
        // Delivered: the lane is healthy again, and the page going away uses keepalive.
        w.d.page_shown(w.now);
        w.pump();
        answer_all(&mut w, 200);
        assert!(w.storage.is_empty());
        w.event("c");
        w.d.page_hidden(w.now, true);
        w.pump();
        assert!(w.take_sent()[0].keepalive);
        assert!(w.storage.is_empty());
    }

    #[test]
    fn offline_spends_no_retries_and_the_online_event_sends_at_once() {
        let mut w = World::browser(&[("maxRetries", num(3.0))]);
        w.event("e");
        w.flush();
        let id = w.take_sent()[0].id;
        w.answer(id, Outcome::Offline);
        assert_eq!(w.d.pipeline.stats.retries, 0);
        let keys = w.keys();
        assert_eq!(keys.len(), 1, "written at once");
        assert_eq!(
            w.stored(&keys[0]).attempts,
            0,
            "the offline try is not counted"
        );
        assert_eq!(
            w.d.timers().get(Timer::Lane(Signal::Traces)),
            None,
            "no retry timer"
        );
        w.event("later");
        let f = w.flush();
        assert!(w.take_sent().is_empty(), "nothing is sent offline");
        assert!(w.settled.contains(&f), "and a flush still settles");
        w.d.set_online(w.now, false);
        w.pump();
        assert_eq!(w.keys().len(), 2, "going offline writes what is queued");
        w.d.set_online(w.now, true);
        w.pump();
        let s = w.take_sent();
        assert_eq!(s.len(), 1, "online: the oldest stored batch at once");
        assert!(text(&w.body_of(&s[0])).contains("\"e\""));
        w.status(s[0].id, 200);
        answer_all(&mut w, 200);
        assert!(w.storage.is_empty());
        assert_eq!(w.d.pipeline.stats.sent_items, 2);
    }

    // Found by `delivery_props` (seed 16): a request in flight when the browser went
    // offline timed out (the shell reports a timeout whatever `navigator.onLine` says),
    // and the core spent a retry on it (on a stored batch, one more attempt counted).
    #[test]
    fn a_timeout_while_offline_spends_no_retry() {
        let mut w = World::browser(&[("maxRetries", num(3.0))]);
        w.event("e");
        w.flush();
        let id = w.take_sent()[0].id;
        w.d.set_online(w.now, false);
        w.answer(id, Outcome::Timeout);
        assert_eq!(w.d.pipeline.stats.retries, 0, "no retry spent offline");
        let keys = w.keys();
        assert_eq!(keys.len(), 1, "written, as an offline failure");
        assert_eq!(w.stored(&keys[0]).attempts, 0);
        w.d.set_online(w.now, true);
        w.pump();
        let s = w.take_sent();
        assert!(s[0].stored, "online: sent at once");
        w.d.set_online(w.now, false);
        w.answer(s[0].id, Outcome::Timeout);
        assert_eq!(w.d.pipeline.stats.retries, 0);
        assert_eq!(
            w.stored(&keys[0]).attempts,
            0,
            "kept, its attempts not counted"
        );
    }

    #[test]
    fn opting_out_deletes_every_stored_batch_and_stores_nothing_more() {
        let opts = [("maxRetries", num(0.0))];
        let mut w = World::browser(&opts);
        w.event("e");
        w.flush();
        let id = w.take_sent()[0].id;
        w.status(id, 503);
        // Another page's batch, and the app's own key.
        let other = "automagik-telemetry:p:1.ffffffff1.logs.1";
        w.storage
            .insert(other.into(), ("t 0 u".into(), b"{}".to_vec()));
        w.storage
            .insert("app:settings".into(), (String::new(), Vec::new()));
        w.d.set_enabled(false);
        w.pump();
        assert_eq!(w.keys(), ["app:settings"]);
        // The queue is flushed as disable() does; a failure now stays in memory only.
        w.event("late");
        w.d.flush(w.now);
        w.pump();
        let id = w.take_sent()[0].id;
        w.status(id, 503);
        assert_eq!(w.keys(), ["app:settings"]);
        assert_eq!(w.d.pipeline.queued(Signal::Traces), 1);
        // A page whose client starts with collection off (GPC, DNT, enabled: false)
        // deletes what an earlier load left.
        let mut a = World::browser(&opts);
        a.event("x");
        a.flush();
        let id = a.take_sent()[0].id;
        a.status(id, 503);
        a.storage
            .insert("app:settings".into(), (String::new(), Vec::new()));
        let off = World::page(&opts, "browser", false, a.storage.clone(), a.now);
        assert_eq!(off.keys(), ["app:settings"]);
    }

    #[test]
    fn a_refused_write_keeps_the_batch_in_memory_and_delivery_goes_on() {
        let mut w = World::browser(&[("maxRetries", num(0.0)), ("retryBackoffBase", num(100.0))]);
        w.full = true;
        w.event("e");
        w.flush();
        let id = w.take_sent()[0].id;
        w.status(id, 503);
        assert!(w.storage.is_empty());
        assert_eq!(w.d.pipeline.queued(Signal::Traces), 1, "back in the queue");
        let status = w.d.status();
        assert_eq!(
            (status.persisted.batches, status.persisted.failed_writes),
            (0, 1)
        );
        assert!(status.last_error.unwrap().contains("QuotaExceededError"));
        w.wake();
        let s = w.take_sent();
        w.status(s[0].id, 200);
        assert_eq!(w.d.pipeline.stats.sent_items, 1, "delivered from memory");
    }

    // Found by `delivery_props` (seed 11): a refused write put the batch back in the queue
    // after the lane's timer was set for an empty queue, so nothing woke the lane when its
    // backoff ended (a shut-down client, whose stored batches wait for the next load,
    // with no interval timer: the batch waited for a call that never came).
    #[test]
    fn a_batch_whose_write_failed_goes_when_its_lanes_backoff_ends() {
        let mut w = World::browser(&[
            ("maxRetries", num(0.0)),
            ("retryBackoffBase", num(100.0)),
            ("flushInterval", num(0.0)),
        ]);
        w.full = true;
        w.event("e");
        w.d.shutdown(w.now);
        w.pump();
        let id = w.take_sent()[0].id;
        w.status(id, 503);
        assert_eq!(w.d.pipeline.queued(Signal::Traces), 1, "back in the queue");
        let waited = w.wake();
        assert!((80.0..=120.0).contains(&waited), "woken after {waited} ms");
        assert_eq!(w.take_sent().len(), 1, "sent when the backoff ended");
    }

    // Found by `delivery_props` (seed 128): at page hide, a failing lane's retry too large
    // for `persistBytes` went back to the queue, and nothing woke its lane again: the
    // client was shut down (no interval timer), so its last flush waited for the page to
    // be shown.
    #[test]
    fn what_page_hide_could_not_store_goes_when_a_flush_asked_for_it() {
        let mut w = World::browser(&[("maxRetries", num(3.0)), ("persistBytes", num(100.0))]);
        w.event("e");
        let f = w.d.shutdown(w.now);
        w.pump();
        let id = w.take_sent()[0].id;
        w.status(id, 503);
        w.d.page_hidden(w.now, false);
        w.pump();
        assert!(w.storage.is_empty(), "too large to store");
        assert_eq!(w.d.pipeline.queued(Signal::Traces), 1, "back in the queue");
        assert_eq!(w.wake(), 0.0, "its lane wakes at once");
        let s = w.take_sent();
        assert_eq!(s.len(), 1);
        w.status(s[0].id, 200);
        assert!(w.settled.contains(&f), "the last flush settles");
    }

    #[test]
    fn a_stored_batch_refused_for_good_is_deleted_and_counted() {
        let mut w = World::browser(&[("maxRetries", num(0.0)), ("retryBackoffBase", num(10.0))]);
        events(&mut w, "e", 2);
        w.flush();
        let id = w.take_sent()[0].id;
        w.status(id, 503);
        w.wake();
        let id = w.take_sent()[0].id;
        w.status(id, 400);
        assert!(w.storage.is_empty());
        assert_eq!(w.d.pipeline.stats.dropped_failed, 2);
    }

    #[test]
    fn outside_browsers_nothing_is_stored() {
        for runtime in ["node", "deno", "workerd", "bun", ""] {
            let mut w = World::page(
                &[("maxRetries", num(0.0))],
                runtime,
                true,
                BTreeMap::new(),
                1e6,
            );
            w.event("e");
            w.flush();
            let id = w.take_sent()[0].id;
            w.status(id, 503);
            assert!(w.log.is_empty() && w.storage.is_empty(), "{runtime}");
            assert_eq!(
                w.d.pipeline.queued(Signal::Traces),
                1,
                "re-queued as before"
            );
        }
        let w = World::page(
            &[("persistBytes", num(0.0))],
            "browser",
            true,
            BTreeMap::new(),
            1e6,
        );
        assert!(w.log.is_empty(), "persistBytes: 0 reads nothing either");
    }
}
