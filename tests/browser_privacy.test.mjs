// Privacy and identity in Chromium, per SPEC §6: the user id is stored only once
// collection is on and something is tracked, an opt-out outlives the page, Global Privacy
// Control and Do Not Track turn collection off, and storage that throws breaks nothing.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startReceiver, attrs } from './support/receiver.mjs';
import { launchBrowser, openSdkPage, serveSdkPage } from './support/browser.mjs';

let rx, browser, site;

before(async () => {
  rx = await startReceiver();
  browser = await launchBrowser();
  site = await serveSdkPage();
});

after(async () => {
  await browser?.close();
  await site?.close();
  await rx?.close();
});

/** Runs `body(t, sdk)` in the page against a client built with `extra` config (stored as window.t). */
function inPage(page, extra, body = '') {
  return page.evaluate(
    async ({ endpoint, extra, body }) => {
      if (extra) window.t = new window.sdk.AutomagikTelemetry({ projectName: 'privacy', version: '1.0.0', endpoint, ...extra });
      return new Function('t', 'sdk', `return (async () => { ${body} })()`)(window.t, window.sdk);
    },
    { endpoint: rx.url, extra, body },
  );
}

async function reload(page) {
  await page.reload();
  await page.waitForFunction(() => window.sdk);
}

const storedKeys = (page) => page.evaluate(() => Object.keys(localStorage));

/** The `user.id` resource attribute of every span received. */
async function receivedUserIds() {
  const spans = (await rx.validRequests()).filter((r) => r.signal === 'traces');
  return spans.flatMap((r) => r.json.resourceSpans.map((rs) => attrs(rs.resource.attributes)['user.id'].stringValue));
}

