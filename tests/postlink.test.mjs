// The post-link tool tools/short-names.mjs on small fixtures, run as the build runs it (a
// child process rewriting a wasm and its glue in place): what it renames, that the pair
// still runs, and the inputs it must refuse loudly (exit 1, a message naming the problem,
// both files untouched), its self-check included. The fixtures are a wasm made with
// binaryen's JS API and a glue written the way wasm-bindgen (--target web) writes it.
// tests/postlink_diff.test.mjs compares what the real build sends with and without it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import binaryen from 'binaryen';

const TOOL = fileURLToPath(new URL('../tools/short-names.mjs', import.meta.url));
const SNIPPET = './snippets/fix-0123/js/host.js';
const NOW = '__wbg_now_0123456789abcdef';
const LOG = '__wbg_log_fedcba9876543210';

/**
 * A wasm as wasm-bindgen leaves it: function imports from the glue's module (`imports`,
 * by name) and `debug` from a snippet; exported functions returning constants or using
 * the imports (`exports`: export name -> 'add' | 'now' | 'log' | a constant) and a global
 * `__instance_terminated`; its memory exported as `memory`.
 */
function fixtureWasm({ module = './fix_bg.js', imports = [NOW, LOG], exports = { fix_add: 'add', fix_now: 'now', fix_log: 'log' } } = {}) {
  const { i32, f64, none } = binaryen;
  const m = new binaryen.Module();
  for (const name of imports) {
    m.addFunctionImport(name, module, name, name === NOW ? none : i32, name === NOW ? f64 : none);
  }
  m.addFunctionImport('debug', SNIPPET, 'debug', i32, none);
  const param = (i, type) => m.local.get(i, type);
  m.addFunction('add', binaryen.createType([i32, i32]), i32, [], m.i32.add(param(0, i32), param(1, i32)));
  m.addFunction('now', none, f64, [], imports.includes(NOW) ? m.call(NOW, [], f64) : m.f64.const(0));
  m.addFunction('log', i32, none, [], m.block(null, [
    ...imports.filter((name) => name !== NOW).map((name) => m.call(name, [param(0, i32)], none)),
    m.call('debug', [param(0, i32)], none),
  ]));
  m.addFunction('start', none, none, [], m.nop());
  m.addFunctionExport('start', '__wbindgen_start');
  for (const [name, what] of Object.entries(exports)) {
    if (typeof what === 'number') m.addFunction(`const_${name}`, none, i32, [], m.i32.const(what));
    m.addFunctionExport(typeof what === 'number' ? `const_${name}` : what, name);
  }
  m.addGlobal('terminated', i32, true, m.i32.const(0));
  m.addGlobalExport('terminated', '__instance_terminated');
  m.setMemory(1, 1, 'memory');
  m.setFeatures(binaryen.Features.MutableGlobals);
  assert.ok(m.validate(), 'the fixture wasm is valid');
  const bytes = Buffer.from(m.emitBinary());
  m.dispose();
  return bytes;
}

/** The glue import for `name`, as wasm-bindgen writes it. */
const IMPORTS = {
  [NOW]: [`        ${NOW}: function() {`, '            const ret = 42.5;', '            return ret;', '        },'],
  [LOG]: [`        ${LOG}: function(arg0) {`, '            globalThis.fixtureLog.push(arg0);', '        },'],
};

/**
 * A glue as wasm-bindgen writes it for `fixtureWasm()`: `reads` are the exports its
 * functions read (export name -> JS function name), `imports` its import object's keys.
 * `edit(text)` may change the result.
 */
function fixtureGlue({
  module = './fix_bg.js',
  imports = [NOW, LOG],
  reads = { fix_add: 'add', fix_now: 'now', fix_log: 'log' },
  edit = (text) => text,
} = {}) {
  const functions = Object.entries(reads).map(([name, fn]) => [
    `export function ${fn}(...args) {`,
    `    const ret = wasm.${name}(...args);`,
    '    return ret;',
    '}',
    '',
  ]);
  return edit([
    `import * as import1 from "${SNIPPET}"`,
    '',
    ...functions.flat(),
    'function __wbg_get_imports() {',
    '    const import0 = {',
    '        __proto__: null,',
    ...imports.flatMap((name) => IMPORTS[name]),
    '    };',
    '    return {',
    '        __proto__: null,',
    `        "${module}": import0,`,
    `        "${SNIPPET}": import1,`,
    '    };',
    '}',
    '',
    'let wasmModule, wasmInstance, wasm;',
    '',
    'function __wbg_finalize_init(instance, module) {',
    '    wasmInstance = instance;',
    '    wasm = instance.exports;',
    '    wasmModule = module;',
    '    wasm.__wbindgen_start();',
    '    return wasm;',
    '}',
    '',
    'export function initSync(module) {',
    '    if (wasm !== undefined) return wasm;',
    '    const instance = new WebAssembly.Instance(module, __wbg_get_imports());',
    '    return __wbg_finalize_init(instance, module);',
    '}',
    '',
  ].join('\n'));
}

