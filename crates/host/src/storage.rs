//! Bindings to `js/storage.js`: stored batches (SPEC §8) listed, written and let go of as
//! the core says (sending one goes through [`crate::transport`], which claims it first),
//! and the values kept under keys of their own (the anonymous user id, the opt-out).

use alloc::string::String;

use wasm_bindgen::prelude::*;

use automagik_telemetry_core::persist::Then;

// Strings come back as plain JS values (`undefined` for none), read with `as_string`: a
// `String` return makes wasm-bindgen write a wrapper per import that passes it through a
// return slot.
#[wasm_bindgen(module = "/js/storage.js")]
extern "C" {
    #[wasm_bindgen(js_name = storageGet)]
    fn storage_get(key: &str) -> JsValue;
    #[wasm_bindgen(js_name = storageSet)]
    fn storage_set(key: &str, value: Option<&str>);
    #[wasm_bindgen(js_name = storeList)]
    fn store_list(prefix: &str) -> JsValue;
    #[wasm_bindgen(js_name = storePut)]
    fn store_put(key: &str, head: &str, body: &[u8]) -> JsValue;
    #[wasm_bindgen(js_name = storeRelease)]
    fn store_release(key: &str, then: u32);
}

/// The value kept under `key`; `None` when there is none or no storage.
pub fn get(key: &str) -> Option<String> {
    storage_get(key).as_string()
}

/// Keeps `value` under `key` (`None` removes it), where there is storage.
pub fn set(key: &str, value: Option<&str>) {
    storage_set(key, value);
}

/// A line `<key suffix> <value length>` per stored batch under `prefix`, oldest first;
/// `None` where there is no storage.
pub fn list(prefix: &str) -> Option<String> {
    store_list(prefix).as_string()
}

/// Stores a batch; `Err` with the storage's complaint when it refused (a full quota).
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
