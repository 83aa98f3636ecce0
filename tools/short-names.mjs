// Gives the wasm's glue imports and its exports one- or two-letter names, in the .wasm and
// in wasm-bindgen's glue alike. Their names carry a 16-hex-digit hash each
// (`__wbg_storageGet_9b48a9123fdf68dc`), which gzip cannot shrink: ~1 KB gzipped across
// the two files. binaryen's --minify-imports-and-exports would also rename the snippets'
// imports, which the glue passes as ES module namespaces, so the rename is done here.
// Imports from the snippets (`./snippets/.../host.js`) and the `memory` export keep
// their names. The build fails if the glue does not use a name the way it expects.
// Usage: node tools/short-names.mjs pkg/automagik_telemetry_bg.wasm pkg/automagik_telemetry.js
import { readFileSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';

const [wasmPath, gluePath] = process.argv.slice(2);
// wasm-bindgen names the module of the glue's imports after the glue file.
const GLUE_MODULE = `./${basename(gluePath, '.js')}_bg.js`;
const wasm = readFileSync(wasmPath);
let glue = readFileSync(gluePath, 'utf8');

const ALPHABET = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';
const shortName = (i) => (i < 52 ? ALPHABET[i] : ALPHABET[Math.floor(i / 52) - 1] + ALPHABET[i % 52]);

// ---- wasm binary: LEB128, names, sections -------------------------------------------
function readU32(buf, at) {
  let value = 0;
  let shift = 0;
  for (;;) {
    const byte = buf[at++];
    value |= (byte & 0x7f) << shift;
    if (!(byte & 0x80)) return [value >>> 0, at];
    shift += 7;
  }
}
function u32(value) {
  const out = [];
  do {
    let byte = value & 0x7f;
    value >>>= 7;
    if (value) byte |= 0x80;
    out.push(byte);
  } while (value);
  return Buffer.from(out);
}
function readName(buf, at) {
  const [len, start] = readU32(buf, at);
  return [buf.subarray(start, start + len).toString('utf8'), start + len];
}
const name = (s) => Buffer.concat([u32(Buffer.byteLength(s)), Buffer.from(s)]);
// Length of a limits encoding (flags, min, max if flagged).
function skipLimits(buf, at) {
  const flags = buf[at++];
  [, at] = readU32(buf, at);
  if (flags & 1) [, at] = readU32(buf, at);
  return at;
}
// An import's descriptor, copied as is: function, table, memory or global.
function skipImportDesc(buf, at) {
  const kind = buf[at++];
  if (kind === 0) return readU32(buf, at)[1];
  if (kind === 1) return skipLimits(buf, at + 1);
  if (kind === 2) return skipLimits(buf, at);
  if (kind === 3) return at + 2;
  throw new Error(`short-names: unknown import kind ${kind}`);
}

const renamedImports = new Map();
const renamedExports = new Map();
// A section body is a vector: its count, then entries; `entry(body, at)` gives an entry's
// new bytes and where the next one starts.
function rewriteVector(body, entry) {
  const [count, first] = readU32(body, 0);
  const parts = [u32(count)];
  let at = first;
  for (let i = 0; i < count; i++) {
    let bytes;
    [bytes, at] = entry(body, at);
    parts.push(bytes);
  }
  return Buffer.concat(parts);
}
function rewriteImport(body, at) {
  let module;
  let field;
  [module, at] = readName(body, at);
  [field, at] = readName(body, at);
  const descStart = at;
  at = skipImportDesc(body, at);
  if (module === GLUE_MODULE) {
    field = renamedImports.get(field) ?? renamedImports.set(field, shortName(renamedImports.size)).get(field);
  }
  return [Buffer.concat([name(module), name(field), body.subarray(descStart, at)]), at];
}
function rewriteExport(body, at) {
  let field;
  [field, at] = readName(body, at);
  const kindAt = at;
  at = readU32(body, at + 1)[1];
  if (field !== 'memory') {
    const short = shortName(renamedExports.size);
    renamedExports.set(field, short);
    field = short;
  }
  return [Buffer.concat([name(field), body.subarray(kindAt, at)]), at];
}

// Sections in order; only the import (2) and export (7) sections change.
const sections = [wasm.subarray(0, 8)];
let at = 8;
while (at < wasm.length) {
  const id = wasm[at];
  const [size, start] = readU32(wasm, at + 1);
  const body = wasm.subarray(start, start + size);
  let out = body;
  if (id === 2) out = rewriteVector(body, rewriteImport);
  if (id === 7) out = rewriteVector(body, rewriteExport);
  sections.push(Buffer.from([id]), u32(out.length), out);
  at = start + size;
}
const renamed = Buffer.concat(sections);

// ---- glue: the import object's keys and `wasm.<export>` ------------------------------
const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
function replaceExactly(pattern, replacement, expected, what) {
  const hits = glue.match(pattern)?.length ?? 0;
  if (hits !== expected) throw new Error(`short-names: ${what} appears ${hits} times in the glue, expected ${expected}`);
  glue = glue.replace(pattern, replacement);
}
for (const [old, short] of renamedImports) {
  // Each glue import is one key of the import object, and is named nowhere else.
  replaceExactly(new RegExp(`\\b${escape(old)}\\b`, 'g'), short, 1, `import ${old}`);
}
// Exports are only ever read off the instance as `wasm.<name>` (the glue's own functions
// of the same name are local and stay).
replaceExactly(/\bwasm\s*\[|\.exports\b/g, (m) => m, 1, 'a dynamic export read');
for (const [old, short] of renamedExports) {
  const reads = new RegExp(`\\bwasm\\.${escape(old)}\\b`, 'g');
  replaceExactly(reads, `wasm.${short}`, glue.match(reads)?.length ?? 0, `export ${old}`);
}
writeFileSync(wasmPath, renamed);
writeFileSync(gluePath, glue);
console.log(`short-names: ${renamedImports.size} imports and ${renamedExports.size} exports renamed`);
