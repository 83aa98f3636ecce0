// `make demo` (BACKEND=otlp, the default): starts a local OTLP collector on 127.0.0.1
// that validates and prints what it receives.
// `make demo BACKEND=clickhouse`: starts a ClickHouse (embedded chDB behind its HTTP
// interface, deployed schema, strict JSON input) that prints each INSERT.
// Either way it then runs a small app that tracks events, metrics, logs and an error
// through the built package, flushes, and shows what arrived.
// With the OTLP backend it also serves the browser demo page (www/) on 127.0.0.1 and prints
// its URL; while a terminal is attached the page stays up (Enter or Ctrl+C stops it) and the
// collector keeps printing what the page sends. Without one (CI, pipes) the demo exits.
import { AutomagikTelemetry, MetricType, LogSeverity, StandardEvents } from '../pkg/node.js';
import { startReceiver } from '../tests/support/receiver.mjs';
import { startClickHouse } from '../tests/support/clickhouse.mjs';
import { serveDemo } from '../tests/support/browser.mjs';

const clickhouse = process.env.BACKEND === 'clickhouse';
const PASSWORD = 'demo-password';
const server = clickhouse ? await startClickHouse({ password: PASSWORD, print: true }) : await startReceiver({ print: true });
const name = clickhouse ? 'clickhouse' : 'collector';
server.lines.on('line', (line) => console.log(`  ${name} | ${line}`));
console.log(
  clickhouse
    ? `ClickHouse listening on ${server.url} (chDB engine, tables telemetry.traces/metrics/logs, strict JSON input)\n`
    : `collector listening on ${server.url} (strict OTLP/JSON validation, prints what arrives)`,
);
// A fixed port is easier to keep open in a browser tab; any free one if it is taken.
const site = clickhouse ? null : await serveDemo(server.url, { port: 8787 }).catch(() => serveDemo(server.url));
console.log(site ? `demo page: ${site.url}/ (open it in a browser)\n` : '');

const telemetry = new AutomagikTelemetry({
  projectName: 'demo-app',
  version: '1.0.0',
  ...(clickhouse
    ? { backend: 'clickhouse', clickhouseEndpoint: server.url, clickhousePassword: PASSWORD }
    : { endpoint: server.url }),
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
await new Promise((r) => setTimeout(r, 200)); // let the server's last lines print
const { sent, dropped, queueSize, lastError } = telemetry.getStatus();
console.log(`\napp | flushed: ${sent.items} items in ${sent.requests} requests (${sent.bytes} bytes on the wire), queue ${queueSize}, dropped ${JSON.stringify(dropped)}${lastError ? `, last error: ${lastError}` : ''}`);
if (clickhouse) {
  for (const table of ['traces', 'metrics', 'logs']) {
    const [{ n }] = await server.query(`SELECT count() AS n FROM telemetry.${table}`);
    console.log(`clickhouse | SELECT count() FROM telemetry.${table} -> ${n}`);
  }
  const rows = await server.query(
    'SELECT span_name, status_code, toUnixTimestamp(timestamp) AS ts, attributes FROM telemetry.traces ORDER BY timestamp_ns',
  );
  for (const r of rows) console.log(`clickhouse |   ${r.span_name} ${r.status_code} t=${r.ts} ${JSON.stringify(r.attributes).slice(0, 120)}`);
} else {
  const received = await server.validRequests();
  console.log(`collector | ${received.length} requests, all valid OTLP: ${received.map((r) => `${r.signal}=${r.item_count}`).join(' ')}`);
}

const interactive = process.stdin.isTTY && !process.env.CI;
if (site && interactive) {
  console.log(`\nThe demo page stays up at ${site.url}/ and what it sends prints below. Enter or Ctrl+C stops it.`);
  await new Promise((resolve) => {
    process.stdin.once('data', resolve);
    process.once('SIGINT', resolve);
  });
  process.stdin.pause();
} else if (site) {
  console.log('\nno terminal attached: stopping (run `make demo` in a terminal to keep the demo page up)');
}
await site?.close();
await server.close();
