// Nothing lost when the page dies (SPEC §8): in Chromium, with the strict receiver and the
// packed package in a page, unsent batches go to localStorage when the collector fails,
// the browser is offline or the renderer crashes, and the next load of the origin sends
// each event exactly once (by span id), however many tabs open at once. The happy path
// writes nothing, the bound holds, opting out deletes, and a throwing storage changes
// nothing but the status. No timed assertion: every wait is on a condition, with a cap.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startReceiver, eventually } from './support/receiver.mjs';
import { accepted, assertDeliveredOnce as deliveredOnce, names } from './support/persisted.mjs';
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

/** Every span and log arrived exactly once, and `page`'s origin stores no batch. */
const assertDeliveredOnce = (page, spans, logs) => deliveredOnce(rx, () => storedKeys(page), spans, logs, CAP);

/** Closes `page` as a tab is closed (unload handlers run), once it is gone. */
async function closeTab(page) {
  const closed = page.waitForEvent('close');
  await page.close({ runBeforeUnload: true });
  await closed;
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

test('offline: no retry is spent, the page is left, and back online a new load sends every event once', async () => {
  await rx.reset();
  const { context, page, errors } = await fresh();
  try {
    await track(page, 'offline', 5, { maxRetries: 3 });
    await context.setOffline(true);
    await page.waitForFunction(() => navigator.onLine === false);
    await page.evaluate(() => window.t.flush());
    await eventually(async () => (await storedKeys(page)).length >= 2, CAP);
    const s = await status(page);
    assert.equal(s.retries, 0, 'no retry is spent offline');
    assert.equal(s.sent.requests, 0);
    await closeTab(page);
    await context.setOffline(false);
    const next = await open(context, errors);
    await next.evaluate((c) => (window.t = new window.sdk.AutomagikTelemetry(c)), config());
    await assertDeliveredOnce(next, names('offline', 5), ['offline.log']);
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});

test('offline, then the online event sends at once', async () => {
  await rx.reset();
  const { context, page, errors } = await fresh();
  try {
    // A minute's interval: only the online event can send.
    await track(page, 'back', 3, { flushInterval: 60000 });
    await context.setOffline(true);
    await page.waitForFunction(() => navigator.onLine === false);
    await page.evaluate(() => window.t.flush());
    await eventually(async () => (await storedKeys(page)).length >= 2, CAP);
    await context.setOffline(false);
    await assertDeliveredOnce(page, names('back', 3), ['back.log']);
    assert.equal((await status(page)).retries, 0);
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});

/**
 * Runs `body(context, errors)` in a fresh context (its pages built with `init`) whose
 * storage holds batches: `rounds` pages each tracked `n` events and a log while the
 * collector failed, flushed, and closed. The collector answers again when `body` runs.
 */
async function withStoredBatches(init, prefix, rounds, n, body) {
  await rx.reset();
  const { context, page, errors } = await openPage(browser, { init });
  page.removeAllListeners('requestfailed');
  page.removeAllListeners('console');
  try {
    await page.close();
    await rx.script([], { status: 503 });
    for (let r = 0; r < rounds; r++) {
      const page = await open(context, errors);
      await track(page, `${prefix}${r}`, n);
      await page.evaluate(() => window.t.flush());
      await eventually(async () => (await status(page)).persisted.batches >= 2, CAP);
      await closeTab(page);
    }
    await rx.script([], { status: 200 });
    await body(context, errors);
  } finally {
    await context.close();
  }
}

/** A page init that takes `navigator.locks` away: the claim is then written to storage. */
const NO_LOCKS = [[() => Object.defineProperty(Navigator.prototype, 'locks', { get: () => undefined }), undefined]];

const threeTabs = (init) =>
  withStoredBatches(init, 'tab', 3, 4, async (context, errors) => {
    const tabs = await Promise.all([0, 1, 2].map(() => open(context, errors)));
    // Each round stored its events and its log (a closing page's writes reach others soon).
    await eventually(async () => (await storedKeys(tabs[0])).length >= 6, CAP);
    await Promise.all(tabs.map((t) => t.evaluate((c) => (window.t = new window.sdk.AutomagikTelemetry(c)), config())));
    const spans = [0, 1, 2].flatMap((r) => names(`tab${r}`, 4));
    await assertDeliveredOnce(tabs[0], spans, ['tab0.log', 'tab1.log', 'tab2.log']);
    for (const t of tabs) await eventually(async () => (await status(t)).persisted.batches === 0, CAP);
    assert.deepEqual(errors, []);
  });

test('three tabs opened at once over stored batches: every event arrives exactly once', () => threeTabs([]));

test('three tabs without navigator.locks (a claim written to storage): every event arrives exactly once', () =>
  threeTabs(NO_LOCKS));

/** A Web Lock named `key` held by `page` until `page` goes (as a tab mid-send holds one). */
const holdLock = (page, key) =>
  page.evaluate((k) => new Promise((held) => navigator.locks.request(k, () => (held(), new Promise(() => {})))), key);

/**
 * A tab dies holding the claim on every stored batch (its Web Locks, or, without
 * `navigator.locks`, the claims it wrote, expiring in 3 s); a page open meanwhile waits for
 * the claims to go and sends each batch once.
 */
const deadTab = (init) =>
  withStoredBatches(init, 'dead', 1, 3, async (context, errors) => {
    const dying = await open(context, errors);
    // The batches only: a page that stored them may have closed while holding a claim
    // written to storage (`<key>:claim`), which is not a batch to claim again.
    const keys = (await storedKeys(dying)).filter((k) => !k.endsWith(':claim'));
    if (await dying.evaluate(() => !!navigator.locks)) {
      for (const key of keys) await holdLock(dying, key);
    } else {
      await dying.evaluate((ks) => ks.forEach((k) => localStorage.setItem(`${k}:claim`, `deadtab ${Date.now() + 3000}`)), keys);
    }
    const next = await open(context, errors);
    await next.evaluate((c) => (window.t = new window.sdk.AutomagikTelemetry(c)), config());
    await eventually(async () => (await status(next)).inFlight > 0, CAP);
    await closeTab(dying);
    await assertDeliveredOnce(next, names('dead0', 3), ['dead0.log']);
    assert.deepEqual(errors, []);
  });

test('a batch a tab left locked when it died goes once the browser lets the lock go, exactly once', () => deadTab([]));

test('without navigator.locks, a batch a dead tab left claimed goes once the claim expires, exactly once', () =>
  deadTab(NO_LOCKS));

test('crash: batches stored while the collector fails survive the renderer, and the next load delivers', async () => {
  await rx.reset();
  await rx.script([], { status: 503 });
  const { context, page, errors } = await fresh();
  try {
    await track(page, 'crash', 3);
    await page.evaluate(() => window.t.flush());
    // Tracked after the failure: the failing lane's interval writes it too.
    await page.evaluate(() => {
      for (let i = 0; i < 3; i++) window.t.trackEvent(`late.${i}`);
    });
    await eventually(async () => (await status(page)).queueSize === 0, CAP);
    assert.ok((await status(page)).persisted.batches >= 3);
    const cdp = await context.newCDPSession(page);
    const crashed = page.waitForEvent('crash');
    cdp.send('Page.crash').catch(() => {});
    await crashed;
    await rx.script([], { status: 200 });
    const next = await open(context, errors);
    await next.evaluate((c) => (window.t = new window.sdk.AutomagikTelemetry(c)), config());
    await assertDeliveredOnce(next, [...names('crash', 3), ...names('late', 3)], ['crash.log']);
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});

/** Counts writes of prefixed keys in a context's storage under `test:writes`. */
function countWrites(prefix) {
  const set = Storage.prototype.setItem;
  Storage.prototype.setItem = function (key, value) {
    if (String(key).startsWith(prefix)) set.call(this, 'test:writes', String(Number(this.getItem('test:writes') || 0) + 1));
    return set.call(this, key, value);
  };
}

test('happy path: leave and reload, each event arrives once and nothing is ever stored', async () => {
  await rx.reset();
  const { context, page, errors } = await openPage(browser, { init: [[countWrites, PREFIX]] });
  try {
    await page.goto(`${site.url}/`);
    await page.waitForFunction(() => window.sdk);
    await track(page, 'happy', 5, { flushInterval: 60000 });
    await leave(page);
    await assertDeliveredOnce(page, names('happy', 5), ['happy.log']);
    await page.goto(`${site.url}/`);
    await page.waitForFunction(() => window.sdk);
    await track(page, 'again', 2);
    await page.evaluate(() => window.t.flush());
    await assertDeliveredOnce(page, [...names('happy', 5), ...names('again', 2)], ['happy.log', 'again.log']);
    assert.deepEqual(await storedKeys(page), []);
    assert.equal(await page.evaluate(() => localStorage.getItem('test:writes')), null, 'no prefixed key was ever written');
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});

test('bound: 1.5 MB tracked while the collector is down stays within persistBytes, and the app keeps its storage', async () => {
  await rx.reset();
  await rx.script([], { status: 503 });
  const { context, page, errors } = await fresh();
  try {
    const s = await page.evaluate(async (c) => {
      const t = (window.t = new window.sdk.AutomagikTelemetry(c));
      // Random text compresses little: about 1.5 MB tracked, over 256 KiB stored in base64.
      const noise = () => Array.from({ length: 45 }, () => Math.random().toString(36).slice(2, 12)).join('');
      for (let i = 0; i < 1100; i++) t.trackEvent(`bulk.${i}`, { a: noise(), b: noise(), c: noise() });
      await t.flush();
      return t.getStatus();
    }, config({ maxQueueBytes: 4 << 20 }));
    assert.ok(s.dropped.persistFull > 0, JSON.stringify(s.dropped));
    assert.ok(s.persisted.bytes <= 262144, `${s.persisted.bytes} bytes persisted`);
    const stored = await page.evaluate((p) => {
      let n = 0;
      for (const k of Object.keys(localStorage)) if (k.startsWith(p)) n += k.length + localStorage.getItem(k).length;
      return n;
    }, PREFIX);
    assert.ok(stored > 100000 && stored <= 262144, `${stored} stored`);
    assert.ok(stored <= s.persisted.bytes, `${stored} stored, ${s.persisted.bytes} counted`);
    const app = await page.evaluate(() => {
      localStorage.setItem('app:own', 'x'.repeat(1 << 20));
      return localStorage.getItem('app:own').length;
    });
    assert.equal(app, 1 << 20, 'the app can still write its own keys');
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});

test('opt-out: disable() deletes what is stored, and a reload sends none of it', async () => {
  await rx.reset();
  await rx.script([], { status: 503 });
  const { context, page, errors } = await fresh();
  try {
    await track(page, 'optout', 3);
    await page.evaluate(() => window.t.flush());
    assert.ok((await storedKeys(page)).length >= 2);
    await page.evaluate(() => localStorage.setItem('app:own', 'kept'));
    await page.evaluate(() => window.t.disable());
    assert.deepEqual(await storedKeys(page), [], 'deleted');
    await rx.script([], { status: 200 });
    await page.reload();
    await page.waitForFunction(() => window.sdk);
    const s = await page.evaluate(async (c) => {
      const t = (window.t = new window.sdk.AutomagikTelemetry(c));
      await t.flush();
      return t.getStatus();
    }, config());
    assert.equal(s.enabled, false, 'the opt-out persists');
    assert.equal(s.persisted.batches, 0);
    assert.equal((await accepted(rx)).spans.length, 0, 'nothing stored is sent');
    assert.equal(await page.evaluate(() => localStorage.getItem('app:own')), 'kept');
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});

test('a client built with collection off (enabled: false) deletes what an earlier load stored', async () => {
  await rx.reset();
  await rx.script([], { status: 503 });
  const { context, page, errors } = await fresh();
  try {
    await track(page, 'off', 2);
    await page.evaluate(() => window.t.flush());
    assert.ok((await storedKeys(page)).length >= 2);
    await page.reload();
    await page.waitForFunction(() => window.sdk);
    await page.evaluate((c) => (window.t = new window.sdk.AutomagikTelemetry(c)), config({ enabled: false }));
    assert.deepEqual(await storedKeys(page), []);
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});

test('a throwing localStorage.setItem: no page error, and delivery still works', async () => {
  await rx.reset();
  await rx.script([], { status: 503 });
  const throwing = () => {
    Storage.prototype.setItem = () => {
      throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
    };
  };
  const { context, page, errors } = await openPage(browser, { init: [[throwing, undefined]] });
  page.removeAllListeners('requestfailed');
  page.removeAllListeners('console');
  try {
    await page.goto(`${site.url}/`);
    await page.waitForFunction(() => window.sdk);
    // A long backoff: the failed batches must still be queued when the status is read
    // (a short one resends them meanwhile on a slow machine); flush() sends now anyway.
    await track(page, 'throwing', 4, { retryBackoffBase: 60000 });
    await page.evaluate(() => window.t.flush());
    const s = await status(page);
    assert.ok(s.persisted.failedWrites > 0, JSON.stringify(s.persisted));
    assert.equal(s.persisted.batches, 0);
    assert.match(s.lastError, /^localStorage: .*quota/i);
    assert.equal(s.queueSize, 5, 'the batches stay in memory');
    await rx.script([], { status: 200 });
    await page.evaluate(() => window.t.flush());
    await assertDeliveredOnce(page, names('throwing', 4), ['throwing.log']);
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});
