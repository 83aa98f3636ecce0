// Runs the packed package in a script runtime (Deno, Bun) the way a user's short script
// does: track, await flush(), end. Shared by the per-runtime test files.
import { spawnSync } from 'node:child_process';
import { items, attrs } from './receiver.mjs';

/** Events the script tracks before its flush; one metric, log and error follow. */
export const EVENTS = 120;

/**
 * A script that imports `specifier`, tracks EVENTS events, a metric, a log and an error,
 * awaits flush(), tracks once more (left queued: the 10-minute flush timer must not keep
 * the process alive) and prints `{enabled, sent, runtime}` as its last line.
 */
export function trackFlushEnd(specifier, endpoint, config = {}) {
  const options = { projectName: 'edge-script', version: '1', endpoint, flushInterval: 600_000, ...config };
  return `import { AutomagikTelemetry } from ${JSON.stringify(specifier)};
const t = new AutomagikTelemetry(${JSON.stringify(options)});
for (let i = 0; i < ${EVENTS}; i++) t.trackEvent('script.event', { i });
t.trackMetric('script.metric', 1, 'counter');
t.trackLog('script.log', 'WARN');
t.trackError(new Error('script.error'));
await t.flush();
t.trackEvent('left.queued');
const s = t.getStatus();
console.log(JSON.stringify({ enabled: s.enabled, sent: s.sent, runtime: s.runtime }));
`;
}

/**
 * Runs `command args` in `cwd` with exactly `env` and stdin closed (or on a pseudo-terminal
 * when `tty`, where a permission prompt would show and wait). A process that does not end
 * by itself is killed after 60 s and fails the caller's exit check.
 */
export function run(command, args, { cwd, env, tty = false }) {
  const [cmd, argv] = tty ? ['script', ['-qec', [command, ...args].map(shellQuote).join(' '), '/dev/null']] : [command, args];
  const res = spawnSync(cmd, argv, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
  const stdout = res.stdout.toString().replace(/\r/g, '');
  return {
    status: res.status,
    stdout,
    stderr: res.stderr.toString(),
    /** The last line of stdout, parsed as JSON. */
    get last() {
      return JSON.parse(stdout.trim().split('\n').at(-1) || 'null');
    },
  };
}

const shellQuote = (s) => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * What a trackFlushEnd script delivered, asserting every request passed strict OTLP
 * validation: span names in order, metric and log counts, and the resource attributes.
 */
export async function delivered(rx) {
  const reqs = await rx.validRequests();
  const of = (signal) => reqs.filter((r) => r.signal === signal).flatMap(items);
  const first = reqs[0] && (reqs[0].json.resourceSpans || reqs[0].json.resourceMetrics || reqs[0].json.resourceLogs)[0];
  return {
    spans: of('traces').map((s) => s.name),
    metrics: of('metrics').length,
    logs: of('logs').length,
    resource: first ? Object.fromEntries(Object.entries(attrs(first.resource.attributes)).map(([k, v]) => [k, v.stringValue])) : {},
  };
}
