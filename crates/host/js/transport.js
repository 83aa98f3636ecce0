// One HTTP attempt with the runtime's global fetch, for both front doors. It never throws
// and never rejects: whatever happens (fetch missing, throwing synchronously, rejecting,
// timing out) ends in exactly one call of `done`, a plain report the delivery core
// classifies.
// `done`'s status when no HTTP status came back: crates/core/src/retry.rs `no_status`.
import {
  NO_STATUS_NETWORK as NETWORK,
  NO_STATUS_OFFLINE as OFFLINE,
  NO_STATUS_REFUSED as REFUSED,
  NO_STATUS_TIMEOUT as TIMEOUT,
} from './codes.js';
import { describe } from './timers.js';
import { claimStored } from './storage.js';

/**
 * POSTs `body` (a view into wasm memory, copied before anything else runs) to `url`, and
 * reports `done(id, status, retryAfterMs, exceptionCode, rejected, message)`, absent
 * numbers as -1.
 * `keepalive` requests must outlive the page: a keepalive fetch, or `navigator.sendBeacon`
 * on a host without fetch (a beacon carries no headers, so the core sends it plain).
 * `stored`: `url` is the key of a stored batch (SPEC §8), sent as stored once this tab
 * holds it; REFUSED when it is gone, or another tab held it for longer than the wait.
 */
export function send(done, id, url, body, contentEncoding, authorization, timeoutMs, keepalive, stored) {
  const payload = body.slice();
  // Everything else runs on a later microtask: the client is busy while it sends, so a
  // report (or a host's fetch calling back into the client) must not arrive inside it.
  Promise.resolve()
    .then(() =>
      stored
        ? claimStored(url, timeoutMs + 5000, (b) =>
            b ? start(done, id, b[0], b[1], b[2], authorization, timeoutMs) : start(done, id),
          )
        : start(done, id, url, payload, contentEncoding, authorization, timeoutMs, keepalive),
    )
    .catch(() => {});
}

function start(done, id, url, payload, contentEncoding, authorization, timeoutMs, keepalive) {
  let reported = false;
  const report = (...args) => {
    if (reported) return;
    reported = true;
    try {
      done(id, ...args);
    } catch {
      // The client was freed while the request was in flight.
    }
  };
  if (!url) return report(REFUSED, -1, -1, 0, '');
  if (keepalive && typeof fetch !== 'function') {
    const sent = !contentEncoding && !authorization && beacon(url, payload);
    report(sent ? 202 : REFUSED, -1, -1, 0, '');
    return;
  }
  return attempt(report, url, payload, contentEncoding, authorization, timeoutMs, keepalive).catch((e) =>
    report(failed(), -1, -1, 0, describe(e)),
  );
}

/** NETWORK, or OFFLINE while the browser says it is offline (no retry is spent then). */
function failed() {
  try {
    return globalThis.navigator.onLine === false ? OFFLINE : NETWORK;
  } catch {
    return NETWORK;
  }
}

async function attempt(report, url, payload, contentEncoding, authorization, timeoutMs, keepalive) {
  const headers = { 'Content-Type': 'application/json' };
  if (contentEncoding) headers['Content-Encoding'] = contentEncoding;
  if (authorization) headers.Authorization = authorization;
  let timedOut = false;
  let timer;
  const abort = typeof AbortController === 'function' ? new AbortController() : undefined;
  try {
    timer = setTimeout(() => {
      timedOut = true;
      if (abort) abort.abort();
      report(TIMEOUT, -1, -1, 0, '');
    }, timeoutMs);
  } catch {
    // No timers: the request runs without a timeout of its own.
  }
  try {
    const init = { method: 'POST', headers, body: payload };
    if (abort) init.signal = abort.signal;
    if (keepalive) init.keepalive = true;
    const res = await fetch(url, init);
    const text = await res.text();
    const details = responseDetails(res.ok, text);
    report(
      res.status,
      retryAfterMs(res.headers.get('retry-after')),
      whole(res.headers.get('x-clickhouse-exception-code')),
      details.rejected,
      details.message,
    );
  } catch (e) {
    if (!timedOut) report(failed(), -1, -1, 0, describe((e && e.cause && e.cause.code) || e));
  } finally {
    try {
      clearTimeout(timer);
    } catch {
      // As above.
    }
  }
}

// An HTTP date as RFC 9110 has servers send it (IMF-fixdate), which Date.parse reads.
const HTTP_DATE = /^\w{3}, \d\d \w{3} \d{4} [\d:]{8} GMT$/;

/**
 * The wait a `Retry-After` value asks for, in ms: delay-seconds, or an HTTP date. -1 when
 * absent or unreadable; the core caps it.
 */
export function retryAfterMs(value) {
  const seconds = whole(value);
  if (seconds >= 0) return seconds * 1000;
  const at = value !== null && HTTP_DATE.test(value.trim()) ? Date.parse(value) : NaN;
  return Number.isNaN(at) ? -1 : Math.max(0, at - Date.now());
}

/** A header's value as a non-negative integer, or -1. */
function whole(value) {
  return value !== null && /^\s*\d+\s*$/.test(value) ? Number(value) : -1;
}

/** Hands `payload` to the page's beacon queue; false where there is none or it is full. */
function beacon(url, payload) {
  try {
    const n = globalThis.navigator;
    return !!(n && typeof n.sendBeacon === 'function' && n.sendBeacon(url, new Blob([payload], { type: 'application/json' })));
  } catch {
    return false;
  }
}

// OTLP reports items it refused in a 2xx `partialSuccess`; errors explain themselves in
// the body. Either way only a short message is kept.
function responseDetails(ok, text) {
  if (!ok) return { rejected: 0, message: text.slice(0, 300) };
  try {
    const p = JSON.parse(text).partialSuccess;
    if (p && typeof p === 'object') {
      const n = Number(p.rejectedSpans ?? p.rejectedDataPoints ?? p.rejectedLogRecords ?? 0);
      return { rejected: Number.isFinite(n) && n > 0 ? n : 0, message: String(p.errorMessage ?? '').slice(0, 300) };
    }
  } catch {
    // A body that is not OTLP JSON carries no partial success.
  }
  return { rejected: 0, message: '' };
}
