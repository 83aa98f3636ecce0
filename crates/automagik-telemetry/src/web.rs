//! The host on `wasm32`: bindings to this crate's `js/` files, the JS host both front doors
//! run (the npm package loads them by their path from the repo root). They hold the
//! runtime's clock-free facts, randomness, storage and the claim across tabs (SPEC §8),
//! the timer, the page lifecycle and fetch with its timeout, keepalive and `sendBeacon`
//! fallback; none of them throws. One copy of that code serves both front doors, so they
//! behave alike by construction, and the app's wasm carries none of it (measured: the
//! same host written with `web-sys` and `wasm-bindgen-futures` cost 8.7 KB more gzipped
//! wasm than these bindings plus the JS they call).
//!
//! Everything that decides (the session's ids, the reply's reading) is the core's.

use std::cell::Cell;

use wasm_bindgen::prelude::*;

use automagik_telemetry_core::delivery::{Reply, RequestId, Transmit};
use automagik_telemetry_core::enablement::Facts;
use automagik_telemetry_core::page::PageEvent;
use automagik_telemetry_core::persist::Then;
use automagik_telemetry_core::session::{self, Session, OPT_OUT_KEY, RANDOM_BYTES, USER_ID_KEY};

use crate::Config;

#[wasm_bindgen]
extern "C" {
    // Globals, so that they work in a page and in a Worker alike.
    #[wasm_bindgen(js_namespace = performance, js_name = now, catch)]
    fn performance_now() -> Result<f64, JsValue>;
}

// Strings come back as plain JS values (`undefined` for none), read with `as_string`.
#[wasm_bindgen(module = "/js/host.js")]
extern "C" {
    #[wasm_bindgen(js_name = runtimeInfo)]
    fn runtime_info_js() -> JsValue;
    #[wasm_bindgen(js_name = privacySignal)]
    fn privacy_signal() -> bool;
    #[wasm_bindgen(js_name = fillRandom)]
    fn fill_random_js(buf: &mut [u8]) -> JsValue;
    /// Writes a `verbose` debug line to the console.
    pub fn debug(line: &str);
    /// Writes a warning a person must see once to the console.
    pub fn warn(line: &str);
}

#[wasm_bindgen(module = "/js/storage.js")]
extern "C" {
    #[wasm_bindgen(js_name = storageGet)]
    fn storage_get_js(key: &str) -> JsValue;
    #[wasm_bindgen(js_name = storageSet)]
    fn storage_set(key: &str, value: Option<&str>);
    #[wasm_bindgen(js_name = storeList)]
    fn store_list_js(prefix: &str) -> JsValue;
    #[wasm_bindgen(js_name = storePut)]
    fn store_put_js(key: &str, head: &str, body: &[u8]) -> JsValue;
    #[wasm_bindgen(js_name = storeRelease)]
    fn store_release_js(key: &str, then: u32);
}

#[wasm_bindgen(module = "/js/timers.js")]
extern "C" {
    #[wasm_bindgen(js_name = startTimer)]
    fn start_timer(callback: &JsValue, ms: f64, keep_alive: bool) -> JsValue;
    #[wasm_bindgen(js_name = stopTimer)]
    fn stop_timer(handle: &JsValue);
}

#[wasm_bindgen(module = "/js/lifecycle.js")]
extern "C" {
    #[wasm_bindgen(js_name = listenPage)]
    fn listen_page(on_event: &JsValue) -> JsValue;
    #[wasm_bindgen(js_name = unlistenPage)]
    fn unlisten_page(handle: &JsValue);
}

#[wasm_bindgen(module = "/js/transport.js")]
extern "C" {
    #[wasm_bindgen(js_name = send)]
    #[allow(clippy::too_many_arguments)] // one flat crossing, no object to build
    fn send_js(
        done: &JsValue,
        id: u32,
        url: &str,
        body: &[u8],
        content_encoding: &str,
        authorization: &str,
        timeout_ms: u32,
        keepalive: bool,
        stored: bool,
    );
}

