//! Bindings to `js/timers.js`: an unref'd one-shot timer and an awaitable sleep.

use js_sys::Promise;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

#[wasm_bindgen(module = "/js/timers.js")]
extern "C" {
    #[wasm_bindgen(js_name = startTimer)]
    fn start_timer(callback: &JsValue, ms: f64) -> JsValue;
    #[wasm_bindgen(js_name = stopTimer)]
    fn stop_timer(handle: &JsValue);
    #[wasm_bindgen(js_name = sleep)]
    fn sleep_promise(ms: f64) -> Promise;
}

/// A pending one-shot timer that does not keep the process alive; dropping it cancels it.
#[derive(Debug)]
pub struct Timer(JsValue);

impl Timer {
    /// Runs `f` once after `ms` milliseconds.
    pub fn start(ms: f64, f: impl FnOnce() + 'static) -> Timer {
        Timer(start_timer(&Closure::once_into_js(f), ms))
    }
}

impl Drop for Timer {
    fn drop(&mut self) {
        stop_timer(&self.0);
    }
}

/// Waits `ms` milliseconds.
pub async fn sleep(ms: f64) {
    let _ = JsFuture::from(sleep_promise(ms)).await;
}
