//! Bindings to `js/transport.js`: one POST with the runtime's fetch and a timeout,
//! read back into the core's [`Outcome`].

use js_sys::{Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use crate::core::retry::Outcome;

#[wasm_bindgen(module = "/js/transport.js")]
extern "C" {
    #[wasm_bindgen(js_name = send)]
    fn send_js(
        url: &str,
        body: &[u8],
        content_encoding: &str,
        authorization: &str,
        timeout_ms: u32,
    ) -> Promise;
}

/// What one attempt came to.
#[derive(Debug)]
pub struct Response {
    /// Status, timeout or network error.
    pub outcome: Outcome,
    /// Items refused in a 2xx partial success.
    pub rejected: u64,
    /// The server's explanation (error body or partial-success message), cut short.
    pub message: String,
    /// ClickHouse's `X-ClickHouse-Exception-Code`, when present.
    pub exception_code: Option<u32>,
}

fn field(v: &JsValue, name: &str) -> JsValue {
    Reflect::get(v, &JsValue::from_str(name)).unwrap_or(JsValue::UNDEFINED)
}

/// A request's headers beyond `Content-Type`.
#[derive(Debug)]
pub struct Headers<'a> {
    /// `gzip` when the body is compressed, else empty.
    pub content_encoding: &'a str,
    /// An `Authorization` value, or empty.
    pub authorization: &'a str,
}

/// POSTs `body` to `url`, giving up after `timeout_ms`.
pub async fn post(url: &str, body: &[u8], headers: &Headers<'_>, timeout_ms: u32) -> Response {
    let promise = send_js(
        url,
        body,
        headers.content_encoding,
        headers.authorization,
        timeout_ms,
    );
    let v = JsFuture::from(promise).await.unwrap_or(JsValue::UNDEFINED);
    let text = |name| field(&v, name).as_string();
    let outcome = if let Some(status) = field(&v, "status").as_f64() {
        Outcome::Status {
            status: status as u16,
            retry_after: text("retryAfter"),
        }
    } else if field(&v, "timeout").is_truthy() {
        Outcome::Timeout
    } else {
        Outcome::Network(text("error").unwrap_or_else(|| "fetch failed".into()))
    };
    Response {
        outcome,
        rejected: field(&v, "rejected").as_f64().unwrap_or(0.0) as u64,
        message: text("message").unwrap_or_default(),
        exception_code: text("exceptionCode").and_then(|c| c.trim().parse().ok()),
    }
}
