// Algorithm selection. 'auto' goes by size: the direct exchange (one hop) for the smallest
// allreduces, the double binary tree (latency grows with log n) below a threshold, the ring
// (bandwidth-optimal) above it. The thresholds are part of the communicator's agreed
// configuration, so every rank picks the same algorithm for the same call; the choice depends
// only on what is in the call's signature and the communicator's size.
import type { AlgorithmSetting } from '../settings.js';

export type Algorithm = 'ring' | 'tree';
export type AllReduceAlgorithm = Algorithm | 'direct';

/** Messages up to this many bytes per rank use the tree when the algorithm is 'auto'. */
export const DEFAULT_TREE_THRESHOLD_BYTES = 64 * 1024;
/** Allreduces whose direct exchange sends up to this many bytes per rank use it under 'auto' (0: never). */
export const DEFAULT_DIRECT_THRESHOLD_BYTES = 32 * 1024;

export interface TuningConfig {
  readonly algorithm: AlgorithmSetting;
  readonly treeThresholdBytes: number;
  readonly directThresholdBytes: number;
}

/**
 * The algorithm for a collective that has both variants (allReduce, broadcast, reduce).
 * `requested` is the call's own option, which takes precedence over the communicator's.
 */
export function selectAlgorithm(bytes: number, config: TuningConfig, requested?: AlgorithmSetting): Algorithm {
  const setting = requested ?? config.algorithm;
  if (setting !== 'auto') return setting;
  return bytes <= config.treeThresholdBytes ? 'tree' : 'ring';
}

/** allReduce also has the direct exchange, which sends `bytes` to each of the other ranks. */
export function selectAllReduceAlgorithm(bytes: number, ranks: number, config: TuningConfig, requested?: AlgorithmSetting): AllReduceAlgorithm {
  const setting = requested ?? config.algorithm;
  const direct = config.directThresholdBytes > 0 && ranks > 1 && bytes * (ranks - 1) <= config.directThresholdBytes;
  if (setting === 'auto' && direct) return 'direct';
  return selectAlgorithm(bytes, config, requested);
}
