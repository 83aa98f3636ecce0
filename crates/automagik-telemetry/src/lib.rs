//! Privacy-first product telemetry for Rust front ends compiled to
//! `wasm32-unknown-unknown` (Leptos, Yew, Dioxus, any wasm32 app): events, metrics, logs
//! and errors to an OpenTelemetry collector over OTLP/HTTP JSON.
//!
//! It runs the same JS-free core (`automagik-telemetry-core`) as the npm package
//! `@automagik/telemetry`: the same record model, queue, encoders, personal-data
//! scrubbing, delivery lanes, retries, unload path and persistence, and the same bytes on
//! the wire. It also runs the npm package's shell and JS host (`automagik-telemetry-host`):
//! fetch with a timeout, a keepalive fetch or `sendBeacon` when the page goes away, the
//! page lifecycle and online/offline events, and `localStorage`, where in a browser page
//! unsent batches wait for the next page load under the npm package's keys and format,
//! each sent by one tab, so either front door restores the other's (the anonymous user id
//! and the opt-out are kept there too). The host's files reach the app as wasm-bindgen
//! snippets, which trunk, cargo-leptos and wasm-pack ship beside the glue.
//! No tokio, no threads, no `std::time`.
//!
//! The crate brings no global allocator and no panic handler: the app owns those.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! # let err = std::io::Error::other("disk full");
//! use automagik_telemetry::{attrs, Config, LogSeverity, MetricType, Telemetry};
//!
//! let t = Telemetry::new(Config::new("my-app", "1.0.0").endpoint("https://collector.example"))?;
//! t.track_event("page.view", attrs! { "path" => "/home", "ms" => 12.5, "ok" => true });
//! t.track_metric("render_ms", 12.5, MetricType::Histogram, attrs! {});
//! t.track_log("settings opened", LogSeverity::Info, attrs! {});
//! t.track_error(&err, attrs! { "op" => "save" });   // any std::error::Error
//! t.flush().await;                                    // a future without a Send bound
//! let s = t.status();                                 // the same fields as getStatus()
//! # let _ = s;
//! # Ok(())
//! # }
//! ```
//!
//! Off `wasm32` the crate builds too (for tests and server-side rendering): the client
//! there has no host, so it queues and encodes but sends nothing.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod client;
mod config;
#[cfg_attr(target_arch = "wasm32", path = "web.rs")]
#[cfg_attr(not(target_arch = "wasm32"), path = "native.rs")]
mod host;
mod host_common;
#[cfg(feature = "tracing")]
mod layer;
mod value;

pub use automagik_telemetry_core::record::AttrValue;
pub use automagik_telemetry_core::status::{Coerced, Dropped, PerSignal, Persisted, Sent, Status};
pub use client::{Flush, Telemetry};
pub use config::{Config, ConfigError};
#[cfg(feature = "tracing")]
pub use layer::TracingLayer;
pub use value::{Attributes, LogSeverity, MetricType};

/// The items' attributes, typed: `attrs! { "key" => value, ... }`.
///
/// A value is anything with an [`AttrValue`] conversion: strings, integers (`i64`
/// and narrower; `u64` beyond `i64::MAX` travels as a string, as JS sends a `BigInt`
/// that large), doubles, `bool`, arrays and `Vec`s of those, or an [`AttrValue`].
///
/// ```
/// use automagik_telemetry::{attrs, AttrValue};
///
/// let a = attrs! { "path" => "/home", "status" => 200, "ms" => 12.5, "ok" => true,
///                  "tags" => ["a", "b"] };
/// assert_eq!(a[1], ("status".to_string(), AttrValue::Int(200)));
/// assert!(attrs! {}.is_empty());
/// ```
#[macro_export]
macro_rules! attrs {
    () => { $crate::Attributes::new() };
    ($($key:expr => $value:expr),+ $(,)?) => {
        ::std::vec![$((::std::string::String::from($key), $crate::AttrValue::from($value))),+]
    };
}
