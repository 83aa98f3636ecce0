//! The npm package's front door: the wasm-bindgen `AutomagikTelemetry` class over
//! [`automagik_telemetry_core`], with the JS snippets it needs (`js/`), the global
//! allocator and the panic handler. It carries out what the core's delivery state
//! machine decides and makes no decision of its own.
//!
//! The crate is `no_std`: std's panic and formatting machinery (reached through
//! function-pointer tables, so no optimiser can drop it) cost ~3 KB of gzipped wasm.
//! Each module wraps one small JS snippet from `js/` (what wasm cannot reach on its own)
//! or, for [`client`], exposes the public `AutomagikTelemetry` class. Off wasm32 it is
//! empty: the core's tests run natively in their own crate.

#![cfg_attr(target_arch = "wasm32", no_std)]
#![cfg(target_arch = "wasm32")]

extern crate alloc;

/// The `alloc` items std's prelude would bring.
mod prelude {
    pub use alloc::boxed::Box;
    pub use alloc::string::String;
    pub use alloc::vec;
    pub use alloc::vec::Vec;
}

mod boundary;
mod client;
mod host;
mod plain;

/// `js/layout.js`, the constants `js/record.js` imports (generated from the core's tables
/// by `crates/core/src/js_layout.rs`). wasm-bindgen copies only the modules a
/// `module = ...` attribute names, so this block names it; Rust uses nothing of it, and an
/// import the wasm never calls costs nothing.
#[wasm_bindgen::prelude::wasm_bindgen(module = "/js/layout.js")]
extern "C" {
    #[allow(dead_code)]
    #[wasm_bindgen(thread_local_v2, js_name = LogSeverity)]
    static LOG_SEVERITY: wasm_bindgen::JsValue;
}

/// lol_alloc's free list: the queue keeps records in a few large byte rings, so few
/// blocks are ever live and a first-fit list stays short; it ships 0.5 KB (gzipped) less
/// than talc, which the build used before at the same speed (`make bench`). Single-threaded
/// wasm only (no atomics).
#[cfg(not(target_feature = "atomics"))]
#[global_allocator]
// SAFETY: wasm32 without atomics has one thread.
static ALLOCATOR: lol_alloc::AssumeSingleThreaded<lol_alloc::FreeListAllocator> =
    unsafe { lol_alloc::AssumeSingleThreaded::new(lol_alloc::FreeListAllocator::new()) };

/// A panic in wasm traps at once: no message is formatted (nothing could show it).
#[panic_handler]
fn panic(_: &::core::panic::PanicInfo) -> ! {
    ::core::arch::wasm32::unreachable()
}
