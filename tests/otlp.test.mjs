// OTLP/HTTP JSON on the wire (SPEC §4), validated by the strict receiver.
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { AutomagikTelemetry } from '../pkg/node.js';
import { startReceiver, items, attrs } from './support/receiver.mjs';

let rx;
before(async () => (rx = await startReceiver()));
after(() => rx.close());
beforeEach(() => rx.reset());

const client = (extra = {}) =>
  new AutomagikTelemetry({ projectName: 'wire', version: '2.0.0', endpoint: `${rx.url}/v1/traces`, enabled: true, env: {}, ...extra });

test('one flush sends one request per signal, with the resource once', async () => {
  const t = client({ batchSize: 10_000 });
  for (let i = 0; i < 500; i++) t.trackEvent('e', { i });
  for (let i = 0; i < 50; i++) t.trackMetric('m', i);
  t.trackLog('l');
  await t.flush();
  const reqs = await rx.validRequests();
  assert.equal(reqs.length, 3);
  const traces = reqs.find((r) => r.signal === 'traces');
  assert.equal(traces.item_count, 500);
  assert.equal(traces.json.resourceSpans.length, 1);
  const resource = attrs(traces.json.resourceSpans[0].resource.attributes);
  assert.equal(resource['service.name'].stringValue, 'wire');
  assert.equal(resource['service.version'].stringValue, '2.0.0');
  assert.equal(resource['telemetry.sdk.name'].stringValue, 'automagik-telemetry');
  assert.equal(resource['telemetry.sdk.language'].stringValue, 'webjs');
  assert.equal(resource['process.runtime.name'].stringValue, 'node');
  assert.equal(resource['user.id'].stringValue, t.getStatus().userId);
  assert.equal(resource['session.id'].stringValue, t.getStatus().sessionId);
  const scope = traces.json.resourceSpans[0].scopeSpans[0].scope;
  assert.deepEqual(scope, { name: 'wire.telemetry', version: resource['telemetry.sdk.version'].stringValue });
});

test('spans have unique 32/16-hex ids, kind 1, status 1 and nanosecond times', async () => {
  const t = client();
  const before = BigInt(Date.now()) * 1_000_000n;
  for (let i = 0; i < 200; i++) t.trackEvent('tick');
  await t.flush();
  const after = BigInt(Date.now() + 1) * 1_000_000n;
  const spans = (await rx.validRequests()).flatMap(items);
  assert.equal(new Set(spans.map((s) => s.traceId)).size, 200);
  for (const s of spans) {
    assert.match(s.traceId, /^[0-9a-f]{32}$/);
    assert.match(s.spanId, /^[0-9a-f]{16}$/);
    assert.equal(s.kind, 1);
    assert.deepEqual(s.status, { code: 1 });
    assert.equal(s.startTimeUnixNano, s.endTimeUnixNano);
    const t0 = BigInt(s.startTimeUnixNano);
    assert.ok(t0 >= before && t0 <= after, `${t0} within the test`);
  }
  assert.ok(spans.some((s) => !s.startTimeUnixNano.endsWith('000000')), 'sub-millisecond precision');
});

test('attribute values map to their OTLP AnyValue types', async () => {
  const t = client();
  t.trackEvent('types', {
    s: 'text',
    i: 42,
    neg: -7,
    max: 2 ** 53,
    d: 0.5,
    huge: 1e300,
    nan: NaN,
    inf: -Infinity,
    yes: true,
    big: 123n,
    bigger: 2n ** 70n,
    arr: [1, 'two', [3]],
    obj: { a: { b: { c: 1 } } },
    date: new Date(0),
    none: null,
    undef: undefined,
    fn() {},
    sym: Symbol('x'),
    long: 'é'.repeat(600),
  });
  await t.flush();
  const a = attrs(items((await rx.validRequests())[0])[0].attributes);
  assert.deepEqual(a.s, { stringValue: 'text' });
  assert.deepEqual(a.i, { intValue: '42' });
  assert.deepEqual(a.neg, { intValue: '-7' });
  assert.deepEqual(a.max, { intValue: '9007199254740992' });
  assert.deepEqual(a.d, { doubleValue: 0.5 });
  assert.deepEqual(a.huge, { doubleValue: 1e300 });
  assert.deepEqual(a.nan, { stringValue: 'NaN' });
  assert.deepEqual(a.inf, { stringValue: '-Infinity' });
  assert.deepEqual(a.yes, { boolValue: true });
  assert.deepEqual(a.big, { intValue: '123' });
  assert.deepEqual(a.bigger, { stringValue: (2n ** 70n).toString() });
  assert.deepEqual(a.arr, { arrayValue: { values: [{ intValue: '1' }, { stringValue: 'two' }, { arrayValue: { values: [{ intValue: '3' }] } }] } });
  assert.deepEqual(a.obj, {
    kvlistValue: { values: [{ key: 'a', value: { kvlistValue: { values: [{ key: 'b', value: { kvlistValue: { values: [{ key: 'c', value: { intValue: '1' } }] } } }] } } }] },
  });
  assert.deepEqual(a.date, { stringValue: '1970-01-01T00:00:00.000Z' });
  for (const k of ['none', 'undef', 'fn', 'sym']) assert.ok(!(k in a), `${k} is omitted`);
  assert.equal([...a.long.stringValue].length, 500, 'strings are cut to 500 characters');
});

