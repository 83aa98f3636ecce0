// One source of truth for the record layout: the core's tests decode fixtures that the
// real JS writer produced (tools/record-fixtures.mjs). This checks they are current.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { FIXTURE, fixtures, timeless } from '../tools/record-fixtures.mjs';

test('the committed record fixtures are what js/record.js writes today', () => {
  const fresh = fixtures();
  assert.ok(fresh.length > 100);
  assert.ok(
    timeless(readFileSync(FIXTURE)).equals(timeless(fresh)),
    'js/record.js changed its output: run `node tools/record-fixtures.mjs` and update the core tests',
  );
});
