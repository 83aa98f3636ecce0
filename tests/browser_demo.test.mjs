// The demo page (www/, served as `make demo` serves it) loads with no console error, its
// buttons deliver valid OTLP through the same-origin collector path, and it shows the
// client's status and what the collector received.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startReceiver, items, eventually } from './support/receiver.mjs';
import { launchBrowser, openPage, serveDemo } from './support/browser.mjs';

let rx, browser, site;

before(async () => {
  rx = await startReceiver();
  site = await serveDemo(rx.url);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await site?.close();
  await rx?.close();
});

test('the demo page fires every kind of item, shows the status, and lists what the collector received', async () => {
  const { page, context, errors } = await openPage(browser);
  try {
    await page.goto(`${site.url}/`);
    await page.waitForFunction(() => window.telemetry);
    assert.equal(await page.textContent('[data-status="enabled"]'), 'on');

    for (const id of ['#track-event', '#track-metric', '#track-log', '#track-error']) await page.click(id);
    await page.click('#flush');
    await page.waitForFunction(() => document.querySelector('#flush-note').textContent.startsWith('flushed'));

    const received = await rx.validRequests();
    const names = Object.fromEntries(['traces', 'metrics', 'logs'].map((s) => [s, received.filter((r) => r.signal === s).flatMap(items)]));
    assert.deepEqual(names.traces.map((s) => s.name).sort(), ['automagik.error', 'automagik.feature.used']);
    assert.deepEqual(names.metrics.map((m) => m.name), ['page.render_ms']);
    assert.deepEqual(names.logs.map((l) => l.body.stringValue), ['User opened the settings panel']);
    for (const r of received) assert.equal(r.headers.origin, site.url, 'the page posts to its own origin, proxied to the collector');

    await page.waitForFunction(() => document.querySelector('[data-status="sent.items"]').textContent === '4');
    assert.equal(await page.textContent('[data-status="queueSize"]'), '0');
    assert.equal(await page.textContent('[data-status="lastError"]'), 'none');
    await page.waitForFunction(() => document.querySelectorAll('#received li').length === 3, null, { timeout: 10000 });
    assert.match(await page.textContent('#received'), /automagik\.feature\.used/);

    await page.click('#toggle');
    await page.waitForFunction(() => document.querySelector('[data-status="enabled"]').textContent === 'off');
    await page.click('#track-event');
    await page.evaluate(() => window.telemetry.flush());
    assert.equal((await rx.requests()).length, 3, 'nothing is sent while disabled');
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});

test('the burst button queues 50 events that the timer delivers on its own', async () => {
  await rx.reset();
  const { page, context, errors } = await openPage(browser);
  try {
    await page.goto(`${site.url}/`);
    await page.waitForFunction(() => window.telemetry);
    await page.click('#track-burst');
    const spans = await eventually(async () => {
      const all = (await rx.validRequests()).filter((r) => r.signal === 'traces').flatMap(items);
      return all.length >= 50 && all;
    }, 20000);
    assert.equal(spans.length, 50);
    assert.ok(spans.every((s) => s.name === 'demo.burst'));
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});
