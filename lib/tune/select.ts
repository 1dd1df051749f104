// Algorithm selection among the rows of the registry (lib/collectives/algorithms.ts) that
// serve a collective. A name the user chose holds where that algorithm serves the call; 'auto'
// goes by size: the direct exchange (one hop) for the smallest allreduces, the double binary
// tree (latency grows with log n) below a threshold, the ring (bandwidth-optimal) above it.
// The thresholds are part of the communicator's agreed configuration, so every rank picks the
// same algorithm for the same call; the choice depends only on what is in the call's signature
// and the communicator's size.
// Rows that reduce through an aggregator (switch) are chosen by 'auto' only when the agreed
// configuration names one (a switch address), and only for calls they support; a call they
// do not support then goes to the size-based choice, with a note saying why (logged at INFO by
// the communicator). Named explicitly, such a row refuses an unsupported call: InvalidArgument.
import { algorithmNamed, algorithmsServing, type ReductionCall, type ScheduledCollective } from '../collectives/algorithms.js';
import { internalError, invalidArgument } from '../errors.js';

/** Messages up to this many bytes per rank use the tree when the algorithm is 'auto'. */
export const DEFAULT_TREE_THRESHOLD_BYTES = 64 * 1024;
/** Allreduces whose direct exchange sends up to this many bytes per rank use it under 'auto' (0: never). */
export const DEFAULT_DIRECT_THRESHOLD_BYTES = 32 * 1024;

export interface TuningConfig {
  /** A selectable algorithm's name, or 'auto'. */
  readonly algorithm: string;
  readonly treeThresholdBytes: number;
  readonly directThresholdBytes: number;
  /** The switch's 'host:port' ('' or absent: none, so no aggregator row is chosen by 'auto'). */
  readonly switch?: string;
}

export interface Choice {
  readonly algorithm: string;
  /** Why 'auto' passed over an aggregator row it would otherwise have picked. */
  readonly fallback?: string;
}

/**
 * The algorithm for one call of `collective` moving `bytes` per rank among `ranks`. `requested`
 * is the call's own option, which takes precedence over the communicator's setting.
 */
export function selectAlgorithm(collective: ScheduledCollective, bytes: number, ranks: number, config: TuningConfig, requested?: string): string {
  return chooseAlgorithm(collective, bytes, ranks, config, requested).algorithm;
}

/**
 * selectAlgorithm, with the reduction's dtype and op (`call`) for rows that support only some,
 * and the reason when 'auto' fell back from an aggregator row. Throws InvalidArgument when
 * the algorithm named (by the call or the configuration) refuses the call.
 */
export function chooseAlgorithm(
  collective: ScheduledCollective, bytes: number, ranks: number, config: TuningConfig, requested?: string, call?: Omit<ReductionCall, 'ranks'>,
): Choice {
  const serving = algorithmsServing(collective).map((row) => row.name);
  if (serving.length === 0) throw internalError(`no algorithm implements ${collective}`);
  const setting = requested ?? config.algorithm;
  const refusal = (name: string) => (call ? algorithmNamed(name)?.refuses?.({ ...call, ranks }) : undefined);
  if (serving.includes(setting)) {
    const row = algorithmNamed(setting)!;
    if (row.aggregator !== undefined && !config.switch) throw invalidArgument(`the ${setting} algorithm needs a switch address (init option switch: 'host:port' or WEBCCL_SWITCH)`);
    const refused = refusal(setting);
    if (refused !== undefined) throw invalidArgument(refused);
    return { algorithm: setting };
  }
  let fallback: string | undefined;
  if (setting === 'auto' && config.switch) {
    for (const name of serving.filter((name) => algorithmNamed(name)!.aggregator !== undefined)) {
      fallback = refusal(name);
      if (fallback === undefined) return { algorithm: name };
    }
  }
  const algorithm = sizeBased(serving, bytes, ranks, config, setting);
  return fallback === undefined ? { algorithm } : { algorithm, fallback };
}

function sizeBased(serving: readonly string[], bytes: number, ranks: number, config: TuningConfig, setting: string): string {
  const direct = config.directThresholdBytes > 0 && ranks > 1 && bytes * (ranks - 1) <= config.directThresholdBytes;
  if (serving.includes('direct') && setting === 'auto' && direct) return 'direct';
  if (serving.includes('tree') && bytes <= config.treeThresholdBytes) return 'tree';
  return serving.includes('ring') ? 'ring' : serving[0]!;
}
