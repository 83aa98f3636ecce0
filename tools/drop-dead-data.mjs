// Removes the data nothing refers to any more: panic messages, their source paths and
// `Location`s, which stay in the data section after their panic sites became traps
// (tools/abort-panics.mjs) and wasm-opt removed the code that named them (~1 KB gzipped).
// No optimiser can do this: a data section has no symbols. The build links with
// `--no-merge-data-segments`, so each piece of static data keeps its own segment, and
// wasm-opt keeps them apart.
//
// A segment is kept when anything could refer to it: a constant or a load/store offset in
// the code (either half of an i64 constant too: LLVM merges a pointer and a length into
// one store), a global's initial value, or any 4-byte word of a kept segment (pointers in
// static data), to a fixed point. A reference counts for the segment it falls in (or
// ends at) and any segment starting up to SLACK bytes after it (code may address
// `&TABLE[i - 1]` as `TABLE - 4` plus an offset). Segments must still have the extents
// the linker gave them: the wasm-opt run before this one skips memory-packing, which
// trims zeros off their ends (a table of mostly zeros would then start far after the
// address its code uses). Dropping a segment leaves zeros, which is what memory starts as.
// Usage: node tools/drop-dead-data.mjs in.wasm out.wasm   (after wasm-opt, and before
// another, which packs the data again)
import { readFileSync, writeFileSync } from 'node:fs';
import binaryen from 'binaryen';

const SLACK = 64;
const [input, output] = process.argv.slice(2);
const mod = binaryen.readBinary(readFileSync(input));

const segments = [];
for (let i = 0; i < mod.getNumDataSegments(); i++) {
  const info = mod.getDataSegmentInfo(mod.getDataSegmentByIndex(i));
  segments.push({ offset: info.offset, passive: info.passive, data: new Uint8Array(info.data) });
}
if (segments.some((s) => s.passive)) throw new Error('drop-dead-data: passive segments are not handled');
segments.sort((a, b) => a.offset - b.offset);
const first = segments[0].offset;
const last = segments.at(-1).offset + segments.at(-1).data.length;

// Every number the code and globals could use as an address (data lines excluded: their
// offsets are where segments go, not references).
const refs = new Set();
const add = (n) => {
  if (n >= first - SLACK && n <= last) refs.add(n);
};
for (const line of mod.emitText().split('\n')) {
  if (line.startsWith(' (data ')) continue;
  for (const m of line.matchAll(/i32\.const (-?\d+)|offset=(\d+)/g)) add(Number(m[1] ?? m[2]) >>> 0);
  for (const m of line.matchAll(/i64\.const (-?\d+)/g)) {
    const v = BigInt.asUintN(64, BigInt(m[1]));
    add(Number(v & 0xffffffffn));
    add(Number(v >> 32n));
  }
}

// A source path and a panic `Location` (path pointer, path length, line, column) are only
// ever named by their address, never walked to their end: a pointer one past one of them
// is the start of what follows it, not a reference to it.
const decoder = new TextDecoder('utf-8', { fatal: true });
function isPath(s) {
  try {
    return /^[\x21-\x7e]+\.rs\0?$/.test(decoder.decode(s.data));
  } catch {
    return false;
  }
}
const paths = new Map(segments.filter(isPath).map((s) => [s.offset, s]));
function isLocation(s) {
  if (s.data.length !== 16) return false;
  const v = new DataView(s.data.buffer, s.data.byteOffset, 16);
  const path = paths.get(v.getUint32(0, true));
  return !!path && v.getUint32(4, true) <= path.data.length && v.getUint32(8, true) < 1e6 && v.getUint32(12, true) < 1e4;
}
const walkable = (s) => !paths.has(s.offset) && !isLocation(s);

// Segments a reference keeps: the one holding it (or ending at it: a pointer one past
// the end, unless nothing walks it), and those starting up to SLACK bytes after it.
function keptBy(n) {
  return segments.filter((s) => {
    const end = s.offset + s.data.length;
    return (n >= s.offset && n < end) || (n === end && walkable(s)) || (s.offset > n && s.offset - n <= SLACK);
  });
}
const live = new Set();
const pending = [...refs];
while (pending.length) {
  for (const s of keptBy(pending.pop())) {
    if (live.has(s)) continue;
    live.add(s);
    const view = new DataView(s.data.buffer, s.data.byteOffset, s.data.byteLength);
    for (let i = 0; i + 4 <= s.data.length; i++) {
      const word = view.getUint32(i, true);
      if (word >= first - SLACK && word <= last && !refs.has(word)) {
        refs.add(word);
        pending.push(word);
      }
    }
  }
}

// The kept data as one segment, zeros where dropped segments were: the wasm-opt pass that
// follows splits it wherever a run of zeros costs more than a segment header.
const dead = segments.filter((s) => !live.has(s));
const image = new Uint8Array(last - first);
for (const s of live) image.set(s.data, s.offset - first);
const bytes = dead.reduce((n, s) => n + s.data.length, 0);
const memory = mod.getMemoryInfo();
// Same memory, same internal name (the `memory` export refers to it), fewer segments.
mod.setMemory(
  memory.initial,
  memory.max ?? -1,
  null,
  [{ offset: mod.i32.const(first), data: image, passive: false }],
  memory.shared,
  memory.is64,
  '0',
);
const F = binaryen.Features;
mod.setFeatures(F.BulkMemory | F.NontrappingFPToInt | F.SignExt | F.ReferenceTypes | F.Multivalue | F.MutableGlobals);
writeFileSync(output, mod.emitBinary());
console.log(`drop-dead-data: ${dead.length} of ${segments.length} data segments (${bytes} bytes) unreferenced, dropped`);
