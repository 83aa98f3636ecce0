// The shipped size budget (issue 8): what a web app downloads, the wasm plus the browser
// entry bundled and minified, gzip -9. Deterministic for a given build, so it gates.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { BUDGET, CEILING, GOAL, describe, shippedSize } from '../tools/size.mjs';

test(`the shipped size never grows past ${CEILING} B gzip -9 (budget ${BUDGET} B, goal ${GOAL} B)`, async (t) => {
  const size = await shippedSize(fileURLToPath(new URL('../pkg', import.meta.url)));
  t.diagnostic(describe(size));
  if (size.total > BUDGET) t.diagnostic(`${size.total - BUDGET} B over the ${BUDGET} B budget, which is not met yet`);
  assert.ok(size.wasm > 0 && size.js > 0, 'both the wasm and the bundled JS are counted');
  assert.ok(size.total <= CEILING, `${size.total} B is over the ${CEILING} B ceiling`);
});
