// Record fixtures from the real JS writer (js/record.js): the core's unit tests decode
// these bytes (crates/core/src/fixtures/records.bin), so they exercise what JS lays out, not a
// Rust twin of it. tests/record_fixtures.test.mjs checks the committed file is current.
// Usage: node tools/record-fixtures.mjs   (rewrites the fixture file)
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { bindScratch, writeItem } from '../js/record.js';

export const FIXTURE = fileURLToPath(new URL('../crates/core/src/fixtures/records.bin', import.meta.url));

/** Kind bytes as the wasm layer passes them (crates/core/src/model.rs `Kind`). */
const EVENT = 0;
const ERROR = 1;
const METRIC = 2;
const LOG = 3;

let deep = 'leaf';
for (let i = 0; i < 6; i++) deep = [deep];
const stacked = new RangeError('boom');
stacked.stack = 'RangeError: boom\n    at handler (app.js:1:1)';

/** The cases, in file order; crates/core/src/model.rs asserts what each decodes to. */
const CASES = [
  [EVENT, 'api.request', { endpoint: '/v1/users', status: 200, duration_ms: 45.2, ok: true, skipped: undefined, fn() {} }],
  [EVENT, 'types', { big: 2n ** 70n, small: -5n, nan: NaN, date: new Date(0), tags: ['a', 1, false], nested: { k: 'v' }, map: new Map([['m', 1]]) }],
  [ERROR, stacked, { order_id: 'o1' }],
  [ERROR, 'a thrown string', undefined],
  [METRIC, 'latency', { unit: 'ms' }, 2.5],
  [LOG, 'héllo 😀', { user: { id: 1 } }],
  [EVENT, 'deep', { d: deep }],
];

/** The fixture bytes: per case `u8 kind, u32 len, body`, bodies as record.js wrote them. */
export function fixtures() {
  const memory = new WebAssembly.Memory({ initial: 2 });
  bindScratch(memory, 1024, 64 * 1024);
  const parts = [];
  for (const [kind, a, b, value] of CASES) {
    const len = writeItem(kind, a, b, value);
    const head = Buffer.alloc(5);
    head.writeUInt8(kind, 0);
    head.writeUInt32LE(len, 1);
    parts.push(head, Buffer.from(new Uint8Array(memory.buffer, 1024, len)));
  }
  return Buffer.concat(parts);
}

/** `bytes` with each record's time (its first 8 body bytes) zeroed, for comparison. */
export function timeless(bytes) {
  const out = Buffer.from(bytes);
  for (let at = 0; at < out.length; ) {
    const len = out.readUInt32LE(at + 1);
    out.fill(0, at + 5, at + 13);
    at += 5 + len;
  }
  return out;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(FIXTURE, fixtures());
  console.log(`wrote ${FIXTURE}`);
}
