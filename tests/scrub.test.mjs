// Personal data scrubbed by default (SPEC §6.1), end to end: secrets of every category,
// placed in every place an app writes (event attributes, nested arrays and objects, log
// messages, error messages, stacks and context, metric attributes), never reach the
// strict OTLP receiver or a ClickHouse row; their surroundings do, and benign values
// arrive byte-identical. `scrub: false` sends everything as given.
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { AutomagikTelemetry } from '../pkg/node.js';
import { startReceiver, eventually, testConfig } from './support/receiver.mjs';
import { startClickHouse } from './support/clickhouse.mjs';

let rx;
before(async () => (rx = await startReceiver()));
after(() => rx.close());
beforeEach(() => rx.reset());

/** One secret of each §6.1 category, with text that must survive around it. */
const SECRETS = {
  email: 'write to alice.smith@example.com today',
  card: 'paid with 4111 1111 1111 1111 ok',
  jwt: 'token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U end',
  bearer: 'Authorization: Bearer abc123def456ghi789 sent',
  aws: 'key AKIAIOSFODNN7EXAMPLE used',
  github: 'ghp_abcdefghijklmnopqrstuvwxyz0123456789 leaked',
  ipv4: 'client 203.0.113.42 connected',
  ipv6: 'client 2001:db8::8a2e:370:7334 connected',
  urlCredentials: 'fetch https://bob:hunter2@api.example.com/v1 failed',
  query: 'GET https://api.example.com/cb?token=s3cr3tvalue&page=2 done',
  home: 'at /Users/alice/project/src/app.js:10:5',
  ssn: 'ssn on file 123-45-6789 checked',
  iban: 'iban GB82WEST12345698765432 wired',
};

/** What must never arrive, per category. */
const NEEDLES = {
  email: 'alice.smith',
  // With its space: '4111' alone also turns up in random hex ids and timestamps.
  card: '4111 1111',
  jwt: 'eyJhbGciOiJIUzI1NiJ9',
  bearer: 'abc123def456',
  aws: 'AKIAIOSFODNN7EXAMPLE',
  github: 'ghp_abcdef',
  ipv4: '203.0.113.42',
  ipv6: '2001:db8',
  urlCredentials: 'hunter2',
  query: 's3cr3tvalue',
  home: 'alice/',
  ssn: '123-45-6789',
  iban: 'GB82WEST',
};

/** Values §6.1 says must stay byte-identical. */
const BENIGN = {
  version: '1.2.3',
  app_version: 'v1.2.3.4',
  build_version: '10.0.0.1',
  uuid: '3f2c1d9e-8b7a-4c6d-9e0f-1a2b3c4d5e6f',
  trace: '0af7651916cd43dd8448eb211c80319c',
  span: 'b7ad6b7169203331',
  date: '2026-12-03T20:15:35.123Z',
  duration: '1h30m12s',
  order: 'ORD-2024-000123',
  not_a_card: '1234567812345678',
  words: 'the quick brown fox',
  url: 'https://example.com/docs?page=2',
  prompt_tokens: 1234,
  author: 'Ada Lovelace',
  session_count: 7,
};

const SECRET_KEYS = { password: 'hunter2pw', apiKey: 'k-123', authorization: 'Basic Zm9vOmJhcg==', session: 'sess-1' };

/** Tracks the secrets in every place, and the benign set, on client `t`. */
function trackEverywhere(t) {
  t.trackEvent('scrub.event', { ...SECRETS, ...SECRET_KEYS, ...BENIGN, list: Object.values(SECRETS), nested: { deep: SECRETS } });
  t.trackMetric('scrub.metric', 1, 'gauge', { ...SECRETS, ...SECRET_KEYS });
  for (const [category, text] of Object.entries(SECRETS)) {
    t.trackLog(`log ${category}: ${text}`, 'info', { category });
    const err = new Error(`failed ${category}: ${text}`);
    err.stack = `Error: failed ${category}\n    ${text}\n    at /home/alice/app/main.js:1:1`;
    t.trackError(err, { category, detail: text });
  }
}

