//! The JS host both front doors run on wasm32: the files in `js/` (fetch with its timeout,
//! a keepalive fetch or `sendBeacon` when the page goes away, the one timer, the page
//! lifecycle, `localStorage` and the claim across tabs, runtime facts, randomness, the
//! console) and their wasm-bindgen bindings. The npm binding and the Rust crate both carry
//! out the core's actions through it, so they behave alike by construction; none of it
//! decides anything (the core does) and none of it throws.
//!
//! `no_std` with `alloc`, as the npm binding is (std's panic and formatting machinery
//! would cost it ~3 KB of gzipped wasm). Off wasm32 it is empty.

#![no_std]
#![cfg(target_arch = "wasm32")]

extern crate alloc;

pub mod facts;
pub mod lifecycle;
pub mod storage;
pub mod timers;
pub mod transport;
