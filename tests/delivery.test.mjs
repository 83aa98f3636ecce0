// Delivery and failure (SPEC §7): retries with backoff, Retry-After, timeouts, a server
// that is down, non-retryable statuses, re-queueing, batching triggers and the bound.
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { AutomagikTelemetry } from '../pkg/node.js';
import { retryAfterMs } from '../crates/host/js/transport.js';
import { startReceiver, items, eventually, testConfig, closedPort } from './support/receiver.mjs';

let rx;
before(async () => (rx = await startReceiver()));
after(() => rx.close());
beforeEach(() => rx.reset());

const client = (extra = {}) => new AutomagikTelemetry(testConfig(rx.url, extra));

test('503 is retried with backoff until it succeeds', async () => {
  await rx.script([{ status: 503 }, { status: 503 }]);
  const t = client();
  t.trackEvent('e');
  await t.flush();
  const reqs = await rx.validRequests();
  assert.deepEqual(reqs.map((r) => r.response.status), [503, 503, 200]);
  const gaps = [reqs[1].arrival_ms - reqs[0].arrival_ms, reqs[2].arrival_ms - reqs[1].arrival_ms];
  assert.ok(gaps[0] >= 20 * 0.8 - 2 && gaps[1] >= 40 * 0.8 - 2, `exponential backoff: ${gaps}`);
  const s = t.getStatus();
  assert.equal(s.retries, 2);
  assert.equal(s.sent.items, 1);
  assert.equal(s.queueSize, 0);
});

test('429 with Retry-After waits as long as the server asks', async () => {
  await rx.script([{ status: 429, headers: { 'Retry-After': '1' } }]);
  const t = client();
  t.trackEvent('e');
  await t.flush();
  const [first, second] = await rx.validRequests();
  assert.ok(second.arrival_ms - first.arrival_ms >= 990, `${second.arrival_ms - first.arrival_ms} ms`);
  assert.equal(t.getStatus().sent.items, 1);
});

test('503 with Retry-After as an HTTP date waits until that time', async () => {
  // Whole seconds: the date lies 2 to 3 s ahead when the answer is scripted.
  const until = new Date(Date.now() + 3000).toUTCString();
  await rx.script([{ status: 503, headers: { 'Retry-After': until } }]);
  const t = client();
  t.trackEvent('e');
  await t.flush();
  const [first, second] = await rx.validRequests();
  assert.ok(second.arrival_ms - first.arrival_ms >= 1500, `${second.arrival_ms - first.arrival_ms} ms`);
  assert.equal(t.getStatus().sent.items, 1);
});

test('Retry-After is read as delay-seconds or an HTTP date, anything else is ignored', () => {
  assert.equal(retryAfterMs('3'), 3000);
  assert.equal(retryAfterMs(' 86400 '), 86_400_000, 'the core caps it at 5 minutes');
  const ahead = retryAfterMs(new Date(Date.now() + 60_000).toUTCString());
  assert.ok(ahead > 58_000 && ahead <= 60_000, `${ahead}`);
  assert.equal(retryAfterMs('Sun, 06 Nov 1994 08:49:37 GMT'), 0, 'a date in the past: at once');
  for (const bad of [null, '', 'soon', '-5', '1.5', 'Sun, 06 Nov 1994 08:49:37 PST', 'Sun, 06 Nov 99999 08:49:37 GMT', '1994-11-06T08:49:37Z']) {
    assert.equal(retryAfterMs(bad), -1, `${bad}`);
  }
});

test('every retryable status is retried and other failures are dropped and counted', async () => {
  for (const status of [408, 502, 504]) {
    await rx.reset();
    await rx.script([{ status }]);
    const t = client();
    t.trackEvent('e');
    await t.flush();
    assert.equal((await rx.requests()).length, 2, `${status} retried`);
  }
  for (const status of [400, 401, 404, 413, 500]) {
    await rx.reset();
    await rx.script([{ status, body: 'nope' }]);
    const t = client();
    t.trackEvent('e');
    t.trackEvent('f');
    await t.flush();
    assert.equal((await rx.requests()).length, 1, `${status} not retried`);
    const s = t.getStatus();
    assert.equal(s.dropped.failed, 2);
    assert.match(s.lastError, new RegExp(`HTTP ${status}: nope`));
    assert.equal(s.queueSize, 0);
  }
});

test('a timeout is retried and the slow answer does not count twice', async () => {
  await rx.script([{ status: 200, delay_ms: 1500 }]);
  const t = client({ timeout: 300 });
  t.trackEvent('e');
  const t0 = Date.now();
  await t.flush();
  assert.ok(Date.now() - t0 < 1500, 'the attempt was abandoned at the timeout');
  const s = t.getStatus();
  assert.equal(s.retries, 1);
  assert.equal(s.sent.requests, 1);
});

test('a connection dropped without an answer is a retryable network error', async () => {
  await rx.script([{ close: true }]);
  const t = client();
  t.trackEvent('e');
  await t.flush();
  assert.equal(t.getStatus().sent.items, 1);
  assert.equal(t.getStatus().retries, 1);
});

