// The Rust crate (issue 16, SPEC §9) in a real browser: tests/rust-app, a tiny wasm32 app
// with its own global allocator, tracks through `automagik-telemetry` in headless
// Chromium against the strict OTLP receiver. Events, metrics, logs and an error arrive
// valid with typed attributes; the `tracing` layer's log and span arrive; the page going
// away delivers what is queued; batches survive the page (SPEC §8) as the npm package's do,
// in the same keys and format, so each front door restores the other's; and, with ids and
// clocks fixed, the crate sends the same request bodies as the npm package for the same
// items. In workerd (miniflare): the app under a hand-written Worker, and
// tests/rust-worker, a Worker written with workers-rs. No timed assertion: every wait is
// on a condition, with a cap.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { startReceiver, items, attrs, eventually } from './support/receiver.mjs';
import { launchBrowser, openPage, serveStatic } from './support/browser.mjs';
import { assertDeliveredOnce as deliveredOnce, names } from './support/persisted.mjs';
import { Miniflare } from 'miniflare';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const APP = join(ROOT, 'tests/rust-app');
const OUT = join(APP, 'out');
const RUST_WORKER = join(ROOT, 'tests/rust-worker');
const RUST_WORKER_OUT = join(ROOT, 'target/rust-worker');
const BUILD_MS = 20 * 60 * 1000; // a cold build of the app and its dependencies, on two busy cores
const ARRIVAL_MS = 20000;
const CAP = 30000;
// tests/rust-app's start_persisting() and the npm clients below use project `persist`.
const PERSIST_PREFIX = 'automagik-telemetry:persist:';

/** The newest modification time under `path` (files and directories, recursively). */
function newest(path) {
  const s = statSync(path);
  if (!s.isDirectory()) return s.mtimeMs;
  return readdirSync(path).reduce((m, f) => Math.max(m, newest(join(path, f))), s.mtimeMs);
}

/**
 * Builds the wasm32 crate in `dir` (cargo, then the wasm-bindgen CLI) into `out` as
 * `<name>.js` and `<name>_bg.wasm`, when they are missing or stale.
 */
function ensureBuilt(dir, name, out) {
  const sources = ['crates/automagik-telemetry', 'crates/core/src', 'crates/core/Cargo.toml', join(dir, 'src'), join(dir, 'Cargo.toml')];
  const built = join(out, `${name}_bg.wasm`);
  const fresh = existsSync(built) && sources.every((s) => newest(resolve(ROOT, s)) <= statSync(built).mtimeMs);
  if (fresh) return;
  const run = (cmd, args, env = {}) => {
    const r = spawnSync(cmd, args, { cwd: ROOT, encoding: 'utf8', timeout: BUILD_MS, env: { ...process.env, ...env } });
    assert.equal(r.status, 0, `${cmd} ${args.join(' ')} failed:\n${r.stderr}${r.error ?? ''}`);
  };
  // The workspace's target directory: the app shares its compiled dependencies.
  run('cargo', ['build', '--quiet', '--release', '--target', 'wasm32-unknown-unknown', '--manifest-path', join(dir, 'Cargo.toml')], {
    CARGO_TARGET_DIR: join(ROOT, 'target'),
  });
  run('wasm-bindgen', ['--target', 'web', '--out-dir', out, join(ROOT, `target/wasm32-unknown-unknown/release/${name}.wasm`)]);
}

let rx, browser, site;

before(async () => {
  ensureBuilt(APP, 'rust_app', OUT);
  rx = await startReceiver();
  browser = await launchBrowser();
  site = await serveStatic({ mounts: { '/': APP, '/npm/': join(ROOT, 'pkg') }, proxy: { '/collector/': rx.url } });
});

after(async () => {
  await browser?.close();
  await site?.close();
  await rx?.close();
});

async function openApp(options) {
  const opened = await openPage(browser, options);
  await loadApp(opened.page);
  return opened;
}

/** (Re)loads the app's page in `page`, a new load of the app. */
async function loadApp(page) {
  await page.goto(`${site.url}/`);
  await page.waitForFunction(() => window.app);
}

/** Everything received so far, each request checked against the OTLP schema. */
async function received() {
  const all = await rx.validRequests();
  const of = (signal) => all.filter((r) => r.signal === signal).flatMap(items);
  return { spans: of('traces'), metrics: of('metrics'), logs: of('logs') };
}

