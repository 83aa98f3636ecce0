//! The public `AutomagikTelemetry` class: the I/O shell around the delivery core. It
//! reads the configuration, decides enablement, hands tracking calls to the record
//! boundary and the core, and carries out what the core decides: send this request, arm
//! the timer for then, settle that flush. It makes no delivery decision of its own.
//!
//! Tracking methods never throw and never panic: every path that could fail degrades
//! to dropping (and counting) the item. Every entry point takes the state with
//! `try_borrow*`, so a host callback that re-enters the client finds it busy, not broken.

use crate::prelude::*;

use ::core::cell::{Cell, RefCell, RefMut};
use alloc::rc::Rc;

use js_sys::Promise;
use wasm_bindgen::prelude::*;

use automagik_telemetry_core::config::{Config, ConfigError, ErrorKind, Raw};
use automagik_telemetry_core::delivery::{Action, Delivery, FlushId, Reply, RequestId};
use automagik_telemetry_core::enablement::decide;
use automagik_telemetry_core::json;
use automagik_telemetry_core::model::{body_time_ms, Kind, MetricKind, Signal};
use automagik_telemetry_core::pipeline::Track;
use automagik_telemetry_core::severity;
use automagik_telemetry_core::stats::{DropReason, Stats};

use super::lifecycle::{PageEvent, PageListeners};
use super::plain::{self, Deferred, Status};
use super::timers::Timer;
use super::transport::Transport;
use super::{boundary, host};

/// OTLP log severity numbers, with reverse mapping (`LogSeverity[13] === 'WARN'`).
#[wasm_bindgen]
#[allow(non_camel_case_types, clippy::upper_case_acronyms)] // JS enum names
#[derive(Clone, Copy, Debug)]
pub enum LogSeverity {
    /// Finest detail.
    TRACE = 1,
    /// Debugging information.
    DEBUG = 5,
    /// Informational.
    INFO = 9,
    /// Warning.
    WARN = 13,
    /// An error occurred.
    ERROR = 17,
    /// A fatal error.
    FATAL = 21,
}

/// A `flush()` whose promise is not settled yet.
struct Waiter {
    id: FlushId,
    deferred: Deferred,
}

/// The client's state: the delivery core plus the JS resources that carry it out.
struct Shell {
    core: Delivery,
    enabled: bool,
    runtime: String,
    environment: String,
    /// Created disarmed at construction (Workers forbid arming timers there); released at
    /// shutdown.
    timer: Option<Timer>,
    /// What the timer is armed for: the time and whether it holds the process open.
    armed: Option<(f64, bool)>,
    /// The host's timers failed: time is driven by the client's own calls instead.
    timer_broken: bool,
    transport: Option<Transport>,
    page: Option<PageListeners>,
    waiters: Vec<Waiter>,
}

type Shared = Rc<RefCell<Shell>>;

fn now() -> f64 {
    js_sys::Date::now()
}

impl Shell {
    /// A shell with no timer, transport or page listeners yet.
    fn new(core: Delivery, enabled: bool, runtime: String, environment: String) -> Shell {
        Shell {
            core,
            enabled,
            runtime,
            environment,
            timer: None,
            armed: None,
            timer_broken: false,
            transport: None,
            page: None,
            waiters: Vec::new(),
        }
    }

    fn debug(&self, line: impl FnOnce() -> String) {
        if self.core.pipeline.config.verbose {
            host::debug(&line());
        }
    }

    /// What a browser page needs from the start: its hide and show listeners (a page may
    /// go away before anything else runs) and, when a ClickHouse password is configured,
    /// one plain warning. No timer, randomness or storage here.
    fn prepare_page(&mut self, me: &Shared) {
        if self.runtime != "browser" {
            return;
        }
        let config = &self.core.pipeline.config;
        if config.backend.is_clickhouse() && !config.clickhouse.password.is_empty() {
            host::warn("the ClickHouse password in this page's configuration is sent to every visitor's browser; use a write-only user, or an OTLP collector in front of ClickHouse");
        }
        let weak = Rc::downgrade(me);
        self.page = PageListeners::listen(move |event| {
            if let Some(me) = weak.upgrade() {
                drive(&me, |st, now| match event {
                    PageEvent::Hidden { compress } => st.core.page_hidden(now, compress),
                    PageEvent::Shown => st.core.page_shown(now),
                });
            }
        });
    }

