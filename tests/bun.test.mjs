// Bun (npm `bun`) runs the packed package, resolved from its `node` export condition.
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { startReceiver } from './support/receiver.mjs';
import { installPacked, devFile } from './support/packed.mjs';
import { EVENTS, trackFlushEnd, run, delivered } from './support/scripts.mjs';

const bun = devFile('.bin/bun');
const bunVersion = execFileSync(bun, ['--version']).toString().trim();
let rx, app;
before(async () => {
  rx = await startReceiver();
  app = installPacked('automagik-bun-');
  app.write('main.mjs', trackFlushEnd('@automagik/telemetry', rx.url));
});
after(async () => {
  await rx.close();
  app.remove();
});
beforeEach(() => rx.reset());

const bunRun = (env = {}) => run(bun, ['run', 'main.mjs'], { cwd: app.dir, env: { PATH: process.env.PATH, HOME: app.dir, ...env } });

test('a Bun script tracks, flushes and exits on its own', async () => {
  const res = bunRun();
  assert.equal(res.status, 0, res.stderr);
  assert.equal(res.stderr, '');
  assert.equal(res.last.enabled, true);
  const got = await delivered(rx);
  assert.deepEqual(got.spans, [...Array(EVENTS).fill('script.event'), 'automagik.error'], 'in order, and nothing tracked after the flush');
  assert.deepEqual([got.metrics, got.logs], [1, 1]);
  assert.equal(res.last.sent.items, EVENTS + 3, 'what flush() reported sent arrived');
});

test('AUTOMAGIK_TELEMETRY_ENABLED is read from the process environment', async () => {
  const res = bunRun({ AUTOMAGIK_TELEMETRY_ENABLED: 'false' });
  assert.equal(res.status, 0, res.stderr);
  assert.equal(res.last.enabled, false);
  assert.equal((await rx.validRequests()).length, 0);
});

test('Bun reports itself as the runtime, with its own version', async () => {
  const res = bunRun();
  assert.equal(res.status, 0, res.stderr);
  const { resource } = await delivered(rx);
  assert.deepEqual([resource['process.runtime.name'], resource['process.runtime.version']], ['bun', bunVersion]);
  assert.equal(res.last.runtime, 'bun');
});
