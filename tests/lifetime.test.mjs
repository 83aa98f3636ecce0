// A client lives until shutdown() (SPEC §7), like a setInterval callback: an app that drops
// its last reference (a client built inside a function, a module that tracks once and never
// touches it again) loses nothing to garbage collection. The timer, the page listeners and
// in-flight requests keep it alive; in Node the timer still never keeps the process alive;
// after shutdown() the client's state is freed.
//
// Node cases run a child `node --expose-gc` and Chromium runs with `--js-flags=--expose-gc`,
// so that each test can collect garbage at the moment it matters. Each child and page has a
// cap, after which it is killed.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startReceiver, items, serviceName, eventually } from './support/receiver.mjs';
import { launchBrowser, openSdkPage, serveSdkPage } from './support/browser.mjs';

const root = fileURLToPath(new URL('../', import.meta.url));
const NODE_ENTRY = JSON.stringify(join(root, 'pkg/node.js'));

let rx, browser, site;

before(async () => {
  rx = await startReceiver();
  browser = await launchBrowser({ args: ['--js-flags=--expose-gc'] });
  site = await serveSdkPage({ proxy: { '/collector/': rx.url } });
});

after(async () => {
  await browser?.close();
  await site?.close();
  await rx?.close();
});

/** Span names `project` delivered (answered 2xx), after checking every request is valid OTLP. */
async function spans(project) {
  const all = await rx.validRequests();
  return all
    .filter((r) => serviceName(r) === project && r.signal === 'traces' && r.response.status < 300)
    .flatMap(items)
    .map((s) => s.name);
}

/** Waits until `project` delivered `n` spans; fails with what arrived and `context`. */
async function arrived(project, n, ms, context = async () => '') {
  try {
    return await eventually(async () => {
      const got = await spans(project);
      return got.length >= n && got;
    }, ms);
  } catch {
    assert.fail(`${n} spans expected within ${ms} ms, got ${JSON.stringify(await spans(project))}${await context()}`);
  }
}

const names = (prefix, n) => Array.from({ length: n }, (_, i) => `${prefix}.${i}`);
const sorted = (a) => [...a].sort();

/** Collects garbage several times, letting finalizers run in between (in a child or a page). */
const COLLECT = `for (let i = 0; i < 6; i++) { globalThis.gc(); await new Promise((r) => setTimeout(r, 20)); }`;

/**
 * Starts `node --expose-gc` on the ES module `source`, with stdin open (closing it is the
 * script's cue to end its own work). It is killed after `cap` ms. `exited` resolves to
 * {code, signal, killed, stdout, stderr}.
 */
function child(source, cap) {
  const proc = spawn(process.execPath, ['--expose-gc', '--input-type=module', '-e', source], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  proc.stdout.on('data', (d) => (stdout += d));
  proc.stderr.on('data', (d) => (stderr += d));
  let killed = false;
  const timer = setTimeout(() => {
    killed = true;
    proc.kill('SIGKILL');
  }, cap);
  const exited = new Promise((resolve) =>
    proc.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, killed, stdout, stderr });
    }),
  );
  return {
    exited,
    get stdout() {
      return stdout;
    },
    get stderr() {
      return stderr;
    },
    endInput: () => proc.stdin.end(),
    kill: () => proc.exitCode === null && proc.signalCode === null && proc.kill('SIGKILL'),
  };
}

/** The client configuration a child script or page uses, as JS source. */
const config = (project, endpoint, extra) =>
  JSON.stringify({ projectName: project, version: '1.0.0', endpoint, enabled: true, env: {}, ...extra });

/**
 * Reports, on stdout, when the client object `t` is garbage-collected: a diagnostic only
 * (a client may keep its JS object alive too; what matters is that its items arrive).
 */
const WATCH = `const watch = new FinalizationRegistry(() => console.log('client object collected'));`;