    /// Begins the session (identity, random salt) once something was tracked and is
    /// about to be sent: never at construction, and never inside a tracking call, which
    /// stays cheap.
    fn start_session(&mut self) {
        let p = &mut self.core.pipeline;
        if p.started() || p.queued_bytes() == 0 {
            return;
        }
        let start = host::start_session(self.environment.clone());
        p.start(start.seed, start.identity);
        if start.fault.is_some() {
            p.stats.last_error = start.fault;
        }
    }

    /// Creates the timer, disarmed: its callback is made once, here rather than in the
    /// first tracking call.
    fn prepare_timer(&mut self, me: &Shared) {
        let weak = Rc::downgrade(me);
        self.timer = Some(Timer::new(move || {
            if let Some(me) = weak.upgrade() {
                drive(&me, |st, now| {
                    if let Some(t) = st.timer.as_mut() {
                        t.fired();
                    }
                    st.armed = None;
                    st.core.handle_timeout(now);
                });
            }
        }));
    }

    /// Carries out the core's actions and re-arms the timer; returns the flushes to
    /// resolve once the state is released.
    fn carry_out(&mut self, me: &Shared, now: f64) -> Vec<Deferred> {
        let mut settled = Vec::new();
        while let Some(action) = self.core.poll_action() {
            match action {
                Action::Send(t) => {
                    let body = self.core.body(t.id).unwrap_or_default();
                    self.debug(|| {
                        let size = json::decimal(body.len() as u64);
                        [t.signal.name(), " -> ", &size, " bytes to ", &t.url].concat()
                    });
                    let weak = Rc::downgrade(me);
                    let transport = self.transport.get_or_insert_with(|| {
                        Transport::new(move |id, reply| {
                            if let Some(me) = weak.upgrade() {
                                on_reply(&me, id, reply);
                            }
                        })
                    });
                    transport.send(&t, body, self.core.pipeline.authorization());
                }
                Action::Settle(id) => {
                    if let Some(i) = self.waiters.iter().position(|w| w.id == id) {
                        settled.push(self.waiters.swap_remove(i).deferred);
                    }
                }
            }
        }
        self.rearm(now);
        if self.core.is_shut() && !self.core.flushing() && self.core.in_flight() == 0 {
            // Shut down and settled: the page listeners go. The timer stays, disarmed (the
            // core wants no interval after shutdown): a later flush's retries still need it.
            self.page = None;
        }
        settled
    }

    /// Arms the timer for the core's next wake-up; it holds the process open only while
    /// a flush is awaited.
    fn rearm(&mut self, now: f64) {
        let want = self
            .core
            .poll_timeout()
            .map(|at| (at, self.core.flushing()));
        if want == self.armed {
            return;
        }
        self.armed = want;
        let Some((at, keep_alive)) = want else {
            if let Some(t) = self.timer.as_mut() {
                t.disarm();
            }
            return;
        };
        let Some(timer) = self.timer.as_mut() else {
            return;
        };
        match timer.arm(at - now, keep_alive) {
            Ok(()) => self.timer_broken = false,
            Err(e) => {
                self.core.pipeline.stats.last_error = Some(e);
                self.armed = None;
                self.timer_broken = true;
            }
        }
    }
}

/// Runs `f` on the state with the current time, then carries out what the core decided.
/// Starts the session first: every caller but a tracking call may send. Returns false
/// when the state was busy (a re-entrant call), in which case `f` did not run.
fn drive(me: &Shared, f: impl FnOnce(&mut Shell, f64)) -> bool {
    let Ok(mut st) = me.try_borrow_mut() else {
        return false;
    };
    let t = now();
    st.start_session();
    f(&mut st, t);
    finish(me, st, t);
    true
}