test('no secret of any category arrives, from any place an app writes, and the text around it does', async () => {
  const t = new AutomagikTelemetry(testConfig(rx.url, { flushInterval: 0 }));
  trackEverywhere(t);
  await t.flush();
  const reqs = await rx.validRequests();
  assert.equal(reqs.length, 3, 'traces, metrics and logs');
  const wire = JSON.stringify(reqs.map((r) => r.json));
  for (const [category, needle] of Object.entries(NEEDLES)) {
    assert.ok(!wire.includes(needle), `${category}: ${needle} arrived`);
  }
  for (const value of Object.values(SECRET_KEYS)) assert.ok(!wire.includes(value), `${value} arrived`);
  for (const surrounding of ['write to', 'today', 'paid with', 'connected', 'failed', 'api.example.com', 'page=2', '/project/src/app.js:10:5']) {
    assert.ok(wire.includes(surrounding), `the surrounding text "${surrounding}" arrived`);
  }
  for (const token of ['[EMAIL]', '[CARD]', '[JWT]', 'Bearer [REDACTED]', '[SECRET]', '[IP]', 'https://[REDACTED]@api.example.com', 'token=[REDACTED]', '/Users/[USER]/', '[ID]']) {
    assert.ok(wire.includes(JSON.stringify(token).slice(1, -1)), `${token} marks the place`);
  }
  const s = t.getStatus();
  assert.ok(s.scrubbed >= 13 * 4, `scrubbed counts the values changed: ${s.scrubbed}`);
  assert.equal(s.sent.items, 2 + 2 * Object.keys(SECRETS).length);
});

test('the benign set arrives byte-identical, and event and metric names are left alone', async () => {
  const t = new AutomagikTelemetry(testConfig(rx.url, { flushInterval: 0 }));
  t.trackEvent('signup for bob@example.com', BENIGN);
  await t.flush();
  const [req] = await rx.validRequests();
  const span = req.json.resourceSpans[0].scopeSpans[0].spans[0];
  assert.equal(span.name, 'signup for bob@example.com', "the SDK's own fields are not scrubbed");
  const got = Object.fromEntries(span.attributes.map((a) => [a.key, a.value.stringValue ?? Number(a.value.intValue)]));
  assert.deepEqual(got, BENIGN);
  assert.equal(t.getStatus().scrubbed, 0);
});

test('scrub: false sends everything as given; scrub: { keys } adds sensitive keys', async () => {
  const off = new AutomagikTelemetry(testConfig(rx.url, { scrub: false }));
  off.trackEvent('off', { email: SECRETS.email, password: 'as-given' });
  await off.flush();
  const own = new AutomagikTelemetry(testConfig(rx.url, { scrub: { keys: ['employee-no'] } }));
  own.trackEvent('own', { employeeNo: 'E-42', email: SECRETS.email });
  await own.flush();
  const wire = (await rx.validRequests()).map((r) => JSON.stringify(r.json));
  assert.ok(wire[0].includes('alice.smith@example.com') && wire[0].includes('as-given'));
  assert.ok(!wire[1].includes('E-42') && !wire[1].includes('alice.smith'), wire[1]);
  assert.equal(off.getStatus().scrubbed, 0);
  assert.equal(own.getStatus().scrubbed, 2);
});

test('a bad scrub option is a TypeError naming it', () => {
  for (const scrub of ['yes', 1, null, [], { keys: 'password' }, { keys: [1] }, { keys: [''] }]) {
    assert.throws(
      () => new AutomagikTelemetry(testConfig(rx.url, { scrub })),
      (e) => e instanceof TypeError && /'scrub'/.test(e.message) && /keys/.test(e.message),
      JSON.stringify(scrub),
    );
  }
});

test('through ClickHouse (chDB): an email and a sensitive key are scrubbed in the inserted rows', async () => {
  const ch = await startClickHouse();
  try {
    const t = new AutomagikTelemetry({
      projectName: 'ch-scrub',
      version: '1.0.0',
      backend: 'clickhouse',
      clickhouseEndpoint: ch.url,
      enabled: true,
    });
    t.trackEvent('ch.event', { note: SECRETS.email, password: 'pw-in-row', plain: 'kept' });
    t.trackLog(`mail ${SECRETS.email}`, 'warn');
    t.trackError(new Error(`failed for ${SECRETS.email}`));
    await t.flush();
    await eventually(async () => (await ch.query('SELECT * FROM telemetry.traces')).length === 2);
    const traces = await ch.query('SELECT * FROM telemetry.traces ORDER BY span_name');
    const logs = await ch.query('SELECT * FROM telemetry.logs');
    const rows = JSON.stringify([...traces, ...logs]);
    assert.ok(!rows.includes('alice.smith') && !rows.includes('pw-in-row'), rows);
    const event = traces.find((r) => r.span_name === 'ch.event');
    assert.equal(event.attributes.note, 'write to [EMAIL] today');
    assert.equal(event.attributes.password, '[REDACTED]');
    assert.equal(event.attributes.plain, 'kept');
    assert.equal(logs[0].body, 'mail write to [EMAIL] today');
    const error = traces.find((r) => r.span_name === 'automagik.error');
    assert.equal(error.status_message, 'failed for write to [EMAIL] today');
  } finally {
    await ch.close();
  }
});
