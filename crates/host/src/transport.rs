//! Bindings to `js/transport.js`: carries out the core's [`Transmit`]s with the runtime's
//! fetch (a stored batch once this tab holds it) and turns each report back into a core
//! [`Reply`], once per request, on a later task (never inside the client). The report
//! callback is one closure per client, owned here and freed on `Drop`.

use alloc::string::String;

use wasm_bindgen::prelude::*;

use crate::shell;

use automagik_telemetry_core::delivery::{Reply, RequestId, Transmit};

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

/// The report callback's signature: id, status, the wait `Retry-After` asks for (ms),
/// ClickHouse's exception code, rejected items, message. Absent numbers are negative.
type Report = dyn FnMut(u32, f64, f64, f64, f64, String);

/// Sends requests and hands their replies to a handler.
pub struct Transport {
    done: Closure<Report>,
}

impl Transport {
    /// A transport that calls `on_reply` once per request sent.
    pub fn new(mut on_reply: impl FnMut(RequestId, Reply) + 'static) -> Transport {
        let done = Closure::<Report>::new(
            move |id, status, retry_after_ms, exception_code, rejected, message| {
                on_reply(
                    id,
                    Reply::from_report(status, retry_after_ms, exception_code, rejected, message),
                )
            },
        );
        Transport { done }
    }
}

impl shell::Transport for Transport {
    /// Sends `body` as `t` says; a stored batch (SPEC §8) is claimed first and sent as
    /// stored.
    fn send(&self, t: &Transmit, body: &[u8]) {
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
