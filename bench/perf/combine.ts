// nccl-tests' -a: how the ranks' times for one measurement become the printed time.
import type { AverageMode } from './args.js';

export function combineTimes(perRank: readonly number[], mode: AverageMode): number {
  if (perRank.length === 0) return 0;
  switch (mode) {
    case 0: return perRank[0]!;
    case 1: return perRank.reduce((a, b) => a + b, 0) / perRank.length;
    case 2: return Math.min(...perRank);
    case 3: return Math.max(...perRank);
  }
}
