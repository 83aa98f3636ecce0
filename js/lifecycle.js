// The page lifecycle, in browsers only. A page may be gone for good once it is hidden
// (`visibilitychange` to hidden, `pagehide`): that is the last moment to send. It may
// also come back from the back/forward cache (`pageshow` with `persisted`). The codes it
// reports are the core's (crates/core/src/page.rs `PageEvent`).
import { PAGE_HIDDEN, PAGE_HIDDEN_COMPRESS, PAGE_SHOWN } from './layout.js';

/**
 * Calls `on(code)` when the page is hidden (PAGE_HIDDEN_COMPRESS when a keepalive request
 * can carry `Content-Encoding`, as a keepalive fetch can; PAGE_HIDDEN when only a beacon,
 * which cannot, is left) and `on(PAGE_SHOWN)` when it comes back from the back/forward
 * cache. Returns a handle for `unlistenPage`, or undefined where there is no page.
 */
export function listenPage(on) {
  try {
    const w = globalThis.window;
    const d = globalThis.document;
    if (!w || !d || typeof w.addEventListener !== 'function') return undefined;
    const hidden = typeof fetch === 'function' ? PAGE_HIDDEN_COMPRESS : PAGE_HIDDEN;
    const hide = () => call(on, hidden);
    const handlers = {
      visibilitychange: () => d.visibilityState === 'hidden' && hide(),
      pagehide: hide,
      pageshow: (e) => e && e.persisted && call(on, PAGE_SHOWN),
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
