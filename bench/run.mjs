// Parent: one loopback OTLP sink shared by all runs, one child per SDK and phase,
// then a table. Usage: [OURS_ENTRY=/abs/entry.mjs] [OURS_PKG=/abs/pkg] node run.mjs
import http from 'node:http';
import { fork } from 'node:child_process';
import { mkdirSync, readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync, gzipSync } from 'node:zlib';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const CHILD = fileURLToPath(new URL('child.mjs', import.meta.url));
const ORDER = ['ours', 'automagik@0.1.3', 'opentelemetry-js'];
const CHILD_CAP_MS = { perf: 180_000, mem: 60_000 };
const MiB = 1024 * 1024;
const MEM_EVENTS = 100_000; // as in child.mjs
// automagik 0.1.3 writes ~/.automagik/user_id and, on disable(), ~/.automagik-no-telemetry.
const SANDBOX_HOME = `${HERE}.home`;

// ---- sink -------------------------------------------------------------------
let stats;
let seenSpans; // trace/span ids seen this run: a batch re-sent after a client-side timeout counts once
const resetStats = () => {
  stats = { requests: 0, bytes: 0, delivered: 0, duplicates: 0, undecodable: 0, lastAt: performance.now() };
  seenSpans = new Set();
};
resetStats();

const sink = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks); // body as sent: compressed size if gzip, no headers
    stats.requests++;
    stats.bytes += body.length;
    const counted = countEvents(req.headers, body);
    if (counted === null) {
      stats.undecodable++;
    } else {
      stats.delivered += counted.fresh;
      stats.duplicates += counted.repeated;
    }
    stats.lastAt = performance.now();
    res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  });
});

// Events in one OTLP/JSON export (spans, metric data points, log records) as
// { fresh, repeated } (spans already seen this run); null if not OTLP/JSON.
function countEvents(headers, body) {
  try {
    const enc = headers['content-encoding'] ?? 'identity';
    if (enc !== 'identity' && enc !== 'gzip') return null;
    if (!/json/.test(headers['content-type'] ?? '')) return null; // protobuf is not counted by guesswork
    const doc = JSON.parse(enc === 'gzip' ? gunzipSync(body) : body);
    let n = 0;
    let repeated = 0;
    for (const r of doc.resourceSpans ?? []) {
      for (const s of r.scopeSpans ?? []) {
        for (const { traceId, spanId } of s.spans ?? []) {
          const id = `${traceId}/${spanId}`;
          if (seenSpans.has(id)) repeated++;
          else { seenSpans.add(id); n++; }
        }
      }
    }
    for (const r of doc.resourceLogs ?? []) for (const s of r.scopeLogs ?? []) n += s.logRecords?.length ?? 0;
    for (const r of doc.resourceMetrics ?? []) {
      for (const s of r.scopeMetrics ?? []) {
        for (const m of s.metrics ?? []) {
          const kind = m.gauge ?? m.sum ?? m.histogram ?? m.exponentialHistogram ?? m.summary;
          n += kind?.dataPoints?.length ?? 0;
        }
      }
    }
    return { fresh: n, repeated };
  } catch {
    return null;
  }
}

// Backlog at the kernel's usual somaxconn: a burst of thousands of connects
// (automagik 0.1.3 opens one per event) must not be throttled by the sink.
const listen = (server) => new Promise((resolve) => {
  server.listen({ port: 0, host: '127.0.0.1', backlog: 4096 }, () => resolve(server.address().port));
});

// A loopback port with nothing listening: bind, note the port, close.
async function closedPort() {
  const s = http.createServer();
  const port = await listen(s);
  await new Promise((resolve) => s.close(resolve));
  return port;
}