test('Node: a client built inside a function and never referenced again sends its items with the timer, and the process still exits by itself', { timeout: 60000 }, async () => {
  await rx.reset();
  const project = 'lifetime-node-timer';
  const app = child(
    `import { AutomagikTelemetry } from ${NODE_ENTRY};
     ${WATCH}
     // The app's own work keeps the process up until the test closes stdin.
     process.stdin.resume();
     function startTelemetry() {
       const telemetry = new AutomagikTelemetry(${config(project, rx.url, { flushInterval: 300 })});
       watch.register(telemetry, 0);
       for (let i = 0; i < 3; i++) telemetry.trackEvent('dropped.' + i, { i });
     }
     startTelemetry();
     ${COLLECT}
     console.log('collected garbage');`,
    30000,
  );
  try {
    const got = await arrived(project, 3, 10000, async () => `; child stdout: ${JSON.stringify(app.stdout)}, stderr: ${JSON.stringify(app.stderr)}`);
    assert.deepEqual(sorted(got), names('dropped', 3));
    // The items are delivered: once the app's own work ends, nothing of the client holds the process.
    app.endInput();
    const end = await app.exited;
    assert.equal(end.killed, false, `the process did not exit by itself (killed after 30 s); stdout: ${end.stdout}`);
    assert.equal(end.code, 0, end.stderr);
  } finally {
    app.kill();
  }
});

test('Node: a pending flush() of a client dropped while its request is in flight settles, and the item arrives', { timeout: 60000 }, async () => {
  await rx.reset();
  const project = 'lifetime-node-flush';
  // The collector answers after 2 s: the request is still in flight while garbage is collected.
  await rx.script([{ path: '/v1/traces', status: 200, delay_ms: 2000 }]);
  const app = child(
    `import { AutomagikTelemetry } from ${NODE_ENTRY};
     ${WATCH}
     function flushAndForget() {
       const telemetry = new AutomagikTelemetry(${config(project, rx.url, { flushInterval: 60000 })});
       watch.register(telemetry, 0);
       telemetry.trackEvent('in.flight');
       return telemetry.flush();
     }
     const pending = flushAndForget().then(() => 'resolved', (e) => 'rejected: ' + e);
     ${COLLECT}
     console.log(JSON.stringify({ collectedAt: Date.now() }));
     console.log(JSON.stringify({ outcome: await pending }));`,
    30000,
  );
  try {
    const end = await app.exited;
    const lines = end.stdout.trim().split('\n');
    assert.deepEqual(await spans(project), ['in.flight'], 'the item arrived');
    const [request] = (await rx.requests()).filter((r) => serviceName(r) === project);
    const { collectedAt } = JSON.parse(lines.find((l) => l.startsWith('{"collectedAt"')) ?? '{}');
    assert.ok(collectedAt < request.arrival_ms + 2000, `garbage was collected while the request was in flight: ${end.stdout}`);
    const outcome = lines.map((l) => (l.startsWith('{"outcome"') ? JSON.parse(l).outcome : null)).find(Boolean);
    const why = end.killed ? ' (killed after 30 s)' : end.code === 13 ? ' (13: the top-level await of the flush promise never settled)' : '';
    assert.equal(
      outcome,
      'resolved',
      `the flush() promise did not settle: exit code ${end.code}${why}, stdout ${JSON.stringify(end.stdout)}, stderr ${JSON.stringify(end.stderr.trim())}`,
    );
    assert.equal(end.code, 0, end.stderr);
  } finally {
    app.kill();
  }
});

/**
 * Opens the SDK page, builds a client inside a function with `extra` options and tracks
 * `n` events named `${prefix}.<i>` with it, keeping no reference, then collects garbage.
 */
async function dropClientInPage(project, extra, prefix, n) {
  const opened = await openSdkPage(browser, `${site.url}/`);
  await opened.page.evaluate(
    ({ options, prefix, n }) => {
      window.collected = false;
      const watch = new FinalizationRegistry(() => (window.collected = true));
      (function startTelemetry() {
        const telemetry = new window.sdk.AutomagikTelemetry(options);
        watch.register(telemetry, 0);
        for (let i = 0; i < n; i++) telemetry.trackEvent(`${prefix}.${i}`, { i });
      })();
      window.watch = watch;
    },
    { options: JSON.parse(config(project, `${site.url}/collector`, extra)), prefix, n },
  );
  await opened.page.evaluate(async () => {
    for (let i = 0; i < 6; i++) {
      window.gc();
      await new Promise((r) => setTimeout(r, 20));
    }
  });
  return opened;
}

