// One run of the differential test's corpus (tests/postlink_diff.test.mjs) in a fresh Node
// process: randomness, Date.now and performance.now fixed, fetch replaced by a recorder.
// Prints as JSON the requests the client made (url, method, headers and body as base64),
// its sent and dropped counts, and the errors a few bad configs throw.
// Usage: node tests/support/postlink_run.mjs <pkgDir> <lean|full> <otlp|clickhouse> <gzip|plain>
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const [pkgDir, variant, backend, compression] = process.argv.slice(2);
const glue = { lean: 'automagik_telemetry', full: 'automagik_telemetry_full' }[variant];
if (!glue || !['otlp', 'clickhouse'].includes(backend) || !['gzip', 'plain'].includes(compression)) {
  throw new Error(`usage: postlink_run.mjs <pkgDir> <lean|full> <otlp|clickhouse> <gzip|plain>, not ${process.argv.slice(2)}`);
}

// The same bytes at every run: a counter through a 32-bit mix (crates/host/js/host.js takes its
// randomness from this slot when it is set).
let state = 0x9e3779b9;
globalThis[Symbol.for('automagik-telemetry.randomFill')] = (buf) => {
  for (let i = 0; i < buf.length; i++) {
    state = Math.imul(state ^ (state >>> 15), 0x2c1b3c6d) + 0x297a2d39;
    buf[i] = (state ^ (state >>> 12)) & 0xff;
  }
  return buf;
};
Date.now = () => 1_767_225_600_123;
performance.now = () => 4_321.5;

const requests = [];
globalThis.fetch = async (url, init) => {
  requests.push({
    url: String(url),
    method: init.method,
    headers: init.headers,
    body: Buffer.from(init.body).toString('base64'),
  });
  return new Response('{}', { status: 200 });
};

const { initSync, AutomagikTelemetry } = await import(pathToFileURL(resolve(pkgDir, `${glue}.js`)).href);
initSync({ module: readFileSync(join(pkgDir, `${glue}_bg.wasm`)) });

const configErrors = [];
for (const bad of [
  { backend: 'clickhouse' },
  { backend: 'ch' },
  { projectName: '' },
  { batchSize: -1.5 },
  { timeout: 'soon' },
  { endpoint: 42 },
  { compressionThreshold: 1e400 },
]) {
  try {
    new AutomagikTelemetry({ projectName: 'p', version: '1', env: {}, flushInterval: 0, ...bad }).free();
    configErrors.push(null);
  } catch (e) {
    configErrors.push(`${e.name}: ${e.message}`);
  }
}

const client = new AutomagikTelemetry({
  projectName: 'postlink-diff ✓',
  version: '1.2.3-β',
  backend,
  endpoint: 'http://127.0.0.1:9/v1/traces',
  clickhouseEndpoint: 'http://127.0.0.1:9',
  clickhouseUsername: 'writer',
  clickhousePassword: 'pässword',
  enabled: true,
  env: {},
  batchSize: 1000,
  flushInterval: 0,
  compressionEnabled: compression === 'gzip',
  compressionThreshold: 64,
});

const error = (Class, message, stack, extra = {}) => Object.assign(new Class(message), { stack, ...extra });
const unicode = 'héllo wörld ✓ 日本語 🎉 \u0000 \u2028 "quoted" \\ back\tslash';
const big = [2 ** 53 + 2, -(2 ** 63), 1e21, 1.7976931348623157e308, 5e-324, -0, 0.1 + 0.2, 123456789.123456789];

// Events with nested attributes.
client.trackEvent('page_view', { path: '/home', ok: true, n: 3, nothing: null, skipped: undefined });
client.trackEvent('nested', {
  user: { plan: 'pro', tags: ['a', 'b', '日本'], limits: { seats: 25, ratio: 0.75, deep: { deeper: { deepest: 'x' } } } },
  list: [1, 'two', false, null, [3, [4]], { five: 5 }],
  map: new Map([['k', 'v']]),
});
client.trackEvent(unicode, { [unicode]: unicode, emoji: '🧪🔬', rtl: 'שלום', combining: 'e\u0301' });
client.trackEvent('numbers', Object.fromEntries(big.map((v, i) => [`n${i}`, v])));
client.trackEvent('odd numbers', { nan: NaN, inf: Infinity, ninf: -Infinity, bigint: 12345678901234567890n });
client.trackEvent('long', { text: 'lorem ipsum '.repeat(200) });
for (let i = 0; i < 40; i++) client.trackEvent('loop', { i, even: i % 2 === 0 });
client.trackEvent(new Map([['a', 1]]), 'not attributes'); // invalid: counted, not sent

// Metrics of the three types, and an unknown one (coerced to gauge).
for (const [i, value] of [1, 2.5, -3, ...big].entries()) {
  client.trackMetric('requests', value, 'counter', { route: `/r/${i}` });
  client.trackMetric('latency_ms', Math.abs(value), 'histogram', { unit: 'ms', ok: i % 2 === 0 });
  client.trackMetric('queue_depth', value, 'gauge');
}
client.trackMetric('memory ✓', 12345.678, 'bogus', { host: unicode });

// Logs of every severity, by name, by number and unknown.
for (const severity of ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL', 'warn', 13, 21, 'loud', undefined]) {
  client.trackLog(`log at ${String(severity)}: ${unicode}`, severity, { severity: String(severity), nested: { a: [1, 2] } });
}

// Errors with stacks.
client.trackError(
  error(Error, 'boom', 'Error: boom\n    at handler (https://app.example/main.js:10:5)\n    at async run (https://app.example/main.js:3:1)'),
  { route: '/checkout', attempt: 2 },
);
client.trackError(
  error(TypeError, 'x is not a function ✗', 'TypeError: x is not a function ✗\n    at Object.<anonymous> (/srv/app/index.js:1:1)', {
    code: 'E_X',
  }),
);
client.trackError(error(RangeError, '', ''), new Map([['k', 'v']]));
client.trackError('a thrown string');
client.trackError({ message: 'a plain object', name: 'Custom' });

await client.flush();
await client.shutdown();
const { sent, dropped } = client.getStatus();
console.log(JSON.stringify({ requests, sent, dropped, configErrors }));