// ---- children ---------------------------------------------------------------
function runChild(sdk, phase, url) {
  resetStats();
  return new Promise((resolve) => {
    const child = fork(CHILD, [sdk, phase, url], {
      execArgv: ['--expose-gc'],
      // A minimal env: nothing inherited (OTEL_*, AUTOMAGIK_*, proxies) can redirect traffic.
      env: {
        PATH: process.env.PATH,
        HOME: SANDBOX_HOME,
        AUTOMAGIK_TELEMETRY_ENABLED: 'true', // 0.1.3's only on-switch; harmless for the others
        ...(process.env.OURS_ENTRY && { OURS_ENTRY: process.env.OURS_ENTRY }),
      },
    });
    let result;
    const samples = [];
    const killer = setTimeout(() => child.kill('SIGKILL'), CHILD_CAP_MS[phase]);
    child.on('message', (m) => {
      if (m.type === 'stats') {
        const { lastAt, ...s } = stats;
        child.send({ ...s, idleMs: performance.now() - lastAt });
      } else if (m.type === 'reset') {
        resetStats();
        child.send({ type: 'reset' });
      } else if (m.type === 'result') {
        result = m;
      } else if (m.type === 'sample') {
        samples.push(m);
      }
    });
    child.on('exit', (code, signal) => {
      clearTimeout(killer);
      const done = phase === 'perf' ? result : samples.at(-1)?.final;
      const error = !done && `exited (${signal ?? code}) early${samples.length ? ` after ${samples.at(-1).done} events` : ''}`;
      resolve(phase === 'perf' ? { ...result, error } : memSummary(samples, error));
    });
  });
}

function memSummary(samples, error) {
  const peak = (k) => Math.max(...samples.map((m) => m[k])) / MiB;
  const last = samples.at(-1);
  return {
    error,
    events: last?.done ?? 0,
    peakRss: peak('rss'),
    peakHeap: peak('heapUsed'),
    peakExt: peak('external'),
    finalRss: last?.final ? last.rss / MiB : NaN,
    finalHeap: last?.final ? last.heapUsed / MiB : NaN,
  };
}

// ---- report -----------------------------------------------------------------
const fmt = (x, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : '-');

function row(name, perf, mem) {
  const s = perf.sink;
  const ok = !perf.error && s.delivered > 0;
  return {
    name,
    nsPerCall: perf.nsPerCall,
    cpuUsPerEvent: ok ? perf.cpuUs / s.delivered : NaN,
    bytesPerEvent: ok ? s.bytes / s.delivered : NaN,
    requests: s?.requests,
    deliveredPct: s ? (100 * s.delivered) / perf.sent : NaN,
    peakRss: mem.peakRss,
    memEvents: mem.events,
    peakHeap: mem.peakHeap,
    finalHeap: mem.finalHeap,
    peakExt: mem.peakExt,
    notes: [perf.error && `perf: ${perf.error}`, mem.error && `mem: ${mem.error}`,
      s?.undecodable && `${s.undecodable} non-OTLP/JSON requests (not counted)`,
      s?.duplicates && `${s.duplicates} spans re-delivered (retries after client-side timeouts; bytes counted, events not)`,
    ].filter(Boolean),
  };
}

function printTable(rows) {
  const cols = [
    ['SDK', (r) => r.name],
    ['ns/call', (r) => fmt(r.nsPerCall, 0)],
    ['CPU µs/delivered evt', (r) => fmt(r.cpuUsPerEvent, 2)],
    ['B/event on wire', (r) => fmt(r.bytesPerEvent, 1)],
    ['requests', (r) => String(r.requests ?? '-')],
    ['delivered', (r) => `${fmt(r.deliveredPct, 1)}%`],
    // "@Nk": the child hit its time cap after N thousand events; the peak is up to there.
    ['peak RSS MiB (100k queued, sink down)', (r) => `${r.memEvents < MEM_EVENTS ? `@${r.memEvents / 1000}k ` : ''}${fmt(r.peakRss)}`],
    ['heap MiB peak/final', (r) => `${fmt(r.peakHeap)}/${fmt(r.finalHeap)}`],
    ['external MiB peak', (r) => fmt(r.peakExt)], // wasm linear memory lives here, not in heapUsed
  ];
  const cells = [cols.map(([h]) => h), ...rows.map((r) => cols.map(([, f]) => f(r)))];
  const widths = cols.map((_, i) => Math.max(...cells.map((c) => c[i].length)));
  const line = (c) => c.map((v, i) => (i === 0 ? v.padEnd(widths[i]) : v.padStart(widths[i]))).join(' | ');
  console.log(line(cells[0]));
  console.log(widths.map((w) => '-'.repeat(w)).join('-|-'));
  for (const c of cells.slice(1)) console.log(line(c));
  for (const r of rows) for (const n of r.notes) console.log(`note (${r.name}): ${n}`);
}