test('Chromium: a client built inside a function and never referenced again sends its items with the timer', { timeout: 60000 }, async () => {
  await rx.reset();
  const project = 'lifetime-page-timer';
  const { page, context, errors } = await dropClientInPage(project, { flushInterval: 300 }, 'page.timer', 3);
  try {
    const got = await arrived(project, 3, 10000, async () => `; client object collected: ${await page.evaluate(() => window.collected)}`);
    assert.deepEqual(sorted(got), names('page.timer', 3));
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});

test('Chromium: items of a client nobody references arrive when the page goes away', { timeout: 60000 }, async () => {
  await rx.reset();
  const project = 'lifetime-page-unload';
  // The timer is a minute away: only the unload path sends.
  const { page, context, errors } = await dropClientInPage(project, { flushInterval: 60000, batchSize: 100000 }, 'page.unload', 7);
  try {
    const collected = await page.evaluate(() => window.collected);
    assert.deepEqual(await spans(project), [], 'nothing left before the page was hidden');
    await page.click('#away');
    await page.waitForURL('**/away.html');
    const got = await arrived(project, 7, 20000, async () => `; client object collected before leaving: ${collected}`);
    assert.deepEqual(sorted(got), names('page.unload', 7));
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});

test('Node: after shutdown() a dropped client is freed: wasm memory stays flat over 100 create/track/shutdown/drop cycles', { timeout: 120000 }, async () => {
  await rx.reset();
  // The wasm memory is found by watching instances being made (whatever the entry's file
  // layout). Memory only grows, so a leak shows as growth over many cycles once allocations
  // are warm; the same cycles with every client kept show the size of what a leak would
  // keep, so the test can tell that it sees one.
  const app = child(
    `const memories = [];
     WebAssembly.Instance = new Proxy(WebAssembly.Instance, {
       construct(target, args, newTarget) {
         const instance = Reflect.construct(target, args, newTarget);
         memories.push(...Object.values(instance.exports).filter((v) => v instanceof WebAssembly.Memory));
         return instance;
       },
     });
     const instantiate = WebAssembly.instantiate;
     WebAssembly.instantiate = async (...args) => {
       const out = await instantiate.apply(WebAssembly, args);
       const instance = out instanceof WebAssembly.Instance ? out : out.instance;
       memories.push(...Object.values(instance.exports).filter((v) => v instanceof WebAssembly.Memory));
       return out;
     };
     const { AutomagikTelemetry } = await import(${NODE_ENTRY});
     const memory = () => memories.reduce((n, m) => n + m.buffer.byteLength, 0);
     const collect = async () => { ${COLLECT} };
     const kept = [];
     async function cycle(keep) {
       const telemetry = new AutomagikTelemetry(${config('lifetime-freed', rx.url, { flushInterval: 300 })});
       for (let i = 0; i < 20; i++) telemetry.trackEvent('cycle', { i, payload: 'p'.repeat(100) });
       await telemetry.shutdown();
       if (keep) kept.push(telemetry);
     }
     async function cycles(n, keep) {
       const before = memory();
       for (let i = 0; i < n; i++) {
         await cycle(keep);
         if (i % 10 === 9) await collect();
       }
       await collect();
       return memory() - before;
     }
     await cycles(30, false);
     const dropped = await cycles(100, false);
     const kept100 = await cycles(100, true);
     console.log(JSON.stringify({ instances: memories.length, dropped, kept: kept100, alive: kept.length }));`,
    100000,
  );
  try {
    const end = await app.exited;
    assert.equal(end.code, 0, `exit code ${end.code}${end.killed ? ' (killed after 100 s)' : ''}: ${end.stderr}`);
    const m = JSON.parse(end.stdout.trim().split('\n').at(-1));
    assert.ok(m.instances >= 1, 'the wasm memory was found');
    assert.ok(m.kept >= 512 * 1024, `100 clients kept alive grow the memory by ${m.kept} B: too little for the test to see a leak`);
    assert.ok(m.dropped <= m.kept / 8, `100 clients shut down and dropped grew the memory by ${m.dropped} B (100 kept: ${m.kept} B): their state was not freed`);
    assert.equal((await rx.validRequests()).length, 230, 'each shutdown() delivered its batch');
  } finally {
    app.kill();
  }
});
