// Each signal is its own delivery lane (SPEC §7): its own timer, backoff and Retry-After.
// A failing endpoint never delays another signal; a lane whose backoff ends tries again by
// itself; flush() means "send now" except while a server's Retry-After is in force.
// Waits are conditions with generous caps, never sleeps; arrival times recorded by the
// receiver are compared only against a Retry-After, with slack.
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { AutomagikTelemetry } from '../pkg/node.js';
import { startReceiver, items, serviceName, eventually, sleep, testConfig, closedPort } from './support/receiver.mjs';

let rx;
before(async () => (rx = await startReceiver()));
after(() => rx.close());
beforeEach(() => rx.reset());

/** A client sending to the receiver as `project` (requests are told apart by service.name). */
const client = (project, extra = {}) => new AutomagikTelemetry(testConfig(rx.url, { projectName: project, ...extra }));

/**
 * What reached the receiver from `project`, asserting every request was valid OTLP: the
 * requests of each signal (with their answers) and the names of what was delivered (answered
 * 2xx): span names, metric names, log bodies.
 */
async function received(project) {
  const all = (await rx.validRequests()).filter((r) => serviceName(r) === project);
  const of = (signal) => all.filter((r) => r.signal === signal);
  const delivered = (signal) => of(signal).filter((r) => r.response.status < 300).flatMap(items);
  return {
    traces: of('traces'),
    metricsRequests: of('metrics'),
    spans: delivered('traces').map((s) => s.name),
    metrics: delivered('metrics').map((m) => m.name),
    logs: delivered('logs').map((l) => l.body.stringValue),
  };
}

/** `eventually(check, ms)`, failing with `what` and the last value `describe` gives. */
async function arrives(what, check, ms, describe = () => '') {
  try {
    return await eventually(check, ms);
  } catch {
    assert.fail(`${what}: not within ${ms} ms${await describe()}`);
  }
}

/** `promise`, or a failure naming `what` if it has not settled within `ms`. */
async function settles(what, promise, ms = 5000) {
  let timer;
  const cap = new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms)));
  try {
    return await Promise.race([promise, cap]);
  } finally {
    clearTimeout(timer);
  }
}

/** Shuts `t` down without letting a stuck shutdown hold the test. */
const close = (t) => Promise.race([t.shutdown(), sleep(3000)]);

// "About one interval": 300 ms, with room for a loaded machine, and far below the
// traces lane's wait (30 s Retry-After, or a 16 to 24 s backoff).
const ROUND_MS = 5000;

for (const [how, deadTraces] of [
  [
    'answers every traces request 503 with Retry-After: 30',
    async () => {
      await rx.script([], { path: '/v1/traces', status: 503, headers: { 'Retry-After': '30' } });
      return {};
    },
  ],
  [
    'refuses connections to the traces endpoint (a 16 to 24 s backoff of its own)',
    async () => {
      const dead = `http://127.0.0.1:${await closedPort()}`;
      return { endpoint: dead, metricsEndpoint: `${rx.url}/v1/metrics`, logsEndpoint: `${rx.url}/v1/logs`, retryBackoffBase: 20000 };
    },
  ],
]) {
  test(`timer only: while the collector ${how}, metrics and logs of every round arrive within about one interval`, { timeout: 60000 }, async () => {
    const project = `lanes-timer-${how.split(' ')[0]}`;
    const t = client(project, { flushInterval: 300, maxRetries: 0, ...(await deadTraces()) });
    try {
      const rounds = 4;
      for (let round = 1; round <= rounds; round++) {
        t.trackEvent(`span.${round}`);
        t.trackMetric(`metric.${round}`, round);
        t.trackLog(`log.${round}`);
        // No flush(): only the interval timer sends.
        await arrives(
          `round ${round}: metric.${round} and log.${round} (the traces lane failing)`,
          async () => {
            const r = await received(project);
            return r.metrics.includes(`metric.${round}`) && r.logs.includes(`log.${round}`);
          },
          ROUND_MS,
          async () => `; received ${JSON.stringify(await received(project), ['metrics', 'logs', 'spans'])}, status ${JSON.stringify(t.getStatus().queueSizes)}`,
        );
        if (round === 1) {
          // From here on the traces lane has failed and waits: the rounds below test that
          // its wait holds back no other lane.
          await arrives('the traces failure', () => t.getStatus().lastError !== null, ROUND_MS);
        }
      }
      const r = await received(project);
      assert.deepEqual(r.metrics, ['metric.1', 'metric.2', 'metric.3', 'metric.4'], 'each metric once, in order');
      assert.deepEqual(r.logs, ['log.1', 'log.2', 'log.3', 'log.4'], 'each log once, in order');
      assert.deepEqual(r.spans, [], 'no span got through');
      const s = t.getStatus();
      assert.equal(s.queueSizes.traces, rounds, 'every span is still queued, none lost');
      assert.equal(s.queueSizes.metrics + s.queueSizes.logs, 0);
    } finally {
      await close(t);
    }
  });
}

