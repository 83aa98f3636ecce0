//! The public `AutomagikTelemetry` class: reads the configuration, decides enablement,
//! hands tracking calls to the record boundary and the core's pipeline, and runs the
//! flush loop (one at a time) with retries, backoff and the flush timer.
//!
//! Tracking methods never throw and never panic: every path that could fail degrades
//! to dropping (and counting) the item.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Function, Object, Promise, RangeError, Reflect, TypeError};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::spawn_local;

use crate::core::config::{Backend, Config, ConfigError, ErrorKind, Raw};
use crate::core::enablement::decide;
use crate::core::model::{Kind, MetricKind, Signal};
use crate::core::pipeline::{Pipeline, Request, Settle, Track};
use crate::core::retry::{backoff_ms, Verdict};
use crate::core::severity;
use crate::core::stats::{DropReason, Stats};

use super::timers::{self, Timer};
use super::{boundary, host, transport};

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

/// A flush run in progress; every `flush()` made meanwhile shares its promise.
struct Flush {
    done: Promise,
    resolve: Function,
    /// Another flush was asked for while this one ran: run once more before resolving.
    again: bool,
}

struct State {
    pipeline: Pipeline,
    enabled: bool,
    timer: Option<Timer>,
    flush: Option<Flush>,
    /// No request before this time (ms since epoch) after retries ran out.
    backoff_until: f64,
    in_flight: u32,
    runtime: String,
    environment: String,
}

type Shared = Rc<RefCell<State>>;

fn now() -> f64 {
    js_sys::Date::now()
}

impl State {
    fn start_session(&mut self) {
        if !self.pipeline.started() {
            self.pipeline
                .start(host::seed(), host::identity(self.environment.clone()));
        }
    }

    fn has_queued(&self) -> bool {
        Signal::ALL.iter().any(|s| self.pipeline.queued(*s) > 0)
    }

    fn debug(&self, line: impl FnOnce() -> String) {
        if self.pipeline.config.verbose {
            host::debug(&line());
        }
    }

    /// Arms the flush timer when items wait and nothing else will send them.
    fn arm_timer(&mut self, me: &Shared) {
        let interval = f64::from(self.pipeline.config.flush_interval_ms);
        if !self.enabled
            || interval == 0.0
            || self.timer.is_some()
            || self.flush.is_some()
            || !self.has_queued()
        {
            return;
        }
        let wait = interval.max(self.backoff_until - now());
        let weak = Rc::downgrade(me);
        self.timer = Some(Timer::start(wait, move || {
            if let Some(me) = weak.upgrade() {
                let _ = request_flush(&me);
            }
        }));
    }
}

/// Starts a flush run, or joins the one in progress (which then runs once more so that
/// items queued since it began are covered).
fn request_flush(me: &Shared) -> Promise {
    let Ok(mut st) = me.try_borrow_mut() else {
        return Promise::resolve(&JsValue::UNDEFINED);
    };
    st.timer = None;
    if let Some(f) = st.flush.as_mut() {
        f.again = true;
        return f.done.clone();
    }
    let mut resolve = None;
    let done = Promise::new(&mut |res, _| resolve = Some(res));
    let Some(resolve) = resolve else {
        return done;
    };
    st.flush = Some(Flush {
        done: done.clone(),
        resolve,
        again: false,
    });
    drop(st);
    spawn_local(run_flush(Rc::clone(me)));
    done
}

async fn run_flush(me: Shared) {
    loop {
        flush_all(&me).await;
        let mut st = me.borrow_mut();
        if let Some(f) = st.flush.as_mut().filter(|f| f.again) {
            f.again = false;
            continue;
        }
        let flush = st.flush.take();
        st.arm_timer(&me);
        drop(st);
        if let Some(f) = flush {
            let _ = f.resolve.call0(&JsValue::UNDEFINED);
        }
        return;
    }
}

/// Sends what each signal had queued when its turn came, one request at a time. Stops
/// early when a backend's retries run out (it waits out its backoff).
async fn flush_all(me: &Shared) {
    for signal in Signal::ALL {
        let mut budget = me.borrow().pipeline.queued(signal);
        while budget > 0 {
            let request = {
                let mut st = me.borrow_mut();
                if now() < st.backoff_until {
                    return;
                }
                match st.pipeline.next_request(signal) {
                    Some(r) => r,
                    None => break,
                }
            };
            budget = budget.saturating_sub(request.items);
            if !deliver(me, request).await {
                return;
            }
        }
    }
}