test('with the server down, items are re-queued after the last retry and sent once it is back', async () => {
  const port = await closedPort();
  const t = client({ endpoint: `http://127.0.0.1:${port}`, maxRetries: 2, retryBackoffBase: 10, flushInterval: 0 });
  for (let i = 0; i < 5; i++) t.trackEvent('kept', { i });
  await t.flush();
  let s = t.getStatus();
  assert.equal(s.queueSize, 5, 'nothing is lost');
  assert.equal(s.retries, 2);
  assert.match(s.lastError, /network error/);
  assert.equal(s.dropped.failed, 0);
  await t.flush();
  assert.equal(t.getStatus().retries, 4, 'a flush means send now: it cuts the backoff short and tries again');
  assert.equal(t.getStatus().queueSize, 5, 'and still loses nothing');
});

test('re-queued items go out first, in order, once the backend recovers', async () => {
  await rx.script([{ status: 503 }, { status: 503 }]);
  const t = client({ maxRetries: 1, retryBackoffBase: 50, flushInterval: 60 });
  t.trackEvent('first');
  await t.flush();
  assert.equal(t.getStatus().queueSize, 1);
  t.trackEvent('second');
  await eventually(() => t.getStatus().sent.items === 2);
  const reqs = await rx.validRequests();
  const last = reqs.at(-1);
  assert.deepEqual(items(last).map((s) => s.name), ['first', 'second']);
});

test('0 retries is honoured', async () => {
  await rx.script([{ status: 503 }]);
  const t = client({ maxRetries: 0, retryBackoffBase: 60_000 });
  t.trackEvent('e');
  await t.flush();
  assert.equal((await rx.requests()).length, 1);
  assert.equal(t.getStatus().queueSize, 1);
});

test('reaching batchSize flushes without being asked', async () => {
  const t = client({ batchSize: 10, flushInterval: 0 });
  for (let i = 0; i < 10; i++) t.trackEvent('e', { i });
  await eventually(async () => (await rx.requests()).length === 1);
  assert.equal((await rx.validRequests())[0].item_count, 10);
});

test('the flush timer sends what is queued after flushInterval', async () => {
  const t = client({ flushInterval: 100 });
  t.trackLog('tick');
  assert.equal((await rx.requests()).length, 0);
  await eventually(async () => (await rx.requests()).length === 1, 2000);
  assert.equal(t.getStatus().queueSize, 0);
});

test('one request per signal is in flight, and a flush that adds nothing shares the pending promise', async () => {
  await rx.script([{ status: 200, delay_ms: 200 }]);
  const t = client();
  t.trackEvent('a');
  const p1 = t.flush();
  assert.equal(t.flush(), p1, 'nothing new since: the same promise');
  await eventually(() => t.getStatus().inFlight === 1);
  t.trackEvent('b');
  const p2 = t.flush();
  const p3 = t.flush();
  assert.notEqual(p1, p2, "a flush that adds an item has its own promise: p1 need not wait for 'b'");
  assert.equal(p2, p3);
  assert.equal(t.getStatus().inFlight, 1, "'b' waits for the traces lane");
  await p1;
  await p2;
  const reqs = await rx.validRequests();
  assert.equal(reqs.length, 2);
  assert.ok(reqs[1].arrival_ms >= reqs[0].arrival_ms + 150, 'the second request waited for the first');
  assert.equal(t.getStatus().sent.items, 2);
});

test('a full queue drops the oldest items and counts them', async () => {
  const port = await closedPort();
  const t = client({ endpoint: `http://127.0.0.1:${port}`, maxQueueBytes: 16_384, batchSize: 100_000, flushInterval: 0 });
  for (let i = 0; i < 2000; i++) t.trackEvent('overflow', { i });
  const s = t.getStatus();
  assert.ok(s.queuedBytes <= 16_384);
  assert.ok(s.dropped.queueFull > 0);
  assert.equal(s.dropped.queueFull + s.queueSize, 2000);
  const t2 = client({ maxQueueBytes: 16_384, batchSize: 100_000 });
  for (let i = 0; i < 2000; i++) t2.trackEvent('overflow', { i });
  await t2.flush();
  const names = items((await rx.validRequests())[0]).map((sp) => sp.attributes[0].value.intValue);
  assert.equal(names.at(-1), '1999', 'the newest items survive');
});

test('shutdown() flushes, ignores and counts later tracking, and a later flush still retries', async () => {
  await rx.script([{ status: 503 }, { status: 503 }, { status: 503 }]);
  const t = client({ maxRetries: 1, flushInterval: 0 });
  t.trackEvent('last');
  await t.shutdown();
  assert.equal(t.getStatus().queueSize, 1, 'both tries failed: the item is back in the queue');
  t.trackEvent('too-late');
  assert.equal(t.getStatus().dropped.afterShutdown, 1);
  // After the lane's backoff, a flush sends it again; its retry needs the timer.
  await eventually(async () => {
    let settled = false;
    await Promise.race([t.flush().then(() => (settled = true)), new Promise((r) => setTimeout(r, 2000))]);
    return settled && t.getStatus().sent.items === 1;
  });
  assert.deepEqual((await rx.validRequests()).flatMap(items).map((s) => s.name), ['last', 'last', 'last', 'last']);
});
