//! Delivery as a sans-IO state machine, after `quinn-proto`: it takes events (an item
//! tracked, a flush asked for, a reply, time passing, the page hidden) with the current
//! time, and answers with [`Action`]s for the I/O shell to carry out (send this body,
//! settle that flush) and the next time it wants to be woken ([`Delivery::poll_timeout`]).
//! It never touches a socket, a timer or a promise, so every flush, retry and unload
//! decision is unit-tested here with a fake clock.
//!
//! Each signal is its own lane: one request in flight at most, its own backoff and
//! `Retry-After`, its own re-queue; a failing lane never delays another. A flush is a
//! snapshot: it names the records queued when it was asked for (by sequence number) and
//! settles once none of them is queued or in flight, or their lane gave up for now.

use crate::prelude::*;

use alloc::collections::VecDeque;

use super::config::Config;
use super::json;
use super::model::Signal;
use super::pipeline::{Pipeline, Request, Settle, Track};
use super::retry::{backoff_ms, Outcome, Verdict};
use super::stats::DropReason;

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

/// One request of a lane: in flight, or waiting to be retried.
#[derive(Debug)]
struct Attempt {
    id: RequestId,
    request: Request,
    /// Retries made so far.
    retries: u32,
    /// When to retry; `None` while in flight.
    retry_at: Option<f64>,
    keepalive: bool,
}

/// One signal's delivery state.
#[derive(Debug, Default)]
struct Lane {
    attempts: Vec<Attempt>,
    /// After retries ran out: no request before this time.
    backoff_until: f64,
}

