// The examples the README points to must keep working: run each through webccl-run.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';

test('examples/data-parallel.ts averages GPU gradients across 3 ranks', () => {
  const run = spawnSync(process.execPath, ['--import', './test/register.mjs', 'bin/webccl-run.ts', '-np', '3', 'examples/data-parallel.ts'], {
    encoding: 'utf8', timeout: 120_000,
  });
  const lines = run.stdout.split('\n').filter((line) => line.includes('averaged'));
  assert.is(run.status, 0, run.stdout + run.stderr);
  assert.is(lines.length, 3, run.stdout);
  for (const line of lines) assert.match(line, /all correct/);
});

test.run();
