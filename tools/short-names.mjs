// Gives the wasm's glue imports and the exports its glue reads one- or two-letter names, in
// the .wasm and in wasm-bindgen's glue alike. Their names carry a 16-hex-digit hash each
// (`__wbg_storageGet_9b48a9123fdf68dc`), which gzip cannot shrink: 1.5 KB gzipped shipped
// (wasm and browser JS together). binaryen's --minify-imports-and-exports would also rename
// the snippets' imports, which the glue passes as ES module namespaces, so the rename is
// done here. Imports from the snippets (`./snippets/.../host.js`), the `memory` export and
// exports the glue does not read keep their names.
//
// It works on wasm-bindgen's glue as wasm-bindgen writes it (`--target web`, before any
// minifier) and fails, naming what it did not expect, rather than guess:
// - every module the wasm imports from must be a key of the glue's import object, and the
//   glue's own module (`./<glue>_bg.js`) must be `import0`;
// - each renamed import must occur exactly once in the glue, as a key of `import0`;
// - the glue must read exports only as `wasm.<name>`, from `wasm = instance.exports`.
// Then it checks its output, parsed afresh (the wasm by the JS engine): the wasm is valid,
// its imports and exports are the input's in the same order with only the renamed names
// changed, every glue import has its key in `import0`, and every `wasm.<name>` the glue
// reads is an export of the wasm. (init() returns the exports object, with the short
// names: the package's entries do not use it.)
// Usage: node tools/short-names.mjs pkg/automagik_telemetry_bg.wasm pkg/automagik_telemetry.js
//        (rewrites both files in place)
import { readFileSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';

const ALPHABET = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';
/** The i-th short name: a..Z, then aa..ZZ. */
function shortName(i) {
  if (i >= 52 * 53) throw new Error(`more than ${52 * 53} names to shorten`);
  return i < 52 ? ALPHABET[i] : ALPHABET[Math.floor(i / 52) - 1] + ALPHABET[i % 52];
}

// ---- wasm binary ----------------------------------------------------------------------

/** Reads a wasm binary's parts, failing at its end rather than reading past it. */
class Reader {
  constructor(bytes, at = 0, end = bytes.length) {
    this.bytes = bytes;
    this.at = at;
    this.end = end;
  }
  byte() {
    if (this.at >= this.end) throw new Error(`the wasm ends early (at byte ${this.at})`);
    return this.bytes[this.at++];
  }
  /** An unsigned LEB128 number of at most `bits` bits. */
  leb(bits = 32) {
    let value = 0n;
    for (let shift = 0n; ; shift += 7n) {
      const byte = this.byte();
      value |= BigInt(byte & 0x7f) << shift;
      if (!(byte & 0x80)) break;
      if (shift + 7n >= BigInt(bits)) throw new Error(`a number of more than ${bits} bits at byte ${this.at}`);
    }
    if (value >= 1n << BigInt(bits)) throw new Error(`a number of more than ${bits} bits at byte ${this.at}`);
    return Number(value);
  }
  take(length) {
    if (length > this.end - this.at) throw new Error(`the wasm ends early (at byte ${this.at})`);
    this.at += length;
    return this.bytes.subarray(this.at - length, this.at);
  }
  name() {
    return new TextDecoder('utf-8', { fatal: true }).decode(this.take(this.leb()));
  }
}

function leb(value) {
  const out = [];
  do {
    let byte = value & 0x7f;
    value >>>= 7;
    if (value) byte |= 0x80;
    out.push(byte);
  } while (value);
  return Buffer.from(out);
}
const encodeName = (s) => Buffer.concat([leb(Buffer.byteLength(s)), Buffer.from(s)]);

const VALUE_TYPES = new Set([0x7f, 0x7e, 0x7d, 0x7c, 0x7b, 0x70, 0x6f]); // i32 i64 f32 f64 v128 funcref externref
const REF_TYPES = new Set([0x70, 0x6f]);

/** Skips an import's descriptor (function, table, memory, global or tag). */
function skipImportDesc(r) {
  const kind = r.byte();
  const limits = () => {
    const flags = r.byte();
    if (flags & ~0x07) throw new Error(`unknown limits flags ${flags} at byte ${r.at - 1}`);
    const bits = flags & 0x04 ? 64 : 32;
    r.leb(bits);
    if (flags & 0x01) r.leb(bits);
  };
  if (kind === 0) r.leb();
  else if (kind === 1) {
    if (!REF_TYPES.has(r.byte())) throw new Error(`unknown table type at byte ${r.at - 1}`);
    limits();
  } else if (kind === 2) limits();
  else if (kind === 3) {
    if (!VALUE_TYPES.has(r.byte())) throw new Error(`unknown global type at byte ${r.at - 1}`);
    if (r.byte() > 1) throw new Error(`unknown global mutability at byte ${r.at - 1}`);
  } else if (kind === 4) {
    r.byte();
    r.leb();
  } else throw new Error(`unknown import kind ${kind} at byte ${r.at - 1}`);
}

/**
 * The wasm with its import and export names replaced (only the import and export sections
 * change): `rename('import', module, name)` gives an import's new name,
 * `rename('export', null, name)` an export's.
 */
function renameInWasm(wasm, rename) {
  const r = new Reader(wasm);
  const header = r.take(8);
  if (!header.equals(Buffer.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]))) throw new Error('not a wasm module (version 1)');
  const parts = [header];
  while (r.at < r.end) {
    const sectionStart = r.at;
    const id = r.byte();
    const size = r.leb();
    const body = new Reader(wasm, r.at, r.at + size);
    r.take(size);
    if (id !== 2 && id !== 7) {
      parts.push(wasm.subarray(sectionStart, body.end));
      continue;
    }
    const count = body.leb();
    const entries = [leb(count)];
    for (let i = 0; i < count; i++) {
      if (id === 2) {
        const module = body.name();
        const field = body.name();
        const desc = body.at;
        skipImportDesc(body);
        entries.push(encodeName(module), encodeName(rename('import', module, field)), wasm.subarray(desc, body.at));
      } else {
        const field = body.name();
        const desc = body.at;
        body.byte();
        body.leb();
        entries.push(encodeName(rename('export', null, field)), wasm.subarray(desc, body.at));
      }
    }
    if (body.at !== body.end) throw new Error(`section ${id} has ${body.end - body.at} bytes after its entries`);
    const out = Buffer.concat(entries);
    parts.push(Buffer.from([id]), leb(out.length), out);
  }
  return Buffer.concat(parts);
}

