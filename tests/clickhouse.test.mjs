// The ClickHouse backend (SPEC §5) against a real ClickHouse engine (chDB) behind its
// HTTP interface, with the deployed schema and strict JSON input: a wrong column or
// type fails the INSERT, and so the test.
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { AutomagikTelemetry, MetricType, LogSeverity, VERSION } from '../pkg/node.js';
import { startClickHouse } from './support/clickhouse.mjs';
import { eventually } from './support/receiver.mjs';

const PASSWORD = 'pw-s3cret';
let ch;
before(async () => (ch = await startClickHouse({ password: PASSWORD })));
after(() => ch.close());
beforeEach(() => ch.reset());

const client = (extra = {}) =>
  new AutomagikTelemetry({
    projectName: 'ch-app',
    version: '3.1.0',
    backend: 'clickhouse',
    clickhouseEndpoint: ch.url,
    clickhousePassword: PASSWORD,
    enabled: true,
    env: { ENVIRONMENT: 'test' },
    retryBackoffBase: 20,
    ...extra,
  });

const nowSeconds = () => Math.floor(Date.now() / 1000);

/** The columns every row shares, as this client fills them. */
const shared = (t) => ({
  project_name: 'ch-app',
  project_version: '3.1.0',
  service_name: 'ch-app',
  environment: 'test',
  hostname: '',
  user_id: t.getStatus().userId,
  session_id: t.getStatus().sessionId,
  os_type: process.platform,
  os_version: '',
  runtime_name: 'node',
  runtime_version: process.versions.node,
  cloud_provider: '',
  cloud_region: '',
  cloud_availability_zone: '',
  instrumentation_library_name: 'ch-app.telemetry',
  instrumentation_library_version: VERSION,
});

/** The shared columns of the metrics and logs tables, which have a few more. */
const sharedExtended = (t) => ({
  ...shared(t),
  service_namespace: 'namastex',
  service_instance_id: t.getStatus().sessionId,
  schema_url: '',
});

/** `row` without the columns that hold random ids or the event time. */
function stable(row, volatile) {
  const copy = { ...row };
  for (const k of volatile) delete copy[k];
  return copy;
}

test('events and errors land in traces with every column the SDK fills', async () => {
  const t = client();
  const t0 = nowSeconds();
  t.trackEvent('api.request', { endpoint: '/v1/users', method: 'GET', status: 200, duration_ms: 45.2, ok: true, tags: ['a', 1], ctx: { k: 'v' } });
  t.trackError(new TypeError('bad input'), { order_id: 'o1' });
  await t.flush();
  assert.equal(t.getStatus().sent.items, 2, t.getStatus().lastError);
  const rows = await ch.query('SELECT *, toUnixTimestamp(timestamp) AS ts FROM telemetry.traces ORDER BY timestamp_ns');
  assert.equal(rows.length, 2);
  const [ev, err] = rows;
  const { userId, sessionId } = t.getStatus();
  assert.match(ev.trace_id, /^[0-9a-f]{32}$/);
  assert.match(ev.span_id, /^[0-9a-f]{16}$/);
  assert.ok(ev.ts >= t0 && ev.ts <= nowSeconds(), 'timestamp is the event time in Unix seconds');
  assert.equal(Math.floor(Number(BigInt(ev.timestamp_ns) / 1_000_000_000n)), ev.ts);
  assert.equal(ev.span_name, 'api.request');
  assert.equal(ev.status_code, 'OK');
  assert.equal(ev.service_name, 'ch-app');
  assert.equal(ev.project_version, '3.1.0');
  assert.equal(ev.environment, 'test');
  assert.equal(ev.runtime_name, 'node');
  assert.equal(ev.user_id, userId);
  assert.equal(ev.session_id, sessionId);
  assert.equal(ev.instrumentation_library_name, 'ch-app.telemetry');
  assert.deepEqual(ev.attributes, {
    endpoint: '/v1/users',
    method: 'GET',
    status: '200',
    duration_ms: '45.2',
    ok: 'true',
    tags: '["a",1]',
    ctx: '{"k":"v"}',
  });
  assert.deepEqual(stable(ev, ['trace_id', 'span_id', 'timestamp', 'timestamp_ns', 'ts', 'attributes']), {
    ...shared(t),
    parent_span_id: '',
    duration_ms: 0,
    span_name: 'api.request',
    span_kind: 'INTERNAL',
    status_code: 'OK',
    status_message: '',
  });
  assert.equal(err.span_name, 'automagik.error');
  assert.equal(err.status_code, 'ERROR');
  assert.equal(err.status_message, 'bad input');
  assert.equal(err.attributes.error_type, 'TypeError');
  assert.equal(err.attributes['exception.message'], 'bad input');
  assert.ok(err.attributes['exception.stacktrace'].includes('clickhouse.test.mjs'));
  assert.equal(err.attributes.order_id, 'o1');
});

