// Two levels of switches for the communicator: each rank names its own leaf switch (init option
// switchLeaf, WEBCCL_SWITCH_LEAF), every leaf joins one root (`webccl switch --parent`). Rank 0
// collects the names from the bootstrap hellos, numbers them (first appearance, in rank order;
// the same string is the same leaf) and sends the numbers, indexed by world rank, in the agreed
// configuration, as it does with host names (host-groups.ts). From them every rank derives the
// same placement of the job's workers: a worker's rank and size count the workers at its leaf,
// `total` is the job's worker count and `uplink` its leaf's place among the leaves the job uses,
// as SwitchWorker takes them (lib/switch/worker.ts). Split children place alike from the same
// numbers; with switchHierarchy 'host' only the hosts' leaders are workers.
import { invalidArgument } from '../errors.js';
import { numberHosts } from './host-groups.js';

/** Leaf numbers for the leaves ranks 0..n-1 named; undefined when none did. Throws InvalidArgument when only some did. */
export function numberLeaves(names: readonly string[]): number[] | undefined {
  const without = names.flatMap((name, rank) => (name === '' ? [rank] : []));
  if (without.length === names.length) return undefined;
  if (without.length > 0) {
    throw invalidArgument(`rank${without.length > 1 ? 's' : ''} ${without.join(', ')} named no leaf switch while others did (switchLeaf or WEBCCL_SWITCH_LEAF): with two levels every rank needs its leaf`);
  }
  return numberHosts(names);
}

export interface LeafPlacement {
  /** This worker's place among the workers at its leaf. */
  readonly rank: number;
  readonly size: number;
  /** The job's workers over every leaf. */
  readonly total: number;
  /** Its leaf's place among the leaves of the job. */
  readonly uplink: { readonly rank: number; readonly size: number };
}

/**
 * The placement of `worker`, one of `workers` (communicator ranks, lowest first), for a
 * communicator whose rank r is world rank members[r] and world rank w is at leaf leaves[w].
 */
export function leafPlacement(leaves: readonly number[], members: readonly number[], workers: readonly number[], worker: number): LeafPlacement {
  const leafOf = (r: number) => leaves[members[r]!]!;
  const used = [...new Set(workers.map(leafOf))];
  const mine = leafOf(worker);
  const atLeaf = workers.filter((r) => leafOf(r) === mine);
  return { rank: atLeaf.indexOf(worker), size: atLeaf.length, total: workers.length, uplink: { rank: used.indexOf(mine), size: used.length } };
}

/** The most workers any one switch of the job has: the widest leaf's, or the root's (one per leaf). */
export function widestSwitch(leaves: readonly number[], members: readonly number[], workers: readonly number[]): number {
  const counts = new Map<number, number>();
  for (const r of workers) counts.set(leaves[members[r]!]!, (counts.get(leaves[members[r]!]!) ?? 0) + 1);
  return Math.max(counts.size, ...counts.values());
}
