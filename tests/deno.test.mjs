// Deno (npm `deno`) runs the packed package from the `npm:` specifier with the narrowest
// permissions: network access to the collector only. The wasm is a module import, so no
// --allow-read; environment variables are read only where --allow-env already grants them.
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execFileSync } from 'node:child_process';
import { startReceiver } from './support/receiver.mjs';
import { installPacked, devFile } from './support/packed.mjs';
import { EVENTS, trackFlushEnd, run, delivered } from './support/scripts.mjs';

// Deno's sanitizers (opt-in since Deno 2) fail a test that leaves a timer, a fetch or an
// unconsumed response body behind.
const SANITIZED = `import { AutomagikTelemetry } from 'npm:@automagik/telemetry';
Deno.test({ name: 'flush() leaves nothing open', sanitizeOps: true, sanitizeResources: true }, async () => {
  const t = new AutomagikTelemetry({ projectName: 'sanitized', version: '1', endpoint: Deno.args[0], enabled: true, flushInterval: 0, batchSize: 10 });
  for (let i = 0; i < 45; i++) t.trackEvent('sanitized.event', { i });
  t.trackMetric('sanitized.metric', 1);
  t.trackLog('sanitized.log');
  await t.flush();
});
`;

// Two Denos: the current release, and 2.5 LTS, which cannot import a wasm module source
// (installed apart, tests/deno-lts, for linux-x64 only).
const deno = devFile('.bin/deno');
const denoLts = fileURLToPath(new URL('./deno-lts/node_modules/@deno/linux-x64-glibc/deno', import.meta.url));
const denoVersion = execFileSync(deno, ['--version']).toString().match(/^deno (\S+)/)[1];
let rx, app, env;
before(async () => {
  rx = await startReceiver();
  app = installPacked('automagik-deno-');
  app.write('main.mjs', trackFlushEnd('npm:@automagik/telemetry', rx.url));
  app.write('sanitized_test.mjs', SANITIZED);
  // Variables that would turn telemetry off if they were read without permission.
  env = { PATH: process.env.PATH, DENO_DIR: join(app.dir, '.deno'), DENO_NO_UPDATE_CHECK: '1', NO_COLOR: '1', CI: 'true', AUTOMAGIK_TELEMETRY_ENABLED: 'false' };
});
after(async () => {
  await rx.close();
  app.remove();
});
beforeEach(() => rx.reset());

const denoRun = (flags, options = {}) => run(deno, ['run', `--allow-net=127.0.0.1:${rx.port}`, ...flags, 'main.mjs'], { cwd: app.dir, env, ...options });

test('a Deno script tracks, flushes and exits on its own with --allow-net to the collector only', async () => {
  const res = denoRun([]);
  assert.equal(res.status, 0, res.stderr);
  assert.equal(res.stderr, '', 'no permission error or warning');
  assert.deepEqual(res.last, { enabled: true, sent: res.last.sent, runtime: 'deno' }, 'unreadable CI and AUTOMAGIK_TELEMETRY_ENABLED are ignored');
  const got = await delivered(rx);
  assert.deepEqual(got.spans, [...Array(EVENTS).fill('script.event'), 'automagik.error'], 'in order, and nothing tracked after the flush');
  assert.deepEqual([got.metrics, got.logs], [1, 1]);
  assert.equal(res.last.sent.items, EVENTS + 3, 'what flush() reported sent arrived');
  assert.equal(got.resource['process.runtime.name'], 'deno');
  assert.equal(got.resource['process.runtime.version'], denoVersion);
  assert.equal(got.resource['os.type'], process.platform);
});

test('on a terminal no permission prompt appears', async () => {
  // A prompt would print "Deno requests ... access" and wait for an answer until killed.
  const res = denoRun([], { tty: true });
  assert.equal(res.status, 0, res.stdout);
  assert.doesNotMatch(res.stdout, /Deno requests/);
  assert.equal((await delivered(rx)).spans.length, EVENTS + 1);
});

test('variables granted by --allow-env are read', async () => {
  const off = denoRun(['--allow-env=AUTOMAGIK_TELEMETRY_ENABLED,ENVIRONMENT']);
  assert.equal(off.status, 0, off.stderr);
  assert.equal(off.last.enabled, false, 'AUTOMAGIK_TELEMETRY_ENABLED=false was read');
  assert.equal((await rx.validRequests()).length, 0, 'nothing was sent while off');

  const on = denoRun(['--allow-env=AUTOMAGIK_TELEMETRY_ENABLED,ENVIRONMENT'], {
    env: { ...env, AUTOMAGIK_TELEMETRY_ENABLED: 'yes', ENVIRONMENT: 'staging' },
  });
  assert.equal(on.status, 0, on.stderr);
  assert.equal(on.last.enabled, true, 'the variable beats CI, which stays unreadable');
  assert.equal((await delivered(rx)).resource['deployment.environment.name'], 'staging');
});

test('under deno test, flush() leaves no timer, request or response body open', async () => {
  const res = run(deno, ['test', `--allow-net=127.0.0.1:${rx.port}`, 'sanitized_test.mjs', '--', rx.url], { cwd: app.dir, env });
  assert.equal(res.status, 0, res.stdout + res.stderr);
  assert.match(res.stdout, /ok \| 1 passed/);
  const reqs = await rx.validRequests();
  assert.equal(reqs.reduce((n, r) => n + r.item_count, 0), 47);
});

const ltsSkip = !existsSync(denoLts) && 'Deno 2.5 LTS is installed on linux-x64 only';
test('Deno 2.5 LTS, which cannot import a wasm module source, needs read access to the package only', { skip: ltsSkip }, async () => {
  const script = (read) => run(denoLts, ['run', `--allow-net=127.0.0.1:${rx.port}`, ...read, 'main.mjs'], { cwd: app.dir, env });
  const denied = script([]);
  assert.notEqual(denied.status, 0);
  assert.match(denied.stderr, /Requires read access to ".*automagik_telemetry_full_bg\.wasm"/);
  const res = script(['--allow-read=node_modules/@automagik/telemetry']);
  assert.equal(res.status, 0, res.stderr);
  assert.equal(res.stderr, '');
  const got = await delivered(rx);
  assert.equal(got.spans.length, EVENTS + 1);
  assert.match(got.resource['process.runtime.version'], /^2\.5\./);
});
