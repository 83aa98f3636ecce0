// The JavaScript side of the record boundary (layout: crates/core/src/model.rs, whose tags,
// kind codes and limits come from ./layout.js). It walks one tracking call's arguments
// once and lays them out in the wasm scratch buffer, so the core receives plain bytes and
// no JS object outlives the call. It runs on every tracking call: no allocation on the
// common path, and nothing it is given can make it throw.
import {
  KIND_ERROR,
  KIND_EVENT,
  KIND_METRIC,
  MAX_ATTRIBUTES,
  MAX_BODY_CHARS,
  MAX_DEPTH,
  MAX_STACK_BYTES,
  MAX_STRING_CHARS,
  TAG_ARRAY,
  TAG_BOOL,
  TAG_DOUBLE,
  TAG_INT,
  TAG_KVLIST,
  TAG_STR,
} from './layout.js';

// The core cuts strings to characters on UTF-8 boundaries; copying twice as many UTF-16
// units as it keeps always leaves it enough whole characters (a stack is cut to bytes,
// and each unit is at least one).
const STR_UNITS = 2 * MAX_STRING_CHARS;
const BODY_UNITS = 2 * MAX_BODY_CHARS;
const STACK_UNITS = MAX_STACK_BYTES;
const TWO_32 = 4294967296;
const TWO_53 = 9007199254740992;

const encoder = new TextEncoder();
// Times follow the wall clock. performance.now() refines them below the millisecond, but
// it stops while a machine sleeps, so its origin is re-anchored to Date.now() whenever
// the two part by a millisecond or more: it refines, it never drifts.
let perf;
try {
  perf = typeof performance === 'object' && performance && typeof performance.now === 'function' ? performance : undefined;
} catch {
  perf = undefined;
}
let anchor = NaN;

function now() {
  const wall = Date.now();
  if (perf === undefined) return wall;
  let mono;
  try {
    mono = perf.now();
  } catch {
    perf = undefined;
    return wall;
  }
  const t = anchor + mono;
  const ahead = t - wall;
  if (ahead >= 0 && ahead < 1) return t;
  anchor = wall - mono;
  return wall;
}

let memory;
let base = 0;
let end = 0;
let bytes;
let view;
let pos = 0;
let busy = false;
const ancestors = [];

/** Points the writer at the scratch buffer `[ptr, ptr + len)` of `mem`. */
export function bindScratch(mem, ptr, len) {
  memory = mem;
  base = ptr;
  end = ptr + len;
  bytes = undefined;
}

// Views go stale when linear memory grows: the old ArrayBuffer is detached, which makes
// their length 0 (cheaper to test than reading memory.buffer on every call).
function refreshViews() {
  if (bytes === undefined || bytes.length === 0) {
    bytes = new Uint8Array(memory.buffer);
    view = new DataView(memory.buffer);
  }
}

function room(n) {
  return pos + n <= end;
}

function putStr(s, maxUnits) {
  if (s.length > maxUnits) s = s.slice(0, maxUnits);
  const n = s.length;
  if (!room(4 + 3 * n)) return false;
  let p = pos + 4;
  let i = 0;
  for (; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80) break;
    bytes[p++] = c;
  }
  if (i < n) p += encoder.encodeInto(i === 0 ? s : s.slice(i), bytes.subarray(p, end)).written;
  view.setUint32(pos, p - pos - 4, true);
  pos = p;
  return true;
}

function putTaggedStr(s, tag = TAG_STR) {
  const start = pos;
  if (room(1)) {
    bytes[pos++] = tag;
    if (putStr(s, STR_UNITS)) return true;
  }
  pos = start;
  return false;
}

// Containers are `tag, u32 count, u32 byte_len, entries`; count and length are patched
// once the entries are written, since omitted entries are not known in advance.
function openContainer(tag) {
  if (!room(9)) return -1;
  bytes[pos] = tag;
  pos += 9;
  return pos - 8;
}

function closeContainer(at, count) {
  view.setUint32(at, count, true);
  view.setUint32(at + 4, pos - at - 8, true);
}

