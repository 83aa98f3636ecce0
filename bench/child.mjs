// One SDK, one phase, forked by run.mjs with an IPC channel:
//   node child.mjs <sdk> cold <sinkUrl>               import + construct, first call, next 99
//   node --expose-gc child.mjs <sdk> perf <sinkUrl>   timing, CPU, delivery against the live sink
//   node --expose-gc child.mjs <sdk> mem  <downUrl>   memory with 100k events and the sink down
// cold and perf report one {type:'result'} message, mem a stream of {type:'sample'} messages.
import net from 'node:net';
import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises';
import { SDKS } from './sdks.mjs';

const EVENT = 'api.request';
const ATTRS = { endpoint: '/v1/users', method: 'GET', status: 200, duration_ms: 45.2 };
const BATCH = 100;
// Two warm regimes: a page's handful of calls (after 1,000) and the steady state, long
// enough for V8 to finish tiering up every SDK (after 10,000).
const SHORT_WARMUP = 1_000;
const SHORT_MEASURED = 1_000;
const WARMUP = 10_000;
const MEASURED = 10_000;
const COLD_CALLS = 100; // the first call, then the next 99
const MEM_EVENTS = 100_000;
const MEM_SAMPLE_EVERY = 5_000;
const QUEUE_CAPACITY = MEM_EVENTS; // room for the largest workload: no SDK drops by configuration
const POLL_MS = 10;
// Delivery counts as finished once the sink saw everything, or saw nothing new for
// longer than a full retry cycle: automagik 0.1.3 waits up to 4 x 5 s timeouts plus
// 1+2+4 s backoff, and a 10k burst starves its event loop for seconds.
const IDLE_MS = 30_000;
const SETTLE_CAP_MS = 90_000;

guardLoopback();

const [sdkName, phase, url] = process.argv.slice(2);

// One request in flight at a time, so the next message is the reply.
let onReply;
process.on('message', (m) => onReply?.(m));
const ask = (msg) => new Promise((resolve) => { onReply = resolve; process.send(msg); });

if (phase === 'cold') await cold();
else if (phase === 'perf') await perf();
else if (phase === 'mem') await mem();
else throw new Error(`unknown phase ${phase}`);

function elapsedNs(t0) {
  return Number(process.hrtime.bigint() - t0);
}

function track(t, n) {
  for (let i = 0; i < n; i++) t.track(EVENT, ATTRS);
}

// What a page load pays, in a process that has run nothing of the SDK yet.
async function cold() {
  const t0 = process.hrtime.bigint();
  const sdk = await SDKS[sdkName]();
  const t = sdk.create(url, { batchSize: BATCH, flushInterval: 5_000, queueCapacity: QUEUE_CAPACITY });
  const constructNs = elapsedNs(t0);
  const t1 = process.hrtime.bigint();
  t.track(EVENT, ATTRS);
  const firstNs = elapsedNs(t1);
  const t2 = process.hrtime.bigint();
  track(t, COLD_CALLS - 1);
  const nextNs = elapsedNs(t2);
  t.checkOn();
  process.send({
    type: 'result',
    importConstructMs: constructNs / 1e6,
    firstCallUs: firstNs / 1e3,
    nextUsPerCall: nextNs / 1e3 / (COLD_CALLS - 1),
  }, () => process.exit(0)); // no flush or shutdown: nothing left to measure
}

async function perf() {
  const sdk = await SDKS[sdkName]();
  const t = sdk.create(url, { batchSize: BATCH, flushInterval: 5_000, queueCapacity: QUEUE_CAPACITY });
  t.checkOn();
  track(t, SHORT_WARMUP);
  await t.flush();
  await settle(SHORT_WARMUP);
  gc();
  const s0 = process.hrtime.bigint();
  track(t, SHORT_MEASURED);
  const nsPerCallAfter1k = elapsedNs(s0) / SHORT_MEASURED;
  track(t, WARMUP - SHORT_WARMUP - SHORT_MEASURED);
  await t.flush();
  await settle(WARMUP);
  await ask({ type: 'reset' });
  gc();

  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  track(t, MEASURED);
  const nsPerCall = elapsedNs(t0) / MEASURED;
  await t.flush();
  const sink = await settle(MEASURED);
  const cpu = process.cpuUsage(cpu0);

  await t.shutdown();
  process.send({
    type: 'result',
    sent: MEASURED,
    nsPerCallAfter1k,
    nsPerCall,
    cpuUs: cpu.user + cpu.system,
    sink,
  });
  process.disconnect(); // last handle we own; the process now exits by itself
}

async function settle(expected) {
  const deadline = Date.now() + SETTLE_CAP_MS;
  for (;;) {
    const s = await ask({ type: 'stats' });
    if (s.delivered >= expected || s.idleMs >= IDLE_MS || Date.now() > deadline) return s;
    await sleep(POLL_MS);
  }
}

// Streams samples so that a child killed at the time cap still leaves its peak so far.
async function mem() {
  const sdk = await SDKS[sdkName]();
  const t = sdk.create(url, { batchSize: BATCH, flushInterval: 3_600_000, queueCapacity: QUEUE_CAPACITY });
  t.checkOn();
  const sample = (done, onSent) => {
    const { rss, heapUsed, external } = process.memoryUsage();
    process.send({ type: 'sample', done, rss, heapUsed, external, final: Boolean(onSent) }, onSent);
  };
  sample(0);
  for (let done = MEM_SAMPLE_EVERY; done <= MEM_EVENTS; done += MEM_SAMPLE_EVERY) {
    track(t, MEM_SAMPLE_EVERY);
    sample(done);
    // Let the SDK's async work (send attempts, retries, timers) run between bursts, as in a real app.
    await nextTurn();
  }
  gc();
  // Exit without shutdown: the sink is down by design and the SDKs would spend
  // seconds retrying; there is nothing left to measure.
  sample(MEM_EVENTS, () => process.exit(0));
}

// Fail loudly if any SDK opens a socket to a non-loopback address (every TCP/TLS
// client, fetch included, goes through net.Socket#connect).
function guardLoopback() {
  const connect = net.Socket.prototype.connect;
  const loopback = /^(127\.\d+\.\d+\.\d+|::1|\[::1\]|localhost)$/;
  let reported = false;
  net.Socket.prototype.connect = function (...args) {
    const a = Array.isArray(args[0]) ? args[0][0] : args[0]; // net.connect passes normalized args
    const opts = typeof a === 'object' ? a : { port: a, host: typeof args[1] === 'string' ? args[1] : undefined };
    if (!opts.path && !loopback.test(opts.host ?? 'localhost')) {
      const msg = `blocked non-loopback connection to ${opts.host}:${opts.port}`;
      if (!reported) console.error(`[${sdkName}] ${msg}`); // SDKs swallow send errors, so say it here
      reported = true;
      throw new Error(msg);
    }
    return connect.apply(this, args);
  };
}
