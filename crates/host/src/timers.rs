//! Bindings to `js/timers.js`: the client's one timer, re-armed for whatever the delivery
//! core wants to be woken at next.
//!
//! Like gloo-timers' `Timeout`, the JS callback is a closure owned by a Rust value and
//! freed on `Drop`. gloo-timers itself does not fit: its handle keeps a Node process
//! alive (no `unref`), and it throws when the host's `setTimeout` does. Unlike it, one
//! closure serves every arming, so re-arming allocates nothing and nothing leaks.

use alloc::string::String;

use wasm_bindgen::prelude::*;

use crate::shell::{self, Timer as _};

#[wasm_bindgen(module = "/js/timers.js")]
extern "C" {
    #[wasm_bindgen(js_name = startTimer)]
    fn start_timer(callback: &JsValue, ms: f64, keep_alive: bool) -> JsValue;
    #[wasm_bindgen(js_name = stopTimer)]
    fn stop_timer(handle: &JsValue);
}

/// A re-armable one-shot timer.
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
}

impl shell::Timer for Timer {
    /// Fires once after `ms` (replacing any pending firing). `keep_alive` holds a Node or
    /// Deno process open until then. Errs with the host's complaint when it has no timers.
    fn arm(&mut self, ms: f64, keep_alive: bool) -> Result<(), String> {
        self.disarm();
        let handle = start_timer(self.callback.as_ref(), ms.max(0.0), keep_alive);
        if handle.is_string() {
            return Err(handle.as_string().unwrap_or_default());
        }
        self.handle = Some(handle);
        Ok(())
    }

    /// Cancels the pending firing, if any.
    fn disarm(&mut self) {
        if let Some(h) = self.handle.take() {
            stop_timer(&h);
        }
    }

    /// Forgets the pending firing: it has just happened.
    fn fired(&mut self) {
        self.handle = None;
    }
}

impl Drop for Timer {
    fn drop(&mut self) {
        self.disarm();
    }
}
