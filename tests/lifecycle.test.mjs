// Enablement (SPEC §6), process lifetime, and the packed npm package.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AutomagikTelemetry } from '../pkg/node.js';
import { startReceiver } from './support/receiver.mjs';
import { installPacked } from './support/packed.mjs';

const root = fileURLToPath(new URL('../', import.meta.url));
let rx;
before(async () => (rx = await startReceiver()));
after(() => rx.close());

const base = () => ({ projectName: 'life', version: '1', endpoint: rx.url });

test('the first applicable enablement rule decides', () => {
  const on = (extra) => new AutomagikTelemetry({ ...base(), ...extra }).isEnabled();
  assert.equal(on({ env: {} }), true, 'no signal: on');
  assert.equal(on({ env: { CI: 'true' } }), false, 'CI: off');
  assert.equal(on({ env: { GITHUB_ACTIONS: 'true' } }), false);
  assert.equal(on({ env: { CI: 'false' } }), true, 'CI=false does not count');
  assert.equal(on({ env: { CI: '1', AUTOMAGIK_TELEMETRY_ENABLED: 'yes' } }), true, 'the variable beats CI');
  assert.equal(on({ env: { AUTOMAGIK_TELEMETRY_ENABLED: 'off' } }), false);
  assert.equal(on({ env: { AUTOMAGIK_TELEMETRY_ENABLED: '0' }, enabled: true }), true, 'config.enabled beats the variable');
  assert.equal(on({ env: {}, enabled: false }), false);
});

test('without config.env the process environment is read', () => {
  const script = `import { AutomagikTelemetry } from ${JSON.stringify(join(root, 'pkg/node.js'))};
    console.log(new AutomagikTelemetry({ projectName: 'p', version: '1' }).isEnabled());`;
  const run = (env) => execFileSync(process.execPath, ['--input-type=module', '-e', script], { env: { PATH: process.env.PATH, ...env } }).toString().trim();
  assert.equal(run({}), 'true');
  assert.equal(run({ CI: 'true' }), 'false');
  assert.equal(run({ CI: 'true', AUTOMAGIK_TELEMETRY_ENABLED: 'true' }), 'true');
});

test('while disabled nothing is collected or sent; enable() turns it back on', async () => {
  await rx.reset();
  const t = new AutomagikTelemetry({ ...base(), enabled: true });
  t.trackEvent('before');
  await t.disable();
  assert.equal(t.getStatus().sent.items, 1, 'disable() flushed what was queued');
  t.trackEvent('while-off');
  t.trackMetric('m', 1);
  assert.equal(t.getStatus().queueSize, 0);
  await t.flush();
  t.enable();
  assert.equal(t.isEnabled(), true);
  t.trackEvent('after');
  await t.flush();
  const names = (await rx.validRequests()).flatMap((r) => r.json.resourceSpans[0].scopeSpans[0].spans.map((s) => s.name));
  assert.deepEqual(names, ['before', 'after']);
});

test('nothing is generated before the first tracking call', () => {
  const t = new AutomagikTelemetry({ ...base(), enabled: true });
  const s = t.getStatus();
  assert.equal(s.userId, null);
  assert.equal(s.sessionId, null);
  t.trackLog('first');
  assert.match(t.getStatus().sessionId, /^[0-9a-f-]{36}$/);
});

test('a script that tracks, awaits flush() and ends exits on its own with everything delivered', async () => {
  await rx.reset();
  const script = `import { AutomagikTelemetry } from ${JSON.stringify(join(root, 'pkg/node.js'))};
    const t = new AutomagikTelemetry({ projectName: 'exit', version: '1', endpoint: ${JSON.stringify(rx.url)}, enabled: true, flushInterval: 60000 });
    for (let i = 0; i < 250; i++) t.trackEvent('e', { i });
    await t.flush();
    t.trackEvent('queued-after-flush');
    console.log(JSON.stringify(t.getStatus().sent));`;
  const t0 = Date.now();
  const res = spawnSync(process.execPath, ['--input-type=module', '-e', script], { timeout: 20_000 });
  assert.equal(res.status, 0, res.stderr.toString());
  assert.ok(Date.now() - t0 < 10_000, 'the 60 s flush timer did not hold the process');
  const sent = JSON.parse(res.stdout.toString());
  const delivered = (await rx.validRequests()).reduce((n, r) => n + r.item_count, 0);
  assert.equal(sent.items, 250);
  assert.equal(delivered, 250, 'what flush() reported sent arrived');
});

test('the packed tarball installs into an empty folder and imports with no init()', async () => {
  const app = installPacked();
  try {
    app.write(
      'main.mjs',
      `import { AutomagikTelemetry, MetricType, LogSeverity, StandardEvents, VERSION } from '@automagik/telemetry';
       const t = new AutomagikTelemetry({ projectName: 'consumer', version: '1', endpoint: ${JSON.stringify(rx.url)}, enabled: true });
       t.trackEvent(StandardEvents.FEATURE_USED, { feature: 'pack' });
       t.trackMetric('m', 1, MetricType.COUNTER);
       t.trackLog('l', LogSeverity[LogSeverity.WARN]);
       await t.flush();
       console.log(VERSION, t.getStatus().sent.items);`,
    );
    const out = execFileSync(process.execPath, ['main.mjs'], { cwd: app.dir }).toString().trim();
    assert.match(out, /^\d+\.\d+\.\d+ 3$/);
  } finally {
    app.remove();
  }
});
