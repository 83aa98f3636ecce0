// Malformed input from JS: tracking methods never throw, whatever they are given, and
// never produce an invalid OTLP payload. Invalid configuration throws a clear error.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { AutomagikTelemetry } from '../pkg/node.js';
import { startReceiver, items } from './support/receiver.mjs';

let rx;
before(async () => (rx = await startReceiver()));
after(() => rx.close());

const circular = { name: 'loop' };
circular.self = circular;
circular.list = [circular, { back: circular }];
const hostile = new Proxy(
  {},
  {
    ownKeys() {
      throw new Error('trap');
    },
  },
);
const getterThrows = {
  ok: 1,
  get bad() {
    throw new Error('getter');
  },
};

// One of every kind of JS value, including the hostile ones.
const values = [
  undefined,
  null,
  true,
  0,
  -0,
  NaN,
  Infinity,
  2 ** 64,
  123n,
  2n ** 100n,
  '',
  'x'.repeat(1 << 20),
  '\u{1F600}'.repeat(600),
  'lone \uD800 surrogate',
  Symbol('s'),
  () => 1,
  {},
  [],
  Array.from({ length: 10_000 }, (_, i) => i),
  Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`k${i}`, i])),
  new Map([[1, 'one'], ['1', 'dup key'], [{}, 'object key']]),
  new Set([1, 2, 3]),
  new Date(NaN),
  new Date(0),
  new Uint8Array([1, 2, 3]),
  new ArrayBuffer(8),
  new Error('e'),
  Object.create(null),
  circular,
  hostile,
  getterThrows,
  { a: { b: { c: { d: { e: { f: 'too deep' } } } } } },
  new URL('https://example.com/x'),
  Promise.resolve(1),
  new WeakMap(),
];

test('no tracking method throws for any value in any argument', async () => {
  const t = new AutomagikTelemetry({ projectName: 'fuzz', version: '1', endpoint: rx.url, enabled: true, batchSize: 100_000 });
  let calls = 0;
  for (const a of values) {
    for (const b of values) {
      t.trackEvent(a, b);
      t.trackEvent('event', b);
      t.trackMetric('metric', a, b, a);
      t.trackMetric(a, 1, undefined, b);
      t.trackLog(a, b, a);
      t.trackError(a, b);
      await t.trackEventAsync(a, b);
      calls += 7;
    }
  }
  await t.flush();
  const s = t.getStatus();
  assert.ok(s.sent.items > 0);
  assert.equal(s.sent.items + s.dropped.invalid, calls - s.dropped.rejected, 'every call is either sent or counted as invalid');
  const reqs = await rx.validRequests();
  for (const r of reqs) for (const item of items(r)) assert.ok(!item.attributes || item.attributes.length <= 128);
});

test('hostile attribute objects keep the item and lose only what cannot be read', async () => {
  await rx.reset();
  const t = new AutomagikTelemetry({ projectName: 'fuzz', version: '1', endpoint: rx.url, enabled: true });
  t.trackEvent('proxy', hostile);
  t.trackEvent('getter', getterThrows);
  t.trackEvent('cycle', circular);
  t.trackEvent('map', new Map([[1, 'a'], ['1', 'b']]));
  // A getter that re-enters the SDK while its item is being recorded.
  t.trackEvent('reentrant', {
    get x() {
      t.trackEvent('inner');
      return t.getStatus().projectName ?? 'busy';
    },
  });
  await t.flush();
  const spans = items((await rx.validRequests())[0]);
  assert.deepEqual(spans.map((s) => s.name), ['proxy', 'getter', 'cycle', 'map', 'reentrant']);
  assert.equal(t.getStatus().dropped.reentrant, 1, "the re-entrant 'inner' is dropped and counted");
  assert.deepEqual(spans[0].attributes, []);
  assert.deepEqual(spans[1].attributes.map((a) => a.key), ['ok']);
  assert.deepEqual(spans[2].attributes.map((a) => a.key), ['name', 'list'], 'the cycle is cut');
  assert.deepEqual(spans[3].attributes, [{ key: '1', value: { stringValue: 'a' } }], 'duplicate keys keep the first');
});

