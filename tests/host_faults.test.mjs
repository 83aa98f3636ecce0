// Host faults are data, never exceptions (SPEC §7): a missing or throwing host API never
// makes a tracking call throw, never locks the client, and loses nothing that the byte
// bound did not force; the fault shows in getStatus().lastError. Each case ends with the
// client still delivering to the strict receiver.
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { AutomagikTelemetry } from '../pkg/node.js';
import { startReceiver, items, eventually, testConfig } from './support/receiver.mjs';

const entry = fileURLToPath(new URL('../pkg/node.js', import.meta.url));
let rx;
before(async () => (rx = await startReceiver()));
after(() => rx.close());
beforeEach(() => rx.reset());

const config = (extra = {}) => testConfig(rx.url, extra);

/** Runs `body` as an ES module in a fresh Node process after `prelude` (which may break
 * host APIs before the SDK loads); resolves to what it printed as JSON. */
function script(prelude, body) {
  const code = `${prelude}
    const { AutomagikTelemetry } = await import(${JSON.stringify(entry)});
    ${body}`;
  return new Promise((resolve, reject) =>
    execFile(process.execPath, ['--input-type=module', '-e', code], { timeout: 60_000 }, (err, stdout, stderr) =>
      err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(JSON.parse(stdout)),
    ),
  );
}

const names = async () => (await rx.validRequests()).flatMap(items).map((i) => i.name);

test('without a global WebCrypto (as on Node 18) ids still come from node:crypto and everything is delivered', async () => {
  const out = await script(
    'delete globalThis.crypto;',
    `const t = new AutomagikTelemetry(${JSON.stringify(config())});
     for (let i = 0; i < 50; i++) t.trackEvent('no-crypto', { i });
     await t.flush();
     console.log(JSON.stringify({ crypto: typeof globalThis.crypto, status: t.getStatus() }));`,
  );
  assert.equal(out.crypto, 'undefined', 'the fault was real');
  assert.equal(out.status.sent.items, 50);
  assert.equal(out.status.lastError, null, 'node:crypto stood in: nothing to report');
  const spans = (await rx.validRequests()).flatMap(items);
  assert.equal(new Set(spans.map((s) => s.traceId)).size, 50);
});

