//! How a front door of AutomagikTelemetry carries out the core's actions: the I/O shell
//! around the delivery core ([`shell`], generic over its host), and on wasm32 the JS host
//! both front doors run ([`Js`]): the files in `js/` (fetch with its timeout, a keepalive
//! fetch or `sendBeacon` when the page goes away, the one timer, the page lifecycle,
//! `localStorage` and the claim across tabs, runtime facts, randomness, the console) and
//! their wasm-bindgen bindings. The npm binding and the Rust crate both run them, so they
//! behave alike by construction; none of it decides anything (the core does) and none of
//! it throws.
//!
//! `no_std` with `alloc`, as the npm binding is (std's panic and formatting machinery
//! would cost it ~3 KB of gzipped wasm).

#![no_std]

extern crate alloc;

pub mod shell;

#[cfg(target_arch = "wasm32")]
pub mod facts;
#[cfg(target_arch = "wasm32")]
pub mod lifecycle;
#[cfg(target_arch = "wasm32")]
pub mod storage;
#[cfg(target_arch = "wasm32")]
pub mod timers;
#[cfg(target_arch = "wasm32")]
pub mod transport;
#[cfg(target_arch = "wasm32")]
mod web;

#[cfg(target_arch = "wasm32")]
pub use web::Js;