function printRatios(rows) {
  const ours = rows.find((r) => r.name === 'ours');
  if (!ours) return;
  const x = (peer, mine) => `${fmt(peer / mine, 2)}×`;
  for (const p of rows.filter((r) => r !== ours)) {
    console.log(`ours vs ${p.name}: ${x(p.nsPerCall, ours.nsPerCall)} faster/call, `
      + `${x(p.cpuUsPerEvent, ours.cpuUsPerEvent)} less CPU/event, `
      + `${x(p.bytesPerEvent, ours.bytesPerEvent)} fewer wire B/event, `
      + `${x(p.requests, ours.requests)} fewer requests, `
      + `${x(p.peakRss, ours.peakRss)} smaller peak RSS, `
      + `${x(p.peakHeap, ours.peakHeap)} smaller peak heap`);
  }
}

// Shipped size of ours: wasm as is + esbuild-minified glue, each gzip -9.
// What a Node consumer loads: the wasm plus every JS module of the node entry (glue,
// snippets, constants), each minified, concatenated, gzipped as one.
async function printBundleSize(pkgDir) {
  const { transform } = await import('esbuild');
  const skip = new Set(['browser.js', 'deno.js', 'workerd.js']);
  const files = readdirSync(pkgDir, { recursive: true }).filter((f) => f.endsWith('.js') && !skip.has(f));
  let js = '';
  for (const f of files) js += `${(await transform(await readFile(join(pkgDir, f), 'utf8'), { minify: true, loader: 'js' })).code}\n`;
  const gz = (b) => gzipSync(b, { level: 9 }).length;
  const w = gz(await readFile(join(pkgDir, 'automagik_telemetry_bg.wasm')));
  const g = gz(js);
  console.log(`ours shipped size (min+gz -9): wasm ${w} B + JS ${g} B (${files.length} modules) = ${w + g} B (${fmt((w + g) / 1024)} KiB)`);
}

// ---- main -------------------------------------------------------------------
mkdirSync(SANDBOX_HOME, { recursive: true });
const sinkUrl = `http://127.0.0.1:${await listen(sink)}`;
const downUrl = `http://127.0.0.1:${await closedPort()}`;
console.log(`sink ${sinkUrl}, sink-down port ${downUrl}; node ${process.version}`);
console.log('workload: 10,000 x api.request {endpoint, method, status, duration_ms}, batch 100, each SDK in its own process after a 10,000-event warm-up');

const rows = [];
for (const name of ORDER) {
  if (name === 'ours' && !process.env.OURS_ENTRY) {
    console.log('note: OURS_ENTRY unset, skipping "ours"');
    continue;
  }
  const perf = await runChild(name, 'perf', sinkUrl);
  const mem = await runChild(name, 'mem', downUrl);
  console.log(`${name}: perf ${JSON.stringify(perf)}\n${name}: mem ${JSON.stringify(mem)}`);
  rows.push(row(name, perf, mem));
}
console.log();
printTable(rows);
printRatios(rows);
if (process.env.OURS_PKG) await printBundleSize(process.env.OURS_PKG);

sink.closeAllConnections();
sink.close();
