//! Bindings to `js/lifecycle.js`: a browser page's hide and show events, with listener
//! closures owned here and removed on `Drop`.

use wasm_bindgen::prelude::*;

#[wasm_bindgen(module = "/js/lifecycle.js")]
extern "C" {
    #[wasm_bindgen(js_name = listenPage)]
    fn listen_page(on_hide: &JsValue, on_show: &JsValue) -> JsValue;
    #[wasm_bindgen(js_name = unlistenPage)]
    fn unlisten_page(handle: &JsValue);
}

/// Page lifecycle listeners; dropping them removes them.
pub struct PageListeners {
    handle: JsValue,
    _on_hide: Closure<dyn FnMut(bool)>,
    _on_show: Closure<dyn FnMut()>,
}

impl PageListeners {
    /// Listens where there is a page: `on_hide(compress)` when it is hidden (`compress`:
    /// keepalive requests may be gzipped), `on_show` when it returns from the
    /// back/forward cache. `None` elsewhere.
    pub fn listen(
        on_hide: impl FnMut(bool) + 'static,
        on_show: impl FnMut() + 'static,
    ) -> Option<PageListeners> {
        let on_hide = Closure::<dyn FnMut(bool)>::new(on_hide);
        let on_show = Closure::<dyn FnMut()>::new(on_show);
        let handle = listen_page(on_hide.as_ref(), on_show.as_ref());
        // Built only with a handle: dropping a listener-less value would unlisten nothing.
        (!handle.is_undefined()).then(|| PageListeners {
            handle,
            _on_hide: on_hide,
            _on_show: on_show,
        })
    }
}

impl Drop for PageListeners {
    fn drop(&mut self) {
        unlisten_page(&self.handle);
    }
}