test('nothing is stored at construction; the user id is stored at the first tracking call and outlives the page', async () => {
  await rx.reset();
  const { page, context, errors } = await openSdkPage(browser, site.url);
  try {
    await inPage(page, {});
    assert.deepEqual(await storedKeys(page), [], 'construction stores nothing');
    assert.equal(await inPage(page, null, 'return t.getStatus().userId'), null);

    const userId = await inPage(page, null, "t.trackEvent('first'); await t.flush(); return t.getStatus().userId");
    assert.match(userId, /^[0-9a-f-]{36}$/);
    assert.equal((await storedKeys(page)).length, 1, 'one key: the user id');
    assert.deepEqual(await receivedUserIds(), [userId]);

    await reload(page);
    await inPage(page, {});
    const again = await inPage(page, null, "t.trackEvent('second'); await t.flush(); return t.getStatus().userId");
    assert.equal(again, userId, 'the same user after a reload');
    assert.deepEqual(await receivedUserIds(), [userId, userId]);
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});

test('while collection is off, tracking generates and stores nothing', async () => {
  await rx.reset();
  const { page, context, errors } = await openSdkPage(browser, site.url);
  try {
    const status = await inPage(page, { enabled: false }, "t.trackEvent('ignored'); t.trackLog('ignored'); await t.flush(); return t.getStatus()");
    assert.equal(status.enabled, false);
    assert.equal(status.userId, null);
    assert.equal(status.sent.requests, 0);
    assert.deepEqual(await storedKeys(page), []);
    assert.deepEqual(await rx.requests(), []);
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});

test('disable() is an opt-out that survives reloads, even over enabled: true, until enable()', async () => {
  await rx.reset();
  const { page, context, errors } = await openSdkPage(browser, site.url);
  try {
    await inPage(page, {}, 'await t.disable()');
    await reload(page);

    const off = await inPage(page, { enabled: true }, "t.trackEvent('after.opt_out'); await t.flush(); return t.getStatus()");
    assert.equal(off.enabled, false, 'the persisted opt-out wins over the config');
    assert.equal(off.sent.requests, 0);
    assert.deepEqual(await rx.requests(), []);

    await reload(page);
    assert.equal(await inPage(page, {}, 'return t.isEnabled()'), false, 'still opted out on the next page');
    await inPage(page, null, "t.enable(); t.trackEvent('consented'); await t.flush()");
    const spans = (await rx.validRequests()).filter((r) => r.signal === 'traces');
    assert.equal(spans.length, 1);
    assert.equal(spans[0].json.resourceSpans[0].scopeSpans[0].spans[0].name, 'consented');

    await reload(page);
    assert.equal(await inPage(page, {}, 'return t.isEnabled()'), true, 'enable() cleared the stored opt-out');
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});

// Chromium sets neither signal by default; the init script sets one before any page script.
const signals = {
  'Global Privacy Control': () => Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', { get: () => true }),
  'Do Not Track': () => Object.defineProperty(Navigator.prototype, 'doNotTrack', { get: () => '1' }),
};

for (const [name, setSignal] of Object.entries(signals)) {
  test(`${name} turns collection off unless the app passes enabled: true`, async () => {
    await rx.reset();
    const { page, context, errors } = await openSdkPage(browser, site.url, { init: [[setSignal]] });
    try {
      const status = await inPage(page, {}, "t.trackEvent('signalled'); await t.flush(); return t.getStatus()");
      assert.equal(status.enabled, false);
      assert.equal(status.userId, null);
      assert.deepEqual(await storedKeys(page), []);
      assert.deepEqual(await rx.requests(), []);

      // SPEC §6 rule 2 comes before rule 4: an explicit config (the app's own consent) decides.
      assert.equal(await inPage(page, { enabled: true }, 'return t.isEnabled()'), true);
      assert.deepEqual(errors, []);
    } finally {
      await context.close();
    }
  });
}

const brokenStorage = {
  'localStorage that throws on access': () =>
    Object.defineProperty(window, 'localStorage', {
      get() {
        throw new DOMException('The document is sandboxed', 'SecurityError');
      },
    }),
  'a full localStorage (setItem throws)': () => {
    Storage.prototype.setItem = () => {
      throw new DOMException('quota exceeded', 'QuotaExceededError');
    };
  },
};

for (const [name, breakStorage] of Object.entries(brokenStorage)) {
  test(`${name} changes nothing visible: tracking, opt-out and consent work for the page`, async () => {
    await rx.reset();
    const { page, context, errors } = await openSdkPage(browser, site.url, { init: [[breakStorage]] });
    try {
      const status = await inPage(page, {}, "t.trackEvent('no.storage', { ok: true }); await t.flush(); return t.getStatus()");
      assert.equal(status.enabled, true);
      assert.match(status.userId, /^[0-9a-f-]{36}$/, 'the user id lives in memory');
      assert.equal(status.sent.items, 1);
      assert.equal(status.lastError, null);
      assert.deepEqual(await receivedUserIds(), [status.userId]);

      const toggled = await inPage(page, null, 'await t.disable(); const off = t.isEnabled(); t.enable(); return [off, t.isEnabled()]');
      assert.deepEqual(toggled, [false, true]);
      assert.deepEqual(errors, []);
    } finally {
      await context.close();
    }
  });
}

test('the browser entry has no ClickHouse backend and names the entry that has it', async () => {
  const { page, context, errors } = await openSdkPage(browser, site.url);
  try {
    const thrown = await page.evaluate(() => {
      try {
        new window.sdk.AutomagikTelemetry({ projectName: 'p', version: '1', backend: 'clickhouse' });
        return null;
      } catch (e) {
        return { name: e.name, message: e.message };
      }
    });
    assert.equal(thrown?.name, 'RangeError');
    assert.match(thrown.message, /'backend'.*import \{ AutomagikTelemetry \} from '@automagik\/telemetry\/clickhouse'/);
    assert.match(thrown.message, /password/, 'it says why');
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});

test('a ClickHouse client in a page (from @automagik/telemetry/clickhouse) says once on the console that its password ships to every visitor', async () => {
  const { page, context, errors } = await openSdkPage(browser, site.url);
  const warnings = [];
  page.on('console', (m) => m.type() === 'warning' && warnings.push(m.text()));
  try {
    await page.evaluate(async () => {
      window.sdk = await import('/pkg/clickhouse.js');
    });
    // Collection on, but nothing sent while the test looks: no ClickHouse is needed.
    const clickhouse = { backend: 'clickhouse', clickhouseEndpoint: 'http://127.0.0.1:8123', enabled: true, flushInterval: 60000 };
    await inPage(page, clickhouse, "t.trackEvent('x')");
    assert.deepEqual(warnings, [], 'no password, nothing to warn about');
    await inPage(page, { ...clickhouse, clickhousePassword: 'page-visible-secret' }, "t.trackEvent('x'); t.trackEvent('y'); t.trackLog('z')");
    const said = warnings.filter((w) => /password/i.test(w));
    assert.equal(said.length, 1, `warnings: ${JSON.stringify(warnings)}`);
    assert.ok(!said[0].includes('page-visible-secret'), 'the warning does not repeat the password');
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});
