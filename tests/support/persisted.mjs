// What the persistence tests of both front doors check (SPEC §8): every span and log
// accepted exactly once, once the page's origin stores no batch any more.
import assert from 'node:assert/strict';
import { items, eventually } from './receiver.mjs';

/** `prefix.0` … `prefix.<n-1>`: the names a test tracks. */
export const names = (prefix, n) => Array.from({ length: n }, (_, i) => `${prefix}.${i}`);

const sorted = (a) => [...a].sort();

/** The names of spans and the bodies of logs in requests `rx` accepted (2xx), and the span ids. */
export async function accepted(rx) {
  const ok = (await rx.validRequests()).filter((r) => r.response.status < 300);
  const of = (signal) => ok.filter((r) => r.signal === signal).flatMap(items);
  const spans = of('traces');
  return { spans: spans.map((s) => s.name), spanIds: spans.map((s) => s.spanId), logs: of('logs').map((l) => l.body.stringValue) };
}

/**
 * Waits until `stored()` lists no batch and every expected span and log reached `rx`, then
 * checks each arrived exactly once (span ids unique, names as expected), within `cap` ms.
 */
export async function assertDeliveredOnce(rx, stored, spans, logs, cap) {
  await eventually(async () => (await stored()).length === 0, cap);
  const got = await eventually(async () => {
    const a = await accepted(rx);
    return a.spans.length >= spans.length && a.logs.length >= logs.length && a;
  }, cap);
  assert.deepEqual(sorted(got.spans), sorted(spans));
  assert.equal(new Set(got.spanIds).size, got.spanIds.length, 'no span twice');
  assert.deepEqual(sorted(got.logs), sorted(logs));
}
