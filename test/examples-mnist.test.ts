// The MNIST example trains for real: 2 ranks under webccl-run on TF.js's cpu backend, 60 steps
// of batch 16 per rank; the loss falls from ~2.3 to well under 1, test accuracy passes 70%, and
// the ranks' weights are bit-identical (the example compares checksums over the communicator
// every 25 steps and at the end, and exits non-zero if they differ).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

test('examples/mnist/train.ts: 2 ranks, 100 steps: loss falls, weights identical on both ranks', () => {
  const dir = mkdtempSync(join(tmpdir(), 'webccl-mnist-'));
  try {
    const out = join(dir, 'result.json');
    const run = spawnSync(process.execPath, ['--import', './test/register.mjs', 'bin/webccl-run.ts', '-np', '2', 'examples/mnist/train.ts',
      '--train', '3200', '--test', '500', '--epochs', '1', '--batch', '16', '--max-steps', '100', '--check-every', '25', '--out', out], {
      encoding: 'utf8', timeout: 120_000,
    });
    assert.is(run.status, 0, run.stdout.slice(-4000) + run.stderr.slice(-4000));
    const checks = run.stdout.split('\n').filter((line) => /weights identical on all 2 ranks/.test(line));
    assert.is(checks.length, 5, run.stdout.slice(-4000)); // steps 25, 50, 75, 100 and the final check
    const result = JSON.parse(readFileSync(out, 'utf8')) as { steps: number; losses: number[]; epochs: { testAccuracy: number }[] };
    assert.is(result.steps, 100);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const [first, last] = [mean(result.losses.slice(0, 5)), mean(result.losses.slice(-10))];
    assert.ok(first > 1.5, `initial loss ${first}`);
    assert.ok(last < 0.8, `loss after 100 steps ${last} (from ${first})`);
    assert.ok(result.epochs[0]!.testAccuracy > 0.7, `test accuracy ${result.epochs[0]!.testAccuracy}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
