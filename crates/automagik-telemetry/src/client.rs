//! [`Telemetry`]: the Rust front door. It hands tracking calls to the core as record
//! bodies (written by the core's [`record`](automagik_telemetry_core::record) writer) and
//! leaves the rest to the shell both front doors share
//! ([`automagik_telemetry_host::shell`]), which carries out what the core decides over
//! this crate's host and keeps the client alive while the core has work (SPEC §7): an
//! app that drops its last clone loses nothing. It decides nothing itself. Every entry
//! point takes the state with `try_borrow*`: a re-entrant call (from a `tracing` event
//! inside the client, say) finds it busy, never broken.

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use automagik_telemetry_core::config::Raw;
use automagik_telemetry_core::delivery::{Delivery, FlushId};
use automagik_telemetry_core::enablement::decide;
use automagik_telemetry_core::model::Track;
#[cfg(not(target_arch = "wasm32"))]
use automagik_telemetry_core::record::js_number;
use automagik_telemetry_core::record::{self, BODY_UNITS, STACK_UNITS, STR_UNITS};
use automagik_telemetry_core::status::Status;
use automagik_telemetry_host::shell::{self, drive, finish, Settle};

use crate::host::{self, Host};
use crate::{Attributes, Config, ConfigError, LogSeverity, MetricType};

/// The text JS prints for a finite double: on wasm32 JS prints it (no float formatter
/// in the app's wasm); elsewhere Rust's shortest exponent form, rewritten JS's way.
pub(crate) fn double_text(v: f64) -> String {
    #[cfg(target_arch = "wasm32")]
    return host::number_text(v);
    #[cfg(not(target_arch = "wasm32"))]
    return js_number(&format!("{v:e}"));
}

/// The settling side of a [`Flush`].
#[derive(Default)]
struct FlushState {
    done: Cell<bool>,
    waker: Cell<Option<Waker>>,
}

/// A flush's entry in the shell: what it settles.
struct Waiter(Rc<FlushState>);

impl Settle for Waiter {
    fn settle(self) {
        self.0.done.set(true);
        if let Some(w) = self.0.waker.take() {
            w.wake();
        }
    }
}

/// The future [`Telemetry::flush`] and [`Telemetry::shutdown`] return: ready once every
/// item queued before the call was delivered, dropped, or re-queued after a failure. It
/// is not `Send` (the client lives on the page's one thread) and always completes.
#[must_use = "a flush does its work whether awaited or not; await it to know when it is done"]
pub struct Flush(Rc<FlushState>);

impl Future for Flush {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0.done.get() {
            return Poll::Ready(());
        }
        self.0.waker.set(Some(cx.waker().clone()));
        Poll::Pending
    }
}

/// The shell both front doors share, over this crate's host, its flushes futures.
type Shared = shell::Shared<Host, Waiter>;

/// A privacy-first telemetry client. Cheap to clone: every clone is the same client.
///
/// Tracking methods never panic and never block: they lay the item out, queue it and
/// return; delivery happens on the page's event loop. Items of a disabled client (SPEC
/// §6: opted out, Do Not Track / Global Privacy Control, CI, `enabled(false)`) are not
/// collected at all.
#[derive(Clone)]
pub struct Telemetry {
    state: Shared,
    reentrant: Rc<Cell<u64>>,
}

impl Telemetry {
    /// Validates `config` (the error names the bad option) and decides whether telemetry
    /// is on. Starts no timer and generates no ids yet: the first tracking call does.
    pub fn new(config: Config) -> Result<Telemetry, ConfigError> {
        let parsed = config.parse()?;
        let enabled = decide(&host::enablement_facts(&config, parsed.enabled));
        let environment = config
            .env_var("ENVIRONMENT")
            .or_else(|| config.env_var("NODE_ENV"))
            .unwrap_or_default()
            .to_string();
        let core = Delivery::new(parsed).with_host(enabled, host::runtime_name());
        let state = shell::Shell::new(core, environment).open();
        Ok(Telemetry {
            state,
            reentrant: Rc::new(Cell::new(0)),
        })
    }

    fn track(
        &self,
        strings: &[(&str, usize)],
        attrs: &Attributes,
        describe: impl FnOnce(&mut Delivery) -> Option<Track>,
    ) {
        self.track_at(host::record_time, strings, attrs, describe);
    }

