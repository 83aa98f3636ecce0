//! The thin wasm-bindgen layer: binds the core to JavaScript runtimes. Each module wraps
//! one small JS snippet from `js/` (what wasm cannot reach on its own) or, for
//! [`client`], exposes the public `AutomagikTelemetry` class.

mod boundary;
mod client;
mod host;
mod lifecycle;
mod plain;
mod timers;
mod transport;
