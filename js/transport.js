// One HTTP attempt with the runtime's global fetch. It never rejects: it resolves to a
// plain outcome object that the core's retry policy classifies.

/**
 * POSTs `body` (a view into wasm memory, copied before the first await) to `url`.
 * Resolves to `{status, retryAfter, exceptionCode, rejected, message}` when the server
 * answered, `{timeout: true}` after `timeoutMs`, or `{error}` when no answer came.
 */
export async function send(url, body, contentEncoding, authorization, timeoutMs) {
  const payload = body.slice();
  const headers = { 'Content-Type': 'application/json' };
  if (contentEncoding) headers['Content-Encoding'] = contentEncoding;
  if (authorization) headers.Authorization = authorization;
  const abort = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    abort.abort();
  }, timeoutMs);
  try {
    const res = await fetch(url, { method: 'POST', headers, body: payload, signal: abort.signal });
    const text = await res.text();
    return {
      status: res.status,
      retryAfter: res.headers.get('retry-after') ?? undefined,
      exceptionCode: res.headers.get('x-clickhouse-exception-code') ?? undefined,
      ...responseDetails(res.ok, text),
    };
  } catch (e) {
    return timedOut ? { timeout: true } : { error: String((e && (e.cause && e.cause.code)) || (e && e.message) || e) };
  } finally {
    clearTimeout(timer);
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
