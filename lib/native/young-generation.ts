// V8's young generation, touched once before the board's small calls are timed by anyone.
// Every call allocates a few hundred bytes on V8's heap (the caller's await alone ~250), and
// V8 hands out its young generation's pages in order: a page touched for the first time is a
// page fault. On bare metal that is a fraction of a microsecond; on a VM with shadow page
// tables (this host's PVM guest) it is 10-20 µs, and the peer waits through it too, so a
// process whose young generation V8 has just grown (to 2 x 16 MiB at Node 20's default) runs
// its first tens of thousands of small calls with one fault per ~12 calls each side: 12-14% of
// 2-rank 8-byte allreduces took 10-20 µs for that alone (docs/PERFORMANCE.md, lat13). Filling
// both semi-spaces once with garbage takes those faults here, where the communicator is being
// set up; V8 keeps the pages afterwards (a steady allocation loop faults about once per scavenge).
import { getHeapSpaceStatistics } from 'node:v8';

/** Scavenges to wait for: the first may come early (a space partly full already); the next two each follow a full semi-space. */
const FLIPS = 3;
/** Objects allocated between two looks at the heap (~64 bytes each: a few hundred KiB). */
const BLOCK = 4096;

export interface YoungGenerationWarmup {
  /** Scavenges seen while allocating. */
  readonly scavenges: number;
  /** Roughly how many bytes of garbage were allocated. */
  readonly bytes: number;
}

let warmed: YoungGenerationWarmup | undefined;
/** Written so that the allocations cannot be optimized away. */
let sink: unknown;

function newSpace(): { used: number; size: number } {
  const space = getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
  return { used: space?.space_used_size ?? 0, size: space?.space_size ?? 0 };
}

/**
 * Allocates short-lived objects until V8 has scavenged FLIPS times (each scavenge empties the
 * space: its used size drops), bounded by a few times the space's size; once per process (later
 * calls return the first one's figures). `WEBCCL_WARM_HEAP=off` skips it.
 */
export function warmYoungGeneration(enabled: boolean): YoungGenerationWarmup {
  if (warmed !== undefined) return warmed;
  if (!enabled) return warmed = { scavenges: 0, bytes: 0 };
  const start = newSpace();
  const limit = 4 * start.size + (1 << 20);
  let last = start.used;
  let scavenges = 0;
  let bytes = 0;
  while (scavenges < FLIPS && bytes < limit) {
    for (let i = 0; i < BLOCK; i++) sink = [i, i, i, i];
    bytes += BLOCK * 64;
    const now = newSpace();
    if (now.used < last) scavenges++;
    last = now.used;
  }
  sink = undefined;
  return warmed = { scavenges, bytes };
}
