//! Bindings to `crates/automagik-telemetry/js/storage.js` (the Rust crate's file: both front
//! doors share it): stored batches (SPEC §8) listed, written and let go of as the core
//! says. Sending one goes through [`super::transport`].

use crate::prelude::*;

use wasm_bindgen::prelude::*;

use automagik_telemetry_core::persist::Then;

#[wasm_bindgen(module = "/crates/automagik-telemetry/js/storage.js")]
extern "C" {
    #[wasm_bindgen(js_name = storeList)]
    fn store_list(prefix: &str) -> JsValue;
    #[wasm_bindgen(js_name = storePut)]
    fn store_put(key: &str, head: &str, body: &[u8]) -> JsValue;
    #[wasm_bindgen(js_name = storeRelease)]
    fn store_release(key: &str, then: u32);
}

/// A line `<key suffix> <value length>` per key under `prefix`; `None` without storage.
pub fn list(prefix: &str) -> Option<String> {
    store_list(prefix).as_string()
}

/// Stores a batch; `Err` with the storage's complaint when it refused.
pub fn put(key: &str, head: &str, body: &[u8]) -> Result<(), String> {
    match store_put(key, head, body).as_string() {
        Some(e) if !e.is_empty() => Err(e),
        _ => Ok(()),
    }
}

/// Does `then` to the batch under `key`, then lets go of this tab's claim on it.
pub fn release(key: &str, then: Then) {
    store_release(key, then as u32);
}
