// Cloudflare Workers: the packed package bundled as wrangler bundles it (esbuild, ESM,
// `workerd` export condition, the `.wasm` kept as a module import) and run in workerd
// through miniflare. The Worker keeps one client at module scope, configured from its
// `env` binding, and flushes with ctx.waitUntil().
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { once } from 'node:events';
import { join } from 'node:path';
import { build } from 'esbuild';
import { Miniflare } from 'miniflare';
import { startReceiver, eventually, items, attrs } from './support/receiver.mjs';
import { startClickHouse } from './support/clickhouse.mjs';
import { installPacked } from './support/packed.mjs';

// The Worker as a user writes it. `/track?req=R&n=N` tracks N events, yielding to other
// requests every 5, then flushes under waitUntil; once that flush resolves it reports to
// MARKER (when bound) so the test can check what had arrived by then. `/bodies` counts
// the responses to the SDK whose body was left unread.
const WORKER = `
import { env } from 'cloudflare:workers';
import { AutomagikTelemetry } from '@automagik/telemetry';

const telemetry = new AutomagikTelemetry({
  projectName: 'edge-worker',
  version: '1.0.0',
  backend: env.BACKEND,
  endpoint: env.OTLP_ENDPOINT,
  clickhouseEndpoint: env.CLICKHOUSE_URL,
  clickhousePassword: env.CLICKHOUSE_PASSWORD,
  verbose: env.VERBOSE === 'true',
  env,
});

// The responses the SDK receives (every fetch but the test's marker), kept to check that
// it reads every body.
const responses = [];
const fetchFromGlobal = globalThis.fetch;
globalThis.fetch = async (input, init) => {
  const res = await fetchFromGlobal(input, init);
  if (!(env.MARKER && String(input).startsWith(env.MARKER))) responses.push(res);
  return res;
};

export default {
  async fetch(request, env, ctx) {
    const url = new URL(request.url);
    if (url.pathname === '/bodies') return Response.json({ received: responses.length, unread: responses.filter((r) => !r.bodyUsed).length });
    const req = Number(url.searchParams.get('req'));
    const n = Number(url.searchParams.get('n'));
    for (let i = 0; i < n; i++) {
      telemetry.trackEvent('worker.event', { req, i });
      if (i % 5 === 4) await scheduler.wait(1);
    }
    if (url.searchParams.has('all')) {
      telemetry.trackMetric('worker.metric', 2.5, 'histogram', { req });
      telemetry.trackLog('worker.log', 'WARN', { req });
      telemetry.trackError(new TypeError('worker.error'), { req });
    }
    const flushed = telemetry.flush();
    ctx.waitUntil(env.MARKER ? flushed.then(() => fetch(env.MARKER + '/flushed/' + req)).then((r) => r.arrayBuffer()) : flushed);
    const s = telemetry.getStatus();
    return Response.json({ enabled: s.enabled, runtime: s.runtime, sessionId: s.sessionId });
  },
};
`;

let app, rx, marker, runtimeLog;

before(async () => {
  rx = await startReceiver();
  marker = await startMarker();
  app = installPacked('automagik-workerd-');
  app.write('worker.mjs', WORKER);
  await bundle('worker.mjs');
});
after(async () => {
  await rx.close();
  marker.server.closeAllConnections();
  marker.server.close();
  app.remove();
});
beforeEach(async () => {
  await rx.reset();
  marker.flushed.clear();
});

/**
 * Bundles `entry` of the consumer project into dist/ as wrangler does: ESM, conditions
 * workerd/worker/browser, and wasm imports left as module imports (the file copied beside
 * the bundle) so that workerd receives a compiled WebAssembly.Module.
 */
function bundle(entry) {
  return build({
    entryPoints: [join(app.dir, entry)],
    absWorkingDir: app.dir,
    outdir: join(app.dir, 'dist'),
    bundle: true,
    format: 'esm',
    target: 'es2022',
    platform: 'browser',
    conditions: ['workerd', 'worker', 'browser'],
    external: ['cloudflare:*'],
    loader: { '.wasm': 'copy' },
    logLevel: 'silent',
  });
}

/**
 * Starts dist/`script` in workerd with `bindings` (vars and secrets alike), for the rest
 * of test `t`.
 */
