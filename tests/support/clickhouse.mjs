// Starts the ClickHouse front (tests/support/clickhouse_front.py: ClickHouse's HTTP
// interface over an embedded chDB engine with strict JSON input) and wraps it.
import { startServer } from './server.mjs';

/** Starts a front whose `default` user has `password`; resolves once it listens. */
export async function startClickHouse({ password = '', print = false } = {}) {
  const args = ['--password', password, ...(print ? ['--print'] : [])];
  const server = await startServer('clickhouse_front.py', args);
  const auth = { Authorization: `Basic ${Buffer.from(`default:${password}`).toString('base64')}` };
  const control = async (path, body) => {
    const res = await fetch(server.url + path, body === undefined ? {} : { method: 'POST', body: JSON.stringify(body) });
    if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
    return res.json();
  };
  return {
    ...server,
    /** Rows of a SELECT (JSONEachRow appended). */
    async query(sql) {
      const res = await fetch(`${server.url}/?query=${encodeURIComponent(`${sql} FORMAT JSONEachRow`)}`, { headers: auth });
      const text = await res.text();
      if (!res.ok) throw new Error(`${sql}: ${res.status} ${text}`);
      return text
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line));
    },
    /** Makes the next `count` INSERTs fail with ClickHouse error `code`. */
    inject: (spec) => control('/_inject', spec),
    /** The ClickHouse requests received since the last reset. */
    requests: () => control('/_requests'),
    /** Clears injections and the request log, and truncates the tables. */
    reset: () => control('/_reset', {}),
  };
}
