//! Bindings to `js/client.js`: the status object parsed from the core's JSON in one
//! crossing, flush promises made without a Rust closure for the executor, and a bad
//! option's value as JS prints it (the wasm formats no floats).

use js_sys::Promise;
use wasm_bindgen::prelude::*;

#[wasm_bindgen(module = "/js/client.js")]
extern "C" {
    /// A pending promise with its resolver: `{ promise, resolve }`.
    pub type Deferred;
    /// A new pending promise.
    pub fn defer() -> Deferred;
    /// The promise.
    #[wasm_bindgen(method, getter)]
    pub fn promise(this: &Deferred) -> Promise;
    /// Resolves the promise (with undefined).
    #[wasm_bindgen(method)]
    pub fn resolve(this: &Deferred);

    /// `config[name]`, or a symbol when reading it threw (no catching import: a throwing
    /// getter reads as a value of no usable type).
    pub fn option(config: &JsValue, name: &str) -> JsValue;
    /// The error a bad configuration throws: `message`, then how JS prints the value
    /// received, `config[name]` (`config` itself when `name` is empty); a `RangeError`
    /// when `range`, else a `TypeError`.
    #[wasm_bindgen(js_name = configError)]
    pub fn config_error(range: bool, message: &str, config: &JsValue, name: &str) -> JsValue;

    /// The status object from the core's JSON.
    pub fn status(json: &str) -> JsValue;
}