/// Sends one request with retries. Returns false when it was re-queued after the last
/// retry, which ends this flush.
async fn deliver(me: &Shared, request: Request) -> bool {
    let (url, authorization, timeout, max_retries, base) = {
        let st = me.borrow();
        let p = &st.pipeline;
        let c = &p.config;
        (
            p.url(request.signal).to_string(),
            p.authorization().to_string(),
            c.timeout_ms,
            c.max_retries,
            c.retry_backoff_base_ms,
        )
    };
    let headers = transport::Headers {
        content_encoding: if request.gzip { "gzip" } else { "" },
        authorization: &authorization,
    };
    let mut attempt = 0;
    loop {
        me.borrow_mut().in_flight += 1;
        let res = transport::post(&url, &request.body, &headers, timeout).await;
        let wait = {
            let mut st = me.borrow_mut();
            st.in_flight -= 1;
            let mut what = res.outcome.describe();
            if !res.message.is_empty() {
                what = st
                    .pipeline
                    .redact(format!("{what}: {}", res.message.trim()));
            }
            st.debug(|| {
                format!(
                    "{} {} items -> {what}",
                    request.signal.name(),
                    request.items
                )
            });
            match st.pipeline.verdict(&res.outcome, res.exception_code, now()) {
                Verdict::Delivered => {
                    if res.rejected > 0 {
                        st.pipeline.stats.last_error = Some(format!(
                            "partial success, {} rejected: {}",
                            res.rejected, res.message
                        ));
                    }
                    st.pipeline.settle(
                        request,
                        Settle::Delivered {
                            rejected: res.rejected,
                        },
                    );
                    return true;
                }
                Verdict::Drop => {
                    st.pipeline
                        .settle(request, Settle::Drop(format!("{url}: {what}")));
                    return true;
                }
                Verdict::Retry(after) => {
                    let wait =
                        after.unwrap_or_else(|| backoff_ms(base, attempt, st.pipeline.jitter()));
                    if attempt >= max_retries {
                        st.backoff_until = now() + wait;
                        st.pipeline
                            .settle(request, Settle::Requeue(format!("{url}: {what}")));
                        return false;
                    }
                    attempt += 1;
                    st.pipeline.stats.retries += 1;
                    wait
                }
            }
        };
        timers::sleep(wait).await;
    }
}

fn raw(v: &JsValue) -> Raw {
    if v.is_undefined() {
        Raw::Missing
    } else if v.is_null() {
        Raw::Null
    } else if let Some(b) = v.as_bool() {
        Raw::Bool(b)
    } else if let Some(n) = v.as_f64() {
        Raw::Number(n)
    } else if let Some(s) = v.as_string() {
        Raw::Str(s)
    } else {
        Raw::Other(v.js_typeof().as_string().unwrap_or_default())
    }
}

fn get(target: &JsValue, key: &str) -> Result<JsValue, JsValue> {
    Reflect::get(target, &JsValue::from_str(key))
}

fn config_error(e: ConfigError) -> JsValue {
    match e.kind {
        ErrorKind::Type => TypeError::new(&e.message).into(),
        ErrorKind::Range => RangeError::new(&e.message).into(),
    }
}

/// Builds a plain object from `(key, value)` pairs.
fn object(fields: &[(&str, JsValue)]) -> JsValue {
    let o = Object::new();
    for (k, v) in fields {
        let _ = Reflect::set(&o, &JsValue::from_str(k), v);
    }
    o.into()
}

fn num(n: impl Into<f64>) -> JsValue {
    JsValue::from_f64(n.into())
}

fn text(s: &str) -> JsValue {
    JsValue::from_str(s)
}

fn resolved() -> Promise {
    Promise::resolve(&JsValue::UNDEFINED)
}

/// Privacy-first telemetry client: events, metrics, logs and errors to OTLP/HTTP.
#[wasm_bindgen(js_name = AutomagikTelemetry)]
pub struct Client {
    state: Shared,
}