/** Writes `fix_bg.wasm`, `fix.js` (or `glueName`) and the snippet into a fresh directory. */
function fixture(t, { wasm = fixtureWasm(), glue = fixtureGlue(), glueName = 'fix' } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'short-names-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, 'snippets/fix-0123/js'), { recursive: true });
  writeFileSync(join(dir, SNIPPET), 'export function debug(x) { globalThis.fixtureLog.push(-x); }\n');
  const wasmPath = join(dir, `${glueName}_bg.wasm`);
  const gluePath = join(dir, `${glueName}.js`);
  writeFileSync(wasmPath, wasm);
  writeFileSync(gluePath, glue);
  return { dir, wasmPath, gluePath };
}

function shortNames({ wasmPath, gluePath }) {
  return spawnSync(process.execPath, [TOOL, wasmPath, gluePath], { encoding: 'utf8' });
}

/** Runs the tool, expecting it to refuse with a message matching `message` and change nothing. */
function assertRefuses(files, message) {
  const before = [readFileSync(files.wasmPath), readFileSync(files.gluePath, 'utf8')];
  const out = shortNames(files);
  assert.equal(out.status, 1, `exit status (stdout: ${out.stdout})`);
  assert.match(out.stderr, /^short-names: /);
  assert.match(out.stderr, message);
  assert.deepEqual([readFileSync(files.wasmPath), readFileSync(files.gluePath, 'utf8')], before, 'files left as they were');
  return out.stderr;
}

const names = (wasm) => {
  const m = new WebAssembly.Module(wasm);
  return {
    imports: WebAssembly.Module.imports(m).map((i) => `${i.module} ${i.name}`),
    exports: WebAssembly.Module.exports(m).map((e) => e.name),
  };
};

/** Loads the glue of `files` (a fresh module: its own directory) and instantiates its wasm. */
async function load(files) {
  const glue = await import(pathToFileURL(files.gluePath).href);
  glue.initSync(new WebAssembly.Module(readFileSync(files.wasmPath)));
  return glue;
}