test('events, metrics, logs and an error arrive valid with typed attributes; tracing too', async () => {
  await rx.reset();
  const { page, errors, context } = await openApp();
  assert.equal(await page.evaluate(() => window.app.start(location.origin + '/collector', 60000, 100000, true)), '');
  await page.evaluate(async () => {
    window.app.track_all('a');
    await window.app.flush();
  });
  const got = await eventually(async () => {
    const r = await received();
    return r.spans.length >= 3 && r.metrics.length >= 2 && r.logs.length >= 2 && r;
  }, ARRIVAL_MS);
  const span = (name) => got.spans.find((s) => s.name === name);

  const view = attrs(span('a.page.view').attributes);
  assert.deepEqual(view.path, { stringValue: '/home' });
  assert.equal(Number(view.status.intValue), 200);
  assert.deepEqual(view.ms, { doubleValue: 12.5 });
  assert.deepEqual(view.ok, { boolValue: true });
  assert.deepEqual(view.tags.arrayValue.values, [{ stringValue: 'a' }, { stringValue: 'b' }]);
  assert.deepEqual(view.nums.arrayValue.values.map((v) => Number(v.intValue)), [1, 2, 3]);
  assert.deepEqual(attrs(view.nested.kvlistValue.values), { k: { stringValue: 'v' } });

  const error = attrs(span('automagik.error').attributes);
  assert.equal(error['exception.type'].stringValue, 'SaveError');
  assert.equal(error['exception.message'].stringValue, 'could not save the document');
  assert.equal(error['exception.stacktrace'].stringValue, 'Caused by: disk full');
  assert.deepEqual(error.op, { stringValue: 'save' });
  assert.equal(span('automagik.error').status.code, 2);

  const render = got.metrics.find((m) => m.name === 'a.render_ms');
  assert.ok(render.histogram, 'a histogram');
  assert.equal(render.histogram.dataPoints[0].sum, 12.5);
  const clicks = got.metrics.find((m) => m.name === 'a.clicks');
  assert.ok(clicks.sum?.isMonotonic, 'a monotonic sum');

  const log = got.logs.find((l) => l.body.stringValue === 'a.settings opened');
  assert.equal(log.severityNumber, 13);
  assert.deepEqual(attrs(log.attributes).user_tier, { stringValue: 'pro' });

  // The tracing layer: an event as a log (level -> severity, fields -> attributes) ...
  const traced = got.logs.find((l) => l.body.stringValue === 'a.tracing event');
  assert.ok(traced, 'the tracing event arrived as a log');
  assert.equal(traced.severityNumber, 9);
  const ta = attrs(traced.attributes);
  assert.deepEqual(ta.route, { stringValue: '/home' });
  assert.equal(Number(ta.count.intValue), 2);
  assert.deepEqual(ta.ratio, { doubleValue: 0.25 });
  assert.deepEqual(ta['tracing.target'], { stringValue: 'rust_app::app' });
  // ... and a closed span as a span with its fields, from its creation to its close:
  // its start and end lie its duration_ms apart (the ns conversion truncates, by < 1 ns).
  const traceSpan = span('rust_app.tracing_span');
  const ts = attrs(traceSpan.attributes);
  assert.deepEqual(ts.doc, { stringValue: 'a.txt' });
  assert.equal(Number(ts.bytes.intValue), 1024);
  const start = BigInt(traceSpan.startTimeUnixNano);
  const end = BigInt(traceSpan.endTimeUnixNano);
  assert.ok(end >= start, `the span ends (${end}) no earlier than it starts (${start})`);
  const durationMs = Number(ts.duration_ms.doubleValue ?? ts.duration_ms.intValue);
  assert.ok(durationMs >= 0, 'the span carries its duration');
  assert.ok(Math.abs(Number(end - start) - durationMs * 1e6) <= 1, `end - start = ${end - start} ns, duration_ms = ${durationMs}`);

  const status = await page.evaluate(() => window.app.status());
  assert.equal(status[3], 0, 'nothing in flight after the flush');
  assert.ok((await page.evaluate(() => window.app.allocations())) > 0, "the app's own allocator serves the crate");
  assert.match(await page.evaluate(() => window.app.bad_config()), /timeout.*milliseconds/s);
  assert.deepEqual(errors, []);
  await context.close();
});

