// Starts one of the Python test servers of tests/support (run in the project's venv)
// and waits for its `LISTENING <port>` line. Servers bind 127.0.0.1 only.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));

/** Spawns `tests/support/<script>` with `args`; resolves once it listens. */
export async function startServer(script, args = []) {
  const path = fileURLToPath(new URL(`./${script}`, import.meta.url));
  const proc = spawn(`${root}.venv/bin/python`, [path, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: proc.stdout });
  const [first] = await once(lines, 'line');
  const port = Number(/^LISTENING (\d+)$/.exec(first)?.[1]);
  if (!port) throw new Error(`${script} did not start: ${first}`);
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    /** The server's stdout after the LISTENING line. */
    lines,
    close: async () => {
      proc.kill();
      await once(proc, 'exit');
    },
  };
}
