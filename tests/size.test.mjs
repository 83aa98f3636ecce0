// The shipped size budget (issue 8): what a web app downloads, the wasm plus the browser
// entry bundled and minified, gzip -9. Deterministic for a given build, so it gates.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { BUDGET, GOAL, describe, shippedSize } from '../tools/size.mjs';

test(`the shipped size stays within the ${BUDGET} B budget, gzip -9 (goal ${GOAL} B)`, async (t) => {
  const size = await shippedSize(fileURLToPath(new URL('../pkg', import.meta.url)));
  t.diagnostic(describe(size));
  t.diagnostic(`${BUDGET - size.total} B under the budget, ${size.total - GOAL} B over the ${GOAL} B goal`);
  assert.ok(size.wasm > 0 && size.js > 0, 'both the wasm and the bundled JS are counted');
  assert.ok(size.total <= BUDGET, `${size.total} B is over the ${BUDGET} B budget`);
});