test('gauges, counters and histograms land in metrics with their type columns', async () => {
  const t = client();
  t.trackMetric('cpu.usage', 75.5, MetricType.GAUGE, { unit: '%', host: 'a' });
  t.trackMetric('api.requests.total', 3, MetricType.COUNTER);
  t.trackMetric('api.latency_ms', 123.45, MetricType.HISTOGRAM, { endpoint: '/v1/users' });
  await t.flush();
  const rows = await ch.query("SELECT *, toUnixTimestamp(timestamp) AS ts FROM telemetry.metrics ORDER BY timestamp_ns");
  const [gauge, sum, hist] = rows;
  assert.deepEqual(rows.map((r) => r.metric_type), ['GAUGE', 'SUM', 'HISTOGRAM']);
  assert.ok(gauge.time_window_start === gauge.timestamp && gauge.time_window_end === gauge.timestamp);
  assert.deepEqual(stable(gauge, ['metric_id', 'timestamp', 'timestamp_ns', 'time_window_start', 'time_window_end', 'ts']), {
    ...sharedExtended(t),
    metric_name: 'cpu.usage',
    metric_type: 'GAUGE',
    metric_unit: '%',
    metric_description: '',
    value_int: 0,
    value_double: 75.5,
    is_monotonic: 0,
    aggregation_temporality: 'UNSPECIFIED',
    histogram_count: 0,
    histogram_sum: 0,
    histogram_min: 0,
    histogram_max: 0,
    histogram_bucket_counts: [],
    histogram_explicit_bounds: [],
    summary_count: 0,
    summary_sum: 0,
    quantile_values: {},
    attributes: { host: 'a' },
  });
  assert.equal(gauge.value_double, 75.5);
  assert.equal(gauge.metric_unit, '%');
  assert.deepEqual(gauge.attributes, { host: 'a' });
  assert.equal(gauge.aggregation_temporality, 'UNSPECIFIED');
  assert.equal(sum.is_monotonic, 1);
  assert.equal(sum.aggregation_temporality, 'DELTA');
  assert.equal(Number(sum.value_int), 3);
  assert.equal(Number(hist.histogram_count), 1);
  assert.deepEqual([hist.histogram_sum, hist.histogram_min, hist.histogram_max], [123.45, 123.45, 123.45]);
  assert.equal(hist.histogram_explicit_bounds.length + 1, hist.histogram_bucket_counts.length);
  assert.equal(Number(hist.histogram_bucket_counts[7]), 1, '123.45 is in (100, 250]');
  assert.equal(hist.service_namespace, 'namastex');
  assert.equal(hist.user_id, t.getStatus().userId);
  assert.ok(Math.abs(hist.ts - nowSeconds()) < 60);
});

test('logs land with severity, body type and exception columns', async () => {
  const t = client();
  t.trackLog('API rate limit approaching', LogSeverity.WARN, { current: 450 });
  t.trackLog('disk failed', 'error', { 'exception.type': 'IOError', 'exception.message': 'ENOSPC' });
  await t.flush();
  const [warn, failure] = await ch.query('SELECT * FROM telemetry.logs ORDER BY timestamp_ns');
  assert.deepEqual(stable(warn, ['log_id', 'timestamp', 'timestamp_ns', 'observed_timestamp', 'observed_timestamp_ns']), {
    ...sharedExtended(t),
    trace_id: '',
    span_id: '',
    severity_text: 'WARN',
    severity_number: 13,
    body: 'API rate limit approaching',
    body_type: 'STRING',
    attributes: { current: '450' },
    exception_type: '',
    exception_message: '',
    exception_stacktrace: '',
    is_exception: 0,
  });
  assert.equal(warn.observed_timestamp_ns, warn.timestamp_ns);
  assert.equal(warn.severity_text, 'WARN');
  assert.equal(warn.severity_number, 13);
  assert.equal(warn.body, 'API rate limit approaching');
  assert.equal(warn.body_type, 'STRING');
  assert.equal(warn.is_exception, 0);
  assert.deepEqual(warn.attributes, { current: '450' });
  assert.equal(failure.severity_number, 17);
  assert.equal(failure.exception_type, 'IOError');
  assert.equal(failure.exception_message, 'ENOSPC');
  assert.equal(failure.is_exception, 1);
  assert.equal(failure.session_id, t.getStatus().sessionId);
});

test('thousands of rows insert in bulk, gzipped above the threshold', async () => {
  const t = client({ batchSize: 100_000 });
  for (let i = 0; i < 5000; i++) t.trackEvent('bulk', { i, path: `/items/${i}` });
  await t.flush();
  const [{ n }] = await ch.query('SELECT count() AS n FROM telemetry.traces');
  assert.equal(Number(n), 5000);
  const reqs = (await ch.requests()).filter((r) => /^INSERT/i.test(r.query));
  assert.ok(reqs.length > 1, 'split at maxBatchBytes');
  assert.ok(reqs.every((r) => r.content_encoding === 'gzip'));
  assert.ok(reqs.every((r) => r.headers.authorization === '<redacted>'), 'Basic auth on every request');
  assert.equal(t.getStatus().sent.items, 5000);
});

