//! AutomagikTelemetry for the web and the edge.
//!
//! [`core`] is plain Rust (configuration, record model, byte-bounded queue, OTLP encoder,
//! gzip, retry policy) and is unit-tested natively; `wasm` is the thin wasm-bindgen layer
//! that binds it to JavaScript runtimes (browsers, workerd, Deno, Node).

pub mod core;

#[cfg(target_arch = "wasm32")]
mod wasm;
