//! The runtime-independent core of AutomagikTelemetry: configuration, the record model,
//! the byte-bounded queue, the OTLP and ClickHouse encoders, gzip, and delivery as a
//! sans-IO state machine. Nothing here knows about JavaScript: the front doors (the npm
//! binding, the Rust crate) carry out what [`delivery::Delivery`] decides.
//!
//! `no_std` with `alloc`, so that it builds for any wasm32 app without std's panic and
//! formatting machinery; tests use std.

#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

extern crate alloc;

/// The `alloc` items std's prelude would bring.
mod prelude {
    pub use alloc::string::String;
    pub use alloc::vec::Vec;
}

#[cfg(feature = "clickhouse")]
pub mod clickhouse;
pub mod config;
pub mod deflate;
pub mod delivery;
#[cfg(test)]
mod delivery_props;
pub mod enablement;
pub mod encoder;
pub mod float;
pub mod gzip;
pub mod ids;
pub mod json;
pub mod model;
pub mod otlp;
pub mod page;
pub mod persist;
pub mod pipeline;
pub mod privacy;
pub mod queue;
pub mod record;
pub mod retry;
pub mod scrub;
pub mod session;
pub mod severity;
pub mod stats;
pub mod status;

/// Writes the JS files of constants from the tables above (tests only: see the module).
#[cfg(test)]
mod js_layout;