test('the page going away delivers what is queued', async () => {
  await rx.reset();
  const { page, context } = await openApp();
  await page.evaluate(() => {
    window.app.start(location.origin + '/collector', 60000, 100000, true);
    window.app.track_events('queued', 3);
  });
  assert.equal((await page.evaluate(() => window.app.status()))[1], 0, 'nothing sent before the page goes');
  await page.click('#away');
  const got = await eventually(async () => {
    const r = await received();
    return r.spans.length >= 3 && r;
  }, ARRIVAL_MS);
  assert.deepEqual(got.spans.map((s) => s.name).sort(), ['queued.0', 'queued.1', 'queued.2']);
  await context.close();
});

/** The stored batches' values (a head line, then the body) under the `persist` project. */
const storedValues = (page) =>
  page.evaluate((p) => Object.keys(localStorage).filter((k) => k.startsWith(p) && !k.endsWith(':claim')).map((k) => localStorage.getItem(k)), PERSIST_PREFIX);

/** Every span and log arrived exactly once, and `page`'s origin stores no batch. */
const assertDeliveredOnce = (page, spans, logs) => deliveredOnce(rx, () => storedValues(page), spans, logs, CAP);

async function leave(page) {
  await page.click('#away');
  await page.waitForURL('**/away.html');
}

/** Uncaught exceptions only: failing requests log console errors on purpose here. */
const pageErrors = (errors) => errors.filter((e) => e.startsWith('pageerror'));

/** `[persisted.batches, sent.requests, retries]` of the app's client. */
async function persistStatus(page) {
  const s = await page.evaluate(() => window.app.status());
  return [s[6], s[1], s[7]];
}

test('collector failing: the page is left, the collector recovers, a new load of the Rust app sends every event once', async () => {
  await rx.reset();
  await rx.script([], { status: 503 });
  const { page, context, errors } = await openApp();
  try {
    assert.equal(await page.evaluate(() => window.app.start_persisting(location.origin + '/collector')), '');
    await page.evaluate(async () => {
      window.app.track_events('failing', 8); // gzipped: stored in base64
      window.app.track_log('failing.log');
      await window.app.flush();
    });
    await eventually(async () => (await persistStatus(page))[0] >= 2, CAP);
    assert.equal((await persistStatus(page))[1], 0, 'nothing was accepted');
    const heads = (await storedValues(page)).map((v) => v.slice(0, 2));
    assert.ok(heads.includes('g '), `a gzip batch stored: ${heads}`);
    // Tracked while the lane fails: the page going away writes them too.
    await page.evaluate(() => window.app.track_events('later', 2));
    await leave(page);
    assert.ok((await storedValues(page)).length >= 3, 'the batches outlive the page');
    await rx.script([], { status: 200 });
    await loadApp(page);
    assert.equal(await page.evaluate(() => window.app.start_persisting(location.origin + '/collector')), '');
    await assertDeliveredOnce(page, [...names('failing', 8), ...names('later', 2)], ['failing.log']);
    assert.deepEqual(pageErrors(errors), []);
  } finally {
    await context.close();
    await rx.reset();
  }
});

test('offline: no retry is spent, and the online event sends what was stored at once', async () => {
  await rx.reset();
  const { page, context, errors } = await openApp();
  try {
    assert.equal(await page.evaluate(() => window.app.start_persisting(location.origin + '/collector')), '');
    await context.setOffline(true);
    await page.waitForFunction(() => navigator.onLine === false);
    await page.evaluate(async () => {
      window.app.track_events('back', 3);
      window.app.track_log('back.log');
      await window.app.flush();
    });
    await eventually(async () => (await storedValues(page)).length >= 2, CAP);
    assert.deepEqual(await persistStatus(page).then((s) => s.slice(1)), [0, 0], 'nothing sent, no retry spent');
    await context.setOffline(false);
    await assertDeliveredOnce(page, names('back', 3), ['back.log']);
    assert.equal((await persistStatus(page))[2], 0, 'no retry spent');
    assert.deepEqual(pageErrors(errors), []);
  } finally {
    await context.close();
  }
});

