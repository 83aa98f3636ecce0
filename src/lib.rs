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

/// lol_alloc's free list: the queue keeps records in a few large byte rings, so few
/// blocks are ever live and a first-fit list stays short; it ships 0.5 KB (gzipped) less
/// than talc, which the build used before at the same speed (`make bench`). Single-threaded
/// wasm only (no atomics).
#[cfg(all(target_arch = "wasm32", not(target_feature = "atomics")))]
#[global_allocator]
// SAFETY: wasm32 without atomics has one thread.
static ALLOCATOR: lol_alloc::AssumeSingleThreaded<lol_alloc::FreeListAllocator> =
    unsafe { lol_alloc::AssumeSingleThreaded::new(lol_alloc::FreeListAllocator::new()) };

/// A panic in wasm traps at once: no message is formatted (nothing could show it).
#[cfg(target_arch = "wasm32")]
#[panic_handler]
fn panic(_: &::core::panic::PanicInfo) -> ! {
    ::core::arch::wasm32::unreachable()
}