    /// [`Telemetry::track`], the record stamped with `time()` (taken only once the item
    /// is collected).
    fn track_at(
        &self,
        time: impl FnOnce() -> f64,
        strings: &[(&str, usize)],
        attrs: &Attributes,
        describe: impl FnOnce(&mut Delivery) -> Option<Track>,
    ) {
        let Some(mut st) = shell::begin_track(&self.state, &self.reentrant) else {
            return;
        };
        let now = time();
        let valid = strings.first().is_some_and(|(s, _)| !s.is_empty());
        match describe(&mut st.core).filter(|_| valid) {
            Some(track) => {
                let body = record::body(now, strings, attrs, &double_text);
                st.core.track(now, track, &body);
            }
            None => st.core.invalid(),
        }
        finish(&self.state, st, now);
    }

    /// Tracks an event (an OTLP span named `name`).
    pub fn track_event(&self, name: &str, attributes: Attributes) {
        self.track(&[(name, STR_UNITS)], &attributes, |_| Some(Track::Event));
    }

    /// Tracks a span that ended at `end` (a [`host::record_time`] reading) after
    /// `duration_ms`: the `TracingLayer`'s closed spans. The OTLP span starts
    /// `duration_ms` before it ends.
    #[cfg(feature = "tracing")]
    pub(crate) fn track_span(
        &self,
        name: &str,
        end: f64,
        duration_ms: f64,
        attributes: Attributes,
    ) {
        self.track_at(
            || end,
            &[(name, STR_UNITS)],
            &attributes,
            // Not negative (`max`, which also turns NaN into 0); `as` saturates.
            |_| {
                Some(Track::Span {
                    duration_ns: (duration_ms.max(0.0) * 1e6) as u64,
                })
            },
        );
    }

    /// Tracks a metric data point. A value that is not finite is not a valid item (it is
    /// counted in `status().dropped.invalid`).
    pub fn track_metric(
        &self,
        name: &str,
        value: f64,
        metric_type: MetricType,
        attributes: Attributes,
    ) {
        let text = if value.is_finite() {
            double_text(value)
        } else {
            String::new()
        };
        self.track(
            &[(name, STR_UNITS), (&text, STR_UNITS)],
            &attributes,
            |core| core.metric(&Raw::Number(value), &Raw::Str(metric_type.as_str().into())),
        );
    }

    /// Tracks a log record with `message` as its body.
    pub fn track_log(&self, message: &str, severity: LogSeverity, attributes: Attributes) {
        self.track(&[(message, BODY_UNITS)], &attributes, |core| {
            Some(core.log(&Raw::Number(f64::from(severity.number()))))
        });
    }

    /// Tracks any error as an error span (`automagik.error`) with its exception
    /// attributes: type (the error type's name), message (its `Display`), and as the
    /// "stack" its chain of sources, one `Caused by:` line each.
    pub fn track_error<E: std::error::Error + ?Sized>(&self, error: &E, context: Attributes) {
        let type_name = error_type::<E>();
        let message = error.to_string();
        let mut stack = String::new();
        let mut source = error.source();
        while let Some(s) = source {
            if !stack.is_empty() {
                stack.push('\n');
            }
            stack.push_str("Caused by: ");
            stack.push_str(&s.to_string());
            source = s.source();
        }
        let message = if message.is_empty() {
            type_name
        } else {
            &message
        };
        self.track(
            &[
                (type_name, STR_UNITS),
                (message, STR_UNITS),
                (&stack, STACK_UNITS),
            ],
            &context,
            |_| Some(Track::Error),
        );
    }

    fn flush_with(&self, start: impl FnOnce(&mut Delivery, f64) -> FlushId) -> Flush {
        let settle = shell::flush(
            &self.state,
            start,
            || Waiter(Rc::default()),
            |w| Rc::clone(&w.0),
        );
        // A re-entrant call (from inside the client) has nothing to wait for.
        Flush(settle.unwrap_or_else(|| {
            let done = FlushState::default();
            done.done.set(true);
            Rc::new(done)
        }))
    }

    /// Sends everything queued now. The future completes when each of those items was
    /// delivered, dropped, or re-queued after a failure; items tracked meanwhile wait for
    /// the next flush, so it always completes. In a Worker, hand it to `ctx.wait_until`.
    pub fn flush(&self) -> Flush {
        self.flush_with(|core, now| core.flush(now))
    }

