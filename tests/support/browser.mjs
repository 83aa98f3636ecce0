// Browser test support: Debian's chromium driven by playwright-core (never a downloaded
// browser), a static file server on 127.0.0.1 that can proxy a path to the collector (a
// same-origin collector path), and a page wrapper that collects console errors.
import { createServer, request as httpRequest } from 'node:http';
import { readFile, stat } from 'node:fs/promises';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const root = fileURLToPath(new URL('../../', import.meta.url));

const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/**
 * Launches /usr/bin/chromium with a fresh profile (playwright makes a temporary
 * user-data-dir per launch). Playwright turns the back/forward cache off by default;
 * `bfcache: true` keeps it on, as in a real browser. `args` are added to the command line
 * (say, `--js-flags=--expose-gc` for a page-level `gc()`).
 */
export function launchBrowser({ bfcache = false, args = [] } = {}) {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: [...CHROMIUM_ARGS, ...args],
    ignoreDefaultArgs: bfcache ? ['--disable-back-forward-cache'] : [],
  });
}

/**
 * A new page in its own context that records console errors, uncaught exceptions and
 * failed requests in `errors`. `init` functions run before any page script (see
 * page.addInitScript), e.g. to set privacy signals.
 */
export async function openPage(browser, { init = [] } = {}) {
  const context = await browser.newContext();
  for (const [fn, arg] of init) await context.addInitScript(fn, arg);
  const page = await context.newPage();
  const errors = [];
  page.on('console', (m) => m.type() === 'error' && errors.push(`console: ${m.text()}`));
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('requestfailed', (r) => errors.push(`requestfailed: ${r.url()} ${r.failure()?.errorText}`));
  return { context, page, errors };
}

const MIME = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.svg': 'image/svg+xml',
  '.map': 'application/json',
};

/**
 * Serves files on 127.0.0.1. `mounts` maps URL prefixes to directories (longest prefix
 * wins; a directory serves its index.html); `proxy` maps URL prefixes to an origin the
 * request is forwarded to with the prefix removed. `wasmType` overrides the wasm
 * Content-Type (to test the non-streaming fallback); `headers` go on every file served.
 * `port` 0 picks a free one.
 */
export async function serveStatic({ mounts, proxy = {}, wasmType = MIME['.wasm'], headers = {}, port = 0 }) {
  const byLength = (o) => Object.entries(o).sort(([a], [b]) => b.length - a.length);
  const mountList = byLength(mounts);
  const proxyList = byLength(proxy);
  const server = createServer(async (req, res) => {
    const path = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    const fwd = proxyList.find(([prefix]) => path.startsWith(prefix));
    if (fwd) return forward(req, res, fwd[1], req.url.slice(fwd[0].length - 1));
    const mount = mountList.find(([prefix]) => path.startsWith(prefix));
    if (!mount) return send(res, 404, 'not found');
    let file = normalize(join(mount[1], path.slice(mount[0].length)));
    if (!file.startsWith(normalize(mount[1] + sep)) && file !== normalize(mount[1])) return send(res, 403, 'forbidden');
    try {
      if ((await stat(file)).isDirectory()) file = join(file, 'index.html');
      const body = await readFile(file);
      const type = extname(file) === '.wasm' ? wasmType : MIME[extname(file)] || 'application/octet-stream';
      res.writeHead(200, { 'Content-Type': type, 'Cache-Control': 'no-cache', ...headers });
      res.end(body);
    } catch {
      send(res, 404, 'not found');
    }
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  const url = `http://127.0.0.1:${server.address().port}`;
  return {
    url,
    close() {
      const closed = new Promise((resolve) => server.close(resolve));
      server.closeAllConnections();
      return closed;
    },
  };
}

function send(res, status, text) {
  res.writeHead(status, { 'Content-Type': 'text/plain' });
  res.end(text);
}

// Streams the request to `origin` + `path` and the answer back, headers included.
function forward(req, res, origin, path) {
  const target = new URL(path, origin);
  const out = httpRequest(target, { method: req.method, headers: { ...req.headers, host: target.host } }, (up) => {
    res.writeHead(up.statusCode, up.headers);
    up.pipe(res);
  });
  out.on('error', (e) => send(res, 502, String(e)));
  req.pipe(out);
}

/**
 * Serves tests/fixtures/page (a page that loads pkg/ with an import map and exposes its
 * exports as `window.sdk`) and pkg/ under /pkg/; `proxy` as in serveStatic.
 */
export function serveSdkPage({ proxy } = {}) {
  return serveStatic({ mounts: { '/': `${root}tests/fixtures/page`, '/pkg/': `${root}pkg` }, proxy });
}

/** Opens the SDK page at `url` (see openPage for `init`) once `window.sdk` is loaded. */
export async function openSdkPage(browser, url, options) {
  const opened = await openPage(browser, options);
  await opened.page.goto(url);
  await opened.page.waitForFunction(() => window.sdk);
  return opened;
}

/**
 * Serves the demo page (www/) and pkg/ under /pkg/, with /collector/ proxied to the
 * collector at `collectorUrl`: the same-origin collector path the README recommends.
 */
export function serveDemo(collectorUrl, { port = 0 } = {}) {
  return serveStatic({ mounts: { '/': `${root}www`, '/pkg/': `${root}pkg` }, proxy: { '/collector/': collectorUrl }, port });
}
