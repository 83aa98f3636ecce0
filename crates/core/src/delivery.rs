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

use crate::prelude::*;

use alloc::collections::VecDeque;

use super::config::{Config, Raw};
use super::encoder::Identity;
use super::json;
use super::model::{MetricKind, Signal, Track};
use super::pipeline::{Pipeline, Request, Settle};
use super::retry::{backoff_ms, Outcome, Verdict};
use super::severity;
use super::stats::DropReason;
use super::status::{Coerced, Dropped, PerSignal, Sent, Status};

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
}

/// What the shell must do.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// Send a request.
    Send(Transmit),
    /// Resolve this flush's promise.
    Settle(FlushId),
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
}

impl Lane {
    /// Whether the lane may start a request now.
    fn free(&self, now: f64) -> bool {
        self.attempts.is_empty() && !self.backoff.is_some_and(|w| w.holds(now, false))
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
    /// runtime's name.
    pub fn with_host(mut self, enabled: bool, runtime: String) -> Self {
        self.enabled = enabled;
        self.runtime = runtime;
        self
    }

    /// Whether tracking calls are collected.
    pub fn is_enabled(&self) -> bool {
        self.enabled
    }

    /// Turns collection on or off; `disable()` then flushes ([`Delivery::flush`]).
    pub fn set_enabled(&mut self, on: bool) {
        self.enabled = on;
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
            .filter(|&l| self.retry_after_holds(l, now))
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
        for l in 0..self.lanes.len() {
            let lane = &mut self.lanes[l];
            lane.send_through = through;
            if lane.backoff.is_some_and(|w| !w.holds(now, true)) {
                lane.backoff = None;
            }
            for i in 0..lane.attempts.len() {
                let waiting = self.lanes[l].attempts[i].retry;
                if waiting.is_some_and(|w| !w.holds(now, true)) {
                    self.lanes[l].attempts[i].retry = None;
                    self.transmit(l, i);
                }
            }
        }
        self.drive(now);
    }

    /// Handles the reply to request `id`.
    pub fn reply(&mut self, now: f64, id: RequestId, reply: Reply) {
        let Some((lane, index)) = self.find(id) else {
            return;
        };
        let keepalive = self.lanes[lane].attempts[index].keepalive;
        if keepalive {
            let size = self.lanes[lane].attempts[index].request.body.len();
            self.keepalive_bytes = self.keepalive_bytes.saturating_sub(size);
        }
        let p = &mut self.pipeline;
        // Only a failure is described, for `lastError`: a delivery needs no text.
        let failure = |p: &Pipeline| {
            let mut what = reply.outcome.describe();
            if !reply.message.is_empty() {
                what = [&what, ": ", reply.message.trim_ascii()].concat();
            }
            p.redact([p.url_base(Signal::ALL[lane]), ": ", &what].concat())
        };
        match p.verdict(&reply.outcome, reply.exception_code) {
            Verdict::Delivered => {
                let attempt = self.lanes[lane].attempts.swap_remove(index);
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
            Verdict::Drop => {
                let attempt = self.lanes[lane].attempts.swap_remove(index);
                p.settle(attempt.request, Settle::Drop(failure(p)));
            }
            Verdict::Restore => {
                let attempt = self.lanes[lane].attempts.swap_remove(index);
                p.restore(attempt.request);
            }
            Verdict::Retry(after) => {
                let attempt = &mut self.lanes[lane].attempts[index];
                let wait = Wait::new(
                    now + after.unwrap_or_else(|| {
                        backoff_ms(p.config.retry_backoff_base_ms, attempt.retries, p.jitter())
                    }),
                    after.is_some(),
                );
                if attempt.retries >= p.config.max_retries {
                    // The batch goes back to the head; the lane's own timer wakes it when
                    // the backoff ends.
                    let attempt = self.lanes[lane].attempts.swap_remove(index);
                    self.lanes[lane].backoff = Some(wait);
                    p.settle(attempt.request, Settle::Requeue(failure(p)));
                } else {
                    attempt.retries += 1;
                    attempt.retry = Some(wait);
                    attempt.keepalive = false;
                    p.stats.retries += 1;
                    p.stats.last_error = Some(failure(p));
                }
            }
        }
        self.drive(now);
        self.settle(now);
    }

    /// Handles time passing: the interval flush, and each lane's retries, backoff end or
    /// full batch that came due.
    pub fn handle_timeout(&mut self, now: f64) {
        let through = self.pipeline.next_seq();
        let interval = self.timers.expire(Timer::Interval, now);
        for (l, signal) in Signal::ALL.into_iter().enumerate() {
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
                if due.is_some_and(|w| w.until <= now) {
                    self.lanes[l].attempts[i].retry = None;
                    self.transmit(l, i);
                }
            }
        }
        self.drive(now);
        self.settle(now);
    }

    /// The page is going away (hidden, or unloading): everything queued goes now, in
    /// keepalive requests that together stay within [`UNLOAD_BUDGET`], gzipped when
    /// `compress` (the host can send `Content-Encoding`). What does not fit stays queued.
    pub fn page_hidden(&mut self, now: f64, compress: bool) {
        for signal in Signal::ALL {
            self.unload_lane(signal, compress);
        }
        self.settle(now);
    }

    /// The page is back (from the back/forward cache): send what stayed queued.
    pub fn page_shown(&mut self, now: f64) {
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
        let (lane, index) = self.find(id)?;
        Some(&self.lanes[lane].attempts[index].request.body)
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

    fn find(&self, id: RequestId) -> Option<(usize, usize)> {
        self.lanes.iter().enumerate().find_map(|(l, lane)| {
            let i = lane.attempts.iter().position(|a| a.id == id)?;
            Some((l, i))
        })
    }

    /// Starts a request on every free lane that has records to send now.
    fn drive(&mut self, now: f64) {
        let batch = self.config().batch_size as usize;
        let max = self.config().max_batch_bytes as usize;
        for (l, signal) in Signal::ALL.into_iter().enumerate() {
            let lane = &self.lanes[l];
            if !lane.free(now) {
                continue;
            }
            let wanted = self
                .pipeline
                .front_seq(signal)
                .is_some_and(|seq| seq < lane.send_through)
                || self.pipeline.queued(signal) >= batch;
            if !wanted {
                continue;
            }
            if let Some(request) = self.pipeline.next_request(signal, max, true) {
                self.start(l, request, false);
            }
        }
    }

    fn start(&mut self, lane: usize, request: Request, keepalive: bool) {
        let id = self.fresh_id();
        let attempts = &mut self.lanes[lane].attempts;
        attempts.push(Attempt {
            id,
            request,
            retries: 0,
            retry: None,
            keepalive,
        });
        let index = attempts.len() - 1;
        self.transmit(lane, index);
    }

    fn transmit(&mut self, lane: usize, index: usize) {
        let a = &self.lanes[lane].attempts[index];
        self.actions.push_back(Action::Send(Transmit {
            id: a.id,
            signal: a.request.signal,
            url: self.pipeline.url(&a.request),
            gzip: a.request.gzip,
            authorization: self.pipeline.authorization().into(),
            timeout_ms: self.pipeline.config.timeout_ms,
            keepalive: a.keepalive,
        }));
    }

    /// Sends `signal`'s queued records in keepalive requests while the budget lasts.
    /// The compressed size is known only after encoding, so a request that comes out too
    /// large goes back and is rebuilt from fewer records.
    fn unload_lane(&mut self, signal: Signal, compress: bool) {
        let max = self.config().max_batch_bytes as usize;
        let lane = signal as usize;
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
                    self.start(lane, request, true);
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

    /// Whether a retry of lane `l` waits out a server's `Retry-After` at `now`.
    fn retry_after_holds(&self, l: usize, now: f64) -> bool {
        self.lanes[l].attempts.iter().any(|a| a.retry_after(now))
    }

    /// Whether every record below `through` is settled, or was put back by a lane that
    /// gave up for now; the lanes in `held` are let off while a `Retry-After` holds them.
    fn settled_below(&self, through: u64, held: u8, now: f64) -> bool {
        self.lanes
            .iter()
            .zip(Signal::ALL)
            .enumerate()
            .all(|(l, (lane, signal))| {
                let queued = self.pipeline.front_seq(signal);
                let let_off = held & 1 << l != 0 && self.retry_after_holds(l, now);
                lane.attempts
                    .iter()
                    .all(|a| (let_off && a.retry_after(now)) || a.request.first_seq() >= through)
                    && (let_off
                        || lane.backoff.is_some_and(|w| w.until > now)
                        || !matches!(queued, Some(seq) if seq < through))
            })
    }

    /// After an event: each lane's timer slot follows its state, and the flushes whose
    /// records are all settled are.
    fn settle(&mut self, now: f64) {
        for (l, signal) in Signal::ALL.into_iter().enumerate() {
            match self.lane_wake(l, now) {
                Some(at) => self.timers.set(Timer::Lane(signal), at),
                None => self.timers.stop(Timer::Lane(signal)),
            }
        }
        self.check_waiters(now);
    }

    /// When lane `l` next needs the timer: its earliest retry, or, with records queued
    /// and nothing in flight, the end of its backoff. (A full batch on a free lane was
    /// sent by [`Delivery::drive`] before this runs; [`Delivery::track`] wakes its lane.)
    fn lane_wake(&self, l: usize, now: f64) -> Option<f64> {
        let lane = &self.lanes[l];
        let retry = lane
            .attempts
            .iter()
            .filter_map(|a| a.retry.map(|w| w.until));
        let waiting = lane.attempts.is_empty() && self.pipeline.queued(Signal::ALL[l]) > 0;
        let backoff = lane.backoff.filter(|w| waiting && w.until > now);
        retry.chain(backoff.map(|w| w.until)).min_by(f64::total_cmp)
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

    /// A delivery core on a fake clock, with what it asked the shell to do.
    struct World {
        d: Delivery,
        now: f64,
        sent: Vec<Transmit>,
        settled: Vec<FlushId>,
    }

    impl World {
        fn new(opts: &[(&str, Raw)]) -> Self {
            let config = Config::parse(&mut |n| match n {
                "projectName" | "version" => Raw::Str("p".into()),
                _ => opts
                    .iter()
                    .find(|(k, _)| *k == n)
                    .map_or(Raw::Missing, |(_, v)| v.clone()),
            })
            .unwrap();
            let mut d = Delivery::new(config);
            d.pipeline.start(9, Identity::default());
            World {
                d,
                now: 1_000_000.0,
                sent: Vec::new(),
                settled: Vec::new(),
            }
        }

        fn pump(&mut self) {
            while let Some(a) = self.d.poll_action() {
                match a {
                    Action::Send(t) => self.sent.push(t),
                    Action::Settle(id) => self.settled.push(id),
                }
            }
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
            let reply = Reply {
                outcome,
                rejected: 0,
                message: String::new(),
                exception_code: None,
            };
            self.d.reply(self.now, id, reply);
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
}
