// Starts the strict OTLP receiver (tests/support/otlp_receiver.py, which validates every
// request against the official opentelemetry-proto schema) on 127.0.0.1 and wraps its
// control API.
import { createServer } from 'node:net';
import { startServer } from './server.mjs';

/** Starts a receiver; resolves to a handle once it listens. */
export async function startReceiver({ print = false } = {}) {
  const server = await startServer('otlp_receiver.py', print ? ['--print'] : []);
  const { url } = server;
  const call = async (path, body) => {
    const res = await fetch(url + path, body === undefined ? {} : { method: 'POST', body: JSON.stringify(body) });
    if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
    return res.json();
  };
  return {
    ...server,
    /** Every request received so far, in arrival order. */
    requests: () => call('/_requests'),
    /**
     * Every request received so far, asserting each passed strict OTLP validation.
     * Tests use this so that no payload the SDK sends can be invalid unnoticed.
     */
    async validRequests() {
      const all = await call('/_requests');
      const bad = all.filter((r) => r.errors.length > 0);
      if (bad.length) throw new Error(`invalid OTLP: ${JSON.stringify(bad.map((r) => r.errors))}`);
      return all;
    },
    /**
     * Queues scripted responses (FIFO) for the next requests, and replaces the default
     * answer when `fallback` is given. A response or fallback with `path: '/v1/traces'`
     * (or metrics, logs) applies to that path only: `rx.script([], { path: '/v1/traces',
     * status: 503 })` fails every traces request while metrics and logs succeed.
     */
    script: (responses, fallback) => call('/_script', fallback ? { responses, default: fallback } : { responses }),
    reset: () => call('/_reset', {}),
  };
}

/** Items of a decoded OTLP request: spans, metrics or log records. */
export function items(request) {
  const j = request.json;
  if (j.resourceSpans) return j.resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans));
  if (j.resourceMetrics) return j.resourceMetrics.flatMap((r) => r.scopeMetrics.flatMap((s) => s.metrics));
  return j.resourceLogs.flatMap((r) => r.scopeLogs.flatMap((s) => s.logRecords));
}

/** The `service.name` (the client's projectName) of a decoded OTLP request. */
export function serviceName(request) {
  const j = request.json;
  const resource = (j.resourceSpans || j.resourceMetrics || j.resourceLogs)[0].resource;
  return attrs(resource.attributes)['service.name']?.stringValue;
}

/** A KeyValue list as a plain object of AnyValue JSON. */
export function attrs(list = []) {
  return Object.fromEntries(list.map((kv) => [kv.key, kv.value]));
}

/** Resolves after `ms`. */
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls `check` until it returns truthy or `ms` pass. */
export async function eventually(check, ms = 5000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > end) throw new Error('condition not met in time');
    await sleep(20);
  }
}

/** A client configuration for tests: on, sending to `url`, with quick retries. */
export const testConfig = (url, extra = {}) => ({
  projectName: 'faults',
  version: '1.0.0',
  endpoint: url,
  enabled: true,
  env: {},
  retryBackoffBase: 20,
  ...extra,
});

/** A port on 127.0.0.1 with nothing listening. */
export async function closedPort() {
  const srv = createServer().listen(0, '127.0.0.1');
  await new Promise((r) => srv.once('listening', r));
  const { port } = srv.address();
  await new Promise((r) => srv.close(r));
  return port;
}
