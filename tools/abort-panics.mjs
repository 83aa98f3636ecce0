// Drops the panic-message formatting the linker had to keep. In the no_std wasm build a
// panic traps at once (src/lib.rs), so nothing ever formats a message; yet every panic
// site takes the address of the `Display`/`Debug` impls of its arguments, which puts them
// in the function table, where no optimiser may remove them (~2 KB gzipped of
// `core::fmt`). What nightly's `panic_immediate_abort` does at compile time.
//
// Sound only while nothing formats at run time: the wasm must contain no formatter driver
// (`core::fmt::write`, reached by `format!`, `write!` or `to_string`). The build fails if
// it does, rather than trap where a message was wanted.
// Usage: node tools/abort-panics.mjs in.wasm out.wasm   (the input must keep its names)
import { readFileSync, writeFileSync } from 'node:fs';
import binaryen from 'binaryen';

const CORE = String.raw`core(?:\[[0-9a-f]+\])?`;
// The formatting machinery and every formatting impl: `<T as core::fmt::Debug>::fmt`,
// `<core::fmt::Formatter>::pad`, `<PadAdapter as core::fmt::Write>::write_str`,
// `core::fmt::num::...`, the driver `core::fmt::write` itself.
const FORMATTING = new RegExp(String.raw`^<.* as ${CORE}::fmt::\w+>::|^<?${CORE}::fmt::`);
const DRIVER = new RegExp(String.raw`^${CORE}::fmt::write$`);

const [input, output] = process.argv.slice(2);
const mod = binaryen.readBinary(readFileSync(input));
const functions = [];
for (let i = 0; i < mod.getNumFunctions(); i++) {
  functions.push(binaryen.getFunctionInfo(mod.getFunctionByIndex(i)));
}
const trapped0 = (name) => FORMATTING.test(name) || DRIVER.test(name);
const formatting = functions.filter((f) => f.body && trapped0(f.name));
// A toolchain that names these otherwise must fail the build, not silently ship the
// bytes: any function of `core::fmt` must be one the patterns know. (A build may have
// none at all: the lean browser build formats nothing, not even through the table.)
const unknown = functions.filter((f) => f.body && /\bfmt\b/.test(f.name) && !trapped0(f.name));
if (unknown.length) throw new Error(`abort-panics: formatting functions the patterns do not know: ${unknown.map((f) => f.name).join(', ')}`);
const trapped = new Set(formatting.map((f) => f.name));
// Each function's direct callees, whether it calls through a table or reference, and
// whether it has a `return` (binaryen types a body ending in one as unreachable too).
const calls = new Map();
let current = null;
for (const line of mod.emitText().split('\n')) {
  const head = line.match(/^ \(func \$(?:"((?:[^"\\]|\\.)*)"|(\S+))/);
  if (head) calls.set((current = head[1] ?? head[2]), { direct: new Set(), indirect: false, returns: false });
  if (!current) continue;
  const call = line.match(/\((?:return_)?call \$(?:"((?:[^"\\]|\\.)*)"|([^\s)]+))/);
  if (call) calls.get(current).direct.add(call[1] ?? call[2]);
  if (/\((?:return_)?call_(?:indirect|ref)\b/.test(line)) calls.get(current).indirect = true;
  if (/\(return(?:_call\w*)?\b/.test(line)) calls.get(current).returns = true;
}
// Sound only while no other code drives a formatter: `format!`, `write!` or `to_string`
// call into these directly. Panic sites reach them only through the table.
const callers = [...calls].filter(([name, c]) => !trapped.has(name) && [...c.direct].some((f) => trapped.has(f)));
// The panic helpers (`panic_bounds_check`, `slice_index_fail`, `unwrap_failed`, ...) now
// build a message nobody reads and then trap: a function that never returns and calls
// only such functions traps at once instead, so that wasm-opt can fold each panic site
// into a bare `unreachable` and the data it named (messages, `Location`s) goes unused
// (tools/drop-dead-data.mjs). What it wrote to memory first was the message.
const panics = [];
for (let grew = true; grew; ) {
  grew = false;
  for (const f of functions) {
    const c = calls.get(f.name);
    if (!f.body || trapped.has(f.name) || !c || c.indirect || c.returns) continue;
    if (binaryen.getExpressionType(f.body) !== binaryen.unreachable) continue;
    if (![...c.direct].every((g) => trapped.has(g))) continue;
    trapped.add(f.name);
    panics.push(f);
    grew = true;
  }
}
if (callers.length) {
  throw new Error(`abort-panics: formatting runs at run time, from ${callers.map(([n]) => n).join(', ')}: remove its format!/write!/to_string`);
}
for (const { name, params, results } of [...formatting, ...panics]) {
  mod.removeFunction(name);
  mod.addFunction(name, params, results, [], mod.unreachable());
}
// The features the build enables (tools/build-pkg.sh); names stay for wasm-opt's output.
const F = binaryen.Features;
mod.setFeatures(F.BulkMemory | F.NontrappingFPToInt | F.SignExt | F.ReferenceTypes | F.Multivalue | F.MutableGlobals);
binaryen.setDebugInfo(true);
writeFileSync(output, mod.emitBinary());
console.log(`abort-panics: ${formatting.length} formatting functions and ${panics.length} panic helpers trap`);
