// The SwitchML codec's error bound (lib/cpu/switchml.ts) as a check: for each element, the
// distance of a sum through the codec from the exact (float64) sum of the inputs must be at most
// n * 2^emax / (2M) + 3.0000002 * 2^-24 * n * 2^emax, emax being the agreed exponent of the
// element's block (|S/f| <= n * 2^emax). Tests and the switch's correctness sweep
// (bench/switch-bound.ts) hold results to it.
import { switchmlBlockExponents, switchmlWorkerBudget } from './switchml.js';

/**
 * The first element of `result` (a sum of `inputs` through the codec with blocks of
 * `blockSize`, divided by `divisor` for an average) outside the bound, described; undefined
 * when every element is within it. `worst` receives the largest error / bound ratio seen.
 */
export function switchmlSumViolation(
  inputs: readonly Float32Array[], result: Float32Array, blockSize: number, divisor = 1, worst?: { ratio: number },
): string | undefined {
  const n = inputs.length;
  const emax = new Int32Array(Math.ceil(result.length / blockSize)).fill(-1000);
  for (const input of inputs) {
    const local = switchmlBlockExponents(input, result.length, blockSize);
    for (let b = 0; b < emax.length; b++) emax[b] = Math.max(emax[b]!, local[b]!);
  }
  const budget = switchmlWorkerBudget(n);
  for (let i = 0; i < result.length; i++) {
    let exact = 0;
    for (const input of inputs) exact += input[i]!;
    const scale = 2 ** emax[Math.floor(i / blockSize)]!;
    const bound = (n * scale / (2 * budget) + 3.0000002 * 2 ** -24 * n * scale) / divisor;
    const error = Math.abs(result[i]! - exact / divisor);
    if (!(error <= bound)) return `element ${i}: ${result[i]} vs ${exact / divisor} (bound ${bound})`;
    if (worst && bound > 0 && error / bound > worst.ratio) worst.ratio = error / bound;
  }
  return undefined;
}