// ---- glue -----------------------------------------------------------------------------

const IDENT = String.raw`[A-Za-z_$][\w$]*`;
const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/** Occurrences of `name` in `text` as a whole identifier. */
const countToken = (text, name) => text.match(new RegExp(String.raw`(?<![\w$])${escape(name)}(?![\w$])`, 'g'))?.length ?? 0;

/**
 * wasm-bindgen's import object for the glue's own module, as it writes it:
 *     const import0 = {
 *         __proto__: null,
 *         __wbg_now_463ac581d2fc7ea3: function() {
 *             ...
 *         },
 * `{ start, end, keys }`: where its entries are in `glue`, and the keys in order.
 */
function importObject(glue) {
  const open = '\n    const import0 = {\n';
  const start = glue.indexOf(open);
  if (start < 0 || glue.indexOf(open, start + 1) >= 0) {
    throw new Error('the glue does not have one `const import0 = {` (is it wasm-bindgen --target web output, unminified?)');
  }
  const end = glue.indexOf('\n    };\n', start);
  if (end < 0) throw new Error('the glue\'s `import0` object has no end');
  const keys = [];
  const key = new RegExp(String.raw`^ {8}(${IDENT}): function\(`);
  for (const line of glue.slice(start + open.length, end).split('\n')) {
    if (!/^ {8}\S/.test(line) || line === '        },' || line === '        __proto__: null,') continue;
    const m = line.match(key);
    if (!m) throw new Error(`unexpected line in the glue's import object: ${JSON.stringify(line)}`);
    keys.push(m[1]);
  }
  return { start: start + open.length, end, keys };
}