/// `js/layout.js`, the constants the other files import (generated from the core's tables
/// by `crates/core/src/js_layout.rs`). wasm-bindgen copies only the modules a
/// `module = ...` attribute names, so this block names it; Rust uses nothing of it, and an
/// import the wasm never calls costs nothing.
#[wasm_bindgen(module = "/js/layout.js")]
extern "C" {
    #[allow(dead_code)]
    #[wasm_bindgen(thread_local_v2, js_name = LogSeverity)]
    static LOG_SEVERITY: JsValue;
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

/// The wall clock in ms.
pub fn now() -> f64 {
    js_sys::Date::now()
}

thread_local! {
    static ANCHOR: Cell<f64> = const { Cell::new(f64::NAN) };
}

/// The time a record is stamped with, as `js/record.js` stamps it: `Date.now()`,
/// refined below the millisecond by `performance.now()` re-anchored whenever the two
/// part by a millisecond or more (it refines, it never drifts).
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

fn runtime_info() -> String {
    runtime_info_js().as_string().unwrap_or_default()
}

/// The running runtime's name (`browser`, `workerd`, `deno`, `node`).
pub fn runtime_name() -> String {
    session::runtime_fields(&runtime_info())[0].into()
}

fn storage_get(key: &str) -> Option<String> {
    storage_get_js(key).as_string()
}

/// A line `<key suffix> <value length>` per stored batch under `prefix`, oldest first;
/// `None` where there is no storage.
pub fn store_list(prefix: &str) -> Option<String> {
    store_list_js(prefix).as_string()
}

/// Stores a batch; `Err` with the storage's complaint when it refused (a full quota).
pub fn store_put(key: &str, head: &str, body: &[u8]) -> Result<(), String> {
    match store_put_js(key, head, body).as_string() {
        Some(e) if !e.is_empty() => Err(e),
        _ => Ok(()),
    }
}

/// Does `then` to the batch under `key`, then lets go of this tab's claim on it.
pub fn store_release(key: &str, then: Then) {
    store_release_js(key, then as u32);
}

/// What the enablement rules consult.
pub fn enablement_facts(config: &Config, configured: Option<bool>) -> Facts {
    let opted_out = storage_get(OPT_OUT_KEY).is_some();
    crate::host_common::facts(config, configured, opted_out, privacy_signal())
}

/// Persists (or clears) the user's opt-out where there is storage.
pub fn persist_opt_out(opted_out: bool) {
    storage_set(OPT_OUT_KEY, opted_out.then_some("1"));
}

/// Starts a session ([`session::start`]) from the host's randomness, the kept user id
/// (kept now if new) and the runtime's facts; and why the randomness had to fall back, if
/// it did.
pub fn start_session(environment: String) -> (Session, Option<String>) {
    let mut random = [0u8; RANDOM_BYTES];
    let fault = fill_random_js(&mut random)
        .as_string()
        .filter(|f| !f.is_empty());
    let s = session::start(
        &random,
        storage_get(USER_ID_KEY),
        &runtime_info(),
        environment,
    );
    if s.new_user_id {
        storage_set(USER_ID_KEY, Some(&s.identity.user_id));
    }
    (s, fault)
}

/// The client's one re-armable timer. As gloo-timers' `Timeout`, its JS callback is a
/// closure owned here and freed on drop; unlike it, one closure serves every arming, and
/// a host whose `setTimeout` throws gets an error back, not a panic.
pub struct Timer {
    /// Of the page listeners' type (its argument unused here): each closure type costs
    /// its own shims in the wasm and the glue.
    callback: Closure<dyn FnMut(u32)>,
    handle: Option<JsValue>,
}

impl Timer {
    /// A disarmed timer that calls `f` each time it fires.
    pub fn new(mut f: impl FnMut() + 'static) -> Timer {
        Timer {
            callback: Closure::new(move |_| f()),
            handle: None,
        }
    }

    /// Fires once after `ms`, replacing any pending firing. `keep_alive` holds a Deno or
    /// Node process open until then. Errs with the host's complaint when it has no timers.
    pub fn arm(&mut self, ms: f64, keep_alive: bool) -> Result<(), String> {
        self.disarm();
        let handle = start_timer(self.callback.as_ref(), ms.max(0.0), keep_alive);
        if handle.is_string() {
            return Err(handle.as_string().unwrap_or_default());
        }
        self.handle = Some(handle);
        Ok(())
    }

    /// Cancels the pending firing.
    pub fn disarm(&mut self) {
        if let Some(h) = self.handle.take() {
            stop_timer(&h);
        }
    }

    /// Forgets the pending firing: it just happened.
    pub fn fired(&mut self) {
        self.handle = None;
    }
}

impl Drop for Timer {
    fn drop(&mut self) {
        self.disarm();
    }
}

/// The report callback's signature: id, status, the wait `Retry-After` asks for (ms),
/// ClickHouse's exception code, rejected items, message ([`Reply::from_report`]).
type Report = dyn FnMut(u32, f64, f64, f64, f64, String);

/// Sends requests with `js/transport.js` (a stored batch once this tab holds it) and hands
/// each reply back once, on a later task: never inside the client.
pub struct Transport {
    done: Closure<Report>,
}

impl Transport {
    /// A transport that calls `on_reply` once per request.
    pub fn new(mut on_reply: impl FnMut(RequestId, Reply) + 'static) -> Transport {
        let done =
            Closure::<Report>::new(move |id, status, retry_after_ms, code, rejected, message| {
                on_reply(
                    id,
                    Reply::from_report(status, retry_after_ms, code, rejected, message),
                );
            });
        Transport { done }
    }

    /// Sends `body` as `t` says; a stored batch (SPEC §8) is claimed first and sent as
    /// stored.
    pub fn send(&self, t: &Transmit, body: &[u8]) {
        send_js(
            self.done.as_ref(),
            t.id,
            &t.url,
            body,
            if t.gzip { "gzip" } else { "" },
            &t.authorization,
            t.timeout_ms,
            t.keepalive,
            t.stored,
        );
    }
}

/// The page's hide and show events and the browser going offline and online
/// (`js/lifecycle.js`, the core's [`PageEvent`] codes); removed on drop.
pub struct PageListeners {
    handle: JsValue,
    _on_event: Closure<dyn FnMut(u32)>,
}

impl PageListeners {
    /// Listens where there is a page; `None` elsewhere (a Worker).
    pub fn listen(mut on_event: impl FnMut(PageEvent) + 'static) -> Option<PageListeners> {
        let on_event = Closure::<dyn FnMut(u32)>::new(move |code| {
            if let Some(event) = PageEvent::from_code(code) {
                on_event(event);
            }
        });
        let handle = listen_page(on_event.as_ref());
        // Built only with a handle: dropping a listener-less value would unlisten nothing.
        (!handle.is_undefined()).then(|| PageListeners {
            handle,
            _on_event: on_event,
        })
    }
}

impl Drop for PageListeners {
    fn drop(&mut self) {
        unlisten_page(&self.handle);
    }
}
