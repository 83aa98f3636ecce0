//! Bindings to `js/lifecycle.js`: a browser page's hide and show events and the browser
//! going offline or online (the core's [`PageEvent`] codes), with the listener closure
//! owned here and removed on `Drop`.

use wasm_bindgen::prelude::*;

use automagik_telemetry_core::page::PageEvent;

#[wasm_bindgen(module = "/js/lifecycle.js")]
extern "C" {
    #[wasm_bindgen(js_name = listenPage)]
    fn listen_page(on_event: &JsValue) -> JsValue;
    #[wasm_bindgen(js_name = unlistenPage)]
    fn unlisten_page(handle: &JsValue);
}

/// Page lifecycle listeners; dropping them removes them.
/// `js/lifecycle.js` reports each event as its code (one closure
/// type for all: each type of closure costs its own invoke shim in the wasm and the glue).
pub struct PageListeners {
    handle: JsValue,
    _on_event: Closure<dyn FnMut(u32)>,
}

impl PageListeners {
    /// Listens where there is a page, calling `on_event` when it is hidden or comes
    /// back. `None` elsewhere.
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
