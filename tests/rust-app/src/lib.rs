//! The test app: what a Leptos/Yew/Dioxus app does with the crate, exported to the test
//! page as plain functions. It owns its global allocator (a counting wrapper around
//! the system one): the crate must bring none, or this would not link.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use wasm_bindgen::prelude::*;

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: delegates to the system allocator unchanged.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        System.alloc(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Allocations made through the app's own allocator so far.
#[wasm_bindgen]
pub fn allocations() -> usize {
    ALLOCATIONS.load(Ordering::Relaxed)
}

#[cfg(not(any(feature = "no-telemetry", feature = "one-event")))]
mod app {
    use super::*;
    use automagik_telemetry::{
        attrs, AttrValue, Config, LogSeverity, MetricType, Telemetry, TracingLayer,
    };
    use std::cell::RefCell;
    use tracing_subscriber::layer::SubscriberExt;

    thread_local! {
        static CLIENT: RefCell<Option<Telemetry>> = const { RefCell::new(None) };
    }

    fn client() -> Option<Telemetry> {
        CLIENT.with(|c| c.borrow().clone())
    }

    /// A client for `endpoint`, and the tracing layer over it. Returns the config error,
    /// or an empty string.
    #[wasm_bindgen]
    pub fn start(
        endpoint: &str,
        flush_interval: u32,
        batch_size: u32,
        compression: bool,
    ) -> String {
        start_with(
            Config::new("rust-app", "1.0.0")
                .endpoint(endpoint)
                .enabled(true)
                .flush_interval(flush_interval)
                .batch_size(batch_size)
                .retry_backoff_base(20)
                .compression_enabled(compression),
        )
    }

    /// A client configured as tests/browser_persist.test.mjs configures the npm
    /// package's (project `persist`, no retries: a failing collector leaves its batches
    /// stored at once), so either front door restores what the other stored.
    #[wasm_bindgen]
    pub fn start_persisting(endpoint: &str) -> String {
        start_with(
            Config::new("persist", "1.0.0")
                .endpoint(endpoint)
                .enabled(true)
                .max_retries(0)
                .retry_backoff_base(100)
                .flush_interval(1000)
                .batch_size(100000),
        )
    }

    fn start_with(config: Config) -> String {
        match Telemetry::new(config) {
            Ok(t) => {
                let subscriber = tracing_subscriber::registry().with(TracingLayer::new(t.clone()));
                let _ = tracing::subscriber::set_global_default(subscriber);
                CLIENT.with(|c| *c.borrow_mut() = Some(t));
                String::new()
            }
            Err(e) => e.to_string(),
        }
    }

    /// The error a bad config gives (a timeout in seconds).
    #[wasm_bindgen]
    pub fn bad_config() -> String {
        match Telemetry::new(Config::new("rust-app", "1.0.0").timeout(5)) {
            Ok(_) => String::new(),
            Err(e) => e.to_string(),
        }
    }

    #[derive(Debug)]
    struct SaveError {
        source: std::io::Error,
    }

    impl std::fmt::Display for SaveError {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("could not save the document")
        }
    }

    impl std::error::Error for SaveError {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.source)
        }
    }

    /// One item of each kind, with typed attributes, and a tracing event and span.
    #[wasm_bindgen]
    pub fn track_all(prefix: &str) {
        let Some(t) = client() else { return };
        // Open across the tracking calls below: a span that lasts while work happens.
        let span = tracing::info_span!("rust_app.tracing_span", doc = "a.txt", bytes = 1024_u64);
        t.track_event(
            &format!("{prefix}.page.view"),
            attrs! {
                "path" => "/home", "status" => 200, "ms" => 12.5, "ok" => true,
                "tags" => ["a", "b"], "nums" => vec![1i64, 2, 3],
                "nested" => AttrValue::Map(vec![("k".into(), AttrValue::from("v"))]),
            },
        );
        t.track_metric(
            &format!("{prefix}.render_ms"),
            12.5,
            MetricType::Histogram,
            attrs! { "route" => "/home" },
        );
        t.track_metric(
            &format!("{prefix}.clicks"),
            3.0,
            MetricType::Counter,
            attrs! {},
        );
        t.track_log(
            &format!("{prefix}.settings opened"),
            LogSeverity::Warn,
            attrs! { "user_tier" => "pro" },
        );
        let err = SaveError {
            source: std::io::Error::other("disk full"),
        };
        t.track_error(&err, attrs! { "op" => "save" });
        tracing::info!(
            route = "/home",
            count = 2_i64,
            ratio = 0.25,
            "{prefix}.tracing event"
        );
        span.in_scope(|| {});
        drop(span);
    }

    /// `n` events of about 200 bytes each.
    #[wasm_bindgen]
    pub fn track_events(prefix: &str, n: u32) {
        let Some(t) = client() else { return };
        for i in 0..n {
            t.track_event(
                &format!("{prefix}.{i}"),
                attrs! { "index" => i, "payload" => "p".repeat(170) },
            );
        }
    }

    /// A log record with `message` as its body.
    #[wasm_bindgen]
    pub fn track_log(message: &str) {
        if let Some(t) = client() {
            t.track_log(message, LogSeverity::Info, attrs! {});
        }
    }

    /// The items of the byte-equality comparison (tests/rust_crate.test.mjs has the npm
    /// side's twin): with ids and clocks fixed, both front doors must send the same bytes.
    #[wasm_bindgen]
    pub fn track_fixed() {
        let Some(t) = client() else { return };
        t.track_event(
            "fixed.event",
            attrs! {
                "path" => "/home", "status" => 200, "ms" => 12.5, "ok" => true, "ratio" => 0.1,
                "tiny" => 1e-7, "huge" => 1.5e300, "neg" => -3, "tags" => ["a", "b"],
                "nested" => AttrValue::Map(vec![("k".into(), AttrValue::from("v"))]),
                "unicode" => "héllo 😀", "email" => "someone@example.com",
            },
        );
        t.track_metric(
            "fixed.render_ms",
            12.5,
            MetricType::Histogram,
            attrs! { "route" => "/home" },
        );
        t.track_metric("fixed.count", 3.0, MetricType::Counter, attrs! {});
        t.track_metric(
            "fixed.gauge",
            0.3333333333333333,
            MetricType::Gauge,
            attrs! {},
        );
        t.track_log(
            "fixed log",
            LogSeverity::Warn,
            attrs! { "user_tier" => "pro" },
        );
        // Limits and edges: a string cut inside a surrogate pair, 64-bit integers, a
        // whole double, non-finite doubles, nesting past the depth limit, 200 elements.
        let long = ["x".repeat(999), "😀".into(), "y".repeat(50)].concat();
        let mut deep = AttrValue::Array(vec![AttrValue::Int(1)]);
        for _ in 0..5 {
            deep = AttrValue::Array(vec![deep]);
        }
        t.track_event(
            "fixed.edges",
            attrs! {
                "long" => long, "imax" => i64::MAX, "imin" => i64::MIN, "u64big" => u64::MAX,
                "whole" => 3.0, "nan" => f64::NAN, "inf" => f64::NEG_INFINITY, "deep" => deep,
                "many" => (0..200).collect::<Vec<i32>>(), "empty" => "",
            },
        );
        let err = SaveError {
            source: std::io::Error::other("disk full"),
        };
        t.track_error(&err, attrs! { "op" => "save" });
        t.track_log(&"m".repeat(1500), LogSeverity::Fatal, attrs! {});
    }

    /// Flushes; the promise resolves when the flush settled.
    #[wasm_bindgen]
    pub fn flush() -> js_sys::Promise {
        let t = client();
        wasm_bindgen_futures::future_to_promise(async move {
            if let Some(t) = t {
                t.flush().await;
            }
            Ok(JsValue::UNDEFINED)
        })
    }

    /// `[queue_size, sent.requests, sent.items, in_flight, enabled, dropped.invalid,
    /// persisted.batches, retries]`.
    #[wasm_bindgen]
    pub fn status() -> Vec<f64> {
        let Some(t) = client() else { return vec![] };
        let s = t.status();
        vec![
            s.queue_size as f64,
            s.sent.requests as f64,
            s.sent.items as f64,
            s.in_flight as f64,
            f64::from(u8::from(s.enabled)),
            s.dropped.invalid as f64,
            s.persisted.batches as f64,
            s.retries as f64,
        ]
    }
}

#[cfg(feature = "one-event")]
#[wasm_bindgen]
pub fn run() {
    use automagik_telemetry::{attrs, Config, Telemetry};
    if let Ok(t) = Telemetry::new(Config::new("size-probe", "1.0.0")) {
        t.track_event("page.view", attrs! { "path" => "/home" });
    }
}

#[cfg(feature = "no-telemetry")]
#[wasm_bindgen]
pub fn run() {
    let v: Vec<u8> = Vec::with_capacity(allocations());
    drop(v);
}

/// The realistic baseline's own work (feature `formats`): what a Leptos or Yew view does
/// anyway, a label formatted from integers and a parse that panics with a message.
#[cfg(feature = "formats")]
#[wasm_bindgen]
pub fn label(counts: &str, pick: usize) -> String {
    let counts: Vec<u32> = counts
        .split(',')
        .map(|c| c.trim().parse().expect("a count"))
        .collect();
    format!("{} items, picked {:?}", counts.len(), counts[pick])
}
