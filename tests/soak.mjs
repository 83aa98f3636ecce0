// A bounded soak (issue 6): mixed signals for SOAK_SECONDS (default 60) against the strict
// receiver, which injects 503s, 429s with Retry-After, answers slower than the client's
// timeout, and dropped connections. At the end every tracked item was delivered exactly
// once or dropped and counted: delivered + counted drops = tracked, no duplicates.
// Not part of `make test` (it takes a minute): run `make soak`.
import assert from 'node:assert/strict';
import { AutomagikTelemetry, MetricType, LogSeverity } from '../pkg/node.js';
import { startReceiver, items, eventually, sleep } from './support/receiver.mjs';

const SECONDS = Number(process.env.SOAK_SECONDS ?? 60);
// Generous next to a loopback answer, so that only the injected slow answers time out:
// an answer the receiver sent in time but the client gave up on would count twice.
const TIMEOUT_MS = 2000;
const rx = await startReceiver();

// A seeded mix of answers, so a failing run can be replayed.
let seed = Number(process.env.SOAK_SEED ?? 7);
const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
const answers = Array.from({ length: SECONDS * 40 }, () => {
  const r = random();
  if (r < 0.1) return { status: 503 };
  if (r < 0.15) return { status: 429, headers: { 'Retry-After': '1' } };
  if (r < 0.17) return { status: 200, delay_ms: TIMEOUT_MS * 2 }; // answered after the client gave up
  if (r < 0.22) return { status: 200, close: true };
  return { status: 200, delay_ms: Math.floor(r * 40) };
});
await rx.script(answers, { status: 200 });

const t = new AutomagikTelemetry({
  projectName: 'soak',
  version: '1.0.0',
  endpoint: rx.url,
  enabled: true,
  env: {},
  batchSize: 50,
  flushInterval: 200,
  timeout: TIMEOUT_MS,
  maxRetries: 2,
  retryBackoffBase: 50,
});

let tracked = 0;
const end = Date.now() + SECONDS * 1000;
while (Date.now() < end) {
  for (let i = 0; i < 10; i++) {
    const n = tracked++;
    switch (n % 4) {
      case 0:
        t.trackEvent('soak.event', { n, path: `/items/${n}` });
        break;
      case 1:
        t.trackMetric('soak.latency', n % 997, MetricType.HISTOGRAM, { n });
        break;
      case 2:
        t.trackLog(`line ${n}`, LogSeverity.INFO, { n });
        break;
      default:
        t.trackError(new Error(`failure ${n}`), { n });
    }
  }
  await sleep(20);
}

// Drain: the script runs out, the default answers 200.
await eventually(async () => {
  await t.flush();
  const s = t.getStatus();
  return s.queueSize === 0 && s.inFlight === 0;
}, 120_000);

const requests = await rx.validRequests();
const accepted = requests.filter((r) => {
  const a = r.response;
  return a.status >= 200 && a.status < 300 && !a.close && a.delay_ms < TIMEOUT_MS / 2;
});
const ids = accepted.flatMap((r) =>
  items(r).flatMap((it) => {
    const points = it.gauge?.dataPoints ?? it.sum?.dataPoints ?? it.histogram?.dataPoints ?? [it];
    return points.map((p) => Number(p.attributes.find((a) => a.key === 'n').value.intValue));
  }),
);
const unique = new Set(ids);
const s = t.getStatus();
const dropped = Object.values(s.dropped).reduce((a, b) => a + b, 0);
const faults = requests.length - accepted.length;
console.log(
  `soak ${SECONDS}s: tracked ${tracked}, delivered ${unique.size} once (${ids.length - unique.size} twice), ` +
    `dropped ${dropped} ${JSON.stringify(s.dropped)}, ${requests.length} requests of which ${faults} met a fault, retries ${s.retries}`,
);
await rx.close();
assert.ok(faults > 0, 'faults were injected');
assert.equal(ids.length - unique.size, 0, 'no item delivered twice');
assert.equal(unique.size + dropped, tracked, 'delivered + counted drops = tracked');
console.log('soak: 1 passed, 0 failed');
