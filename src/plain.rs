//! Bindings to `js/client.js`: the status object built in one crossing (every wasm
//! import costs glue and every property set a crossing; building it field by field
//! took ~1 KB of wasm), flush promises made without a Rust closure for the executor, and
//! a bad option's value as JS prints it (the wasm formats no floats).

use crate::prelude::*;

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

    #[wasm_bindgen(js_name = status)]
    fn status(numbers: &[f64], text: &str) -> JsValue;
}

/// The fields of a status object, in `js/client.js`'s order.
#[derive(Default)]
pub struct Status {
    numbers: Vec<f64>,
    text: String,
}

impl Status {
    /// Appends a number field.
    pub fn num(&mut self, n: f64) -> &mut Self {
        self.numbers.push(n);
        self
    }

    /// Appends a boolean field.
    pub fn flag(&mut self, b: bool) -> &mut Self {
        self.num(f64::from(u8::from(b)))
    }

    /// Appends a string field, or null.
    pub fn text(&mut self, s: Option<&str>) -> &mut Self {
        let len = s.map_or(-1.0, |s| s.encode_utf16().count() as f64);
        self.text.push_str(s.unwrap_or_default());
        self.num(len)
    }

    /// The status object (`{}` when no field was added).
    pub fn build(&self) -> JsValue {
        status(&self.numbers, &self.text)
    }
}