test('backoff wake-up: a batch put back after a failed flush() goes out by itself once its backoff ends', { timeout: 60000 }, async () => {
  const project = 'lanes-wakeup';
  await rx.script([
    { path: '/v1/traces', status: 503 },
    { path: '/v1/traces', status: 503 },
  ]);
  // One retry after about 500 ms, then the batch goes back with a backoff of about 1 s
  // (0.8 to 1.2 s). The interval timer is a minute away.
  const t = client(project, { flushInterval: 60000, maxRetries: 1, retryBackoffBase: 500 });
  try {
    t.trackEvent('requeued');
    await settles('the failing flush()', t.flush());
    assert.equal(t.getStatus().queueSize, 1, 'its retries ran out: the item is back in its queue');
    assert.deepEqual((await received(project)).traces.slice(0, 2).map((r) => r.response.status), [503, 503]);
    // No further call of any kind: only the lane's own wake-up can send it.
    await arrives(
      'the re-queued span, sent by the lane when its backoff ended',
      async () => (await received(project)).spans.includes('requeued'),
      10000,
      async () => `; traces answers ${JSON.stringify((await received(project)).traces.map((r) => r.response.status))}`,
    );
    assert.deepEqual((await received(project)).traces.map((r) => r.response.status), [503, 503, 200]);
    await eventually(() => t.getStatus().sent.items === 1);
    assert.equal(t.getStatus().queueSize, 0);
  } finally {
    await close(t);
  }
});

test('send-now: after a 503 without Retry-After, a second flush() delivers at once instead of waiting out the backoff', { timeout: 60000 }, async () => {
  const project = 'lanes-send-now';
  await rx.script([{ path: '/v1/traces', status: 503 }]);
  // No retries: the 503 puts the batch back at once, and the lane then waits out a backoff
  // of its own of 16 to 24 s (20 s ± 20 %) before its next try.
  const t = client(project, { flushInterval: 60000, maxRetries: 0, retryBackoffBase: 20000 });
  try {
    t.trackEvent('now');
    await settles('the first flush()', t.flush());
    assert.equal(t.getStatus().queueSize, 1, 'the 503 put the item back');
    assert.equal((await received(project)).traces.length, 1);

    await settles('the second flush()', t.flush());
    const r = await received(project);
    assert.deepEqual(
      r.traces.map((req) => req.response.status),
      [503, 200],
      'the second flush() sent the batch at once (a script that awaits flush() before it exits loses nothing)',
    );
    assert.ok(r.traces[1].arrival_ms - r.traces[0].arrival_ms < 16000, 'well before the backoff would have ended');
    assert.deepEqual(r.spans, ['now']);
    const s = t.getStatus();
    assert.equal(s.sent.items, 1);
    assert.equal(s.queueSize, 0);
  } finally {
    await close(t);
  }
});

test("a server's Retry-After still in force: repeated flush() calls resolve without contacting that endpoint, other signals go, and the batch goes after it", { timeout: 60000 }, async () => {
  const project = 'lanes-retry-after';
  await rx.script([{ path: '/v1/traces', status: 429, headers: { 'Retry-After': '3' } }]);
  const t = client(project, { flushInterval: 60000, maxRetries: 0 });
  try {
    t.trackEvent('later');
    await settles('the first flush()', t.flush());
    assert.equal(t.getStatus().queueSize, 1, 'the 429 put the item back');
    const [first] = (await received(project)).traces;
    assert.equal(first.response.status, 429);

    // Until the 3 s are up (measured from the 429's arrival, with half a second of slack),
    // each flush() resolves, leaves the traces endpoint alone, and delivers a metric.
    let flushes = 0;
    while (Date.now() < first.arrival_ms + 2500) {
      t.trackMetric(`during.${flushes}`, flushes);
      await settles(`flush() ${flushes + 1} during the Retry-After`, t.flush());
      const r = await received(project);
      assert.equal(r.traces.length, 1, `flush() ${flushes + 1} contacted the traces endpoint during its Retry-After`);
      assert.ok(r.metrics.includes(`during.${flushes}`), `flush() ${flushes + 1} delivered the metric tracked before it`);
      flushes += 1;
      await sleep(200);
    }
    assert.ok(flushes >= 3, `${flushes} flushes during the Retry-After`);

    // After it, the batch goes (by the lane itself, or the flush below).
    await arrives('the waiting span, once the Retry-After ended', async () => {
      if (Date.now() > first.arrival_ms + 3100) await settles('a flush() after the Retry-After', t.flush());
      return (await received(project)).spans.includes('later');
    }, 10000);
    const traces = (await received(project)).traces;
    assert.deepEqual(traces.map((r) => r.response.status), [429, 200]);
    assert.ok(traces[1].arrival_ms - first.arrival_ms >= 2900, `retried ${traces[1].arrival_ms - first.arrival_ms} ms after the 429`);
    await eventually(() => t.getStatus().queueSize === 0);
  } finally {
    await close(t);
  }
});
