// The page lifecycle, in browsers only. A page may be gone for good once it is hidden
// (`visibilitychange` to hidden, `pagehide`): that is the last moment to send. It may
// also be shown again, or come back from the back/forward cache (`pageshow` with
// `persisted`). The browser also says when it goes offline and comes back online. The
// codes it reports are the core's (crates/core/src/page.rs `PageEvent`).
import { PAGE_HIDDEN, PAGE_HIDDEN_COMPRESS, PAGE_OFFLINE, PAGE_ONLINE, PAGE_SHOWN } from './codes.js';

/**
 * Calls `on(code)` when the page is hidden (PAGE_HIDDEN_COMPRESS when a keepalive request
 * can carry `Content-Encoding`, as a keepalive fetch can; PAGE_HIDDEN when only a beacon,
 * which cannot, is left), `on(PAGE_SHOWN)` when it is visible again or comes back from the
 * back/forward cache, and `on(PAGE_ONLINE)` / `on(PAGE_OFFLINE)` when the browser goes
 * online / offline. Returns a handle for `unlistenPage`, or undefined where there is no page.
 */
export function listenPage(on) {
  try {
    const w = globalThis.window;
    const d = globalThis.document;
    if (!w || !d || typeof w.addEventListener !== 'function') return undefined;
    const hidden = typeof fetch === 'function' ? PAGE_HIDDEN_COMPRESS : PAGE_HIDDEN;
    const hide = () => call(on, hidden);
    const handlers = {
      visibilitychange: () => (d.visibilityState === 'hidden' ? hide() : call(on, PAGE_SHOWN)),
      pagehide: hide,
      pageshow: (e) => e && e.persisted && call(on, PAGE_SHOWN),
      online: () => call(on, PAGE_ONLINE),
      offline: () => call(on, PAGE_OFFLINE),
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
