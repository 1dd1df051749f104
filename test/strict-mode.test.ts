// The test runner's guard against error paths nobody handles: a suite that passes every test
// but leaves a rejected promise unhandled (even behind an 'unhandledRejection' listener),
// handles one only late, or emits an 'error' event without a listener must count as failed.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
// @ts-expect-error: a plain .mjs module without types
import { countResults, runSuite } from './suite-process.mjs';

interface Counted { passed: number; failed: number; note?: string }

async function run(mode: string): Promise<{ counted: Counted; out: string }> {
  const result = await runSuite('test/fixtures/error-paths.ts', [mode], { echo: false });
  return { counted: countResults(result), out: result.out };
}

test('a clean suite counts as passed (the control)', async () => {
  const { counted, out } = await run('clean');
  assert.equal(counted, { passed: 1, failed: 0, note: undefined }, out);
});

for (const [mode, message] of [
  ['unhandled', /deliberately unhandled/],
  ['late', /deliberately handled late/],
  ['error-event', /deliberately unlistened/],
] as const) {
  test(`a suite that leaves ${mode === 'error-event' ? 'an unlistened error event' : `a rejection ${mode === 'late' ? 'handled late' : 'unhandled'}`} counts as failed`, async () => {
    const { counted, out } = await run(mode);
    assert.ok(counted.failed >= 1, `counted ${JSON.stringify(counted)}:\n${out}`);
    assert.match(out, message);
  });
}

test.run();