function putInt(v) {
  if (!room(9)) return false;
  const hi = Math.floor(v / TWO_32);
  bytes[pos] = TAG_INT;
  view.setUint32(pos + 1, v - hi * TWO_32, true);
  view.setInt32(pos + 5, hi, true);
  pos += 9;
  return true;
}

/** Writes one value; returns false (and writes nothing) when the value is omitted. */
function putValue(v, depth) {
  switch (typeof v) {
    case 'string':
      return putTaggedStr(v);
    case 'number':
      if (Number.isInteger(v) && v <= TWO_53 && v >= -TWO_53) return putInt(v);
      // Other finite numbers travel as the text JS prints for them, which is a JSON
      // number: the wasm has no float formatter (crates/core/src/json.rs `is_number`).
      return putTaggedStr(String(v), Number.isFinite(v) ? TAG_DOUBLE : TAG_STR);
    case 'boolean':
      if (!room(2)) return false;
      bytes[pos] = TAG_BOOL;
      bytes[pos + 1] = v ? 1 : 0;
      pos += 2;
      return true;
    case 'bigint':
      if (BigInt.asIntN(64, v) !== v) return putTaggedStr(v.toString());
      if (!room(9)) return false;
      bytes[pos] = TAG_INT;
      view.setBigInt64(pos + 1, v, true);
      pos += 9;
      return true;
    case 'object':
      return v !== null && putObject(v, depth);
    default:
      return false; // undefined, function, symbol
  }
}

function putObject(v, depth) {
  if (v instanceof Date) {
    return putTaggedStr(Number.isNaN(v.getTime()) ? 'Invalid Date' : v.toISOString());
  }
  if (depth >= MAX_DEPTH || ancestors.includes(v)) return false;
  const start = pos;
  ancestors.push(v);
  try {
    if (Array.isArray(v) || (ArrayBuffer.isView(v) && !(v instanceof DataView))) {
      return putArray(v, depth + 1);
    }
    if (v instanceof Set) return putArray(Array.from(v), depth + 1);
    if (v instanceof Map) return putEntries(TAG_KVLIST, v, depth + 1);
    const proto = Object.getPrototypeOf(v);
    if (proto === Object.prototype || proto === null) return putEntries(TAG_KVLIST, v, depth + 1);
    // Class instances (Error, URL, ...) read best as their string form.
    return putTaggedStr(String(v));
  } catch {
    pos = start;
    return false;
  } finally {
    ancestors.pop();
  }
}

function putArray(a, depth) {
  const at = openContainer(TAG_ARRAY);
  if (at < 0) return false;
  let count = 0;
  const n = Math.min(a.length, MAX_ATTRIBUTES);
  for (let i = 0; i < n; i++) {
    if (putValue(a[i], depth)) count++;
  }
  closeContainer(at, count);
  return true;
}

const hasOwn = Object.prototype.hasOwnProperty;

/** Writes one key/value pair: 1 if written, 0 if omitted, -1 when the buffer is full. */
function putEntry(key, value, depth) {
  const start = pos;
  if (putStr(key, STR_UNITS) && putValue(value, depth)) return 1;
  pos = start;
  return room(16) ? 0 : -1;
}

/**
 * Writes `source` (a plain object or a Map) as `u32 count, u32 len, (key, value)*`,
 * preceded by `tag` unless it is the top-level attribute list (tag 0).
 */
function putEntries(tag, source, depth) {
  let at;
  if (tag === 0) {
    if (!room(8)) return false;
    pos += 8;
    at = pos - 8;
  } else {
    at = openContainer(tag);
    if (at < 0) return false;
  }
  let count = 0;
  if (source instanceof Map) {
    for (const [k, value] of source) {
      const r = putEntry(typeof k === 'string' ? k : String(k), value, depth);
      if (r < 0 || (count += r) === MAX_ATTRIBUTES) break;
    }
  } else {
    for (const k in source) {
      if (!hasOwn.call(source, k)) continue;
      let value;
      try {
        value = source[k];
      } catch {
        continue; // a throwing getter omits its attribute
      }
      const r = putEntry(k, value, depth);
      if (r < 0 || (count += r) === MAX_ATTRIBUTES) break;
    }
  }
  closeContainer(at, count);
  return true;
}

