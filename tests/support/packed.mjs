// The package as users get it: `npm pack` of pkg/ installed from the tarball into a fresh
// consumer project, so tests see exactly the published files and `exports` map.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));

/** A file installed by the dev dependencies, e.g. a runtime's binary: `node_modules/<path>`. */
export const devFile = (path) => join(root, 'node_modules', path);

/**
 * Packs pkg/ and installs the tarball into a new temporary ESM project. Returns its
 * folder, `write(name, text)` to add files to it, and `remove()`.
 */
export function installPacked(prefix = 'automagik-pack-') {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  execFileSync('npm', ['pack', '--silent', '--pack-destination', dir, join(root, 'pkg')], { stdio: 'pipe' });
  const tarball = readdirSync(dir).find((f) => f.endsWith('.tgz'));
  writeFileSync(join(dir, 'package.json'), '{"name":"consumer","private":true,"type":"module"}');
  execFileSync('npm', ['install', '--silent', '--no-audit', '--no-fund', '--offline', `./${tarball}`], { cwd: dir, stdio: 'pipe' });
  return {
    dir,
    write: (name, text) => writeFileSync(join(dir, name), text),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
