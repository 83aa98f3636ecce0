//! The host on `wasm32`: the page's (or Worker's) clock, randomness, storage, fetch,
//! beacon, timers and lifecycle, through `js-sys`/`web-sys`. It mirrors the npm
//! package's `js/host.js`, `js/transport.js`, `js/timers.js` and `js/lifecycle.js`:
//! every function degrades (to "unknown", to a counted failure) rather than throwing.
//! Storage is the npm package's own code, this crate's `js/storage.js`, which both front
//! doors load: one copy of the stored batches' keys and format and of the claim across
//! tabs (SPEC §8), so a page restores what either front door stored.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use js_sys::{Function, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{AbortController, Headers, RequestInit, Response};

use automagik_telemetry_core::delivery::{Reply, RequestId, Transmit};
use automagik_telemetry_core::enablement::Facts;
use automagik_telemetry_core::encoder::Identity;
use automagik_telemetry_core::ids::uuid_v4;
use automagik_telemetry_core::page::PageEvent;
use automagik_telemetry_core::persist::Then;
use automagik_telemetry_core::retry::Outcome;

use crate::Config;

#[wasm_bindgen]
extern "C" {
    // Globals, so that they work in a page and in a Worker alike.
    #[wasm_bindgen(js_name = fetch, catch)]
    fn fetch_with(url: &str, init: &RequestInit) -> Result<js_sys::Promise, JsValue>;
    #[wasm_bindgen(js_name = setTimeout, catch)]
    fn set_timeout(f: &Function, ms: f64) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(js_name = clearTimeout, catch)]
    fn clear_timeout(handle: &JsValue) -> Result<(), JsValue>;
    #[wasm_bindgen(js_namespace = performance, js_name = now, catch)]
    fn performance_now() -> Result<f64, JsValue>;
}

// Strings come back as plain JS values (`undefined` for none), read with `as_string`.
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
    fn claimed(key: &str, ttl_ms: u32) -> js_sys::Promise;
}

fn global() -> JsValue {
    js_sys::global().into()
}