test('batches the npm package stored, the Rust app sends once; and the reverse', async (t) => {
  if (!existsSync(join(ROOT, 'pkg/browser.js'))) return t.skip('pkg/ not built (make pkg/package.json)');
  const { page, context, errors } = await openApp();
  // The npm package's client as tests/browser_persist.test.mjs configures it.
  const npmClient = async () => {
    const { AutomagikTelemetry } = await import('/npm/browser.js');
    window.t = new AutomagikTelemetry({
      projectName: 'persist', version: '1.0.0', endpoint: location.origin + '/collector', enabled: true,
      maxRetries: 0, retryBackoffBase: 100, flushInterval: 1000, batchSize: 100000,
    });
  };
  // One front door tracks while the collector fails and the page is left; a new load of
  // the page, where `restore` starts the other front door, must send each item once.
  const handOver = async (prefix, track, restore) => {
    await rx.reset();
    await rx.script([], { status: 503 });
    await page.evaluate(track);
    await eventually(async () => (await storedValues(page)).length >= 2, CAP);
    await leave(page);
    await rx.script([], { status: 200 });
    await loadApp(page);
    await restore();
    await assertDeliveredOnce(page, names(prefix, 8), [`${prefix}.log`]);
  };
  try {
    await page.evaluate(npmClient);
    await handOver(
      'npm',
      async () => {
        for (let i = 0; i < 8; i++) window.t.trackEvent(`npm.${i}`, { index: i, payload: 'p'.repeat(170) });
        window.t.trackLog('npm.log');
        await window.t.flush();
      },
      async () => assert.equal(await page.evaluate(() => window.app.start_persisting(location.origin + '/collector')), ''),
    );
    await handOver(
      'rust',
      async () => {
        window.app.track_events('rust', 8);
        window.app.track_log('rust.log');
        await window.app.flush();
      },
      () => page.evaluate(npmClient),
    );
    assert.deepEqual(pageErrors(errors), []);
  } finally {
    await context.close();
    await rx.reset();
  }
});

// In a Cloudflare Worker (workerd through miniflare), where there is no window, no
// storage and no page: the app's wasm as a hand-written Worker loads it (wasm-bindgen glue,
// the wasm as a compiled module), tracking per request and flushing under waitUntil.
const WORKER = `
import init, * as app from './rust_app.mjs';
import wasm from './rust_app_bg.wasm';
let ready;
export default {
  async fetch(request, env, ctx) {
    ready ??= init({ module_or_path: wasm }).then(() => app.start(env.OTLP_ENDPOINT, 60000, 100000, true));
    const error = await ready;
    if (error) return new Response(error, { status: 500 });
    app.track_all(new URL(request.url).searchParams.get('p'));
    ctx.waitUntil(app.flush());
    return Response.json(app.status());
  },
};
`;

/**
 * Runs the Worker module `script` of `dir` in workerd (miniflare) with the receiver's URL as
 * `OTLP_ENDPOINT`, disposed after test `t`; `output()` is what workerd printed so far.
 */
function workerd(t, dir, script) {
  let log = '';
  const mf = new Miniflare({
    modules: true,
    scriptPath: join(dir, script),
    modulesRoot: dir,
    modulesRules: [
      { type: 'CompiledWasm', include: ['**/*.wasm'] },
      { type: 'ESModule', include: ['**/*.mjs', '**/*.js'] },
    ],
    compatibilityDate: '2026-04-01',
    bindings: { OTLP_ENDPOINT: rx.url },
    handleRuntimeStdio(stdout, stderr) {
      for (const s of [stdout, stderr]) s.on('data', (d) => (log += d));
    },
  });
  t.after(() => mf.dispose());
  return { mf, output: () => log };
}
test('in a Cloudflare Worker (workerd), flush() under ctx.waitUntil delivers', async (t) => {
  await rx.reset();
  const dir = join(ROOT, 'target/rust-app-worker');
  mkdirSync(dir, { recursive: true });
  // .mjs: miniflare reads a .js module as CommonJS.
  copyFileSync(join(OUT, 'rust_app.js'), join(dir, 'rust_app.mjs'));
  copyFileSync(join(OUT, 'rust_app_bg.wasm'), join(dir, 'rust_app_bg.wasm'));
  // The crate's JS snippet (js/storage.js), which the glue imports.
  cpSync(join(OUT, 'snippets'), join(dir, 'snippets'), { recursive: true });
  writeFileSync(join(dir, 'worker.mjs'), WORKER);
  const { mf, output } = workerd(t, dir, 'worker.mjs');
  const res = await mf.dispatchFetch('http://worker.test/?p=w');
  assert.equal(res.status, 200, `${await res.clone().text()}\n${output()}`);
  const status = await res.json();
  assert.equal(status[4], 1, 'enabled');
  const got = await eventually(async () => {
    const r = await received();
    return r.spans.length >= 3 && r.metrics.length >= 2 && r.logs.length >= 2 && r;
  }, ARRIVAL_MS);
  assert.ok(got.spans.some((s) => s.name === 'w.page.view'));
  assert.ok(got.logs.some((l) => l.body.stringValue === 'w.tracing event'));
  const traces = (await rx.validRequests()).find((r) => r.signal === 'traces');
  const resource = attrs(traces.json.resourceSpans[0].resource.attributes);
  assert.deepEqual(resource['process.runtime.name'], { stringValue: 'workerd' });
  assert.doesNotMatch(output(), /panicked|error/i);
});