test('with no random source at all, a seeded generator stands in and says so', async () => {
  const out = await script(
    `delete globalThis.crypto;
     Object.defineProperty(globalThis, Symbol.for('automagik-telemetry.randomFill'), { get() { throw new Error('nope'); }, set() {} });`,
    `const t = new AutomagikTelemetry(${JSON.stringify(config())});
     for (let i = 0; i < 50; i++) t.trackEvent('seeded', { i });
     await t.flush();
     console.log(JSON.stringify(t.getStatus()));`,
  );
  assert.equal(out.sent.items, 50);
  assert.match(out.lastError, /no WebCrypto/);
  assert.match(out.userId, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  const spans = (await rx.validRequests()).flatMap(items);
  assert.equal(new Set(spans.map((s) => s.traceId)).size, 50);
});

for (const [fault, broken] of [
  ['throws synchronously', () => { throw new TypeError('fetch is broken'); }],
  ['rejects', () => Promise.reject(new TypeError('fetch failed'))],
]) {
  test(`a fetch that ${fault} is a retryable transport error: items stay queued and go once fetch works`, async () => {
    const realFetch = globalThis.fetch;
    const t = new AutomagikTelemetry(config({ maxRetries: 1, flushInterval: 0 }));
    globalThis.fetch = broken;
    try {
      for (let i = 0; i < 3; i++) assert.doesNotThrow(() => t.trackEvent(`during-${i}`));
      await t.flush();
      const s = t.getStatus();
      assert.equal(s.queueSize, 3, 're-queued, not lost');
      assert.match(s.lastError, /network error: .*(fetch is broken|fetch failed)/);
      assert.equal(s.dropped.failed + s.dropped.queueFull, 0);
    } finally {
      globalThis.fetch = realFetch;
    }
    t.trackEvent('after');
    await eventually(async () => {
      await t.flush();
      return t.getStatus().sent.items === 4;
    });
    assert.deepEqual((await names()).sort(), ['after', 'during-0', 'during-1', 'during-2']);
  });
}

test('throwing timers cost no item, show in lastError, and the timer recovers', async () => {
  const realSetTimeout = globalThis.setTimeout;
  const t = new AutomagikTelemetry(config({ flushInterval: 50 }));
  // Broken only while the SDK arms its timer: Node's own fetch needs timers too.
  globalThis.setTimeout = () => {
    throw new Error('timers are broken');
  };
  try {
    assert.doesNotThrow(() => t.trackEvent('no-timers'));
  } finally {
    globalThis.setTimeout = realSetTimeout;
  }
  assert.match(t.getStatus().lastError, /setTimeout failed: timers are broken/);
  assert.equal(t.getStatus().queueSize, 1, 'the item waits, not lost');
  t.trackEvent('timer-again');
  await eventually(() => t.getStatus().sent.items === 2, 5000);
  assert.deepEqual(await names(), ['no-timers', 'timer-again'], 'both went with the timer, no flush() needed');
});

// Each case breaks performance.now() while the items are tracked (Node's own fetch needs
// it afterwards, to send them).
for (const [clock, broken] of [
  ['a monotonic clock that lags the wall clock by an hour', '() => real() - 3_600_000'],
  ['a performance.now that throws', "() => { throw new Error('no clock'); }"],
]) {
  test(`${clock} does not move timestamps off the wall clock`, async () => {
    const before = BigInt(Date.now()) * 1_000_000n;
    const out = await script(
      'const real = performance.now.bind(performance);',
      `const t = new AutomagikTelemetry(${JSON.stringify(config())});
       performance.now = ${broken};
       for (let i = 0; i < 20; i++) t.trackEvent('clock', { i });
       performance.now = real;
       await t.flush();
       console.log(JSON.stringify(t.getStatus().sent));`,
    );
    const after = BigInt(Date.now() + 1) * 1_000_000n;
    assert.equal(out.items, 20);
    for (const s of (await rx.validRequests()).flatMap(items)) {
      const at = BigInt(s.startTimeUnixNano);
      assert.ok(at >= before && at <= after, `${s.startTimeUnixNano} is within the wall-clock window`);
    }
  });
}

test('flush() settles promptly under steady traffic with a slow collector', async () => {
  await rx.script([], { status: 200, delay_ms: 30 });
  const t = new AutomagikTelemetry(config({ batchSize: 10 }));
  let tracked = 0;
  const traffic = setInterval(() => {
    for (let i = 0; i < 20; i++) t.trackEvent('load', { n: tracked++ });
  }, 10);
  try {
    await eventually(() => tracked >= 200);
    const snapshot = tracked;
    let settled = false;
    t.flush().then(() => (settled = true));
    await eventually(() => settled, 10_000);
    const delivered = new Set((await rx.validRequests()).flatMap(items).map((s) => Number(s.attributes[0].value.intValue)));
    for (let n = 0; n < snapshot; n++) assert.ok(delivered.has(n), `event ${n}, tracked before the flush, was delivered`);
  } finally {
    clearInterval(traffic);
  }
  await t.flush();
});

test('wasm memory stays flat over 100k track-and-flush cycles', async () => {
  const { initSync } = await import('../pkg/automagik_telemetry_full.js');
  const memory = initSync({ module: new Uint8Array() }).memory; // already initialised: returns its exports
  const t = new AutomagikTelemetry(config({ flushInterval: 1000 }));
  const cycles = async (n) => {
    for (let i = 0; i < n; i++) {
      t.trackEvent('cycle', { i });
      const done = t.flush();
      if (i % 500 === 499) await done;
    }
    await t.flush();
  };
  await cycles(10_000);
  const warm = memory.buffer.byteLength;
  await cycles(100_000);
  assert.ok(memory.buffer.byteLength <= warm + 65_536, `grew from ${warm} to ${memory.buffer.byteLength} bytes`);
  assert.equal(t.getStatus().sent.items, 110_000);
});
