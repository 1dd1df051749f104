// Which ranks share a host, for the switch's host-local hierarchy (switchHierarchy 'host'):
// the ranks of one host reduce among themselves first, and only the lowest of them (the host's
// leader) is a worker of the switch job. Each rank names its host in its bootstrap hello; rank 0
// numbers the names (first appearance, in rank order) and sends the numbers, indexed by world
// rank, in the agreed configuration, so every rank and every split child groups alike.
// A rank that names no host is a host of its own. The name: the init option hostId, else
// WEBCCL_HOST_ID, else what the platform's entry registered (Node: os.hostname() and the boot
// id, lib/index.node.ts); a browser registers none, so each tab is its own host.
import { readEnv } from '../settings.js';

/** Host names longer than this many characters are cut (they only need to tell hosts apart). */
export const MAX_HOST_ID_CHARS = 255;

let platformHostId: () => string | undefined = () => undefined;

/** The platform's default host name (the Node entry registers os.hostname() and the boot id). */
export function registerHostIdSource(source: () => string | undefined): void {
  platformHostId = source;
}

/** This rank's host name: `given`, else WEBCCL_HOST_ID, else the platform's; '' when none. */
export function hostIdOf(given: string | undefined): string {
  const id = given ?? (readEnv('WEBCCL_HOST_ID') || platformHostId()) ?? '';
  return id.slice(0, MAX_HOST_ID_CHARS);
}

/** Host numbers for the names of ranks 0..n-1 ('' is a host of its own). */
export function numberHosts(names: readonly string[]): number[] {
  const numbers = new Map<string, number>();
  let next = 0;
  return names.map((name) => {
    if (name === '') return next++;
    let number = numbers.get(name);
    if (number === undefined) numbers.set(name, number = next++);
    return number;
  });
}

export interface HostGroup {
  /** This communicator's ranks on this rank's host, lowest first: the first is the leader. */
  readonly ranks: readonly number[];
  /** The leader of every host of this communicator, lowest first: the switch job's workers. */
  readonly leaders: readonly number[];
}

/** Rank `rank`'s group, for a communicator whose rank r is world rank members[r]. */
export function hostGroupOf(hosts: readonly number[], members: readonly number[], rank: number): HostGroup {
  const hostOf = (r: number) => hosts[members[r]!]!;
  const ranks = members.map((_, r) => r);
  const seen = new Set<number>();
  const leaders: number[] = [];
  for (const r of ranks) {
    if (seen.has(hostOf(r))) continue;
    seen.add(hostOf(r));
    leaders.push(r);
  }
  return { ranks: ranks.filter((r) => hostOf(r) === hostOf(rank)), leaders };
}
