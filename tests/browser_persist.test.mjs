// Nothing lost when the page dies (SPEC §8): in Chromium, with the strict receiver and the
// packed package in a page, unsent batches go to localStorage when the collector fails,
// the browser is offline or the renderer crashes, and the next load of the origin sends
// each event exactly once (by span id), however many tabs open at once. The happy path
// writes nothing, the bound holds, opting out deletes, and a throwing storage changes
// nothing but the status. No timed assertion: every wait is on a condition, with a cap.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startReceiver, items, eventually } from './support/receiver.mjs';
import { launchBrowser, openPage, serveSdkPage } from './support/browser.mjs';

const CAP = 30000;
const PREFIX = 'automagik-telemetry:persist:';

let rx, browser, site;

before(async () => {
  rx = await startReceiver();
  browser = await launchBrowser();
  site = await serveSdkPage({ proxy: { '/collector/': rx.url } });
});

after(async () => {
  await browser?.close();
  await site?.close();
  await rx?.close();
});

/** The client configuration every page of these tests uses (`extra` on top). */
const config = (extra = {}) => ({
  projectName: 'persist',
  version: '1.0.0',
  endpoint: `${site.url}/collector`,
  enabled: true,
  maxRetries: 0,
  retryBackoffBase: 100,
  flushInterval: 1000,
  batchSize: 100000,
  ...extra,
});

/** Opens the SDK page in `context` (a new page) and waits for the package. */
async function open(context, errors) {
  const page = await context.newPage();
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => m.type() === 'error' && !/Failed to load resource|net::ERR/.test(m.text()) && errors.push(`console: ${m.text()}`));
  await page.goto(`${site.url}/`);
  await page.waitForFunction(() => window.sdk);
  return page;
}

/** A fresh browser context (its own localStorage) with its first page. */
async function fresh() {
  const { context, page, errors } = await openPage(browser);
  page.removeAllListeners('requestfailed'); // failing and offline requests are the point here
  page.removeAllListeners('console');
  page.on('console', (m) => m.type() === 'error' && !/Failed to load resource|net::ERR/.test(m.text()) && errors.push(`console: ${m.text()}`));
  await page.goto(`${site.url}/`);
  await page.waitForFunction(() => window.sdk);
  return { context, page, errors };
}

/** Builds the client (window.t) and tracks `n` events `<prefix>.<i>` and one log. */
function track(page, prefix, n, extra = {}) {
  return page.evaluate(
    ({ config, prefix, n }) => {
      window.t ??= new window.sdk.AutomagikTelemetry(config);
      for (let i = 0; i < n; i++) window.t.trackEvent(`${prefix}.${i}`, { index: i });
      window.t.trackLog(`${prefix}.log`);
    },
    { config: config(extra), prefix, n },
  );
}

const status = (page) => page.evaluate(() => window.t.getStatus());
const storedKeys = (page) => page.evaluate((p) => Object.keys(localStorage).filter((k) => k.startsWith(p)), PREFIX);

/** Spans and logs in requests the receiver accepted (2xx), after checking all are valid OTLP. */
async function accepted() {
  const ok = (await rx.validRequests()).filter((r) => r.response.status < 300);
  const of = (signal) => ok.filter((r) => r.signal === signal).flatMap(items);
  const spans = of('traces');
  return { spans: spans.map((s) => s.name), spanIds: spans.map((s) => s.spanId), logs: of('logs').map((l) => l.body.stringValue) };
}

const names = (prefix, n) => Array.from({ length: n }, (_, i) => `${prefix}.${i}`);
const sorted = (a) => [...a].sort();

/**
 * Waits until `page`'s origin stores nothing and every expected span and log arrived,
 * then checks each arrived exactly once (span ids unique, names as expected).
 */
async function assertDeliveredOnce(page, spans, logs) {
  await eventually(async () => (await storedKeys(page)).length === 0, CAP);
  const got = await eventually(async () => {
    const a = await accepted();
    return a.spans.length >= spans.length && a.logs.length >= logs.length && a;
  }, CAP);
  assert.deepEqual(sorted(got.spans), sorted(spans));
  assert.equal(new Set(got.spanIds).size, got.spanIds.length, 'no span twice');
  assert.deepEqual(sorted(got.logs), sorted(logs));
}

async function leave(page) {
  await page.click('#away');
  await page.waitForURL('**/away.html');
}

test('collector failing: the page is left, the collector recovers, the next load sends every event once', async () => {
  await rx.reset();
  await rx.script([], { status: 503 });
  const { context, page, errors } = await fresh();
  try {
    await track(page, 'failing', 5);
    await page.evaluate(() => window.t.flush());
    const s = await status(page);
    assert.ok(s.persisted.batches >= 2, JSON.stringify(s.persisted));
    assert.equal(s.sent.requests, 0);
    assert.ok((await storedKeys(page)).length >= 2);
    await leave(page);
    await rx.script([], { status: 200 });
    await page.goto(`${site.url}/`);
    await page.waitForFunction(() => window.sdk);
    await page.evaluate((c) => (window.t = new window.sdk.AutomagikTelemetry(c)), config());
    await assertDeliveredOnce(page, names('failing', 5), ['failing.log']);
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});