test('invalid configuration throws a TypeError or RangeError naming the option and value', () => {
  const base = { projectName: 'p', version: '1' };
  const cases = [
    [undefined, TypeError, /configuration object/],
    ['my-app', TypeError, /configuration object/],
    [{}, TypeError, /'projectName'.*received undefined/],
    [{ projectName: 'p' }, TypeError, /'version'/],
    [{ ...base, projectName: '' }, RangeError, /'projectName'/],
    [{ ...base, timeout: 5 }, RangeError, /'timeout'.*milliseconds.*received 5/],
    [{ ...base, timeout: '5000' }, TypeError, /'timeout'.*received "5000"/],
    [{ ...base, batchSize: 0 }, RangeError, /'batchSize'/],
    [{ ...base, flushInterval: -1 }, RangeError, /'flushInterval'/],
    [{ ...base, maxRetries: 1.5 }, RangeError, /'maxRetries'/],
    [{ ...base, backend: 'kafka' }, RangeError, /'backend'.*'otlp' or 'clickhouse'/],
    [{ ...base, endpoint: 'localhost:4318' }, RangeError, /'endpoint'.*http/],
    [{ ...base, enabled: 'yes' }, TypeError, /'enabled'/],
    [{ ...base, compressionEnabled: 1 }, TypeError, /'compressionEnabled'/],
    [{ ...base, maxQueueBytes: 100 }, RangeError, /'maxQueueBytes'/],
    [{ ...base, env: 'CI=1' }, TypeError, /'env'/],
    [{ ...base, clickhouseTable: 'x; DROP TABLE y' }, RangeError, /'clickhouseTable'/],
    [{ ...base, verbose: () => true }, TypeError, /'verbose'.*function/],
  ];
  for (const [config, Kind, message] of cases) {
    assert.throws(() => new AutomagikTelemetry(config), (e) => e instanceof Kind && message.test(e.message), JSON.stringify(config));
  }
});

test('a configuration error ends with the value received, as JavaScript prints it', () => {
  const base = { projectName: 'p', version: '1' };
  const cases = [
    [{ ...base, timeout: 5 }, "'timeout': expected a whole number from 100 to 600000 milliseconds (times are in milliseconds, not seconds), received 5"],
    [{ ...base, retryBackoffBase: Infinity }, 'received Infinity'],
    [{ ...base, batchSize: 1.5 }, 'received 1.5'],
    [{ ...base, batchSize: NaN }, 'received NaN'],
    [{ ...base, batchSize: 1e300 }, 'received 1e+300'],
    [{ ...base, batchSize: true }, 'received true'],
    [{ ...base, batchSize: null }, 'received null'],
    [{ ...base, backend: 'a"b' }, 'received "a\\"b"'],
    [{ ...base, verbose: 10n }, 'expected true or false, received a value of type bigint'],
    [{ version: '1' }, "'projectName': expected a non-empty string, received undefined"],
    [{ ...base, get timeout() { throw new Error('no'); } }, "'timeout': expected a whole number from 100 to 600000 milliseconds (times are in milliseconds, not seconds), received a value from a throwing getter"],
    [{ ...base, backend: 'y'.repeat(100) }, `received "${'y'.repeat(80)}"`],
    [{ ...base, env: 'CI=1' }, `'env': expected an object of environment variables, received "CI=1"`],
    [{ ...base, get env() { throw new Error('no'); } }, "'env': expected an object of environment variables, received a value from a throwing getter"],
  ];
  for (const [config, ending] of cases) {
    assert.throws(() => new AutomagikTelemetry(config), (e) => e.message.endsWith(ending) || assert.fail(`${e.message} does not end with ${ending}`));
  }
});

test('the status never contains the ClickHouse password', () => {
  const t = new AutomagikTelemetry({ projectName: 'p', version: '1', clickhousePassword: 's3cr3t-pw', enabled: false });
  assert.ok(!JSON.stringify(t.getStatus()).includes('s3cr3t-pw'));
});
