//! The public `AutomagikTelemetry` class. It reads the configuration and the host's
//! facts, hands tracking calls to the record boundary and the core, and leaves the rest to
//! the shell both front doors share ([`automagik_telemetry_host::shell`]), which carries
//! out what the core decides over the JS host and keeps the client alive while the core
//! has work (SPEC §7). It decides nothing itself.
//!
//! Tracking methods never throw and never panic: every path that could fail degrades
//! to dropping (and counting) the item. Every entry point takes the state with
//! `try_borrow*`, so a host callback that re-enters the client finds it busy, not broken.

use crate::prelude::*;

use ::core::cell::{Cell, RefCell};
use alloc::rc::Rc;

use js_sys::Promise;
use wasm_bindgen::prelude::*;

use automagik_telemetry_core::config::{Config, ConfigError, ErrorKind, Raw};
use automagik_telemetry_core::delivery::{Delivery, FlushId};
use automagik_telemetry_core::enablement::decide;
use automagik_telemetry_core::model::{body_time_ms, Track};

use automagik_telemetry_host::facts;
use automagik_telemetry_host::shell::{self, drive, finish, Io, Settle};
use automagik_telemetry_host::Js;

use super::plain::{self, Deferred};
use super::{boundary, host};

/// The shell over the JS host, its flushes JS promises.
type Shell = shell::Shell<Js, Deferred>;
type Shared = shell::Shared<Js, Deferred>;

impl Settle for Deferred {
    fn settle(self) {
        self.resolve();
    }
}

/// A promise for the flush `start` begins; a flush that adds nothing to the one pending
/// shares its promise. A re-entrant call resolves at once.
fn flush_promise(me: &Shared, start: impl FnOnce(&mut Delivery, f64) -> FlushId) -> Promise {
    shell::flush(me, start, plain::defer, Deferred::promise).unwrap_or_else(resolved)
}

fn raw(v: &JsValue) -> Raw {
    if v.is_undefined() {
        Raw::Missing
    } else if v.is_null() {
        Raw::Null
    } else if js_sys::Array::is_array(v) {
        // An index loop, not `Array::iter().map().collect()`: the same imports, less
        // wasm. A non-string element reads as "", which the config rejects like a blank.
        let array: &js_sys::Array = v.unchecked_ref();
        let mut list = Vec::new();
        for i in 0..array.length() {
            list.push(array.get(i).as_string().unwrap_or_default());
        }
        Raw::List(list)
    } else if v.is_object() || v.is_function() {
        Raw::Object
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
        // Valid by now: an object, or absent (null reads as absent).
        let env = plain::option(&config, "env");
        let env = if env.is_object() {
            env
        } else {
            JsValue::UNDEFINED
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
            let warm = Client::over(Shell::new(Delivery::new(defaults), String::new()));
            warm.track_event(&"warm-up".into(), &boundary::sample_attributes());
            // Its queued sample pinned it: let it go with `warm`.
            let pin = warm.state.borrow_mut().unpin();
            drop(pin);
        }
        let shell = Shell::new(
            Delivery::new(parsed).with_host(enabled, facts::runtime_name()),
            environment,
        );
        let state = shell.open();
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
    /// attributes and a metric's value) and hands it to the core; `describe` asks the
    /// core what the call tracks (`None`: not a valid item).
    fn track(&self, args: [&JsValue; 3], describe: impl FnOnce(&mut Delivery) -> Option<Track>) {
        let Some(mut st) = shell::begin_track(&self.state, &self.reentrant) else {
            return;
        };
        // The record carries the wall-clock time JS stamped it with: no second clock read.
        let mut at = None;
        let queued = describe(&mut st.core).and_then(|track| {
            boundary::with_body(track.code(), args, |body| {
                let time = body_time_ms(body).unwrap_or_else(Js::now);
                at = Some(time);
                st.core.track(time, track, body)
            })
        });
        if queued.is_none() {
            st.core.invalid();
        }
        finish(&self.state, st, at.unwrap_or_else(Js::now));
    }

    /// Tracks an event (a span). Never throws.
    #[wasm_bindgen(js_name = trackEvent)]
    pub fn track_event(&self, name: &JsValue, attributes: &JsValue) {
        let none = &JsValue::UNDEFINED;
        self.track([name, attributes, none], |_| Some(Track::Event));
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
        self.track([name, attributes, value], |core| {
            core.metric(&raw(value), &raw(metric_type))
        });
    }

    /// Tracks a log message with a severity (`LogSeverity` or a name). Never throws.
    #[wasm_bindgen(js_name = trackLog)]
    pub fn track_log(&self, message: &JsValue, severity: &JsValue, attributes: &JsValue) {
        let none = &JsValue::UNDEFINED;
        self.track([message, attributes, none], |core| {
            Some(core.log(&raw(severity)))
        });
    }

    /// Tracks any thrown value as an error span with exception attributes. Never throws.
    #[wasm_bindgen(js_name = trackError)]
    pub fn track_error(&self, error: &JsValue, context: &JsValue) {
        let none = &JsValue::UNDEFINED;
        self.track([error, context, none], |_| Some(Track::Error));
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
        facts::persist_opt_out(false);
        drive(&self.state, |st, _| st.core.set_enabled(true));
    }

    /// Stops collecting at once and persists the opt-out; resolves after items queued
    /// before the call are flushed.
    pub fn disable(&self) -> Promise {
        facts::persist_opt_out(true);
        drive(&self.state, |st, _| st.core.set_enabled(false));
        self.flush()
    }

    /// Whether tracking calls are collected.
    #[wasm_bindgen(js_name = isEnabled)]
    pub fn is_enabled(&self) -> bool {
        self.state.try_borrow().is_ok_and(|st| st.core.is_enabled())
    }

    /// A snapshot of configuration, queue and delivery counters (never secrets), by
    /// name: the core's [`Status`](automagik_telemetry_core::status::Status) as JSON.
    /// `{}` while the client is busy (a call from inside it).
    #[wasm_bindgen(js_name = getStatus)]
    pub fn get_status(&self) -> JsValue {
        let Ok(mut st) = self.state.try_borrow_mut() else {
            return plain::status("{}");
        };
        st.start_session(); // the ids a status shows exist once something was tracked
        st.core.reentrant(self.reentrant.take());
        plain::status(&st.core.status().to_json())
    }
}