#[wasm_bindgen(js_class = AutomagikTelemetry)]
impl Client {
    /// Validates `config` (throws a `TypeError`/`RangeError` naming the bad option) and
    /// decides whether telemetry is on. Starts no timer and generates nothing yet.
    #[wasm_bindgen(constructor)]
    pub fn new(config: JsValue) -> Result<Client, JsValue> {
        if !config.is_object() {
            let msg = format!(
                "AutomagikTelemetry: expected a configuration object such as {{ projectName: 'my-app', version: '1.0.0' }}, received {}",
                config.js_typeof().as_string().unwrap_or_default()
            );
            return Err(TypeError::new(&msg).into());
        }
        let parsed = Config::parse(&mut |name| {
            get(&config, name).map_or_else(|_| Raw::Other("a throwing getter".into()), |v| raw(&v))
        })
        .map_err(config_error)?;
        let env = get(&config, "env").unwrap_or(JsValue::UNDEFINED);
        if !(env.is_undefined() || env.is_null() || env.is_object()) {
            let msg = format!(
                "AutomagikTelemetry: invalid option 'env': expected an object of environment variables, received a value of type {}",
                env.js_typeof().as_string().unwrap_or_default()
            );
            return Err(TypeError::new(&msg).into());
        }
        let env = if env.is_null() {
            JsValue::UNDEFINED
        } else {
            env
        };
        let enabled = decide(&host::enablement_facts(&env, parsed.enabled));
        let environment = host::environment(&env);
        let state = State {
            pipeline: Pipeline::new(parsed),
            enabled,
            timer: None,
            flush: None,
            backoff_until: 0.0,
            in_flight: 0,
            runtime: host::runtime_name(),
            environment,
        };
        state.debug(|| {
            format!(
                "enabled={enabled} traces={}",
                state.pipeline.config.traces_endpoint
            )
        });
        Ok(Client {
            state: Rc::new(RefCell::new(state)),
        })
    }

    /// Lays out one item through the boundary and queues it; flushes at `batchSize`.
    fn track(
        &self,
        kind: Kind,
        a: &JsValue,
        b: &JsValue,
        track: impl FnOnce(&mut Stats) -> Option<Track>,
    ) {
        let Ok(mut st) = self.state.try_borrow_mut() else {
            return; // re-entered from a getter inside the attributes
        };
        if !st.enabled {
            return;
        }
        st.start_session();
        let full = track(&mut st.pipeline.stats)
            .and_then(|t| boundary::with_body(kind, a, b, |body| st.pipeline.ingest(t, body)));
        match full {
            None => st.pipeline.stats.drop(DropReason::Invalid, 1),
            Some(true) => {
                drop(st);
                let _ = request_flush(&self.state);
            }
            Some(false) => st.arm_timer(&self.state),
        }
    }