function putAttributes(attrs) {
  const start = pos;
  if (attrs !== null && typeof attrs === 'object' && !Array.isArray(attrs)) {
    ancestors.push(attrs);
    try {
      if (putEntries(0, attrs, 0)) return;
    } catch {
      // A hostile object (throwing Proxy trap, iterator): keep the item, drop its attributes.
    } finally {
      ancestors.pop();
    }
  }
  pos = start;
  view.setUint32(pos, 0, true);
  view.setUint32(pos + 4, 0, true);
  pos += 8;
}

function describe(v) {
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    try {
      return String(v);
    } catch {
      return Object.prototype.toString.call(v);
    }
  }
}

/** `[type, message, stack]` of any thrown value. */
function errorParts(e) {
  if (e !== null && typeof e === 'object') {
    let name;
    try {
      name = e.name || (e.constructor && e.constructor.name);
    } catch {}
    let message;
    try {
      message = e.message;
    } catch {}
    if (e instanceof Error || typeof message === 'string') {
      let stack = '';
      try {
        if (typeof e.stack === 'string') stack = e.stack;
      } catch {}
      return [typeof name === 'string' && name ? name : 'Error', String(message ?? ''), stack];
    }
    return [typeof name === 'string' && name ? name : 'Object', describe(e), ''];
  }
  return [e === null ? 'null' : typeof e, typeof e === 'symbol' ? e.toString() : String(e), ''];
}

/** The log body of `m`, or undefined when `m` cannot be a message. */
function logMessage(m) {
  switch (typeof m) {
    case 'string':
      return m;
    case 'number':
    case 'boolean':
    case 'bigint':
      return String(m);
    case 'object':
      return m === null ? undefined : m instanceof Error ? String(m) : describe(m);
    default:
      return undefined;
  }
}

/**
 * Lays out one item of `kind` (0 event, 1 error, 2 metric, 3 log) from the caller's
 * first argument `a` (name, error or message), attributes `b` and, for a metric, its
 * finite `value`. Returns the body's length in the scratch buffer, or 0 when the item
 * is invalid.
 */
export function writeItem(kind, a, b, value) {
  if (busy || memory === undefined) return 0; // a getter re-entering the SDK
  busy = true;
  try {
    refreshViews();
    pos = base;
    view.setFloat64(pos, now(), true);
    pos += 8;
    if (kind === KIND_ERROR) {
      const [type, message, stack] = errorParts(a);
      putStr(type, STR_UNITS);
      putStr(message, STR_UNITS);
      putStr(stack, STACK_UNITS);
    } else {
      const text = kind === KIND_EVENT || kind === KIND_METRIC ? a : logMessage(a);
      if (typeof text !== 'string' || text.length === 0) return 0;
      putStr(text, kind === KIND_EVENT || kind === KIND_METRIC ? STR_UNITS : BODY_UNITS);
      if (kind === KIND_METRIC) {
        if (!Number.isFinite(value)) return 0;
        putStr(String(value), STR_UNITS);
      }
    }
    putAttributes(b);
    return pos - base;
  } catch {
    return 0;
  } finally {
    if (ancestors.length !== 0) ancestors.length = 0; // unbalanced only after a throw
    busy = false;
  }
}

/** The attributes of a typical item, for warm-up runs of the writer. */
export function sampleAttributes() {
  return { status: 200, path: '/' };
}

// Warm-up, at import. V8 interprets JS until a function has run hot, then optimises it on
// a background thread: in Node 20 the writer got there ~70 items into the first tracking
// calls, and on a busy two-core machine that ~2 ms compile took the caller's core (the
// next 99 calls cost 8-31 µs each instead of ~3.5). 250 sample items (V8 marks the writer
// after ~200) move the compile to import, where Node's entry compiles the wasm meanwhile.
// The memory grows first: growing detaches the old buffer, and code optimised while no
// buffer had ever been detached would be discarded at the SDK's first growth.
{
  const mem = new WebAssembly.Memory({ initial: 1 });
  mem.grow(0);
  bindScratch(mem, 0, 65536);
  for (let i = 0; i < 250; i++) writeItem(KIND_EVENT, 'warm-up', sampleAttributes());
  memory = bytes = view = undefined;
}