/** Every export name the glue reads as `wasm.<name>`. */
const EXPORT_READ = new RegExp(String.raw`(?<![\w$.])wasm\.(${IDENT})`, 'g');
const exportReads = (glue) => [...glue.matchAll(EXPORT_READ)].map((m) => m[1]);
// The lines where wasm-bindgen's glue names the exports object other than to read an
// export (the last two return it from init).
const OTHER_USES = new Set([
  'let wasmModule, wasmInstance, wasm;',
  'wasm = instance.exports;',
  'return wasm;',
  'if (wasm !== undefined) return wasm;',
]);

/** Fails unless the glue reads exports only as `wasm.<name>`, from `wasm = instance.exports`. */
function checkExportReads(glue) {
  if (countToken(glue, 'exports') !== 1 || !glue.includes('\n    wasm = instance.exports;\n')) {
    throw new Error('the glue does not take the exports by `wasm = instance.exports;` alone');
  }
  for (const line of glue.split('\n')) {
    // `wasm` as an identifier (`'application/wasm'` is not one), once the reads are gone.
    const rest = line.replace(EXPORT_READ, '');
    if (/(?<![\w$./])wasm(?![\w$])/.test(rest) && !OTHER_USES.has(line.trim())) {
      throw new Error(`the glue uses the exports other than as wasm.<name>: ${JSON.stringify(line.trim())}`);
    }
  }
}

// ---- the rename -----------------------------------------------------------------------

/** A wasm module compiled by the JS engine, which validates it whole. */
function compile(bytes, what) {
  try {
    return new WebAssembly.Module(bytes);
  } catch (e) {
    throw new Error(`${what} is not a valid wasm module: ${e.message}`);
  }
}

function shortNames(wasm, glue, glueModule) {
  // The engine refuses duplicate export names, among others.
  const input = compile(wasm, 'the input');
  const imports = WebAssembly.Module.imports(input);
  const exports = WebAssembly.Module.exports(input);

  // The glue must be wasm-bindgen's, for this wasm: its own module is `import0`, and it
  // passes every module the wasm imports from.
  const object = importObject(glue);
  checkExportReads(glue);
  const passes = (module, as) => new RegExp(String.raw`\n {8}${escape(JSON.stringify(module))}: ${as},?\n`).test(glue);
  if (!passes(glueModule, 'import0')) {
    throw new Error(`the glue's import object does not have its own module ${JSON.stringify(glueModule)} as import0 (was the file renamed?)`);
  }
  for (const module of new Set(imports.map((i) => i.module))) {
    if (!passes(module, String.raw`import\d+`)) {
      throw new Error(`the wasm imports from ${JSON.stringify(module)}, which the glue's import object does not have`);
    }
  }

  // Imports of the glue's own module, each a key of `import0` and named nowhere else.
  const importNames = new Map();
  for (const { module, name } of imports) {
    if (module !== glueModule || importNames.has(name)) continue;
    if (!object.keys.includes(name)) throw new Error(`the wasm imports ${name}, which is not a key of the glue's import object`);
    const uses = countToken(glue, name);
    if (uses !== 1) throw new Error(`import ${name} appears ${uses} times in the glue, expected once (its key in import0)`);
    importNames.set(name, shortName(importNames.size));
  }
  // Exports the glue reads; `memory` and exports nothing reads keep their names, which
  // no renamed export may then take.
  const read = new Set(exportReads(glue));
  const renamed = exports.filter((e) => e.name !== 'memory' && read.has(e.name));
  const kept = new Set(exports.filter((e) => !renamed.includes(e)).map((e) => e.name));
  const exportNames = new Map();
  for (let i = 0; exportNames.size < renamed.length; i++) {
    if (!kept.has(shortName(i))) exportNames.set(renamed[exportNames.size].name, shortName(i));
  }

  const newWasm = renameInWasm(wasm, (kind, module, name) =>
    (kind === 'import' ? module === glueModule && importNames.get(name) : exportNames.get(name)) || name);
  // One pass each, so that a new name is never renamed again.
  const entries = glue
    .slice(object.start, object.end)
    .replace(new RegExp(String.raw`^( {8})(${IDENT})(: function\()`, 'gm'), (m, indent, key, rest) => indent + (importNames.get(key) ?? key) + rest);
  let newGlue = glue.slice(0, object.start) + entries + glue.slice(object.end);
  newGlue = newGlue.replace(EXPORT_READ, (m, name) => `wasm.${exportNames.get(name) ?? name}`);

  check({ wasm, newWasm, newGlue, glueModule, importNames, exportNames });
  return { wasm: newWasm, glue: newGlue, imports: importNames.size, exports: exportNames.size };
}

