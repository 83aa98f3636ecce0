// Starts the strict OTLP receiver (tests/support/otlp_receiver.py, which validates every
// request against the official opentelemetry-proto schema) on 127.0.0.1 and wraps its
// control API.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));

/** Starts a receiver; resolves to a handle once it listens. */
export async function startReceiver({ print = false } = {}) {
  const args = [fileURLToPath(new URL('./otlp_receiver.py', import.meta.url))];
  if (print) args.push('--print');
  const proc = spawn(`${root}.venv/bin/python`, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: proc.stdout });
  const [first] = await once(lines, 'line');
  const port = Number(/^LISTENING (\d+)$/.exec(first)?.[1]);
  if (!port) throw new Error(`receiver did not start: ${first}`);
  const url = `http://127.0.0.1:${port}`;
  const call = async (path, body) => {
    const res = await fetch(url + path, body === undefined ? {} : { method: 'POST', body: JSON.stringify(body) });
    if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
    return res.json();
  };
  return {
    url,
    port,
    lines,
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
    /** Queues scripted responses (FIFO) for the next requests. */
    script: (responses, fallback) => call('/_script', fallback ? { responses, default: fallback } : { responses }),
    reset: () => call('/_reset', {}),
    close: async () => {
      proc.kill();
      await once(proc, 'exit');
    },
  };
}

/** Items of a decoded OTLP request: spans, metrics or log records. */
export function items(request) {
  const j = request.json;
  if (j.resourceSpans) return j.resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans));
  if (j.resourceMetrics) return j.resourceMetrics.flatMap((r) => r.scopeMetrics.flatMap((s) => s.metrics));
  return j.resourceLogs.flatMap((r) => r.scopeLogs.flatMap((s) => s.logRecords));
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
