// Every TypeScript example of the user's API reference (../shared/seed/API_REFERENCE.md,
// read from there so it stays the one source) type-checks with `tsc --strict` against the
// package's shipped declarations, resolved through its package.json as a user's project would.
// The declarations of `Status` and `LogSeverity` are held to a real getStatus() and the
// exported enum the same way.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../', import.meta.url));
const REFERENCE = join(root, '../shared/seed/API_REFERENCE.md');

// What the examples use without declaring it: the reader's own functions and app, and a
// `telemetry` built earlier on the page. Each example is a module, so its own
// declarations shadow these.
const PRELUDE = `import type { AutomagikTelemetry } from '@automagik/telemetry';
declare global {
  const telemetry: AutomagikTelemetry;
  function riskyOperation(): void;
  function processPayment(orderId: string): void;
  function apiCall(): Promise<unknown>;
  function expensiveOperation(): Promise<unknown>;
  function performFeatureAction(): void;
  function fetchUsers(): Promise<unknown[]>;
  const app: { get(path: string, handler: (req: unknown, res: { json(body: unknown): void }) => Promise<void>): void };
  const process: { on(signal: string, handler: () => void | Promise<void>): void; exit(code?: number): never };
}
`;

const TSCONFIG = {
  compilerOptions: {
    strict: true,
    noEmit: true,
    target: 'es2022',
    module: 'esnext',
    moduleResolution: 'bundler',
    lib: ['es2022', 'dom'],
    types: [],
  },
  include: ['prelude.ts', 'checks/*.ts'],
};

/** The ```typescript blocks of a Markdown text, with the line each starts on. */
function typescriptBlocks(markdown) {
  const blocks = [];
  let current = null;
  markdown.split('\n').forEach((line, i) => {
    if (current === null && line.trim() === '```typescript') current = { line: i + 2, lines: [] };
    else if (current !== null && line.trim() === '```') blocks.push(current), (current = null);
    else if (current !== null) current.lines.push(line);
  });
  return blocks;
}

/**
 * One block as the files to check. A block that only lists method signatures becomes an
 * interface the client must satisfy. A block that shows alternatives (declaring the same
 * `const` twice) becomes one file per alternative, each with the block's imports.
 */
function toSources({ line, lines }) {
  const name = `reference_line_${line}`;
  const text = lines.join('\n');
  if (/^\w+\(/.test(text.trim()) && !text.includes(';')) {
    return [[name, `import type { AutomagikTelemetry, MetricType, LogSeverity } from '@automagik/telemetry';
type Documented = { ${text} };
export const client: Documented = null as unknown as AutomagikTelemetry;
`]];
  }
  const imports = [];
  const parts = [[]];
  const declared = new Set();
  let inImport = false;
  for (const l of lines) {
    if (l.startsWith('import ') || inImport) {
      imports.push(l);
      inImport = !l.includes(' from ');
      continue;
    }
    const decl = /^const (\w+)/.exec(l)?.[1];
    if (decl && declared.has(decl)) {
      // The comment lines just above belong to the next alternative.
      const prev = parts.at(-1);
      let k = prev.length;
      while (k > 0 && /^\s*(\/\/.*)?$/.test(prev[k - 1])) k--;
      parts.push(prev.splice(k));
      declared.clear();
    }
    if (decl) declared.add(decl);
    parts.at(-1).push(l);
  }
  return parts.map((p, i) => [`${name}${parts.length > 1 ? `_${i + 1}` : ''}`, [...imports, ...p, 'export {};', ''].join('\n')]);
}

let dir;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'automagik-ts-'));
  await mkdir(join(dir, 'node_modules/@automagik'), { recursive: true });
  await symlink(join(root, 'pkg'), join(dir, 'node_modules/@automagik/telemetry'));
  await writeFile(join(dir, 'tsconfig.json'), JSON.stringify(TSCONFIG));
  await writeFile(join(dir, 'prelude.ts'), PRELUDE);
});
after(() => rm(dir, { recursive: true, force: true }));

/** Writes `sources` (replacing earlier ones) beside the prelude and runs tsc on them. */
async function typeCheck(sources) {
  await rm(join(dir, 'checks'), { recursive: true, force: true });
  await mkdir(join(dir, 'checks'));
  for (const [name, source] of sources) await writeFile(join(dir, 'checks', `${name}.ts`), source);
  const tsc = spawnSync(join(root, 'node_modules/.bin/tsc'), ['-p', dir], { encoding: 'utf8' });
  return { ok: tsc.status === 0, output: tsc.stdout + tsc.stderr };
}

test('every TypeScript example of the API reference type-checks with tsc --strict', async () => {
  const markdown = await readFile(REFERENCE, 'utf8').catch(() => assert.fail(`the API reference is missing: ${REFERENCE}`));
  const blocks = typescriptBlocks(markdown);
  assert.ok(blocks.length >= 20, `found ${blocks.length} TypeScript blocks`);
  const sources = blocks.flatMap(toSources);
  const { ok, output } = await typeCheck(sources);
  assert.ok(ok, output);
});

test('the check is real: a misuse of the API fails it', async () => {
  const { ok, output } = await typeCheck([
    ['misuse', `import { AutomagikTelemetry } from '@automagik/telemetry';
const t = new AutomagikTelemetry({ projectName: 'x', version: '1', backend: 'otlp' });
t.trackMetric('latency', 'fast');
new AutomagikTelemetry({ projectName: 'x' });
export {};
`],
  ]);
  assert.equal(ok, false);
  assert.match(output, /misuse\.ts\(3,26\)/, 'a string metric value is rejected');
  assert.match(output, /misuse\.ts\(4,24\)/, 'a config without version is rejected');
});

// The declarations are written by hand; what they describe comes from the core: the
// status JSON it writes (Status::to_json) and its severity table (js/layout.js). tsc
// holds them to a real getStatus() and the exported LogSeverity.
async function declarationChecks(mutate = (s) => s) {
  const { AutomagikTelemetry, LogSeverity } = await import('../pkg/node.js');
  const t = new AutomagikTelemetry({ projectName: 'p', version: '1', enabled: false });
  const status = mutate(t.getStatus());
  await t.shutdown();
  const members = Object.entries(LogSeverity).filter(([name]) => Number.isNaN(Number(name)));
  return `import { LogSeverity, type Status } from '@automagik/telemetry';
// A fresh object literal: an undeclared key is an error, and so is a missing one.
export const status: Status = ${JSON.stringify(status, null, 2)};
// Each member the package exports, with its value, and no other member.
${members.map(([name, value]) => `export const ${name.toLowerCase()}: ${value} = LogSeverity.${name};`).join('\n')}
export const names: Record<keyof typeof LogSeverity, true> = { ${members.map(([name]) => `${name}: true`).join(', ')} };
`;
}

test('index.d.ts declares exactly the keys of a real getStatus() and the LogSeverity members', async () => {
  const { ok, output } = await typeCheck([['declarations', await declarationChecks()]]);
  assert.ok(ok, output);
});

test('the declaration check is real: an undeclared status key or a missing one fails it', async () => {
  const extra = await typeCheck([['extra', await declarationChecks((s) => ({ ...s, sent: { ...s.sent, undeclared: 1 } }))]]);
  assert.equal(extra.ok, false);
  assert.match(extra.output, /undeclared/);
  const missing = await typeCheck([['missing', await declarationChecks(({ runtime, ...s }) => s)]]);
  assert.equal(missing.ok, false);
  assert.match(missing.output, /runtime/);
});