/** The output, parsed afresh, against the input. */
function check({ wasm, newWasm, newGlue, glueModule, importNames, exportNames }) {
  const fail = (what) => {
    throw new Error(`self-check: ${what}`);
  };
  if (!WebAssembly.validate(newWasm)) fail('the renamed wasm is not valid');
  const [before, after] = [compile(wasm, 'the input'), compile(newWasm, 'the output')];
  const importsBefore = WebAssembly.Module.imports(before);
  const importsAfter = WebAssembly.Module.imports(after);
  if (importsAfter.length !== importsBefore.length) fail(`${importsBefore.length} imports became ${importsAfter.length}`);
  importsBefore.forEach((b, i) => {
    const a = importsAfter[i];
    const name = b.module === glueModule ? importNames.get(b.name) : b.name;
    if (a.module !== b.module || a.kind !== b.kind || a.name !== name) {
      fail(`import ${i} is ${a.module} ${a.name} (${a.kind}), expected ${b.module} ${name} (${b.kind})`);
    }
  });
  const exportsBefore = WebAssembly.Module.exports(before);
  const exportsAfter = WebAssembly.Module.exports(after);
  if (exportsAfter.length !== exportsBefore.length) fail(`${exportsBefore.length} exports became ${exportsAfter.length}`);
  exportsBefore.forEach((b, i) => {
    const a = exportsAfter[i];
    const name = exportNames.get(b.name) ?? b.name;
    if (a.kind !== b.kind || a.name !== name) fail(`export ${i} is ${a.name} (${a.kind}), expected ${name} (${b.kind})`);
  });

  const keys = new Set(importObject(newGlue).keys);
  for (const { module, name } of importsAfter) {
    if (module === glueModule && !keys.has(name)) fail(`the wasm imports ${name}, which the glue's import object does not have`);
  }
  for (const old of importNames.keys()) {
    if (countToken(newGlue, old) !== 0) fail(`the glue still names import ${old}`);
  }
  checkExportReads(newGlue);
  const exported = new Set(exportsAfter.map((e) => e.name));
  for (const name of exportReads(newGlue)) {
    if (!exported.has(name)) fail(`the glue reads wasm.${name}, which the wasm does not export`);
  }
}

const [wasmPath, gluePath] = process.argv.slice(2);
try {
  if (!wasmPath || !gluePath) throw new Error('usage: node tools/short-names.mjs <name>_bg.wasm <name>.js');
  // wasm-bindgen names the module of the glue's imports after the glue file.
  const glueModule = `./${basename(gluePath, '.js')}_bg.js`;
  const out = shortNames(readFileSync(wasmPath), readFileSync(gluePath, 'utf8'), glueModule);
  writeFileSync(wasmPath, out.wasm);
  writeFileSync(gluePath, out.glue);
  console.log(`short-names: ${out.imports} imports and ${out.exports} exports renamed`);
} catch (e) {
  console.error(`short-names: ${e.message}`);
  process.exit(1);
}
