// The page lifecycle, in browsers only. A page may be gone for good once it is hidden
// (`visibilitychange` to hidden, `pagehide`): that is the last moment to send. It may
// also come back from the back/forward cache (`pageshow` with `persisted`).

/**
 * Calls `onHide(compress)` when the page is hidden and `onShow()` when it comes back from
 * the back/forward cache. `compress` says whether a keepalive request can carry
 * `Content-Encoding` (a keepalive fetch can; a beacon cannot). Returns a handle for
 * `unlistenPage`, or undefined where there is no page.
 */
export function listenPage(onHide, onShow) {
  try {
    const w = globalThis.window;
    const d = globalThis.document;
    if (!w || !d || typeof w.addEventListener !== 'function') return undefined;
    const compress = typeof fetch === 'function';
    const hide = () => call(onHide, compress);
    const handlers = {
      visibilitychange: () => d.visibilityState === 'hidden' && hide(),
      pagehide: hide,
      pageshow: (e) => e && e.persisted && call(onShow),
    };
    for (const [type, f] of Object.entries(handlers)) w.addEventListener(type, f, true);
    return { w, handlers };
  } catch {
    return undefined;
  }
}

/** Removes the listeners of `listenPage`. */
export function unlistenPage(handle) {
  try {
    for (const [type, f] of Object.entries(handle.handlers)) handle.w.removeEventListener(type, f, true);
  } catch {
    // Nothing to remove.
  }
}

function call(f, arg) {
  try {
    f(arg);
  } catch {
    // The client was freed.
  }
}
