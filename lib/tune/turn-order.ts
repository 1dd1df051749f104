// The order in which timed turns of several contenders run, round after round: shared by
// Communicator.tune() (measure-choices.ts) and webccl-perf --versus (bench/perf/versus.ts), so
// that both time their contenders alike.

/** MurmurHash3's 32-bit finalizer: every input bit moves every output bit, so consecutive rounds give unrelated orders. */
function mix(value: number): number {
  let h = value >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/**
 * The order of round `round`'s turns over `count` contenders: a shuffle seeded by the round, the
 * same on every rank (their calls must match). Not a rotation: rotated, every contender still
 * follows the same one each round, and a schedule's calls are slower after some schedules than
 * after others (webccl-perf --versus on 4 tcp processes: auto's direct exchange after the mesh's
 * turns timed 1.2-1.5x the direct column's own, after the tree's; docs/PERFORMANCE.md, versus31).
 */
export function turnOrder(round: number, count: number): number[] {
  const order = Array.from({ length: count }, (_, i) => i);
  for (let i = count - 1; i > 0; i--) {
    const j = Math.floor((mix(Math.imul(round + 1, 0x9e3779b9) + i) / 2 ** 32) * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return order;
}
