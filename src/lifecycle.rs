//! Bindings to `js/lifecycle.js`: a browser page's hide and show events and the browser
//! going offline or online, with the listener closure owned here and removed on `Drop`.

use wasm_bindgen::prelude::*;

#[wasm_bindgen(module = "/js/lifecycle.js")]
extern "C" {
    #[wasm_bindgen(js_name = listenPage)]
    fn listen_page(on_event: &JsValue) -> JsValue;
    #[wasm_bindgen(js_name = unlistenPage)]
    fn unlisten_page(handle: &JsValue);
}

/// The codes `js/lifecycle.js` reports (one closure type for all: each type of closure
/// costs its own invoke shim in the wasm and the glue).
const HIDDEN: u32 = 0;
const HIDDEN_COMPRESS: u32 = 1;
const SHOWN: u32 = 2;
const ONLINE: u32 = 3;

/// What happened to the page.
pub enum PageEvent {
    /// Hidden, maybe for good; `compress` says whether keepalive requests may be gzipped.
    Hidden {
        /// A keepalive request can carry `Content-Encoding` (a fetch; a beacon cannot).
        compress: bool,
    },
    /// Visible again, or back from the back/forward cache.
    Shown,
    /// The browser says it is online (`true`) or offline.
    Online(bool),
}

/// Page lifecycle listeners; dropping them removes them.
pub struct PageListeners {
    handle: JsValue,
    _on_event: Closure<dyn FnMut(u32)>,
}

impl PageListeners {
    /// Listens where there is a page, calling `on_event` when it is hidden or comes
    /// back. `None` elsewhere.
    pub fn listen(mut on_event: impl FnMut(PageEvent) + 'static) -> Option<PageListeners> {
        let on_event = Closure::<dyn FnMut(u32)>::new(move |code| {
            on_event(match code {
                HIDDEN | HIDDEN_COMPRESS => PageEvent::Hidden {
                    compress: code == HIDDEN_COMPRESS,
                },
                SHOWN => PageEvent::Shown,
                _ => PageEvent::Online(code == ONLINE),
            })
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