/// Lets time pass where the host's timers failed, carries out the core's actions, then
/// releases the state and resolves the flushes that settled.
fn finish(me: &Shared, mut st: RefMut<'_, Shell>, now: f64) {
    if st.timer_broken {
        st.core.handle_timeout(now);
    }
    let settled = st.carry_out(me, now);
    drop(st);
    for flush in settled {
        flush.resolve();
    }
}

fn on_reply(me: &Shared, id: RequestId, reply: Reply) {
    drive(me, |st, now| {
        st.debug(|| {
            let what = reply.outcome.describe();
            st.core.pipeline.redact(
                [
                    "request ",
                    &json::decimal(id.into()),
                    ": ",
                    &what,
                    " ",
                    &reply.message,
                ]
                .concat(),
            )
        });
        st.core.reply(now, id, reply);
    });
}

/// A promise for the flush `start` begins; a flush that adds nothing to the one pending
/// shares its promise. A re-entrant call resolves at once.
fn flush_promise(me: &Shared, start: impl FnOnce(&mut Delivery, f64) -> FlushId) -> Promise {
    let mut out = None;
    drive(me, |st, now| {
        let id = start(&mut st.core, now);
        if let Some(w) = st.waiters.iter().find(|w| w.id == id) {
            out = Some(w.deferred.promise());
            return;
        }
        let deferred = plain::defer();
        out = Some(deferred.promise());
        st.waiters.push(Waiter { id, deferred });
    });
    out.unwrap_or_else(resolved)
}

fn raw(v: &JsValue) -> Raw {
    if v.is_undefined() {
        Raw::Missing
    } else if let Some(b) = v.as_bool() {
        Raw::Bool(b)
    } else if let Some(n) = v.as_f64() {
        Raw::Number(n)
    } else if let Some(s) = v.as_string() {
        Raw::Str(s)
    } else {
        Raw::Other
    }
}

/// The error for `e`, its message ending in the value received as JS prints it.
fn config_error(config: &JsValue, e: ConfigError) -> JsValue {
    plain::config_error(e.kind == ErrorKind::Range, &e.message, config, e.option)
}

/// A settled promise, from the same JS helper as the pending ones (one import fewer).
fn resolved() -> Promise {
    let deferred = plain::defer();
    deferred.resolve();
    deferred.promise()
}

/// Privacy-first telemetry client: events, metrics, logs and errors to OTLP/HTTP.
#[wasm_bindgen(js_name = AutomagikTelemetry)]
pub struct Client {
    state: Shared,
    /// Tracking calls that arrived while the client was busy (from a getter inside the
    /// attributes, or a host callback): counted here since the state is borrowed.
    reentrant: Cell<u64>,
}

#[wasm_bindgen(js_class = AutomagikTelemetry)]
impl Client {
    /// Validates `config` (throws a `TypeError`/`RangeError` naming the bad option) and
    /// decides whether telemetry is on. Starts no timer and generates nothing yet.
    #[wasm_bindgen(constructor)]
    pub fn new(config: JsValue) -> Result<Client, JsValue> {
        if !config.is_object() {
            return Err(plain::config_error(
                false,
                "AutomagikTelemetry: expected a configuration object such as { projectName: 'my-app', version: '1.0.0' }",
                &config,
                "",
            ));
        }
        let parsed = Config::parse(&mut |name| raw(&plain::option(&config, name)))
            .map_err(|e| config_error(&config, e))?;
        let env = plain::option(&config, "env");
        if !(env.is_undefined() || env.is_null() || env.is_object()) {
            return Err(plain::config_error(
                false,
                "AutomagikTelemetry: invalid option 'env': expected an object of environment variables",
                &config,
                "env",
            ));
        }
        let env = if env.is_null() {
            JsValue::UNDEFINED
        } else {
            env
        };
        let enabled = decide(&host::enablement_facts(&env, parsed.enabled));
        let environment = host::environment(&env);
        // A throwaway client tracks one sample item: the first real call then runs code
        // that is already compiled (wasm compiles lazily, function by function, ~20 µs
        // each). It has no timer, transport or session: it sends, arms, draws and stores
        // nothing. Its defaults come from the parser, not a clone of the real config
        // (cloning is code of its own).
        if let Ok(defaults) = Config::parse(&mut |name| match name {
            "projectName" | "version" => Raw::Str("warm-up".into()),
            _ => Raw::Missing,
        }) {
            let warm = Shell::new(Delivery::new(defaults), true, String::new(), String::new());
            Client::over(warm).track_event(&"warm-up".into(), &boundary::sample_attributes());
        }
        let shell = Shell::new(
            Delivery::new(parsed),
            enabled,
            host::runtime_name(),
            environment,
        );
        shell.debug(|| {
            [
                "enabled=",
                if enabled { "true" } else { "false" },
                " traces=",
                &shell.core.pipeline.config.traces_endpoint,
            ]
            .concat()
        });
        let state = Rc::new(RefCell::new(shell));
        state.borrow_mut().prepare_page(&state);
        state.borrow_mut().prepare_timer(&state);
        Ok(Client {
            state,
            reentrant: Cell::new(0),
        })
    }

