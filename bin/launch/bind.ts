// Binding local ranks to CPUs of their own, as mpirun does by default where the ranks fit (--bind-to
// core for 2 ranks or fewer; Open MPI 4.1 here reports rank 0 on core 0 and rank 1 on core 1): a
// rank that may run anywhere can be put by the scheduler on its peer's core, and then every
// small call waits for a context switch. Measured on 2 vCPUs with other work running: in
// perf sched, both ranks' threads ran on CPU 1 for 97% of their switches and each call cost one
// switch between them (8-byte allreduce p50 17 µs against 1.3 µs bound; docs/PERFORMANCE.md,
// "lat12"). Binding is skipped where the ranks outnumber the CPUs (a rank then needs whatever
// core is free, as mpirun's --oversubscribe does) and where the addon is missing.
// With more CPUs than ranks each rank gets an even share (its own threads keep some parallelism).
// WEBCCL_BIND=none turns it off; core (the default) turns it on.
import { nativeAddon } from '../../lib/native/load.js';
import { readEnv } from '../../lib/settings.js';

/** Spawns rank `localRank` through `spawn` with the launching thread bound to that rank's CPUs (the child inherits the mask), then restores it. */
export type RankSpawner = <T>(localRank: number, spawn: () => T) => T;

/** WEBCCL_BIND: core (the default) or none. */
export function bindPolicy(): 'core' | 'none' {
  const policy = readEnv('WEBCCL_BIND') ?? 'core';
  if (policy !== 'core' && policy !== 'none') throw new Error(`WEBCCL_BIND=${policy} is not core or none`);
  return policy;
}

/**
 * The CPUs of each of `np` local ranks: the launcher's `available` ones cut into `np` runs as
 * even as they go, in order (one each where there are as many; a rank's own threads, a software
 * GPU's included, keep the rest of its share); undefined where the ranks outnumber them (not bound).
 */
export function rankCpus(np: number, available: readonly number[]): number[][] | undefined {
  if (np > available.length) return undefined;
  return Array.from({ length: np }, (_, rank) => available.slice(Math.floor((rank * available.length) / np), Math.floor(((rank + 1) * available.length) / np)));
}

/** How launchRanks spawns its `np` local ranks: bound to CPUs of their own where they fit, bindPolicy() allows and the addon can, else as they are. */
export function rankSpawner(np: number): RankSpawner {
  const addon = bindPolicy() === 'core' ? nativeAddon() : undefined;
  const get = addon?.threadAffinity;
  const set = addon?.setThreadAffinity;
  const cpus = get !== undefined && set !== undefined ? rankCpus(np, get()) : undefined;
  if (cpus === undefined || set === undefined) return (_rank, spawn) => spawn();
  return (localRank, spawn) => {
    const before = set(cpus[localRank]!);
    try {
      return spawn();
    } finally {
      set(before);
    }
  };
}
