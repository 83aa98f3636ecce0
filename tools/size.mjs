// Shipped size the way a web app pays it: the .wasm plus the browser entry's JS as a
// bundler emits it (esbuild, minified, the wasm left as an external asset), each gzip -9.
// Usage: node tools/size.mjs [pkgDir]   (prints one line; as a module: shippedSize(pkgDir))
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

/** Issue 8's budget and goal, in gzip -9 bytes. `make test` fails above the budget. */
export const BUDGET = 45_000;
export const GOAL = 30_000;

const gz = (bytes) => gzipSync(bytes, { level: 9 }).length;

/**
 * gzip -9 bytes of the minified browser bundle esbuild makes from `options` (an
 * `entryPoints` or `stdin` build option): what a web app pays for that JS.
 */
export async function bundledSize(options) {
  const out = await build({
    ...options,
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022', // top-level await, as the browser entry uses it
    write: false,
    logLevel: 'silent',
  });
  return gz(out.outputFiles[0].contents);
}

/** `{ wasm, js, total }`: gzip -9 bytes of the wasm, of the bundled browser JS, and their sum. */
export async function shippedSize(pkgDir) {
  const js = await bundledSize({ entryPoints: [join(pkgDir, 'browser.js')] });
  const wasm = gz(await readFile(join(pkgDir, 'automagik_telemetry_bg.wasm')));
  return { wasm, js, total: wasm + js };
}

/** One line for humans: the parts, the total, the budget and the goal. */
export const describe = ({ wasm, js, total }) =>
  `shipped size (gzip -9): wasm ${wasm} B + browser JS ${js} B = ${total} B `
  + `(budget ${BUDGET} B, goal ${GOAL} B)`;

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const dir = process.argv[2] ?? fileURLToPath(new URL('../pkg', import.meta.url));
  console.log(describe(await shippedSize(dir)));
}
