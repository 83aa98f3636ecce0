// `make demo`: starts a local OTLP collector on 127.0.0.1 that validates and prints what
// it receives, then runs a small app that tracks events, metrics, logs and an error
// through the built package and flushes them.
import { AutomagikTelemetry, MetricType, LogSeverity, StandardEvents } from '../pkg/node.js';
import { startReceiver } from '../tests/support/receiver.mjs';

const collector = await startReceiver({ print: true });
collector.lines.on('line', (line) => console.log(`  collector | ${line}`));
console.log(`collector listening on ${collector.url} (strict OTLP/JSON validation, prints what arrives)\n`);

const telemetry = new AutomagikTelemetry({
  projectName: 'demo-app',
  version: '1.0.0',
  endpoint: collector.url,
  enabled: true, // the demo opts in explicitly: CI variables would otherwise turn it off
});

console.log('app | tracking 3 events, 3 metrics, 2 logs and 1 error ...');
telemetry.trackEvent(StandardEvents.API_REQUEST, { endpoint: '/v1/users', method: 'GET', status: 200, duration_ms: 45.2 });
telemetry.trackEvent(StandardEvents.FEATURE_USED, { feature_name: 'export_data', format: 'csv', row_count: 1500 });
telemetry.trackEvent('user.login', { plan: 'pro', tags: ['beta', 'eu'] });
telemetry.trackMetric('cpu.usage', 75.5, MetricType.GAUGE, { unit: '%' });
telemetry.trackMetric('api.requests.total', 1, MetricType.COUNTER, { endpoint: '/v1/users' });
telemetry.trackMetric('api.latency_ms', 123.45, MetricType.HISTOGRAM, { endpoint: '/v1/users' });
telemetry.trackLog('Application started');
telemetry.trackLog('API rate limit approaching', LogSeverity.WARN, { current: 450, limit: 500 });
try {
  JSON.parse('{not json');
} catch (error) {
  telemetry.trackError(error, { operation: 'parse_config' });
}

await telemetry.flush();
await new Promise((r) => setTimeout(r, 200)); // let the collector's last lines print
const { sent, dropped, queueSize } = telemetry.getStatus();
console.log(`\napp | flushed: ${sent.items} items in ${sent.requests} requests (${sent.bytes} bytes on the wire), queue ${queueSize}, dropped ${JSON.stringify(dropped)}`);
const received = await collector.validRequests();
console.log(`collector | ${received.length} requests, all valid OTLP: ${received.map((r) => `${r.signal}=${r.item_count}`).join(' ')}`);
await collector.close();
