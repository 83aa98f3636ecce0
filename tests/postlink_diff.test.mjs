// The post-link steps change no byte on the wire (issue 13, "a build you can trust"): one
// corpus (tests/support/postlink_run.mjs: events with nested attributes, metrics of each
// type, logs of every severity, errors with stacks, unicode, big numbers, bad configs),
// ids and times fixed, goes through the plain wasm-bindgen output (target/pkg-plain:
// POSTLINK=0, no wasm-opt, no short names) and through the shipped package (pkg/), each
// in a fresh Node process. The requests (URL, headers, body) must be byte-identical, for
// the lean build (OTLP) and the full one (OTLP and ClickHouse), gzipped and not.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SHIPPED = join(ROOT, 'pkg');
const PLAIN = join(ROOT, 'target/pkg-plain');
const RUNNER = fileURLToPath(new URL('./support/postlink_run.mjs', import.meta.url));

before(() => {
  // Both packages from the same sources: pkg/ must be current (`make pkg`; rebuilding it
  // here would pull it from under other test files), and the plain one is built when
  // missing or older than the sources (`make test-node` has built it already).
  const stale = spawnSync('make', ['-q', 'pkg/package.json'], { cwd: ROOT }).status !== 0;
  assert.ok(!stale, 'pkg/ is missing or older than the sources: run `make pkg` first');
  execFileSync('make', ['-s', '--no-print-directory', 'target/pkg-plain/package.json'], { cwd: ROOT, stdio: 'pipe' });
});

/** The corpus through the package in `dir`: `{ requests, sent, dropped, configErrors }`. */
function run(dir, variant, backend, compression) {
  const out = spawnSync(process.execPath, [RUNNER, dir, variant, backend, compression], { encoding: 'utf8' });
  assert.equal(out.status, 0, `the corpus run failed (${dir}, ${variant}, ${backend}, ${compression}):\n${out.stderr}`);
  return JSON.parse(out.stdout);
}

/** Fails, showing the first difference, unless both runs made the same requests. */
function assertSame(shipped, plain) {
  assert.deepEqual(shipped.configErrors, plain.configErrors, 'config errors');
  assert.equal(shipped.requests.length, plain.requests.length, 'number of requests');
  shipped.requests.forEach((s, i) => {
    const p = plain.requests[i];
    assert.deepEqual({ ...s, body: undefined }, { ...p, body: undefined }, `request ${i}: URL, method or headers`);
    const [a, b] = [Buffer.from(s.body, 'base64'), Buffer.from(p.body, 'base64')];
    if (a.equals(b)) return;
    let at = 0;
    while (a[at] === b[at]) at++;
    const around = (buf) => JSON.stringify(buf.subarray(Math.max(0, at - 40), at + 40).toString('latin1'));
    assert.fail(`request ${i} (${s.url}): bodies of ${a.length} and ${b.length} bytes differ at byte ${at}:\n`
      + `  shipped ${around(a)}\n  plain   ${around(b)}`);
  });
  assert.deepEqual(shipped.sent, plain.sent, 'sent');
  assert.deepEqual(shipped.dropped, plain.dropped, 'dropped');
}

const CASES = [
  ['lean', 'otlp'],
  ['full', 'otlp'],
  ['full', 'clickhouse'],
];
for (const [variant, backend] of CASES) {
  for (const compression of ['plain', 'gzip']) {
    test(`${variant} build, ${backend}, ${compression} bodies: the shipped wasm sends what the plain wasm-bindgen output sends`, () => {
      const shipped = run(SHIPPED, variant, backend, compression);
      const plain = run(PLAIN, variant, backend, compression);
      // The corpus went out whole: one request per signal, only the invalid event dropped.
      assert.equal(plain.requests.length, 3);
      assert.ok(plain.sent.items > 90, `${plain.sent.items} items sent`);
      const dropped = Object.entries(plain.dropped).filter(([, n]) => n > 0);
      assert.deepEqual(dropped, [['invalid', 1]]);
      if (compression === 'gzip') {
        assert.ok(plain.requests.every((r) => r.headers['Content-Encoding'] === 'gzip'), 'every body gzipped');
      }
      assertSame(shipped, plain);
    });
  }
}

test('a byte changed in the shipped wasm\'s data shows as a body difference', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'postlink-diff-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  cpSync(SHIPPED, dir, { recursive: true });
  const wasmPath = join(dir, 'automagik_telemetry_bg.wasm');
  const wasm = readFileSync(wasmPath);
  const at = wasm.indexOf('resourceSpans');
  assert.ok(at > 0 && wasm.indexOf('resourceSpans', at + 1) < 0, 'the OTLP key is in the data once');
  wasm[at + 'resourceSpans'.length - 1] = 'z'.charCodeAt(0);
  writeFileSync(wasmPath, wasm);
  const corrupted = run(dir, 'lean', 'otlp', 'plain');
  const plain = run(PLAIN, 'lean', 'otlp', 'plain');
  assert.throws(() => assertSame(corrupted, plain), /request 0 \(.*\/v1\/traces\): bodies .* differ at byte \d+:[\s\S]*resourceSpanz/);
});