async function startWorker(t, bindings, script = 'worker.js') {
  runtimeLog = '';
  const mf = new Miniflare({
    modules: true,
    scriptPath: join(app.dir, 'dist', script),
    modulesRoot: join(app.dir, 'dist'),
    modulesRules: [{ type: 'CompiledWasm', include: ['**/*.wasm'] }],
    compatibilityDate: '2026-04-01',
    bindings,
    handleRuntimeStdio(stdout, stderr) {
      for (const s of [stdout, stderr]) s.on('data', (d) => (runtimeLog += d));
    },
  });
  await mf.ready.catch(async (e) => {
    await mf.dispose().catch(() => {}); // stops workerd; rejects with the same error
    throw new Error(`${e.message}\n${runtimeLog}`);
  });
  t.after(() => mf.dispose());
  return mf;
}

/** A 127.0.0.1 server recording, when a Worker's flush resolved, how many of that
 * request's events the receiver held. */
async function startMarker() {
  const flushed = new Map();
  const server = createServer(async (req, res) => {
    const r = Number(req.url.split('/').pop());
    const spans = (await rx.requests()).filter((q) => q.signal === 'traces').flatMap(items);
    flushed.set(r, spans.filter((s) => attrs(s.attributes).req.intValue === String(r)).length);
    res.end();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, flushed, url: `http://127.0.0.1:${server.address().port}` };
}

/** The counts of `/bodies`. */
const bodies = async (mf) => (await mf.dispatchFetch('http://worker.test/bodies')).json();

const get = async (mf, query) => {
  const res = await mf.dispatchFetch(`http://worker.test/track?${query}`);
  assert.equal(res.status, 200, await res.clone().text());
  return res.json();
};

test('a module-scope client serves concurrent requests; each waitUntil(flush()) delivers what its request tracked', async (t) => {
  const mf = await startWorker(t, { OTLP_ENDPOINT: rx.url, MARKER: marker.url, AUTOMAGIK_TELEMETRY_ENABLED: 'true' });
  const REQUESTS = 24;
  const EVENTS = 25;
  const replies = await Promise.all(Array.from({ length: REQUESTS }, (_, r) => get(mf, `req=${r}&n=${EVENTS}`)));
  assert.deepEqual(new Set(replies.map((b) => b.runtime)), new Set(['workerd']));
  assert.equal(new Set(replies.map((b) => b.sessionId)).size, 1, 'one client shared by every request');

  await eventually(() => marker.flushed.size === REQUESTS, 20_000).catch(() => {});
  const resolved = [...marker.flushed.keys()].sort((x, y) => x - y);
  assert.deepEqual(resolved, [...Array(REQUESTS).keys()], `every request's flush resolved; workerd logged: ${runtimeLog}`);
  for (let r = 0; r < REQUESTS; r++) {
    assert.equal(marker.flushed.get(r), EVENTS, `request ${r}: all its events had arrived when its flush resolved`);
  }

  const spans = (await rx.validRequests()).filter((q) => q.signal === 'traces').flatMap(items);
  assert.equal(spans.length, REQUESTS * EVENTS, 'each event delivered exactly once');
  assert.ok(new Set(spans.map((s) => s.startTimeUnixNano)).size < spans.length / 4, 'the clock stood still between I/O');
  assert.equal(new Set(spans.map((s) => s.traceId)).size, spans.length, 'distinct trace ids all the same');
  assert.equal(new Set(spans.map((s) => s.spanId)).size, spans.length, 'distinct span ids');
  for (let r = 0; r < REQUESTS; r++) {
    const order = spans.filter((s) => attrs(s.attributes).req.intValue === String(r)).map((s) => Number(attrs(s.attributes).i.intValue));
    assert.deepEqual(order, [...Array(EVENTS).keys()], `request ${r}: events in tracking order`);
  }
  assert.deepEqual(await bodies(mf), { received: (await rx.requests()).length, unread: 0 }, 'every response body was read');
  assert.equal(runtimeLog, '', 'workerd logged no warning or error');
});

test('constructing the client at module scope does no I/O, draws no random number and starts no timer', async (t) => {
  // workerd refuses to start a Worker whose module scope does any of these ...
  app.write('random-at-load.mjs', 'crypto.getRandomValues(new Uint8Array(1));\nexport default { fetch: () => new Response() };');
  await bundle('random-at-load.mjs');
  await assert.rejects(startWorker(t, {}, 'random-at-load.js'), /Disallowed operation called within global scope/);
  // ... and the Worker above, which constructs its client there, starts and serves.
  const mf = await startWorker(t, { OTLP_ENDPOINT: rx.url, MARKER: marker.url, AUTOMAGIK_TELEMETRY_ENABLED: 'true' });
  assert.equal((await get(mf, 'req=0&n=1')).enabled, true);
  await eventually(() => marker.flushed.get(0) === 1);
});

test('tracking at module scope, where workerd refuses random numbers, does not throw; the event goes with the next flush', async (t) => {
  app.write(
    'track-at-load.mjs',
    `import { env } from 'cloudflare:workers';
     import { AutomagikTelemetry } from '@automagik/telemetry';
     const telemetry = new AutomagikTelemetry({ projectName: 'edge-worker', version: '1.0.0', endpoint: env.OTLP_ENDPOINT, env });
     telemetry.trackEvent('at.load');
     export default {
       async fetch(request, env, ctx) {
         telemetry.trackEvent('in.request');
         await telemetry.flush();
         return Response.json(telemetry.getStatus().sent);
       },
     };`,
  );
  await bundle('track-at-load.mjs');
  const mf = await startWorker(t, { OTLP_ENDPOINT: rx.url, AUTOMAGIK_TELEMETRY_ENABLED: 'true' }, 'track-at-load.js');
  assert.equal((await (await mf.dispatchFetch('http://worker.test/')).json()).items, 2);
  const spans = (await rx.validRequests()).flatMap(items);
  assert.deepEqual(spans.map((s) => s.name), ['at.load', 'in.request']);
  assert.notEqual(spans[0].traceId, spans[1].traceId);
});

test('configuration comes from the env binding', async (t) => {
  const off = await startWorker(t, { OTLP_ENDPOINT: rx.url, MARKER: marker.url, AUTOMAGIK_TELEMETRY_ENABLED: 'false' });
  assert.equal((await get(off, 'req=0&n=3&all')).enabled, false);
  await eventually(() => marker.flushed.has(0));
  assert.equal((await rx.validRequests()).length, 0, 'nothing sent while AUTOMAGIK_TELEMETRY_ENABLED=false');

  const on = await startWorker(t, { OTLP_ENDPOINT: rx.url, MARKER: marker.url, AUTOMAGIK_TELEMETRY_ENABLED: 'true', CI: 'true', ENVIRONMENT: 'staging' });
  assert.equal((await get(on, 'req=1&n=3&all')).enabled, true, 'the variable beats CI');
  await eventually(() => marker.flushed.has(1));
  const reqs = await rx.validRequests();
  assert.deepEqual(reqs.map((q) => q.signal).sort(), ['logs', 'metrics', 'traces']);
  for (const q of reqs) {
    const resource = attrs((q.json.resourceSpans || q.json.resourceMetrics || q.json.resourceLogs)[0].resource.attributes);
    assert.equal(resource['deployment.environment.name'].stringValue, 'staging');
    assert.equal(resource['process.runtime.name'].stringValue, 'workerd');
  }
});

test('the ClickHouse backend delivers from a Worker, its password in a secret binding', async (t) => {
  const PASSWORD = 'worker-s3cret';
  const ch = await startClickHouse({ password: PASSWORD });
  try {
    const mf = await startWorker(t, {
      BACKEND: 'clickhouse',
      CLICKHOUSE_URL: ch.url,
      CLICKHOUSE_PASSWORD: PASSWORD, // a secret (`wrangler secret put`) is a binding like any var
      AUTOMAGIK_TELEMETRY_ENABLED: 'true',
      VERBOSE: 'true',
    });
    await get(mf, 'req=7&n=3&all');
    const rows = await eventually(async () => {
      const [traces, metrics, logs] = await Promise.all(['traces', 'metrics', 'logs'].map((t) => ch.query(`SELECT * FROM telemetry.${t}`)));
      return traces.length === 4 && metrics.length === 1 && logs.length === 1 && { traces, metrics, logs };
    }, 30_000);
    assert.deepEqual(rows.traces.map((r) => r.span_name).sort(), ['automagik.error', 'worker.event', 'worker.event', 'worker.event']);
    assert.equal(rows.metrics[0].metric_name, 'worker.metric');
    assert.equal(rows.logs[0].body, 'worker.log');
    for (const r of [...rows.traces, ...rows.metrics, ...rows.logs]) assert.equal(r.runtime_name, 'workerd');
    assert.match(runtimeLog, /automagik-telemetry/, 'verbose lines were logged');
    assert.ok(!runtimeLog.includes(PASSWORD), 'the password never shows in the Worker log');
    const inserts = (await ch.requests()).filter((r) => /^INSERT/i.test(r.query));
    assert.deepEqual(await bodies(mf), { received: inserts.length, unread: 0 }, 'every response body was read');
  } finally {
    await ch.close();
  }
});
