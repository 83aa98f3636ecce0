// Makes every Rust panic in the wasm trap at once: the entry points of std's panic path
// become a bare `unreachable`, so wasm-opt can drop the message formatting reachable only
// from them (~0.8 KB gzipped). What nightly's `panic_immediate_abort` does at compile time.
// Nothing observable changes: on wasm32-unknown-unknown std's stderr discards the
// message, and the panic then aborts with the same trap.
// Usage: node tools/abort-panics.mjs in.wasm out.wasm   (the input must keep its names)
import { readFileSync, writeFileSync } from 'node:fs';
import binaryen from 'binaryen';

// Every core and alloc panic goes through panic_fmt, std's own through panic_with_hook;
// rust_oom formats "memory allocation of N bytes failed" before aborting.
const ENTRY_POINTS = [
  /^core\[[0-9a-f]+\]::panicking::panic_fmt$/,
  /^std\[[0-9a-f]+\]::panicking::panic_with_hook$/,
  /^std\[[0-9a-f]+\]::alloc::rust_oom$/,
];

const [input, output] = process.argv.slice(2);
const mod = binaryen.readBinary(readFileSync(input));
const functions = [];
for (let i = 0; i < mod.getNumFunctions(); i++) {
  functions.push(binaryen.getFunctionInfo(mod.getFunctionByIndex(i)));
}
for (const pattern of ENTRY_POINTS) {
  const hits = functions.filter((f) => f.body && pattern.test(f.name));
  // A toolchain that renames these must fail the build, not silently ship the bytes.
  if (hits.length !== 1) throw new Error(`abort-panics: ${hits.length} functions match ${pattern}`);
  const { name, params, results } = hits[0];
  mod.removeFunction(name);
  mod.addFunction(name, params, results, [], mod.unreachable());
}
// The features the build enables (tools/build-pkg.sh); names stay for wasm-opt's output.
const F = binaryen.Features;
mod.setFeatures(F.BulkMemory | F.NontrappingFPToInt | F.SignExt | F.ReferenceTypes | F.Multivalue | F.MutableGlobals);
binaryen.setDebugInfo(true);
writeFileSync(output, mod.emitBinary());
