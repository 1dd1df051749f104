// webccl-perf's JIT warm-up: before the sweep, untimed calls of its first shape (out of place and
// in place, alternately) until V8 has compiled the call path, so that the table times compiled
// code as nccl-tests does (its kernels are compiled ahead of time; -w covers only lazy loading).
// A fresh process runs a small call's JavaScript unoptimized for its first few thousand calls:
// 2 shm ranks, 8 B, 5–8x the settled time per call, and nccl-tests' -w (200 in bench:compare)
// does not reach the optimizing tiers (docs/PERFORMANCE.md, "webccl-perf's small-call timing").
// A call count rather than a time, because V8 tiers up by the code a function has run; bounded by
// a time as well, because the first size may be large (a 32 MiB call takes milliseconds, and
// its JavaScript is a negligible share of it).
import type { PerfOptions } from './args.js';
import type { CallShape } from './expected.js';
import { sendInput } from './expected.js';
import { createPlacement, type StoreFactory } from './placement.js';
import type { PerfComm } from './sweep.js';

/** The warm-up stops after this long on the slowest rank, even short of its call count. */
export const JIT_WARMUP_MS = 2000;
/** Calls between two checks of the time (the first blocks are 1, 2, 4, ... calls). */
const LARGEST_BLOCK = 256;

export interface JitWarmup {
  /** Calls made on each rank (each one call of one placement). */
  readonly calls: number;
  /** The slowest rank's time for them. */
  readonly ms: number;
}

/**
 * Runs `call` up to `calls` times or until `budgetMs` has passed on some rank. The ranks agree on
 * when to stop from their gathered elapsed times, so each makes the same number of calls (a
 * collective that one rank stops calling would leave the others waiting).
 */
export async function callUntil(comm: PerfComm, calls: number, budgetMs: number, call: (index: number) => Promise<void>): Promise<JitWarmup> {
  const started = performance.now();
  let done = 0;
  let block = 1;
  let slowest = 0;
  while (done < calls) {
    const end = Math.min(calls, done + block);
    for (; done < end; done++) await call(done);
    const elapsed = await comm.allGather(Float32Array.of(performance.now() - started));
    slowest = Math.max(...elapsed);
    if (slowest >= budgetMs) break;
    block = Math.min(block * 2, LARGEST_BLOCK);
  }
  return { calls: done, ms: slowest };
}

/** The JIT warm-up of `options.jitWarmup` calls of `shape`, both placements alternating, on buffers of its own. */
export async function warmUpJit(comm: PerfComm, options: PerfOptions, shape: CallShape, makeStore: StoreFactory, budgetMs = JIT_WARMUP_MS): Promise<JitWarmup> {
  if (options.jitWarmup === 0) return { calls: 0, ms: 0 };
  const placements = [
    createPlacement('out-of-place', shape.collective, shape.dtype, shape.layout, comm.rank, makeStore),
    createPlacement('in-place', shape.collective, shape.dtype, shape.layout, comm.rank, makeStore),
  ];
  try {
    const input = sendInput(shape, comm.rank);
    for (const placement of placements) await placement.prepare(input);
    return await callUntil(comm, options.jitWarmup, budgetMs, (index) => {
      const placement = placements[index % 2]!;
      return comm.run(shape, placement.send, placement.recv);
    });
  } finally {
    for (const placement of placements) placement.destroy();
  }
}
