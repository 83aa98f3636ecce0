//! The host on `wasm32`: the JS host both front doors run ([`automagik_telemetry_host::Js`]:
//! fetch with its timeout, keepalive fetch or `sendBeacon`, the timer, the page
//! lifecycle, `localStorage` and the claim across tabs, runtime facts), plus the record
//! clock and the number text this front door reads itself. One copy of the host code
//! serves both front doors, so they behave alike by construction, and an app's wasm
//! carries none of it: a Rust copy written with `web-sys` and `wasm-bindgen-futures` cost
//! 9.5 KB more gzipped wasm (6.5 KB more with the JS counted).

use std::cell::Cell;

use wasm_bindgen::prelude::*;

pub use automagik_telemetry_host::facts::{persist_opt_out, runtime_name};
pub use automagik_telemetry_host::Js as Host;

use automagik_telemetry_core::enablement::Facts;
use automagik_telemetry_host::facts::{opted_out, privacy_signal};
use automagik_telemetry_host::shell::Io;

use crate::Config;

#[wasm_bindgen]
extern "C" {
    // A global, so that it works in a page and in a Worker alike.
    #[wasm_bindgen(js_namespace = performance, js_name = now, catch)]
    fn performance_now() -> Result<f64, JsValue>;
}

/// The text JS's `String(v)` prints for `v`: JS's own, so the bytes match the npm
/// package's by construction, and the app's wasm carries no float formatter.
pub fn number_text(v: f64) -> String {
    js_sys::Number::from(v)
        .to_string_with_radix(10)
        .ok()
        .and_then(|s| JsValue::from(s).as_string())
        .unwrap_or_default()
}

/// The wall clock in ms (the shell's).
pub fn now() -> f64 {
    Host::now()
}

thread_local! {
    static ANCHOR: Cell<f64> = const { Cell::new(f64::NAN) };
}

/// The time a record is stamped with, as the npm package's `js/record.js` stamps it:
/// `Date.now()`, refined below the millisecond by `performance.now()` re-anchored whenever
/// the two part by a millisecond or more (it refines, it never drifts).
pub fn record_time() -> f64 {
    let wall = now();
    let Ok(mono) = performance_now() else {
        return wall;
    };
    ANCHOR.with(|anchor| {
        let t = anchor.get() + mono;
        let ahead = t - wall;
        if (0.0..1.0).contains(&ahead) {
            return t;
        }
        anchor.set(wall - mono);
        wall
    })
}

/// What the enablement rules consult.
pub fn enablement_facts(config: &Config, configured: Option<bool>) -> Facts {
    crate::host_common::facts(config, configured, opted_out(), privacy_signal())
}
