//! AutomagikTelemetry for the web and the edge.
//!
//! [`core`] is plain Rust (configuration, record model, byte-bounded queue, OTLP encoder,
//! gzip, retry policy) and is unit-tested natively; `wasm` is the thin wasm-bindgen layer
//! that binds it to JavaScript runtimes (browsers, workerd, Deno, Node).
//!
//! In wasm the crate is `no_std`: std's panic and formatting machinery (reached through
//! function-pointer tables, so no optimiser can drop it) cost ~3 KB of gzipped wasm.
//! Native builds (tests) keep std.

#![cfg_attr(target_arch = "wasm32", no_std)]

extern crate alloc;

pub mod core;

/// The `alloc` items std's prelude would bring, for the `no_std` build.
mod prelude {
    pub use alloc::boxed::Box;
    pub use alloc::string::String;
    pub use alloc::vec;
    pub use alloc::vec::Vec;
}

#[cfg(target_arch = "wasm32")]
mod wasm;

/// Talc instead of std's dlmalloc: a few KB less wasm and faster on the queue's pattern
/// of many small records freed in batches. Single-threaded wasm only (no atomics).
#[cfg(all(target_arch = "wasm32", not(target_feature = "atomics")))]
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

/// A panic in wasm traps at once: no message is formatted (nothing could show it).
#[cfg(target_arch = "wasm32")]
#[panic_handler]
fn panic(_: &::core::panic::PanicInfo) -> ! {
    ::core::arch::wasm32::unreachable()
}
