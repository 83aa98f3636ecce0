// Every TypeScript example of the user's API reference (shared/seed/API_REFERENCE.md)
// runs as written, with SPEC §3's units, and arrives as valid OTLP.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { AutomagikTelemetry, MetricType, LogSeverity } from '../pkg/node.js';
import { startReceiver, items, attrs } from './support/receiver.mjs';

let rx;
before(async () => (rx = await startReceiver()));
after(() => rx.close());

// The reference's examples construct with only projectName/version; tests point them at
// the receiver and turn telemetry on explicitly (CI variables would turn it off).
const config = (extra = {}) => ({ projectName: 'my-app', version: '1.0.0', endpoint: rx.url, enabled: true, ...extra });

test('the constructor examples accept the simple and the advanced form', () => {
  assert.ok(new AutomagikTelemetry({ projectName: 'my-app', version: '1.0.0' }));
  const telemetry = new AutomagikTelemetry({
    projectName: 'my-app',
    version: '1.0.0',
    backend: 'otlp',
    batchSize: 100,
    timeout: 10000,
  });
  assert.equal(telemetry.getStatus().batchSize, 100);
  const full = new AutomagikTelemetry({
    projectName: 'my-app',
    version: '1.0.0',
    backend: 'otlp',
    endpoint: 'https://custom.example.com/v1/traces',
    metricsEndpoint: 'https://custom.example.com/v1/metrics',
    logsEndpoint: 'https://custom.example.com/v1/logs',
    clickhouseEndpoint: 'http://localhost:8123',
    clickhouseDatabase: 'telemetry',
    clickhouseTable: 'traces',
    clickhouseUsername: 'default',
    clickhousePassword: '',
    timeout: 10000,
    batchSize: 100,
    flushInterval: 5000,
    compressionEnabled: true,
    compressionThreshold: 1024,
    maxRetries: 3,
    retryBackoffBase: 1000,
  });
  const s = full.getStatus();
  assert.equal(s.endpoint, 'https://custom.example.com/v1/traces');
  assert.equal(s.metricsEndpoint, 'https://custom.example.com/v1/metrics');
  assert.equal(s.logsEndpoint, 'https://custom.example.com/v1/logs');
});

test('the tracking examples arrive as spans, metrics and logs', async () => {
  await rx.reset();
  const telemetry = new AutomagikTelemetry(config());

  telemetry.trackEvent('user.login');
  telemetry.trackEvent('api.request', { endpoint: '/v1/users', method: 'GET', status: 200, duration_ms: 45.2 });
  telemetry.trackEvent('feature.used', { feature_name: 'export_data', format: 'csv', row_count: 1500 });

  telemetry.trackMetric('cpu.usage', 75.5);
  telemetry.trackMetric('api.requests.total', 1, MetricType.COUNTER, { endpoint: '/v1/users' });
  telemetry.trackMetric('api.latency_ms', 123.45, MetricType.HISTOGRAM, { endpoint: '/v1/users', method: 'GET' });
  telemetry.trackMetric('memory.used_mb', 512.0, undefined, { process: 'worker' });

  telemetry.trackLog('Application started');
  telemetry.trackLog('Database connection established', LogSeverity.DEBUG, { host: 'db.example.com' });
  telemetry.trackLog('API rate limit approaching', LogSeverity.WARN, { current: 450, limit: 500 });
  telemetry.trackLog('Payment processing failed', LogSeverity.ERROR, { error_code: 'PAY-1001', transaction_id: 'tx_abc123' });

  try {
    throw new Error('risky operation failed');
  } catch (error) {
    telemetry.trackError(error);
  }
  try {
    throw new RangeError('payment declined');
  } catch (error) {
    telemetry.trackError(error, { error_code: 'PAY-1001', order_id: 'order_123', amount: 99.99, currency: 'USD', recoverable: false });
  }
  try {
    throw Object.assign(new Error('Bad Gateway'), { status: 502 });
  } catch (error) {
    telemetry.trackError(error, { endpoint: '/v1/users', status_code: error.status, method: 'POST' });
  }

  await telemetry.flush();
  const reqs = await rx.validRequests();
  assert.deepEqual(reqs.map((r) => r.signal).sort(), ['logs', 'metrics', 'traces'], 'one request per signal');

  const spans = items(reqs.find((r) => r.signal === 'traces'));
  assert.deepEqual(spans.map((s) => s.name), ['user.login', 'api.request', 'feature.used', 'automagik.error', 'automagik.error', 'automagik.error']);
  assert.deepEqual(attrs(spans[1].attributes), {
    endpoint: { stringValue: '/v1/users' },
    method: { stringValue: 'GET' },
    status: { intValue: '200' },
    duration_ms: { doubleValue: 45.2 },
  });
  const paid = attrs(spans[4].attributes);
  assert.equal(paid.error_type.stringValue, 'RangeError');
  assert.equal(paid.amount.doubleValue, 99.99);
  assert.equal(paid.recoverable.boolValue, false);
  assert.deepEqual(spans[4].status, { code: 2, message: 'payment declined' });
  assert.equal(attrs(spans[5].attributes).status_code.intValue, '502');

  const metrics = items(reqs.find((r) => r.signal === 'metrics'));
  assert.deepEqual(metrics.map((m) => m.name), ['cpu.usage', 'api.requests.total', 'api.latency_ms', 'memory.used_mb']);
  assert.equal(metrics[0].gauge.dataPoints[0].asDouble, 75.5);
  assert.equal(metrics[1].sum.isMonotonic, true);
  assert.equal(metrics[2].histogram.dataPoints[0].sum, 123.45);
  assert.deepEqual(attrs(metrics[3].gauge.dataPoints[0].attributes), { process: { stringValue: 'worker' } });

  const logs = items(reqs.find((r) => r.signal === 'logs'));
  assert.deepEqual(logs.map((l) => [l.severityNumber, l.severityText]), [[9, 'INFO'], [5, 'DEBUG'], [13, 'WARN'], [17, 'ERROR']]);
  assert.equal(logs[2].body.stringValue, 'API rate limit approaching');
  assert.equal(attrs(logs[2].attributes).limit.intValue, '500');
});

test('the control, status and usage-pattern examples work as written', async () => {
  await rx.reset();
  const telemetry = new AutomagikTelemetry(config());
  telemetry.enable();
  assert.equal(telemetry.isEnabled(), true);

  // Performance monitoring
  const start = performance.now();
  const result = await Promise.resolve(42);
  const duration_ms = performance.now() - start;
  telemetry.trackMetric('operation.duration_ms', duration_ms, MetricType.HISTOGRAM, { operation: 'data_processing', success: true });
  assert.equal(result, 42);

  // Feature flag tracking
  function useFeature(featureName) {
    telemetry.trackEvent('feature.used', { feature_name: featureName, user_type: 'premium', platform: 'web' });
  }
  useFeature('dark_mode');

  // Graceful shutdown (the handler's body)
  telemetry.trackEvent('app.shutdown', { signal: 'SIGTERM', graceful: true });
  await telemetry.flush();

  const status = telemetry.getStatus();
  for (const key of ['enabled', 'userId', 'sessionId', 'projectName', 'projectVersion', 'endpoint', 'verbose', 'batchSize', 'queueSize']) {
    assert.ok(key in status, key);
  }
  assert.match(status.userId, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.equal(status.queueSize, 0);
  assert.equal(status.sent.items, 3);

  const disabled = telemetry.disable();
  assert.ok(disabled instanceof Promise);
  await disabled;
  assert.equal(telemetry.isEnabled(), false);
  const reqs = await rx.validRequests();
  assert.equal(reqs.length, 2);
});
