//! AutomagikTelemetry for the web and the edge.
//!
//! [`core`] is plain Rust (configuration, record model, byte-bounded queue, OTLP encoder,
//! gzip, retry policy) and is unit-tested natively; `wasm` is the thin wasm-bindgen layer
//! that binds it to JavaScript runtimes (browsers, workerd, Deno, Node).

pub mod core;

#[cfg(target_arch = "wasm32")]
mod wasm;

/// Talc instead of std's dlmalloc: a few KB less wasm and faster on the queue's pattern
/// of many small records freed in batches. Single-threaded wasm only (no atomics).
#[cfg(all(target_arch = "wasm32", not(target_feature = "atomics")))]
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();