fn get(target: &JsValue, key: &str) -> JsValue {
    if !target.is_object() {
        return JsValue::UNDEFINED;
    }
    Reflect::get(target, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
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

/// `name, version, os, hostname` of the runtime, as `js/host.js` reads them.
fn runtime_info() -> [String; 4] {
    let g = global();
    let host = get(&get(&g, "location"), "hostname")
        .as_string()
        .unwrap_or_default();
    let s = |v: JsValue| v.as_string().unwrap_or_default();
    let deno = get(&g, "Deno");
    if deno.is_object() {
        let os = s(get(&get(&deno, "build"), "os"));
        return [
            "deno".into(),
            s(get(&get(&deno, "version"), "deno")),
            os,
            host,
        ];
    }
    let navigator = get(&g, "navigator");
    if get(&navigator, "userAgent").as_string().as_deref() == Some("Cloudflare-Workers") {
        return [
            "workerd".into(),
            String::new(),
            String::new(),
            String::new(),
        ];
    }
    let process = get(&g, "process");
    let node = get(&get(&process, "versions"), "node");
    if node.is_string() {
        return [
            "node".into(),
            s(node),
            s(get(&process, "platform")),
            String::new(),
        ];
    }
    if get(&g, "document").is_object() || navigator.is_object() {
        return ["browser".into(), String::new(), String::new(), host];
    }
    [
        "unknown".into(),
        String::new(),
        String::new(),
        String::new(),
    ]
}

/// The running runtime's name (`browser`, `workerd`, `deno`, `node`).
pub fn runtime_name() -> String {
    let [name, ..] = runtime_info();
    name
}

/// A `verbose` debug line on the console.
pub fn debug(line: &str) {
    web_sys::console::log_1(&JsValue::from_str(
        &["[automagik-telemetry] ", line].concat(),
    ));
}

/// A warning a person must see once.
pub fn warn(line: &str) {
    web_sys::console::warn_1(&JsValue::from_str(
        &["[automagik-telemetry] ", line].concat(),
    ));
}

const OPT_OUT_KEY: &str = "automagik_telemetry_opt_out";
const USER_ID_KEY: &str = "automagik_telemetry_user_id";

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

/// Claims the stored batch under `key` for this tab, exclusively across the origin's tabs
/// (held until [`store_release`]), and reads it: its URL, body and whether the body is
/// gzipped. `None` when another tab holds it or it is gone.
async fn claim(key: &str, ttl_ms: u32) -> Option<(String, Vec<u8>, bool)> {
    let batch: js_sys::Array = wasm_bindgen_futures::JsFuture::from(claimed(key, ttl_ms))
        .await
        .ok()?
        .dyn_into()
        .ok()?;
    let url = batch.get(0).as_string()?;
    let body = batch.get(1).dyn_into::<Uint8Array>().ok()?.to_vec();
    Some((
        url,
        body,
        batch.get(2).as_string().as_deref() == Some("gzip"),
    ))
}

fn privacy_signal() -> bool {
    let g = global();
    let n = get(&g, "navigator");
    let dnt = |v: JsValue| matches!(v.as_string().as_deref(), Some("1" | "yes"));
    get(&n, "globalPrivacyControl").as_bool() == Some(true)
        || dnt(get(&n, "doNotTrack"))
        || get(&g, "doNotTrack").as_string().as_deref() == Some("1")
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

/// Fills `buf` as `js/host.js` does: the entry's random source (the test hook
/// `globalThis[Symbol.for('automagik-telemetry.randomFill')]`), else WebCrypto, else
/// `Math.random`. Returns why it fell back, if it did.
fn fill_random(buf: &mut [u8]) -> Option<String> {
    let g = global();
    let array = Uint8Array::new_with_length(buf.len() as u32);
    let hook = Reflect::get(
        &g,
        &js_sys::Symbol::for_("automagik-telemetry.randomFill").into(),
    )
    .ok()
    .and_then(|f| f.dyn_into::<Function>().ok());
    // Copied element by element: `copy_to` asserts equal lengths (a panic path).
    let copy = |buf: &mut [u8]| {
        for (d, s) in buf.iter_mut().zip(array.to_vec()) {
            *d = s;
        }
    };
    if let Some(fill) = hook {
        if fill.call1(&JsValue::UNDEFINED, &array).is_ok() {
            copy(buf);
            return None;
        }
    }
    let mut why = String::from("no WebCrypto");
    let crypto = get(&g, "crypto");
    if let Ok(f) = get(&crypto, "getRandomValues").dyn_into::<Function>() {
        match f.call1(&crypto, &array) {
            Ok(_) => {
                copy(buf);
                return None;
            }
            Err(e) => why = ["crypto.getRandomValues failed: ", &describe(&e)].concat(),
        }
    }
    for b in buf.iter_mut() {
        *b = (js_sys::Math::random() * 256.0) as u8;
    }
    Some(why + ": ids come from Math.random")
}

fn describe(e: &JsValue) -> String {
    let message = get(e, "message");
    message
        .as_string()
        .or_else(|| e.as_string())
        .unwrap_or_else(|| "unknown error".into())
}

/// Starts a session: the persisted user id (or a new one, persisted), a fresh session
/// id, the runtime's facts and a seed, from 48 random bytes as `src/host.rs` draws them.
pub fn start_session(environment: String) -> (u64, Identity, Option<String>) {
    let mut random = [0u8; 48];
    let fault = fill_random(&mut random);
    // Without slicing: each 16-byte part in turn (user, session, seed).
    let mut bytes = random.into_iter();
    let mut part = || {
        let mut b = [0u8; 16];
        for d in b.iter_mut() {
            *d = bytes.next().unwrap_or(0);
        }
        b
    };
    let [user, session, seed] = [part(), part(), part()];
    let user_id = storage_get(USER_ID_KEY).unwrap_or_else(|| {
        let id = uuid_v4(user);
        storage_set(USER_ID_KEY, Some(&id));
        id
    });
    let [name, version, os, host] = runtime_info();
    let identity = Identity {
        user_id,
        session_id: uuid_v4(session),
        runtime_name: name,
        runtime_version: version,
        os_type: os,
        hostname: host,
        environment,
    };
    let mut low = [0u8; 8];
    for (d, s) in low.iter_mut().zip(seed) {
        *d = s;
    }
    (u64::from_le_bytes(low), identity, fault)
}

/// The client's one re-armable timer; its closure is made once and freed on drop.
pub struct Timer {
    callback: Closure<dyn FnMut()>,
    handle: Option<JsValue>,
}

impl Timer {
    /// A disarmed timer that calls `f` each time it fires.
    pub fn new(f: impl FnMut() + 'static) -> Timer {
        Timer {
            callback: Closure::new(f),
            handle: None,
        }
    }

    /// Fires once after `ms`, replacing any pending firing.
    pub fn arm(&mut self, ms: f64) -> Result<(), String> {
        self.disarm();
        match set_timeout(self.callback.as_ref().unchecked_ref(), ms.max(0.0)) {
            Ok(h) => {
                self.handle = Some(h);
                Ok(())
            }
            Err(e) => Err(["setTimeout failed: ", &describe(&e)].concat()),
        }
    }

    /// Cancels the pending firing.
    pub fn disarm(&mut self) {
        if let Some(h) = self.handle.take() {
            let _ = clear_timeout(&h);
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

type OnReply = Rc<RefCell<dyn FnMut(RequestId, Reply)>>;

/// Sends requests with the global `fetch` (a timeout through `AbortController`;
/// `keepalive` while the page goes away, `sendBeacon` where there is no fetch) and hands
/// each reply back once, on a later task: never inside the client.
pub struct Transport {
    on_reply: OnReply,
}

const NO_STATUS_TIMEOUT: Outcome = Outcome::Timeout;

impl Transport {
    /// A transport that calls `on_reply` once per request.
    pub fn new(on_reply: impl FnMut(RequestId, Reply) + 'static) -> Transport {
        Transport {
            on_reply: Rc::new(RefCell::new(on_reply)),
        }
    }

    /// Sends `body` as `t` says; a stored batch (SPEC §8) is claimed first and sent as
    /// stored.
    pub fn send(&self, t: &Transmit, mut body: Vec<u8>) {
        let on_reply = Rc::clone(&self.on_reply);
        let mut t = t.clone();
        wasm_bindgen_futures::spawn_local(async move {
            let reported = Rc::new(Cell::new(false));
            let report = {
                let reported = Rc::clone(&reported);
                move |reply: Reply| {
                    if !reported.replace(true) {
                        if let Ok(mut f) = on_reply.try_borrow_mut() {
                            f(t.id, reply);
                        }
                    }
                }
            };
            let report = Rc::new(report);
            if t.stored {
                // As js/transport.js: the claim outlives the request's timeout by 5 s.
                let ttl = t.timeout_ms.saturating_add(5000);
                let Some((url, stored, gzip)) = claim(&t.url, ttl).await else {
                    return report(reply(Outcome::Refused, 0, String::new()));
                };
                (t.url, body, t.gzip) = (url, stored, gzip);
            }
            attempt(&t, body, Rc::clone(&report)).await;
        });
    }
}

fn reply(outcome: Outcome, rejected: u64, message: String) -> Reply {
    Reply {
        outcome,
        rejected,
        message,
        exception_code: None,
    }
}

async fn attempt(t: &Transmit, body: Vec<u8>, report: Rc<impl Fn(Reply) + 'static>) {
    let g = global();
    if t.keepalive && !get(&g, "fetch").is_function() {
        let sent = !t.gzip && t.authorization.is_empty() && beacon(&t.url, &body);
        let outcome = if sent {
            Outcome::Status {
                status: 202,
                retry_after_ms: None,
            }
        } else {
            Outcome::Refused
        };
        report(reply(outcome, 0, String::new()));
        return;
    }
    let init = RequestInit::new();
    init.set_method("POST");
    if let Ok(headers) = Headers::new() {
        let _ = headers.set("Content-Type", "application/json");
        if t.gzip {
            let _ = headers.set("Content-Encoding", "gzip");
        }
        if !t.authorization.is_empty() {
            let _ = headers.set("Authorization", &t.authorization);
        }
        init.set_headers(&headers);
    }
    let payload = Uint8Array::from(&body[..]);
    init.set_body(&payload);
    if t.keepalive {
        let _ = Reflect::set(&init, &"keepalive".into(), &JsValue::TRUE);
    }
    let abort = AbortController::new().ok();
    if let Some(a) = &abort {
        init.set_signal(Some(&a.signal()));
    }
    // The timeout reports at once, as js/transport.js does, and aborts the request.
    let timer = {
        let report = Rc::clone(&report);
        let abort = abort.clone();
        Closure::once(move || {
            if let Some(a) = abort {
                a.abort();
            }
            report(reply(NO_STATUS_TIMEOUT, 0, String::new()));
        })
    };
    let handle = set_timeout(timer.as_ref().unchecked_ref(), f64::from(t.timeout_ms)).ok();
    let outcome = fetch_once(&t.url, &init).await;
    if let Some(h) = handle {
        let _ = clear_timeout(&h);
    }
    drop(timer);
    report(outcome);
}

async fn fetch_once(url: &str, init: &RequestInit) -> Reply {
    // While the browser says it is offline, a failure spends no retry (SPEC §8).
    let network = |e: JsValue| {
        let offline = get(&get(&global(), "navigator"), "onLine").as_bool() == Some(false);
        let outcome = if offline {
            Outcome::Offline
        } else {
            Outcome::Network(describe(&e))
        };
        reply(outcome, 0, String::new())
    };
    let promise = match fetch_with(url, init) {
        Ok(p) => p,
        Err(e) => return network(e),
    };
    let res: Response = match wasm_bindgen_futures::JsFuture::from(promise).await {
        Ok(r) => r.unchecked_into(),
        Err(e) => return network(e),
    };
    let text = match res.text() {
        Ok(p) => wasm_bindgen_futures::JsFuture::from(p)
            .await
            .ok()
            .and_then(|v| v.as_string())
            .unwrap_or_default(),
        Err(_) => String::new(),
    };
    let headers = res.headers();
    let header = |name: &str| headers.get(name).ok().flatten();
    let (rejected, message) = response_details(res.ok(), &text);
    Reply {
        outcome: Outcome::Status {
            status: res.status(),
            retry_after_ms: header("retry-after").and_then(|v| retry_after_ms(&v)),
        },
        rejected,
        message,
        exception_code: header("x-clickhouse-exception-code").and_then(|v| whole(&v)),
    }
}

/// A header's value as a non-negative integer.
fn whole(v: &str) -> Option<u32> {
    let v = v.trim();
    (!v.is_empty() && v.bytes().all(|b| b.is_ascii_digit())).then(|| v.parse().unwrap_or(u32::MAX))
}

/// The wait a `Retry-After` value asks for, in ms: delay-seconds or an HTTP date.
fn retry_after_ms(v: &str) -> Option<f64> {
    if let Some(s) = whole(v) {
        return Some(f64::from(s) * 1000.0);
    }
    let v = v.trim();
    if !v.ends_with(" GMT") || v.len() != 29 {
        return None;
    }
    let at = js_sys::Date::parse(v);
    (!at.is_nan()).then(|| (at - now()).max(0.0))
}

/// OTLP's `partialSuccess` of a 2xx, or the start of an error's body.
fn response_details(ok: bool, text: &str) -> (u64, String) {
    let cut = |s: &str| s.chars().take(300).collect::<String>();
    if !ok {
        return (0, cut(text));
    }
    let Ok(parsed) = js_sys::JSON::parse(text) else {
        return (0, String::new());
    };
    let p = get(&parsed, "partialSuccess");
    if !p.is_object() {
        return (0, String::new());
    }
    let n = ["rejectedSpans", "rejectedDataPoints", "rejectedLogRecords"]
        .iter()
        .map(|k| get(&p, k))
        .find(|v| !v.is_undefined() && !v.is_null())
        .map(|v| js_sys::Number::from(v).value_of())
        .unwrap_or(0.0);
    let message = get(&p, "errorMessage").as_string().unwrap_or_default();
    (
        if n.is_finite() && n > 0.0 {
            n as u64
        } else {
            0
        },
        cut(&message),
    )
}

fn beacon(url: &str, body: &[u8]) -> bool {
    let Some(window) = web_sys::window() else {
        return false;
    };
    let parts = js_sys::Array::of1(&Uint8Array::from(body));
    let bag = web_sys::BlobPropertyBag::new();
    bag.set_type("application/json");
    let Ok(blob) = web_sys::Blob::new_with_u8_array_sequence_and_options(&parts, &bag) else {
        return false;
    };
    window
        .navigator()
        .send_beacon_with_opt_blob(url, Some(&blob))
        .unwrap_or(false)
}

/// The page's hide and show events and the browser going offline and online, as
/// `js/lifecycle.js` listens for them; removed on drop.
pub struct PageListeners {
    window: web_sys::Window,
    callback: Closure<dyn FnMut(web_sys::Event)>,
}

const EVENTS: [&str; 5] = [
    "visibilitychange",
    "pagehide",
    "pageshow",
    "online",
    "offline",
];

impl PageListeners {
    /// Listens where there is a page; `None` elsewhere (a Worker).
    pub fn listen(mut on_event: impl FnMut(PageEvent) + 'static) -> Option<PageListeners> {
        let window = web_sys::window()?;
        let document = window.document()?;
        let compress = get(&global(), "fetch").is_function();
        let callback = Closure::<dyn FnMut(web_sys::Event)>::new(move |e: web_sys::Event| {
            let event = match e.type_().as_str() {
                // Read as a string: web-sys's VisibilityState conversion brings a panic
                // path (and its message) for values it does not know.
                "visibilitychange"
                    if get(&document, "visibilityState").as_string().as_deref()
                        == Some("hidden") =>
                {
                    PageEvent::Hidden { compress }
                }
                "pagehide" => PageEvent::Hidden { compress },
                // Visible again: stored batches wait while the page is hidden.
                "visibilitychange" => PageEvent::Shown,
                "pageshow" if get(&e, "persisted").as_bool() == Some(true) => PageEvent::Shown,
                "online" => PageEvent::Online(true),
                "offline" => PageEvent::Online(false),
                _ => return,
            };
            on_event(event);
        });
        for ty in EVENTS {
            let _ = window.add_event_listener_with_callback_and_bool(
                ty,
                callback.as_ref().unchecked_ref(),
                true,
            );
        }
        Some(PageListeners { window, callback })
    }
}

impl Drop for PageListeners {
    fn drop(&mut self) {
        for ty in EVENTS {
            let _ = self.window.remove_event_listener_with_callback_and_bool(
                ty,
                self.callback.as_ref().unchecked_ref(),
                true,
            );
        }
    }
}