    /// A client with `shell` as its state.
    fn over(shell: Shell) -> Client {
        Client {
            state: Rc::new(RefCell::new(shell)),
            reentrant: Cell::new(0),
        }
    }

    /// Lays out one item through the boundary (`args`: the first argument, the
    /// attributes and a metric's value) and hands it to the core.
    fn track(
        &self,
        kind: Kind,
        args: [&JsValue; 3],
        track: impl FnOnce(&mut Stats) -> Option<Track>,
    ) {
        let Ok(mut st) = self.state.try_borrow_mut() else {
            self.reentrant.set(self.reentrant.get() + 1);
            return;
        };
        if !st.enabled {
            return;
        }
        // The record carries the wall-clock time JS stamped it with: no second clock read.
        let mut at = None;
        let queued = track(&mut st.core.pipeline.stats).and_then(|t| {
            boundary::with_body(kind, args, |body| {
                let time = body_time_ms(body).unwrap_or_else(now);
                at = Some(time);
                st.core.track(time, t, body)
            })
        });
        if queued.is_none() {
            st.core.pipeline.stats.drop(DropReason::Invalid, 1);
        }
        finish(&self.state, st, at.unwrap_or_else(now));
    }

    /// Tracks an event (a span). Never throws.
    #[wasm_bindgen(js_name = trackEvent)]
    pub fn track_event(&self, name: &JsValue, attributes: &JsValue) {
        let none = &JsValue::UNDEFINED;
        self.track(Kind::Event, [name, attributes, none], |_| {
            Some(Track::Event)
        });
    }

    /// Tracks a metric: gauge (default), counter or histogram. Never throws.
    #[wasm_bindgen(js_name = trackMetric)]
    pub fn track_metric(
        &self,
        name: &JsValue,
        value: &JsValue,
        metric_type: &JsValue,
        attributes: &JsValue,
    ) {
        self.track(Kind::Metric, [name, attributes, value], |stats| {
            let value = value.as_f64().filter(|v| v.is_finite())?;
            let kind = if metric_type.is_undefined() || metric_type.is_null() {
                MetricKind::Gauge
            } else {
                metric_type
                    .as_string()
                    .and_then(|s| MetricKind::parse(&s))
                    .unwrap_or_else(|| {
                        stats.coerced_metric_type += 1;
                        MetricKind::Gauge
                    })
            };
            Some(Track::Metric(kind, value))
        });
    }

    /// Tracks a log message with a severity (`LogSeverity` or a name). Never throws.
    #[wasm_bindgen(js_name = trackLog)]
    pub fn track_log(&self, message: &JsValue, severity: &JsValue, attributes: &JsValue) {
        let none = &JsValue::UNDEFINED;
        self.track(Kind::Log, [message, attributes, none], |stats| {
            let level = if severity.is_undefined() || severity.is_null() {
                Some(severity::INFO)
            } else if let Some(n) = severity.as_f64() {
                severity::from_number(n)
            } else {
                severity.as_string().and_then(|s| severity::parse(&s))
            };
            Some(Track::Log(level.unwrap_or_else(|| {
                stats.coerced_severity += 1;
                severity::INFO
            })))
        });
    }

