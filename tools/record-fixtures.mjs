// Record fixtures from the real JS writer (js/record.js): the core's unit tests decode
// these bytes (crates/core/src/fixtures/records.bin), and check that the Rust twin of the
// writer they build records with (model.rs `testing`) lays each case out byte for byte as
// JS did, so the twin cannot drift. tests/record_fixtures.test.mjs checks the committed
// file is current.
// Usage: node tools/record-fixtures.mjs   (rewrites the fixture file)
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { KIND_ERROR as ERROR, KIND_EVENT as EVENT, KIND_LOG as LOG, KIND_METRIC as METRIC } from '../js/layout.js';
import { bindScratch, writeItem } from '../js/record.js';

export const FIXTURE = fileURLToPath(new URL('../crates/core/src/fixtures/records.bin', import.meta.url));

let deep = 'leaf';
for (let i = 0; i < 6; i++) deep = [deep];
const stacked = new RangeError('boom');
stacked.stack = 'RangeError: boom\n    at handler (app.js:1:1)';
const unstacked = new TypeError('no stack');
unstacked.stack = undefined;
const bare = Object.create(null);
bare.z = 'last';
bare.a = null;
const twice = { k: 1 };

/**
 * The cases, in file order: `[kind, first argument, attributes, metric value]`.
 * crates/core/src/model.rs states what each lays out as, in its twin's terms.
 */
const CASES = [
  [EVENT, 'api.request', { endpoint: '/v1/users', status: 200, duration_ms: 45.2, ok: true, skipped: undefined, fn() {} }],
  [EVENT, 'types', { big: 2n ** 70n, small: -5n, nan: NaN, date: new Date(0), tags: ['a', 1, false], nested: { k: 'v' }, map: new Map([['m', 1]]) }],
  [ERROR, stacked, { order_id: 'o1' }],
  [ERROR, 'a thrown string', undefined],
  [METRIC, 'latency', { unit: 'ms' }, 2.5],
  [LOG, 'héllo 😀', { user: { id: 1 } }],
  [EVENT, 'deep', { d: deep }],
  // Strings: empty, escapes, every UTF-8 width, a lone surrogate (TextEncoder writes U+FFFD),
  // non-ASCII keys, a string longer than the writer copies.
  [EVENT, 'strings', { empty: '', esc: 'a"b\\c\n\t\u0000', widths: 'aé€😀', lone: 'x\ud800y', 'ключ': 'значение', '😀': '', long: 'x'.repeat(1200) }],
  // Integers: the bounds of both paths (safe integers, BigInt), the 32-bit split, -0.
  [EVENT, 'ints', { zero: 0, neg0: -0, neg: -1, i31: 2 ** 31, i32: 2 ** 32 + 1, n32: -(2 ** 32) - 1, max: 2 ** 53, min: -(2 ** 53), bmax: 2n ** 63n - 1n, bmin: -(2n ** 63n), b0: 0n }],
  // Doubles as JS prints them; the non-finite ones travel as strings.
  [EVENT, 'doubles', { tenth: 0.1, neg: -2.5, tiny: 1e-7, huge: 1.5e300, past53: 2 ** 53 + 2, third: 1 / 3, inf: Infinity, ninf: -Infinity }],
  [EVENT, 'bools', { t: true, f: false }],
  // Containers: empty ones, nesting of each kind in the other, typed arrays, sets, maps
  // with keys that are not strings, prototype-less objects, omitted entries, a repeated
  // (not circular) object.
  [EVENT, 'containers', { arr: [], obj: {}, mixed: [1, [2, [3]], { a: [] }], kv: { a: { b: { c: 1 } } }, u8: new Uint8Array([1, 255]), f64: new Float64Array([0.5]), set: new Set(['s', 2]), mapk: new Map([[1, 'one'], [true, 'yes']]), bare, holes: [undefined, 1, () => {}, Symbol('s'), 2], same: [twice, twice] }],
  // Values written as their string form.
  [EVENT, 'strung', { url: new URL('https://example.com/a?b=1'), err: new Error('inner'), bad: new Date(NaN) }],
  // Attributes that are no object give none.
  [EVENT, 'no attributes', ['a', 'b']],
  [EVENT, 'null attributes', null],
  // Errors: a thrown object, number and null; an Error without a stack.
  [ERROR, { code: 42, reason: 'x' }, {}],
  [ERROR, 7, undefined],
  [ERROR, null, undefined],
  [ERROR, unstacked, undefined],
  // Metrics: an integer value, one printed with an exponent, a negative one.
  [METRIC, 'count', {}, 3],
  [METRIC, 'big', {}, 1e21],
  [METRIC, 'delta', { unit: 's' }, -0.25],
  // Logs: messages that are not strings, an empty-attributes log.
  [LOG, 42, {}],
  [LOG, new Error('logged'), undefined],
  [LOG, { a: 1 }, { level: 'x' }],
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
