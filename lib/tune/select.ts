// Algorithm selection. 'auto' is a size threshold for now: below it the double binary tree
// (latency grows with log n), above it the ring (bandwidth-optimal). The threshold is part of
// the communicator's agreed configuration, so every rank picks the same algorithm for the
// same call; the choice depends only on what is in the call's signature.
import type { AlgorithmSetting } from '../settings.js';

export type Algorithm = 'ring' | 'tree';

/** Messages up to this many bytes per rank use the tree when the algorithm is 'auto'. */
export const DEFAULT_TREE_THRESHOLD_BYTES = 64 * 1024;

export interface TuningConfig {
  readonly algorithm: AlgorithmSetting;
  readonly treeThresholdBytes: number;
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