test('with compression off the rows go as plain JSONEachRow', async () => {
  const t = client({ compressionEnabled: false });
  for (let i = 0; i < 50; i++) t.trackLog(`line ${i}`);
  await t.flush();
  const reqs = (await ch.requests()).filter((r) => /^INSERT/i.test(r.query));
  assert.equal(reqs.length, 1);
  assert.ok(!reqs[0].content_encoding);
  assert.equal(Number((await ch.query('SELECT count() AS n FROM telemetry.logs'))[0].n), 50);
});

test('a wrong password is not retried, is counted, and never shows the password', async () => {
  const printed = [];
  const log = console.log;
  console.log = (...args) => printed.push(args.join(' '));
  let s;
  try {
    const t = client({ clickhousePassword: 'wrong-pw-123', verbose: true });
    t.trackEvent('e');
    t.trackEvent('f');
    await t.flush();
    s = t.getStatus();
  } finally {
    console.log = log;
  }
  assert.ok(printed.some((line) => line.includes('516')), 'verbose mode reports the failure');
  assert.ok(!printed.join('\n').includes('wrong-pw-123'), 'but never the password');
  assert.equal((await ch.requests()).length, 1);
  assert.equal(s.dropped.failed, 2);
  assert.match(s.lastError, /516|AUTHENTICATION_FAILED/);
  assert.ok(!JSON.stringify(s).includes('wrong-pw-123'));
});

test('an unknown table is reported and not retried', async () => {
  const t = client({ clickhouseTable: 'no_such_table' });
  t.trackEvent('e');
  await t.flush();
  const s = t.getStatus();
  assert.equal((await ch.requests()).length, 1);
  assert.equal(s.dropped.failed, 1);
  assert.match(s.lastError, /no_such_table|UNKNOWN_TABLE/);
});

test('a "try later" exception code is retried and the rows land once', async () => {
  await ch.inject({ code: 252, message: 'Too many parts (300). Merges are processing significantly slower than inserts', count: 2 });
  const t = client();
  t.trackEvent('retried');
  await t.flush();
  const reqs = await ch.requests();
  assert.equal(reqs.length, 3);
  assert.equal(t.getStatus().retries, 2);
  assert.equal(Number((await ch.query('SELECT count() AS n FROM telemetry.traces'))[0].n), 1);
});

test('without a username no Authorization header is sent', async () => {
  const open = await startClickHouse();
  try {
    const t = client({ clickhouseEndpoint: open.url, clickhouseUsername: '', clickhousePassword: '' });
    t.trackEvent('anonymous');
    await t.flush();
    const [req] = await open.requests();
    assert.equal(req.headers.authorization, undefined);
    assert.equal(t.getStatus().sent.items, 1, t.getStatus().lastError);
  } finally {
    await open.close();
  }
});

const count = async (table) => Number((await ch.query(`SELECT count() AS n FROM telemetry.${table}`))[0].n);

test('a retry after a timeout whose INSERT had committed adds no rows', async () => {
  await ch.inject({ withhold_ms: 1500, count: 1 });
  const t = client({ timeout: 300 });
  for (let i = 0; i < 5; i++) t.trackMetric('dedup.gauge', i);
  await t.flush();
  // The front logs a request once it has answered, the withheld one last.
  const inserts = await eventually(async () => {
    const all = (await ch.requests()).filter((r) => r.table !== null);
    return all.length === 2 && all;
  });
  const tokens = inserts.map((r) => r.params.insert_deduplication_token);
  assert.ok(tokens[0], 'every INSERT carries a deduplication token');
  assert.equal(tokens[0], tokens[1], 'the retry carries the same token');
  assert.equal(await count('metrics'), 5, 'the rows landed once');
  assert.equal(t.getStatus().sent.items, 5);
});

test('a batch re-queued after its answers were all lost lands exactly once, never merged with newer rows', async () => {
  await ch.inject({ withhold_ms: 1200, count: 2 });
  const t = client({ timeout: 300, maxRetries: 1, retryBackoffBase: 20, flushInterval: 0 });
  for (let i = 0; i < 20; i++) t.trackLog(`old ${i}`);
  await t.flush();
  assert.equal(t.getStatus().queueSizes.logs, 20, 're-queued after the last retry');
  for (let i = 0; i < 7; i++) t.trackLog(`new ${i}`);
  await eventually(async () => {
    await t.flush();
    return t.getStatus().queueSize === 0;
  }, 20_000);
  assert.equal(await count('logs'), 27, '20 old rows once, 7 new rows once');
  const [{ n }] = await ch.query("SELECT uniqExact(body) AS n FROM telemetry.logs");
  assert.equal(Number(n), 27);
  const inserts = (await ch.requests()).filter((r) => r.table !== null && r.status === 200);
  const byToken = new Map();
  for (const r of inserts) byToken.set(r.params.insert_deduplication_token, [...(byToken.get(r.params.insert_deduplication_token) ?? []), r.rows]);
  assert.ok([...byToken.values()].every((rows) => rows.every((n) => n === rows[0])), 'a token always names the same rows');
});
