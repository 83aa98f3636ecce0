// The one timer a client needs: the delivery core says when to wake it next. It never
// throws (a host whose timers throw gets an error string back instead), and it holds a
// Node or Deno process open only while someone awaits a flush: a script that tracks and
// ends must exit, one that awaits flush() through a backoff must see it finish.

/**
 * Calls `callback` once after `ms`. Returns the timer's handle, or an error string when
 * the host's setTimeout is missing or throws.
 */
export function startTimer(callback, ms, keepAlive) {
  try {
    const t = setTimeout(callback, ms);
    if (!keepAlive) {
      if (typeof t === 'object' && t !== null && typeof t.unref === 'function') {
        t.unref();
      } else if (typeof globalThis.Deno === 'object' && typeof globalThis.Deno.unrefTimer === 'function') {
        globalThis.Deno.unrefTimer(t);
      }
    }
    return t ?? 0;
  } catch (e) {
    return 'setTimeout failed: ' + describe(e);
  }
}

/** Cancels a timer from `startTimer`. */
export function stopTimer(t) {
  try {
    clearTimeout(t);
  } catch {
    // Nothing to cancel on a host without timers.
  }
}

/** A short description of a thrown value that cannot itself throw. */
export function describe(e) {
  try {
    return String((e && e.message) || e);
  } catch {
    return 'unknown error';
  }
}