test('doubles of every magnitude arrive as the same numbers, as attributes and as metric values', async () => {
  const values = [0.1, 45.2, 123456.789, 1 / 3, 1e21, 1e300, -2.5e-300, -1.5e-7, Number.MAX_VALUE, -Number.MAX_VALUE, Number.MIN_VALUE, 2 ** 53 + 2];
  const t = client();
  t.trackEvent('doubles', Object.fromEntries(values.map((v, i) => [`d${i}`, v])));
  for (const v of values) t.trackMetric('m', v);
  await t.flush();
  const reqs = await rx.validRequests();
  const a = attrs(items(reqs.find((r) => r.signal === 'traces'))[0].attributes);
  values.forEach((v, i) => assert.deepEqual(a[`d${i}`], { doubleValue: v }, `d${i}`));
  const points = items(reqs.find((r) => r.signal === 'metrics')).map((m) => m.gauge.dataPoints[0].asDouble);
  assert.deepEqual(points, values);
});

test('errors are spans with status 2 and exception attributes, for any thrown value', async () => {
  const t = client();
  const err = new TypeError('bad thing');
  t.trackError(err, { order_id: 'o1', error_type: 'spoof' });
  t.trackError('just a string');
  t.trackError({ code: 7 });
  t.trackError(new DOMException('aborted', 'AbortError'));
  await t.flush();
  const spans = items((await rx.validRequests())[0]);
  assert.ok(spans.every((s) => s.name === 'automagik.error' && s.status.code === 2));
  const a = attrs(spans[0].attributes);
  assert.deepEqual(Object.keys(a), ['error_type', 'error_message', 'exception.type', 'exception.message', 'exception.stacktrace', 'order_id']);
  assert.equal(a.error_type.stringValue, 'TypeError');
  assert.equal(a['exception.message'].stringValue, 'bad thing');
  assert.ok(a['exception.stacktrace'].stringValue.includes('otlp.test.mjs'));
  assert.equal(spans[0].status.message, 'bad thing');
  assert.equal(attrs(spans[1].attributes).error_message.stringValue, 'just a string');
  assert.equal(attrs(spans[2].attributes).error_message.stringValue, '{"code":7}');
  assert.equal(attrs(spans[3].attributes).error_type.stringValue, 'AbortError');
});

test('counters are DELTA monotonic sums and histograms carry count, sum, min, max and buckets', async () => {
  const t = client();
  t.trackMetric('requests', 3, 'COUNTER', { route: '/a' });
  t.trackMetric('latency', 42, 'histogram', { unit: 'ms' });
  t.trackMetric('temp', -1.5, 'summary');
  await t.flush();
  const [sum, hist, gauge] = items((await rx.validRequests())[0]);
  assert.equal(sum.sum.aggregationTemporality, 1);
  assert.equal(sum.sum.isMonotonic, true);
  assert.equal(sum.sum.dataPoints[0].asDouble, 3);
  const p = hist.histogram.dataPoints[0];
  assert.equal(hist.unit, 'ms');
  assert.deepEqual([p.count, p.sum, p.min, p.max], ['1', 42, 42, 42]);
  assert.equal(p.bucketCounts.length, p.explicitBounds.length + 1);
  assert.equal(p.bucketCounts[p.explicitBounds.findIndex((b) => 42 <= b)], '1');
  assert.deepEqual(p.attributes, [], 'the unit attribute becomes the metric unit');
  assert.equal(gauge.gauge.dataPoints[0].asDouble, -1.5, 'an unknown type falls back to gauge');
  assert.equal(t.getStatus().coerced.metricType, 1);
});

test('bodies above the threshold are gzipped, smaller ones are not', async () => {
  const t = client({ compressionThreshold: 2000 });
  t.trackEvent('small');
  await t.flush();
  for (let i = 0; i < 100; i++) t.trackEvent('big', { i, text: 'lorem ipsum dolor sit amet' });
  await t.flush();
  const [small, big] = await rx.validRequests();
  assert.equal(small.content_encoding, null);
  assert.equal(big.content_encoding, 'gzip');
  assert.equal(big.headers['content-encoding'], 'gzip');
  assert.ok(big.wire_size * 5 < big.decoded_size, `${big.wire_size} vs ${big.decoded_size}`);
  const off = client({ compressionEnabled: false });
  for (let i = 0; i < 100; i++) off.trackEvent('big', { i });
  await off.flush();
  assert.equal((await rx.validRequests())[2].content_encoding, null);
});

test('a partial success counts the rejected items as dropped', async () => {
  await rx.script([{ status: 200, body: JSON.stringify({ partialSuccess: { rejectedSpans: '2', errorMessage: 'too old' } }) }]);
  const t = client();
  for (let i = 0; i < 5; i++) t.trackEvent('e');
  await t.flush();
  const s = t.getStatus();
  assert.equal(s.sent.items, 3);
  assert.equal(s.dropped.rejected, 2);
  assert.match(s.lastError, /2 rejected: too old/);
});

test('requests larger than maxBatchBytes are split, each within the bound', async () => {
  const t = client({ maxBatchBytes: 8192, batchSize: 100_000 });
  for (let i = 0; i < 300; i++) t.trackEvent('split', { i });
  await t.flush();
  const reqs = await rx.validRequests();
  assert.ok(reqs.length > 1);
  assert.ok(reqs.every((r) => r.decoded_size <= 8192));
  assert.equal(reqs.reduce((n, r) => n + r.item_count, 0), 300);
});