// The loader workers-rs's worker-build would write (it is not used here: it fetches its
// own tools): the wasm-bindgen glue initialised with the wasm as a compiled module, and
// the Worker's fetch handler, which the #[event(fetch)] macro exports as \`fetch\`.
const RUST_WORKER_SHIM = `
import init, * as worker from './rust_worker.mjs';
import wasm from './rust_worker_bg.wasm';
let ready;
export default {
  async fetch(request, env, ctx) {
    ready ??= init({ module_or_path: wasm });
    await ready;
    return worker.fetch(request, env, ctx);
  },
};
`;

test('in a Worker written with workers-rs (workerd), flush() under ctx.wait_until delivers', async (t) => {
  ensureBuilt(RUST_WORKER, 'rust_worker', RUST_WORKER_OUT);
  await rx.reset();
  const dir = RUST_WORKER_OUT;
  // .mjs: miniflare reads a .js module as CommonJS (the glue's snippets are ES modules too).
  copyFileSync(join(dir, 'rust_worker.js'), join(dir, 'rust_worker.mjs'));
  writeFileSync(join(dir, 'shim.mjs'), RUST_WORKER_SHIM);
  const { mf, output } = workerd(t, dir, 'shim.mjs');
  const res = await mf.dispatchFetch('http://worker.test/orders/7');
  assert.equal(res.status, 200, `${await res.clone().text()}\n${output()}`);
  assert.equal(await res.text(), '/orders/7');
  const got = await eventually(async () => {
    const r = await received();
    return r.spans.length >= 1 && r.logs.length >= 1 && r;
  }, ARRIVAL_MS);
  const span = got.spans.find((s) => s.name === 'worker.request');
  assert.deepEqual(attrs(span.attributes).path, { stringValue: '/orders/7' });
  assert.ok(got.logs.some((l) => l.body.stringValue === 'worker handled a request'));
  const traces = (await rx.validRequests()).find((r) => r.signal === 'traces');
  const resource = attrs(traces.json.resourceSpans[0].resource.attributes);
  assert.deepEqual(resource['service.name'], { stringValue: 'rust-worker' });
  assert.deepEqual(resource['process.runtime.name'], { stringValue: 'workerd' });
  assert.doesNotMatch(output(), /panicked|error/i);
});

// Fixes randomness and clocks for both front doors, and captures what each sends (a
// stubbed fetch answering 200): the npm package reads the same hooks (crates/host/js/host.js,
// js/record.js) as the crate (src/web.rs).
function fixHost() {
  globalThis[Symbol.for('automagik-telemetry.randomFill')] = (buf) => {
    for (let i = 0; i < buf.length; i++) buf[i] = (i * 37 + 11) & 0xff;
  };
  Date.now = () => 1700000000123;
  performance.now = () => 0;
  window.sent = [];
  const real = window.fetch;
  window.fetch = async (url, init) => {
    if (!String(url).startsWith('https://collector.example/')) return real(url, init);
    const body = new Uint8Array(await new Response(init.body).arrayBuffer());
    window.sent.push({ url: String(url), headers: Object.fromEntries(new Headers(init.headers)), body: Array.from(body) });
    return new Response('{}', { status: 200 });
  };
}

