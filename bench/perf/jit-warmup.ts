// webccl-perf's JIT warm-up: before the sweep, untimed measurements of its first shape (both
// placements: the same placements, barrier, calls and gathers the sweep then times) until V8
// has compiled that code, so that the table times compiled code as nccl-tests does (its
// kernels are compiled ahead of time; its -w covers lazy loading). A fresh process runs a small
// call's JavaScript unoptimized for its first few thousand calls (2 shm ranks, 8 B: 5–8x the
// settled time per call), and the first calls after something new (a barrier, new buffers)
// deoptimize what was compiled without it: warming up with the calls alone left the first two
// measurements slow (docs/PERFORMANCE.md, "webccl-perf's small-call timing"). The rows' check,
// which the warm-up skips, runs outside the function that loops over the calls (calls.ts), so
// that it leaves the compiled loop alone (docs/PERFORMANCE.md, "oop18"). A call count
// rather than a time, because V8 tiers up by the code a function has run; bounded by a time
// too, because the first size may be large (its JavaScript is then a negligible share).
import type { PerfComm } from './sweep.js';

/** The warm-up stops after this long on the slowest rank, even short of its call count. */
export const JIT_WARMUP_MS = 2000;
/** The largest block of calls between two checks of the time (the first blocks are 2, 4, 8, ... calls). */
const LARGEST_BLOCK = 512;

export interface JitWarmup {
  /** Calls made on each rank. */
  readonly calls: number;
  /** The slowest rank's time for them. */
  readonly ms: number;
}

export const NO_WARMUP: JitWarmup = { calls: 0, ms: 0 };

/**
 * Runs blocks of about `n` calls (`block` makes them and says how many it made) until `calls`
 * are made or `budgetMs` has passed on some rank. The ranks agree on when to stop from their
 * gathered elapsed times, so each makes the same calls (a collective that one rank stops
 * calling would leave the others waiting).
 */
export async function callUntil(comm: PerfComm, calls: number, budgetMs: number, block: (n: number) => Promise<number>): Promise<JitWarmup> {
  const started = performance.now();
  let done = 0;
  let size = 2;
  let slowest = 0;
  while (done < calls) {
    done += await block(Math.min(size, calls - done));
    const elapsed = await comm.allGather(Float32Array.of(performance.now() - started));
    slowest = Math.max(...elapsed);
    if (slowest >= budgetMs) break;
    size = Math.min(size * 2, LARGEST_BLOCK);
  }
  return { calls: done, ms: slowest };
}