/// The delivery state machine of one client.
#[derive(Debug)]
pub struct Delivery {
    /// Queue, encoder and counters.
    pub pipeline: Pipeline,
    lanes: [Lane; 3],
    /// Pending flushes and the sequence number each must see settled below.
    waiters: Vec<(FlushId, u64)>,
    /// Records with a smaller sequence number go out as soon as their lane is free.
    flush_through: u64,
    /// When the interval timer flushes next.
    interval_at: Option<f64>,
    next_id: u32,
    actions: VecDeque<Action>,
    shut: bool,
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
            flush_through: 0,
            interval_at: None,
            next_id: 0,
            actions: VecDeque::new(),
            shut: false,
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
            .filter(|a| a.retry_at.is_none())
            .count()
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
        if self.pipeline.ingest(track, body) {
            self.interval_at = Some(now);
        } else if self.interval_at.is_none() && interval > 0.0 {
            self.interval_at = Some(now + interval);
        }
    }

    /// Asks for everything queued now to be sent; the returned flush settles (an
    /// [`Action::Settle`]) once each of those records was delivered, dropped, or put back
    /// after its lane's retries ran out.
    /// A flush that adds nothing to the newest pending one shares its id.
    pub fn flush(&mut self, now: f64) -> FlushId {
        let through = self.pipeline.next_seq();
        if let Some(&(id, t)) = self.waiters.last() {
            if t == through {
                return id;
            }
        }
        let id = self.fresh_id();
        self.flush_through = self.flush_through.max(through);
        self.waiters.push((id, through));
        self.drive(now);
        self.check_waiters(now);
        id
    }

    /// A last flush: no timer after it, and later tracking calls are counted and ignored.
    pub fn shutdown(&mut self, now: f64) -> FlushId {
        self.shut = true;
        self.interval_at = None;
        self.flush(now)
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
                let wait = after.unwrap_or_else(|| {
                    backoff_ms(p.config.retry_backoff_base_ms, attempt.retries, p.jitter())
                });
                if attempt.retries >= p.config.max_retries {
                    let attempt = self.lanes[lane].attempts.swap_remove(index);
                    self.lanes[lane].backoff_until = now + wait;
                    p.settle(attempt.request, Settle::Requeue(failure(p)));
                    // The put-back batch goes with the timer's next flush after the backoff.
                    let interval = f64::from(p.config.flush_interval_ms);
                    if interval > 0.0 {
                        let at = (now + interval).max(now + wait);
                        self.interval_at = Some(self.interval_at.map_or(at, |t| t.max(at)));
                    }
                } else {
                    attempt.retries += 1;
                    attempt.retry_at = Some(now + wait);
                    attempt.keepalive = false;
                    p.stats.retries += 1;
                    p.stats.last_error = Some(failure(p));
                }
            }
        }
        self.drive(now);
        self.check_waiters(now);
    }

    /// Handles time passing: the interval flush and retries that came due.
    pub fn handle_timeout(&mut self, now: f64) {
        if self.interval_at.is_some_and(|t| t <= now) {
            self.interval_at = None;
            self.flush_through = self.pipeline.next_seq();
        }
        let due: Vec<(usize, usize)> = self
            .lanes
            .iter()
            .enumerate()
            .flat_map(|(l, lane)| {
                lane.attempts
                    .iter()
                    .enumerate()
                    .filter(|(_, a)| a.retry_at.is_some_and(|t| t <= now))
                    .map(move |(i, _)| (l, i))
            })
            .collect();
        for (lane, index) in due {
            self.lanes[lane].attempts[index].retry_at = None;
            self.transmit(lane, index);
        }
        self.drive(now);
        self.check_waiters(now);
    }

    /// The page is going away (hidden, or unloading): everything queued goes now, in
    /// keepalive requests that together stay within [`UNLOAD_BUDGET`], gzipped when
    /// `compress` (the host can send `Content-Encoding`). What does not fit stays queued.
    pub fn page_hidden(&mut self, now: f64, compress: bool) {
        for signal in Signal::ALL {
            self.unload_lane(signal, compress);
        }
        self.check_waiters(now);
    }

    /// The page is back (from the back/forward cache): send what stayed queued.
    pub fn page_shown(&mut self, now: f64) {
        self.flush_through = self.pipeline.next_seq();
        self.drive(now);
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

    /// When [`Delivery::handle_timeout`] should next be called.
    pub fn poll_timeout(&self) -> Option<f64> {
        let retries = self
            .lanes
            .iter()
            .flat_map(|l| &l.attempts)
            .filter_map(|a| a.retry_at);
        self.interval_at
            .into_iter()
            .chain(retries)
            .min_by(f64::total_cmp)
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
            if !lane.attempts.is_empty() || lane.backoff_until > now {
                continue;
            }
            let wanted = self
                .pipeline
                .front_seq(signal)
                .is_some_and(|seq| seq < self.flush_through)
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
            retry_at: None,
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

    /// Whether every record below `through` is settled, or was put back by a lane that
    /// gave up for now.
    fn settled_below(&self, through: u64, now: f64) -> bool {
        self.lanes.iter().zip(Signal::ALL).all(|(lane, signal)| {
            let queued = self.pipeline.front_seq(signal);
            lane.attempts
                .iter()
                .all(|a| a.request.first_seq() >= through)
                && (lane.backoff_until > now || !matches!(queued, Some(seq) if seq < through))
        })
    }

    /// Settles every flush whose records are all settled.
    fn check_waiters(&mut self, now: f64) {
        let mut i = 0;
        while i < self.waiters.len() {
            let (id, through) = self.waiters[i];
            if self.settled_below(through, now) {
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
                Track::Metric(..) => &[name, "1"],
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
        let mut w = World::new(&[("maxRetries", num(2.0))]);
        w.event("e");
        w.track(Track::Metric(crate::model::MetricKind::Gauge, 1.0), "m");
        w.track(Track::Log(9), "l");
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
            w.wake();
            let retry = w.take_sent();
            assert_eq!(retry.len(), 1);
            w.answer(retry[0].id, Outcome::Timeout);
        }
        assert_eq!(w.settled, vec![f]);
        assert_eq!(w.d.pipeline.queued(Signal::Traces), 1);
        // While traces back off, new metrics still go out at once.
        w.track(Track::Metric(crate::model::MetricKind::Gauge, 2.0), "m2");
        w.flush();
        let sent = w.take_sent();
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].signal, Signal::Metrics);
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
        w.flush();
        assert!(w.take_sent().is_empty(), "the lane waits out its backoff");
        let waited = w.wake();
        assert!(
            (2400.0..=3600.0).contains(&waited),
            "the timer waits out the backoff: {waited}"
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
            w.track(Track::Log(9), &format!("{i:04} {}", "x".repeat(180)));
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
            w2.track(Track::Log(9), &format!("{i:04} {}", "x".repeat(180)));
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
}