test('short-names: glue imports and the exports the glue reads get short names, and the pair still runs', async (t) => {
  const files = fixture(t);
  const out = shortNames(files);
  assert.equal(out.status, 0, out.stderr);
  assert.equal(out.stdout, 'short-names: 2 imports and 4 exports renamed\n');
  const wasm = readFileSync(files.wasmPath);
  assert.deepEqual(names(wasm), {
    imports: ['./fix_bg.js a', './fix_bg.js b', `${SNIPPET} debug`],
    // The export order is the wasm's; `memory` and the unread global keep their names.
    exports: names(fixtureWasm()).exports.map(
      (e) => ({ __wbindgen_start: 'a', fix_add: 'b', fix_now: 'c', fix_log: 'd' })[e] ?? e,
    ),
  });
  assert.ok(names(wasm).exports.includes('memory') && names(wasm).exports.includes('__instance_terminated'));
  const glue = readFileSync(files.gluePath, 'utf8');
  assert.ok(!glue.includes(NOW) && !glue.includes(LOG) && !glue.includes('wasm.fix_'), 'no long name left');
  assert.match(glue, /\n {8}a: function\(\) \{\n {12}const ret = 42\.5;/);
  assert.match(glue, /wasm\.b\(\.\.\.args\)/);
  assert.ok(glue.includes('    wasm.a();\n'), 'the start export');

  globalThis.fixtureLog = [];
  const { add, now, log } = await load(files);
  assert.equal(add(2, 3), 5);
  assert.equal(now(), 42.5);
  log(7);
  assert.deepEqual(globalThis.fixtureLog, [7, -7]);
});

test('short-names: a new name is never renamed again (exports already named like short names)', async (t) => {
  // fix_one becomes `a`..., and the export that was `a` becomes another name: the reads of
  // each still reach the function they read.
  const exports = { fix_one: 1, a: 2, b: 3, fix_four: 4 };
  const reads = { fix_one: 'one', a: 'two', b: 'three', fix_four: 'four' };
  const files = fixture(t, { wasm: fixtureWasm({ exports }), glue: fixtureGlue({ reads }) });
  const out = shortNames(files);
  assert.equal(out.status, 0, out.stderr);
  const { one, two, three, four } = await load(files);
  assert.deepEqual([one(), two(), three(), four()], [1, 2, 3, 4]);
});

test('short-names: an export the glue does not read keeps its name, and no renamed export takes it', async (t) => {
  const exports = { a: 1, fix_two: 2, fix_three: 3 };
  const reads = { fix_two: 'two', fix_three: 'three' }; // `a` is not read
  const files = fixture(t, { wasm: fixtureWasm({ exports }), glue: fixtureGlue({ reads }) });
  const out = shortNames(files);
  assert.equal(out.status, 0, out.stderr);
  const after = names(readFileSync(files.wasmPath)).exports;
  assert.ok(after.includes('a'), 'the unread export keeps its name');
  assert.equal(new Set(after).size, after.length, 'no two exports share a name');
  const { two, three } = await load(files);
  assert.deepEqual([two(), three()], [2, 3]);
});

test('short-names refuses a glue that names an import anywhere but its key', (t) => {
  // A call, a comment or a string naming it would be left with the old name, or renamed
  // where it should not be: neither is sure.
  const uses = [
    (g) => g.replace('export function add', `// calls ${NOW}\nexport function add`),
    (g) => g.replace('    const ret = 42.5;', `    const ret = 42.5; console.log("${LOG}");`),
  ];
  for (const edit of uses) {
    const stderr = assertRefuses(fixture(t, { glue: fixtureGlue({ edit }) }), /import __wbg_\w+ appears 2 times in the glue, expected once \(its key in import0\)/);
    assert.ok(stderr.includes(NOW) || stderr.includes(LOG));
  }
});

test('short-names refuses a wasm that imports what the glue\'s import object lacks', (t) => {
  assertRefuses(fixture(t, { glue: fixtureGlue({ imports: [NOW] }) }), new RegExp(`the wasm imports ${LOG}, which is not a key of the glue's import object`));
});

test('short-names refuses a wasm whose import module is not the glue\'s', (t) => {
  // The wasm of another glue (`other.js`), or the glue renamed after wasm-bindgen ran.
  assertRefuses(fixture(t, { wasm: fixtureWasm({ module: './other_bg.js' }) }), /the wasm imports from "\.\/other_bg\.js", which the glue's import object does not have/);
  assertRefuses(fixture(t, { glueName: 'renamed' }), /the glue's import object does not have its own module "\.\/renamed_bg\.js" as import0/);
  // A snippet the glue does not pass.
  const edit = (g) => g.replace(`        "${SNIPPET}": import1,\n`, '');
  assertRefuses(fixture(t, { glue: fixtureGlue({ edit }) }), /the wasm imports from "\.\/snippets\/fix-0123\/js\/host\.js", which the glue's import object does not have/);
});

test('short-names refuses duplicated names: an import key twice in the glue, an export name twice in the wasm', (t) => {
  assertRefuses(fixture(t, { glue: fixtureGlue({ imports: [NOW, LOG, NOW] }) }), new RegExp(`import ${NOW} appears 2 times in the glue`));
  // Two exports of one name: made by renaming one in the binary (same length).
  const wasm = fixtureWasm({ exports: { fix_addA: 'add', fix_addB: 'add' } });
  const at = wasm.indexOf('fix_addB');
  wasm.write('fix_addA', at);
  assertRefuses(fixture(t, { wasm, glue: fixtureGlue({ reads: { fix_addA: 'add' } }) }), /the input is not a valid wasm module: .*[Dd]uplicate export name/);
});

test('short-names refuses a glue that uses the exports other than as wasm.<name>', (t) => {
  const edits = [
    [(g) => g.replace('wasm.fix_add(', 'wasm["fix_add"]('), /the glue uses the exports other than as wasm\.<name>: "const ret = wasm\[\\"fix_add\\"\]/],
    [(g) => g.replace('wasm.fix_add(', 'wasm?.fix_add('), /other than as wasm\.<name>/],
    [(g) => g.replace('    return ret;\n}', '    return Object.keys(wasm);\n}'), /other than as wasm\.<name>: "return Object\.keys\(wasm\);"/],
    [(g) => g.replace('wasm = instance.exports;', 'wasm = instance.exports; globalThis.x = instance.exports;'), /does not take the exports by `wasm = instance\.exports;` alone/],
  ];
  for (const [edit, message] of edits) assertRefuses(fixture(t, { glue: fixtureGlue({ edit }) }), message);
});

test('short-names refuses a glue not shaped as wasm-bindgen writes it', (t) => {
  const edits = [
    // Minified: the import object is not where wasm-bindgen puts it.
    [(g) => g.replace(/\n\s*/g, '\n'), /the glue does not have one `const import0 = \{`/],
    // A key this tool does not parse.
    [(g) => g.replace(`        ${LOG}: function(arg0) {`, `        "${LOG}": function(arg0) {`), /unexpected line in the glue's import object: "        \\"__wbg_log/],
    [(g) => g.replace(`        ${LOG}: function(arg0) {`, `        ${LOG}(arg0) {`), /unexpected line in the glue's import object/],
  ];
  for (const [edit, message] of edits) assertRefuses(fixture(t, { glue: fixtureGlue({ edit }) }), message);
});

test('short-names refuses a wasm that is not one', (t) => {
  const wasm = fixtureWasm();
  assertRefuses(fixture(t, { wasm: wasm.subarray(0, wasm.length - 5) }), /the input is not a valid wasm module/);
  assertRefuses(fixture(t, { wasm: Buffer.from('not wasm') }), /the input is not a valid wasm module/);
});

test('short-names self-check: a glue reading an export the wasm does not have fails the build', (t) => {
  // Every check before the rename passes (the glue is well-formed, its imports match);
  // only the output, checked afresh, shows the glue calling something the wasm lacks.
  const reads = { fix_add: 'add', fix_now: 'now', fix_log: 'log', fix_gone: 'gone' };
  const stderr = assertRefuses(fixture(t, { glue: fixtureGlue({ reads }) }), /self-check: the glue reads wasm\.fix_gone, which the wasm does not export/);
  assert.equal(stderr.trim().split('\n').length, 1, 'one line, no stack trace');
});
