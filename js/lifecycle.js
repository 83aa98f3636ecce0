// The page lifecycle, in browsers only. A page may be gone for good once it is hidden
// (`visibilitychange` to hidden, `pagehide`): that is the last moment to send. It may
// also be shown again, or come back from the back/forward cache (`pageshow` with
// `persisted`). The browser also says when it goes offline and comes back online.

/**
 * Calls `on(code)` when the page is hidden (code 1 when a keepalive request can carry
 * `Content-Encoding`, as a keepalive fetch can; 0 when only a beacon, which cannot, is
 * left), `on(2)` when it is visible again or comes back from the back/forward cache, and
 * `on(3)` / `on(4)` when the browser goes online / offline. Returns a handle for
 * `unlistenPage`, or undefined where there is no page.
 */
export function listenPage(on) {
  try {
    const w = globalThis.window;
    const d = globalThis.document;
    if (!w || !d || typeof w.addEventListener !== 'function') return undefined;
    const hidden = typeof fetch === 'function' ? 1 : 0;
    const hide = () => call(on, hidden);
    const handlers = {
      visibilitychange: () => (d.visibilityState === 'hidden' ? hide() : call(on, 2)),
      pagehide: hide,
      pageshow: (e) => e && e.persisted && call(on, 2),
      online: () => call(on, 3),
      offline: () => call(on, 4),
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
