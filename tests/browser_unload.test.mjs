// Nothing is lost when the page goes away (SPEC §7, browsers): items queued when the page
// is hidden (navigation, tab close) are sent by the unload path within the browser's keepalive
// budget, to a same-origin collector path or a cross-origin collector with CORS; what does
// not fit stays queued and goes when the page comes back from the back/forward cache; no
// item is delivered twice. The timer is set to a minute, so only the unload path sends.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startReceiver, items, eventually } from './support/receiver.mjs';
import { launchBrowser, openSdkPage, serveSdkPage } from './support/browser.mjs';

// Unload delivery is asynchronous in the browser process: a generous cap, never a sleep.
const ARRIVAL_MS = 20000;
const ONLY_UNLOAD_SENDS = { flushInterval: 60000, batchSize: 100000 };

let rx, browser, site;

before(async () => {
  rx = await startReceiver();
  browser = await launchBrowser({ bfcache: true });
  site = await serveSdkPage({ proxy: { '/collector/': rx.url } });
});

after(async () => {
  await browser?.close();
  await site?.close();
  await rx?.close();
});

const sameOrigin = () => `${site.url}/collector`;
const crossOrigin = () => rx.url;

/**
 * Builds a client at `endpoint` in the page (as window.t), tracks `events` events of about
 * 200 bytes each (name and attributes) named `${prefix}.<i>`, and one metric and one log,
 * and checks that nothing was sent yet.
 */
async function queue(page, endpoint, { events = 3, prefix = 'queued', signals = true } = {}) {
  const status = await page.evaluate(
    ({ endpoint, config, events, prefix, signals }) => {
      window.t ??= new window.sdk.AutomagikTelemetry({ projectName: 'unload', version: '1.0.0', endpoint, enabled: true, ...config });
      for (let i = 0; i < events; i++) window.t.trackEvent(`${prefix}.${i}`, { index: i, payload: 'p'.repeat(170) });
      if (signals) {
        window.t.trackMetric(`${prefix}.metric`, 1.5);
        window.t.trackLog(`${prefix}.log`);
      }
      return window.t.getStatus();
    },
    { endpoint, config: ONLY_UNLOAD_SENDS, events, prefix, signals },
  );
  assert.equal(status.sent.requests, 0, 'nothing leaves before the page is hidden');
}

/** Every span, metric and log received so far, as names, after checking all are valid OTLP. */
async function received() {
  const all = await rx.validRequests();
  const of = (signal) => all.filter((r) => r.signal === signal).flatMap(items);
  return {
    requests: all,
    spans: of('traces').map((s) => s.name),
    spanIds: of('traces').map((s) => s.spanId),
    metrics: of('metrics').map((m) => m.name),
    logs: of('logs').map((l) => l.body.stringValue),
  };
}

const names = (prefix, n) => Array.from({ length: n }, (_, i) => `${prefix}.${i}`);
const sorted = (a) => [...a].sort();

/** Waits until `n` spans arrived, then checks they are exactly the expected ones, once each. */
async function assertArrived(expectedSpans, { metrics = [], logs = [] } = {}) {
  const got = await eventually(async () => {
    const r = await received();
    return r.spans.length >= expectedSpans.length && r.metrics.length >= metrics.length && r.logs.length >= logs.length && r;
  }, ARRIVAL_MS);
  assert.deepEqual(sorted(got.spans), sorted(expectedSpans));
  assert.equal(new Set(got.spanIds).size, got.spanIds.length, 'no span twice');
  assert.deepEqual(sorted(got.metrics), sorted(metrics));
  assert.deepEqual(sorted(got.logs), sorted(logs));
  return got;
}

async function leave(page) {
  await page.click('#away');
  await page.waitForURL('**/away.html');
}

for (const [where, endpoint] of [
  ['a same-origin collector path', sameOrigin],
  ['a cross-origin collector (CORS)', crossOrigin],
]) {
  test(`items queued when the page navigates away arrive at ${where}`, async () => {
    await rx.reset();
    const { page, context, errors } = await openSdkPage(browser, `${site.url}/`);
    try {
      await queue(page, endpoint());
      await leave(page);
      const got = await assertArrived(names('queued', 3), { metrics: ['queued.metric'], logs: ['queued.log'] });
      const origin = new Set(got.requests.map((r) => r.headers.origin));
      assert.deepEqual([...origin], [site.url], 'sent by the page being left');
      assert.deepEqual(errors, []);
    } finally {
      await context.close();
    }
  });
}

test('items queued when the tab is closed arrive', async () => {
  await rx.reset();
  const { page, context, errors } = await openSdkPage(browser, `${site.url}/`);
  try {
    await queue(page, sameOrigin());
    await page.close({ runBeforeUnload: true });
    await assertArrived(names('queued', 3), { metrics: ['queued.metric'], logs: ['queued.log'] });
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});

test('500 events of about 200 bytes each, queued then unloaded, all arrive', async () => {
  await rx.reset();
  const { page, context, errors } = await openSdkPage(browser, `${site.url}/`);
  try {
    await queue(page, sameOrigin(), { events: 500, prefix: 'bulk', signals: false });
    await leave(page);
    await assertArrived(names('bulk', 500));
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});

/**
 * Leaves the page so that it goes into the back/forward cache; resolves to a function that
 * goes back and checks the page was restored from the cache (same JS heap, no reload).
 */
async function leaveIntoCache(page) {
  await page.evaluate(() => addEventListener('pageshow', (e) => (window.restored = e.persisted)));
  await leave(page);
  return async () => {
    // A page restored from the cache fires no load event: wait for the commit only.
    await page.goBack({ waitUntil: 'commit' });
    await page.waitForFunction(() => window.restored === true, null, { timeout: 10000 });
  };
}

test('a back/forward-cache round trip delivers each batch once', async () => {
  await rx.reset();
  const { page, context, errors } = await openSdkPage(browser, `${site.url}/`);
  try {
    await queue(page, sameOrigin(), { prefix: 'before', signals: false });
    const back = await leaveIntoCache(page);
    await assertArrived(names('before', 3));
    await back();

    await page.evaluate(() => window.t.trackEvent('after.0'));
    await leave(page);
    await assertArrived([...names('before', 3), 'after.0']);
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});

test('what does not fit the unload budget stays queued and goes when the page comes back', async () => {
  await rx.reset();
  const { page, context, errors } = await openSdkPage(browser, `${site.url}/`);
  try {
    // About 150 KiB gzip-compressed: more than the 64 KiB a page may have in flight at unload,
    // so all of it can arrive only if what did not fit was kept and sent after the return.
    await queue(page, sameOrigin(), { events: 3000, prefix: 'big', signals: false });
    const back = await leaveIntoCache(page);
    await eventually(async () => (await received()).spans.length > 0, ARRIVAL_MS);
    await back();
    await assertArrived(names('big', 3000));
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});
