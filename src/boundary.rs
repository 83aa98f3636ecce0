//! The record boundary: `js/record.js` lays each tracking call's arguments out in a
//! scratch buffer in linear memory, which the core then copies into its queue. One
//! crossing per call and no JS object walk on the Rust side.

use crate::prelude::*;

use ::core::sync::atomic::{AtomicUsize, Ordering};

use wasm_bindgen::prelude::*;

/// Room for one record body; `js/record.js` stops adding attributes when it is full.
const SCRATCH_BYTES: usize = 64 * 1024;

#[wasm_bindgen(module = "/js/record.js")]
extern "C" {
    #[wasm_bindgen(js_name = bindScratch)]
    fn bind_scratch(memory: &JsValue, ptr: u32, len: u32);
    #[wasm_bindgen(js_name = writeItem)]
    fn write_item(kind: u8, a: &JsValue, b: &JsValue, value: &JsValue) -> u32;
    /// The attributes of a typical item, for warm-up runs (the writer's own too).
    #[wasm_bindgen(js_name = sampleAttributes)]
    pub fn sample_attributes() -> JsValue;
}

/// Address of the scratch buffer, shared by all clients: JS is single-threaded and each
/// body is consumed before the tracking call returns.
/// An atomic only to be a safe `static`: wasm32 without threads lowers it to a plain
/// load and store. Zero until the buffer is made.
static SCRATCH: AtomicUsize = AtomicUsize::new(0);

fn scratch() -> *mut u8 {
    let mut at = SCRATCH.load(Ordering::Relaxed);
    if at == 0 {
        let buf: &'static mut [u8] = Box::leak(vec![0u8; SCRATCH_BYTES].into_boxed_slice());
        at = buf.as_mut_ptr() as usize;
        bind_scratch(&wasm_bindgen::memory(), at as u32, SCRATCH_BYTES as u32);
        SCRATCH.store(at, Ordering::Relaxed);
    }
    at as *mut u8
}

/// Has JS lay out an item of kind `code` (`Track::code`) from the caller's arguments
/// (`value`: a metric's) and hands its body to `ingest`. Returns false when the arguments do not make a valid
/// item.
pub fn with_body<R>(
    code: u8,
    [a, b, value]: [&JsValue; 3],
    ingest: impl FnOnce(&[u8]) -> R,
) -> Option<R> {
    let ptr = scratch();
    let len = write_item(code, a, b, value) as usize;
    if len == 0 || len > SCRATCH_BYTES {
        return None;
    }
    // SAFETY: `ptr` addresses SCRATCH_BYTES leaked bytes that only `write_item` writes,
    // and it has returned; the slice does not outlive this call.
    Some(ingest(unsafe { ::core::slice::from_raw_parts(ptr, len) }))
}