    /// Tracks an event (a span). Never throws.
    #[wasm_bindgen(js_name = trackEvent)]
    pub fn track_event(&self, name: &JsValue, attributes: &JsValue) {
        self.track(Kind::Event, name, attributes, |_| Some(Track::Event));
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
        self.track(Kind::Metric, name, attributes, |stats| {
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
        self.track(Kind::Log, message, attributes, |stats| {
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
        self.track(Kind::Error, error, context, |_| Some(Track::Error));
    }

    /// `trackEvent`, resolving once the event is queued.
    #[wasm_bindgen(js_name = trackEventAsync)]
    pub fn track_event_async(&self, name: &JsValue, attributes: &JsValue) -> Promise {
        self.track_event(name, attributes);
        resolved()
    }

    /// `trackMetric`, resolving once the metric is queued.
    #[wasm_bindgen(js_name = trackMetricAsync)]
    pub fn track_metric_async(
        &self,
        name: &JsValue,
        value: &JsValue,
        metric_type: &JsValue,
        attributes: &JsValue,
    ) -> Promise {
        self.track_metric(name, value, metric_type, attributes);
        resolved()
    }

    /// `trackLog`, resolving once the log is queued.
    #[wasm_bindgen(js_name = trackLogAsync)]
    pub fn track_log_async(
        &self,
        message: &JsValue,
        severity: &JsValue,
        attributes: &JsValue,
    ) -> Promise {
        self.track_log(message, severity, attributes);
        resolved()
    }

    /// `trackError`, resolving once the error is queued.
    #[wasm_bindgen(js_name = trackErrorAsync)]
    pub fn track_error_async(&self, error: &JsValue, context: &JsValue) -> Promise {
        self.track_error(error, context);
        resolved()
    }

    /// Sends everything queued; resolves when each item was delivered, dropped, or
    /// re-queued after a failure. Never rejects.
    pub fn flush(&self) -> Promise {
        request_flush(&self.state)
    }

    /// Turns collection on (explicit consent: clears a persisted opt-out).
    pub fn enable(&self) {
        host::persist_opt_out(false);
        if let Ok(mut st) = self.state.try_borrow_mut() {
            st.enabled = true;
            st.arm_timer(&self.state);
        }
    }

    /// Stops collecting at once and persists the opt-out; resolves after items queued
    /// before the call are flushed.
    pub fn disable(&self) -> Promise {
        host::persist_opt_out(true);
        if let Ok(mut st) = self.state.try_borrow_mut() {
            st.enabled = false;
        }
        request_flush(&self.state)
    }

    /// Whether tracking calls are collected.
    #[wasm_bindgen(js_name = isEnabled)]
    pub fn is_enabled(&self) -> bool {
        self.state.try_borrow().is_ok_and(|st| st.enabled)
    }

    /// A snapshot of configuration, queue and delivery counters (never secrets).
    #[wasm_bindgen(js_name = getStatus)]
    pub fn get_status(&self) -> JsValue {
        let Ok(st) = self.state.try_borrow() else {
            return object(&[]);
        };
        let p = &st.pipeline;
        let c = &p.config;
        let s = &p.stats;
        let id = p.identity();
        let clickhouse = c.backend == Backend::ClickHouse;
        let opt = |v: Option<&String>| v.map_or(JsValue::NULL, |v| text(v));
        let queued = |sig| num(p.queued(sig) as f64);
        object(&[
            ("enabled", JsValue::from_bool(st.enabled)),
            ("userId", opt(id.map(|i| &i.user_id))),
            ("sessionId", opt(id.map(|i| &i.session_id))),
            ("projectName", text(&c.project_name)),
            ("projectVersion", text(&c.version)),
            (
                "backend",
                text(if clickhouse { "clickhouse" } else { "otlp" }),
            ),
            (
                "endpoint",
                text(if clickhouse {
                    &c.clickhouse.endpoint
                } else {
                    &c.traces_endpoint
                }),
            ),
            ("metricsEndpoint", text(&c.metrics_endpoint)),
            ("logsEndpoint", text(&c.logs_endpoint)),
            ("verbose", JsValue::from_bool(c.verbose)),
            ("batchSize", num(c.batch_size)),
            (
                "queueSize",
                num(Signal::ALL.iter().map(|s| p.queued(*s)).sum::<usize>() as f64),
            ),
            (
                "queueSizes",
                object(&[
                    ("traces", queued(Signal::Traces)),
                    ("metrics", queued(Signal::Metrics)),
                    ("logs", queued(Signal::Logs)),
                ]),
            ),
            ("queuedBytes", num(p.queued_bytes() as f64)),
            ("maxQueueBytes", num(c.max_queue_bytes)),
            ("inFlight", num(st.in_flight)),
            (
                "sent",
                object(&[
                    ("requests", num(s.sent_requests as f64)),
                    ("items", num(s.sent_items as f64)),
                    ("bytes", num(s.sent_bytes as f64)),
                ]),
            ),
            (
                "dropped",
                object(&[
                    ("queueFull", num(s.dropped_queue_full as f64)),
                    ("rejected", num(s.dropped_rejected as f64)),
                    ("invalid", num(s.dropped_invalid as f64)),
                    ("failed", num(s.dropped_failed as f64)),
                ]),
            ),
            (
                "coerced",
                object(&[
                    ("metricType", num(s.coerced_metric_type as f64)),
                    ("logSeverity", num(s.coerced_severity as f64)),
                ]),
            ),
            ("retries", num(s.retries as f64)),
            ("lastError", opt(s.last_error.as_ref())),
            ("runtime", text(&st.runtime)),
        ])
    }
}