    /// Tracks any thrown value as an error span with exception attributes. Never throws.
    #[wasm_bindgen(js_name = trackError)]
    pub fn track_error(&self, error: &JsValue, context: &JsValue) {
        let none = &JsValue::UNDEFINED;
        self.track(Kind::Error, [error, context, none], |_| Some(Track::Error));
    }

    /// Sends everything queued now; resolves when each of those items was delivered,
    /// dropped, or re-queued after a failure. Never rejects, and always settles: items
    /// tracked meanwhile wait for the next flush.
    pub fn flush(&self) -> Promise {
        flush_promise(&self.state, |core, now| core.flush(now))
    }

    /// Flushes one last time, then stops the interval timer and removes the page
    /// listeners. Tracking calls after it are ignored and counted in
    /// `dropped.afterShutdown`.
    pub fn shutdown(&self) -> Promise {
        flush_promise(&self.state, |core, now| core.shutdown(now))
    }

    /// Turns collection on (explicit consent: clears a persisted opt-out).
    pub fn enable(&self) {
        host::persist_opt_out(false);
        drive(&self.state, |st, _| st.enabled = true);
    }

    /// Stops collecting at once and persists the opt-out; resolves after items queued
    /// before the call are flushed.
    pub fn disable(&self) -> Promise {
        host::persist_opt_out(true);
        drive(&self.state, |st, _| st.enabled = false);
        self.flush()
    }

    /// Whether tracking calls are collected.
    #[wasm_bindgen(js_name = isEnabled)]
    pub fn is_enabled(&self) -> bool {
        self.state.try_borrow().is_ok_and(|st| st.enabled)
    }

    /// A snapshot of configuration, queue and delivery counters (never secrets).
    #[wasm_bindgen(js_name = getStatus)]
    pub fn get_status(&self) -> JsValue {
        if let Ok(mut st) = self.state.try_borrow_mut() {
            st.start_session(); // the ids a status shows exist once something was tracked
        }
        let mut out = Status::default();
        let Ok(st) = self.state.try_borrow() else {
            return out.build();
        };
        let p = &st.core.pipeline;
        let c = &p.config;
        let s = &p.stats;
        let id = p.identity();
        let clickhouse = c.backend.is_clickhouse();
        let queued = |sig| p.queued(sig) as f64;
        out.flag(st.enabled)
            .text(id.map(|i| i.user_id.as_str()))
            .text(id.map(|i| i.session_id.as_str()))
            .text(Some(&c.project_name))
            .text(Some(&c.version))
            .text(Some(if clickhouse { "clickhouse" } else { "otlp" }))
            .text(Some(if clickhouse {
                &c.clickhouse.endpoint
            } else {
                &c.traces_endpoint
            }))
            .text(Some(&c.metrics_endpoint))
            .text(Some(&c.logs_endpoint))
            .flag(c.verbose)
            .num(c.batch_size.into())
            .num(Signal::ALL.iter().map(|s| queued(*s)).sum())
            .num(queued(Signal::Traces))
            .num(queued(Signal::Metrics))
            .num(queued(Signal::Logs))
            .num(p.queued_bytes() as f64)
            .num(c.max_queue_bytes.into())
            .num(st.core.in_flight() as f64);
        for n in [
            s.sent_requests,
            s.sent_items,
            s.sent_bytes,
            s.dropped_queue_full,
            s.dropped_rejected,
            s.dropped_invalid,
            s.dropped_failed,
            s.dropped_after_shutdown,
            self.reentrant.get(),
            s.coerced_metric_type,
            s.coerced_severity,
            s.retries,
        ] {
            out.num(n as f64);
        }
        out.text(s.last_error.as_deref())
            .text(Some(&st.runtime))
            .build()
    }
}
