// Every way a web app loads the package works with no configuration of the package: the
// same small app (tests/fixtures/bundled-app), installed from the packed tarball as a user
// would, built by Vite (production and dev server), webpack 5 (production) and esbuild,
// or loaded with a plain import map, runs in Chromium and delivers valid OTLP cross-origin.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cp, copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as vite from 'vite';
import webpack from 'webpack';
import * as esbuild from 'esbuild';
import { startReceiver, items, attrs, eventually } from './support/receiver.mjs';
import { launchBrowser, openPage, serveStatic } from './support/browser.mjs';

const root = fileURLToPath(new URL('../', import.meta.url));
let rx, browser, app, pkgDir;

// The nonce lets the inline import map run under a Content-Security-Policy.
const importMapPage = (pkgUrl) => `<!doctype html>
<meta charset="utf-8"><link rel="icon" href="data:,"><title>import map</title>
<script type="importmap" nonce="n0nce">{ "imports": { "@automagik/telemetry": "${pkgUrl}" } }</script>
<script type="module" src="./main.js"></script>`;

before(async () => {
  rx = await startReceiver();
  browser = await launchBrowser();
  app = await mkdtemp(join(tmpdir(), 'automagik-app-'));
  const tarball = execFileSync('npm', ['pack', join(root, 'pkg'), '--pack-destination', app, '--silent'], { encoding: 'utf8' }).trim();
  await cp(join(root, 'tests/fixtures/bundled-app'), app, { recursive: true });
  await writeFile(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
  execFileSync('npm', ['install', '--offline', '--no-audit', '--no-fund', '--loglevel=error', join(app, tarball)], { cwd: app });
  pkgDir = join(app, 'node_modules/@automagik/telemetry');
  await writeFile(join(app, 'importmap.html'), importMapPage('/pkg/browser.js'));
});

after(async () => {
  await browser?.close();
  await rx?.close();
  await rm(app, { recursive: true, force: true });
});

/**
 * Opens `url` + the app's query, waits for its flush, and checks that the page logged no
 * error and the receiver got the app's span, metric and log as valid OTLP.
 */
async function assertDelivers(url, bundler) {
  await rx.reset();
  const { page, context, errors } = await openPage(browser);
  const warnings = [];
  page.on('console', (m) => m.type() === 'warning' && warnings.push(m.text()));
  try {
    const sep = url.includes('?') ? '&' : '?';
    await page.goto(`${url}${sep}bundler=${bundler}&collector=${encodeURIComponent(rx.url)}`);
    await page.waitForFunction(() => window.appResult, null, { timeout: 20000 }).catch((e) => {
      throw new Error(`${e.message}; page errors: ${errors.join('; ')}`);
    });
    const status = await page.evaluate(() => window.appResult);
    assert.deepEqual(errors, []);
    assert.equal(status.runtime, 'browser');
    assert.equal(status.queueSize, 0);
    assert.equal(status.lastError, null);
    assert.equal(status.sent.items, 3);
    const requests = await rx.validRequests();
    const bySignal = Object.fromEntries(requests.map((r) => [r.signal, items(r)]));
    assert.deepEqual(Object.keys(bySignal).sort(), ['logs', 'metrics', 'traces']);
    assert.equal(bySignal.traces[0].name, 'automagik.feature.used');
    assert.deepEqual(attrs(bySignal.traces[0].attributes).bundler, { stringValue: bundler });
    assert.equal(bySignal.metrics[0].name, 'app.render_ms');
    assert.deepEqual(bySignal.logs[0].body, { stringValue: 'app started' });
    const origin = new URL(url).origin;
    assert.notEqual(origin, rx.url);
    for (const r of requests) assert.equal(r.headers.origin, origin, 'the page posted cross-origin');
    return { warnings };
  } finally {
    await context.close();
  }
}

async function withServer(options, fn) {
  const server = await serveStatic(options);
  try {
    return await fn(server.url);
  } finally {
    await server.close();
  }
}


test('a plain <script type="module"> with an import map delivers, streaming the wasm', async () => {
  const { warnings } = await withServer({ mounts: { '/': app, '/pkg/': pkgDir } }, (url) =>
    assertDelivers(`${url}/importmap.html`, 'importmap'),
  );
  assert.deepEqual(warnings, [], 'served as application/wasm, the wasm is compiled while it streams');
});

test('a server that does not send application/wasm still works (non-streaming fallback)', async () => {
  const { warnings } = await withServer({ mounts: { '/': app, '/pkg/': pkgDir }, wasmType: 'application/octet-stream' }, (url) =>
    assertDelivers(`${url}/importmap.html`, 'importmap'),
  );
  assert.ok(warnings.some((w) => w.includes('instantiateStreaming')), 'the glue says why it fell back');
});

test("the README's Content-Security-Policy lets the page run; without 'wasm-unsafe-eval' the wasm cannot compile", async () => {
  const mounts = { '/': app, '/pkg/': pkgDir };
  const csp = (wasm) => `script-src 'self' 'nonce-n0nce'${wasm}; connect-src 'self' ${rx.url}`;
  await withServer({ mounts, headers: { 'Content-Security-Policy': csp(" 'wasm-unsafe-eval'") } }, (url) =>
    assertDelivers(`${url}/importmap.html`, 'csp'),
  );

  await withServer({ mounts, headers: { 'Content-Security-Policy': csp('') } }, async (url) => {
    const { page, context, errors } = await openPage(browser);
    try {
      await page.goto(`${url}/importmap.html?collector=${encodeURIComponent(rx.url)}`);
      await eventually(() => errors.length > 0, 10000);
      assert.match(errors.join('\n'), /WebAssembly.*Content Security Polic/);
    } finally {
      await context.close();
    }
  });
});

test('a Vite production build delivers', async () => {
  const outDir = join(app, 'dist-vite');
  await vite.build({ root: app, configFile: false, logLevel: 'error', build: { outDir, emptyOutDir: true } });
  await withServer({ mounts: { '/': outDir } }, (url) => assertDelivers(`${url}/index.html`, 'vite'));
});

test('the Vite dev server delivers', async () => {
  const server = await vite.createServer({
    root: app,
    configFile: false,
    logLevel: 'error',
    cacheDir: join(app, '.vite-cache'),
    server: { host: '127.0.0.1', port: 0, strictPort: false, hmr: false, watch: null },
  });
  await server.listen();
  try {
    const { port } = server.httpServer.address();
    await assertDelivers(`http://127.0.0.1:${port}/index.html`, 'vite-dev');
  } finally {
    await server.close();
  }
});

test('a webpack 5 production build delivers, with the wasm emitted as an asset', async () => {
  const outDir = join(app, 'dist-webpack');
  const stats = await new Promise((resolve, reject) =>
    webpack(
      { mode: 'production', context: app, entry: './main.js', output: { path: outDir, clean: true } },
      (err, s) => (err ? reject(err) : resolve(s)),
    ),
  );
  assert.deepEqual(stats.compilation.errors, []);
  assert.ok(Object.keys(stats.compilation.assets).some((f) => f.endsWith('.wasm')), 'webpack emitted the .wasm');
  await writeFile(join(outDir, 'index.html'), '<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><title>webpack</title><script src="main.js"></script>');
  await withServer({ mounts: { '/': outDir } }, (url) => assertDelivers(`${url}/index.html`, 'webpack'));
});

test('an esbuild bundle delivers once the wasm sits beside it', async () => {
  const outDir = join(app, 'dist-esbuild');
  await esbuild.build({
    absWorkingDir: app,
    entryPoints: ['main.js'],
    bundle: true,
    format: 'esm',
    minify: true,
    outdir: outDir,
    logLevel: 'error',
  });
  // esbuild leaves `new URL('./x.wasm', import.meta.url)` as it is and copies no asset:
  // the one documented step is to put the .wasm beside the bundle.
  await copyFile(join(pkgDir, 'automagik_telemetry_bg.wasm'), join(outDir, 'automagik_telemetry_bg.wasm'));
  await writeFile(join(outDir, 'index.html'), '<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><title>esbuild</title><script type="module" src="main.js"></script>');
  await withServer({ mounts: { '/': outDir } }, (url) => assertDelivers(`${url}/index.html`, 'esbuild'));
});
