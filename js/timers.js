// Timers for flushing and backoff. The flush timer must never keep a Node or Deno
// process alive on its own: a script that tracks, flushes and ends should exit.

/** Calls `callback` once after `ms`, without holding the process open. */
export function startTimer(callback, ms) {
  const t = setTimeout(callback, ms);
  if (typeof t === 'object' && t !== null && typeof t.unref === 'function') {
    t.unref();
  } else if (typeof globalThis.Deno === 'object' && typeof globalThis.Deno.unrefTimer === 'function') {
    globalThis.Deno.unrefTimer(t);
  }
  return t;
}

/** Cancels a timer from `startTimer`. */
export function stopTimer(t) {
  clearTimeout(t);
}

/** Resolves after `ms`. Unlike the flush timer it holds the process open: a caller
 * awaiting `flush()` through a backoff expects to see it finish. */
export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