    /// Flushes one last time, then stops the timer and removes the page listeners.
    /// Tracking calls after it are ignored (counted in `dropped.after_shutdown`).
    pub fn shutdown(&self) -> Flush {
        self.flush_with(|core, now| core.shutdown(now))
    }

    /// Turns collection on: the user's explicit consent (clears a persisted opt-out).
    pub fn enable(&self) {
        host::persist_opt_out(false);
        drive(&self.state, |st, _| st.core.set_enabled(true));
    }

    /// Stops collecting at once and persists the opt-out; the returned flush completes
    /// once the items queued before the call are sent.
    pub fn disable(&self) -> Flush {
        host::persist_opt_out(true);
        drive(&self.state, |st, _| st.core.set_enabled(false));
        self.flush()
    }

    /// Whether tracking calls are collected.
    pub fn is_enabled(&self) -> bool {
        self.state.try_borrow().is_ok_and(|st| st.core.is_enabled())
    }

    /// A snapshot of configuration, queue and delivery counters (never a secret): the
    /// fields of the npm package's `getStatus()`, in snake_case. A default (empty)
    /// status while the client is busy (a call from inside it).
    pub fn status(&self) -> Status {
        let Ok(mut st) = self.state.try_borrow_mut() else {
            return Status::default();
        };
        st.start_session();
        st.core.reentrant(self.reentrant.take());
        st.core.status()
    }
}

/// The last path segment of `E`'s type name, generics left out (`dyn Error` and the
/// like read as `Error`).
fn error_type<E: ?Sized>() -> &'static str {
    let full = std::any::type_name::<E>();
    if full.starts_with("dyn ") || full.starts_with('&') {
        return "Error";
    }
    let base = full.split('<').next().unwrap_or(full);
    base.rsplit("::")
        .next()
        .filter(|s| !s.is_empty())
        .unwrap_or("Error")
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use crate::attrs;

    #[test]
    fn error_types_read_as_their_names() {
        assert_eq!(error_type::<std::io::Error>(), "Error");
        assert_eq!(error_type::<std::num::ParseIntError>(), "ParseIntError");
        assert_eq!(error_type::<dyn std::error::Error>(), "Error");
        assert_eq!(error_type::<crate::ConfigError>(), "ConfigError");
    }

    #[test]
    fn clones_are_one_client_and_tracking_queues_items() {
        let t = Telemetry::new(Config::new("p", "v").enabled(true)).unwrap();
        let u = t.clone();
        t.track_event("a", attrs! { "k" => 1 });
        u.track_metric("m", 2.5, MetricType::Counter, attrs! {});
        u.track_log("hello", LogSeverity::Warn, attrs! {});
        let e: Box<dyn std::error::Error> = "bad".parse::<i32>().unwrap_err().into();
        t.track_error(&*e, attrs! { "op" => "save" });
        assert_eq!(t.status().queue_size, 4);
        assert!(u.is_enabled());
    }

    #[test]
    fn invalid_items_are_counted_never_panic() {
        let t = Telemetry::new(Config::new("p", "v").enabled(true)).unwrap();
        t.track_event("", attrs! {});
        t.track_metric("m", f64::NAN, MetricType::Gauge, attrs! {});
        t.track_log("", LogSeverity::Info, attrs! {});
        let s = t.status();
        assert_eq!(s.queue_size, 0);
        assert_eq!(s.dropped.invalid, 3);
    }

    #[test]
    fn a_disabled_client_collects_nothing() {
        let t = Telemetry::new(Config::new("p", "v").enabled(false)).unwrap();
        assert!(!t.is_enabled());
        t.track_event("a", attrs! {});
        assert_eq!(t.status().queue_size, 0);
        t.enable();
        t.track_event("a", attrs! {});
        assert_eq!(t.status().queue_size, 1);
    }

    #[test]
    fn flushing_sends_the_queue_through_the_host() {
        let t = Telemetry::new(Config::new("p", "v").enabled(true)).unwrap();
        t.track_event("a", attrs! {});
        let _flush = t.flush();
        let sent = host::take_sent();
        assert_eq!(sent.len(), 1);
        assert!(sent[0].0.url.ends_with("/v1/traces"));
        assert_eq!(t.status().in_flight, 1);
    }
}