for (const compression of [true, false]) {
test(`the same items, ids and times fixed, make the same request bodies as the npm package (${compression ? 'gzip' : 'plain'})`, async (t) => {
  if (!existsSync(join(ROOT, 'pkg/browser.js'))) return t.skip('pkg/ not built (make pkg/package.json)');
  const endpoint = 'https://collector.example';
  const capture = async (run) => {
    const { page, context } = await openApp();
    // After load: a frozen clock would stall the page's own loading and polling.
    await page.evaluate(fixHost);
    const sent = await page.evaluate(run, { endpoint, compression });
    await context.close();
    return sent;
  };
  const rust = await capture(async ({ endpoint, compression }) => {
    window.app.start(endpoint, 60000, 100000, compression);
    window.app.track_fixed();
    await window.app.flush();
    return window.sent;
  });
  const npm = await capture(async ({ endpoint, compression }) => {
    const { AutomagikTelemetry, MetricType, LogSeverity } = await import('/npm/browser.js');
    const c = new AutomagikTelemetry({ projectName: 'rust-app', version: '1.0.0', endpoint, enabled: true, flushInterval: 60000, batchSize: 100000, retryBackoffBase: 20, compressionEnabled: compression });
    c.trackEvent('fixed.event', {
      path: '/home', status: 200, ms: 12.5, ok: true, ratio: 0.1, tiny: 1e-7, huge: 1.5e300, neg: -3, tags: ['a', 'b'],
      nested: { k: 'v' }, unicode: 'héllo 😀', email: 'someone@example.com',
    });
    c.trackMetric('fixed.render_ms', 12.5, MetricType.HISTOGRAM, { route: '/home' });
    c.trackMetric('fixed.count', 3, MetricType.COUNTER);
    c.trackMetric('fixed.gauge', 0.3333333333333333, MetricType.GAUGE);
    c.trackLog('fixed log', LogSeverity.WARN, { user_tier: 'pro' });
    c.trackEvent('fixed.edges', {
      long: 'x'.repeat(999) + '😀' + 'y'.repeat(50), imax: 2n ** 63n - 1n, imin: -(2n ** 63n), u64big: 2n ** 64n - 1n,
      whole: 3.0, nan: NaN, inf: -Infinity, deep: [[[[[[1]]]]]], many: Array.from({ length: 200 }, (_, i) => i), empty: '',
    });
    c.trackError({ name: 'SaveError', message: 'could not save the document', stack: 'Caused by: disk full' }, { op: 'save' });
    c.trackLog('m'.repeat(1500), LogSeverity.FATAL);
    await c.flush();
    return window.sent;
  });
  const byUrl = (list) => Object.fromEntries(list.map((r) => [r.url, r]));
  const [r, n] = [byUrl(rust), byUrl(npm)];
  assert.deepEqual(Object.keys(r).sort(), Object.keys(n).sort(), 'the same requests');
  assert.equal(Object.keys(r).length, 3, 'traces, metrics and logs');
  for (const url of Object.keys(r)) {
    assert.deepEqual(r[url].headers, n[url].headers, `${url}: headers`);
    if (Buffer.compare(Buffer.from(r[url].body), Buffer.from(n[url].body)) !== 0) {
      // The readable difference first (the bodies are JSON unless gzipped).
      assert.equal(Buffer.from(r[url].body).toString(), Buffer.from(n[url].body).toString(), `${url}: body`);
      assert.fail(`${url}: bodies differ`);
    }
    const raw = Buffer.from(r[url].body);
    const json = JSON.parse((compression ? gunzipSync(raw) : raw).toString());
    const text = JSON.stringify(json);
    assert.match(text, /"fixed[. ]/, `${url}: carries the fixed items`);
    if (url.endsWith('/v1/traces')) {
      for (const s of ['fixed.edges', 'SaveError', 'Caused by: disk full', '"intValue":"9223372036854775807"', '18446744073709551615']) {
        assert.ok(text.includes(s), `${url}: carries ${s}`);
      }
    }
    if (process.env.SHOW_BODIES) console.log(url, raw.length, 'bytes', JSON.stringify(json).slice(0, 600));
  }
});
}
