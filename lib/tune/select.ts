// Algorithm selection among the rows of the registry (lib/collectives/algorithms.ts) that
// serve a collective. A name the user chose holds where that algorithm serves the call; 'auto'
// goes by size: the direct exchange (one hop) for the smallest allreduces, the double binary
// tree (latency grows with log n) below a threshold, the ring (bandwidth-optimal) above it.
// The thresholds are part of the communicator's agreed configuration, so every rank picks the
// same algorithm for the same call; the choice depends only on what is in the call's signature
// and the communicator's size.
import { algorithmsServing, type ScheduledCollective } from '../collectives/algorithms.js';
import { internalError } from '../errors.js';

/** Messages up to this many bytes per rank use the tree when the algorithm is 'auto'. */
export const DEFAULT_TREE_THRESHOLD_BYTES = 64 * 1024;
/** Allreduces whose direct exchange sends up to this many bytes per rank use it under 'auto' (0: never). */
export const DEFAULT_DIRECT_THRESHOLD_BYTES = 32 * 1024;

export interface TuningConfig {
  /** A selectable algorithm's name, or 'auto'. */
  readonly algorithm: string;
  readonly treeThresholdBytes: number;
  readonly directThresholdBytes: number;
}

/**
 * The algorithm for one call of `collective` moving `bytes` per rank among `ranks`. `requested`
 * is the call's own option, which takes precedence over the communicator's setting.
 */
export function selectAlgorithm(collective: ScheduledCollective, bytes: number, ranks: number, config: TuningConfig, requested?: string): string {
  const serving = algorithmsServing(collective).map((row) => row.name);
  if (serving.length === 0) throw internalError(`no algorithm implements ${collective}`);
  const setting = requested ?? config.algorithm;
  if (serving.includes(setting)) return setting;
  const direct = config.directThresholdBytes > 0 && ranks > 1 && bytes * (ranks - 1) <= config.directThresholdBytes;
  if (serving.includes('direct') && setting === 'auto' && direct) return 'direct';
  if (serving.includes('tree') && bytes <= config.treeThresholdBytes) return 'tree';
  return serving.includes('ring') ? 'ring' : serving[0]!;
}
