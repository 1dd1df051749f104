// The order in which timed turns of several contenders run, round after round: shared by
// Communicator.tune() (measure-choices.ts) and webccl-perf --versus (bench/perf/versus.ts), so
// that both time their contenders alike.
//
// A turn is slower after some schedules' turns than after others' (webccl-perf --versus on 4 tcp
// processes: auto's direct exchange after the mesh's turns timed 1.2-1.5x the direct column's
// own, after the tree's; docs/PERFORMANCE.md, versus31), and an untimed call at the start of each
// turn does not absorb all of it. So the order balances who goes before whom, as crossover
// trials balance carry-over: a Williams design, in which over its rows every contender follows
// every other equally often. A rotation keeps one predecessor for each contender; the shuffle per
// round it replaces gave the same few orders in every run, unbalanced (with 3 contenders, auto
// after the same one in 3 of 5 rounds). On 4 tcp processes' broadcast the two orders left the
// same spread between turns of one schedule (auto's over its own column's: more than 1.10 apart
// at 2-3 of 8 sizes in each of two alternated runs a side, big32): that spread is not the order's.

/** Rounds after which every contender has followed every other equally often: n for an even count, 2n for an odd one. */
export function balancedRounds(count: number): number {
  return count % 2 === 0 ? count : 2 * count;
}

/**
 * The order of round `round`'s turns over `count` contenders, the same on every rank (their calls
 * must match): row `round` of a Williams design (repeating after balancedRounds(count) rounds).
 * Its first row is 0, 1, n−1, 2, n−2, ...; row i adds i to each (mod n). For an odd count each
 * row is followed by its reverse, which the balance needs: row i is then round 2i, its reverse
 * round 2i + 1.
 */
export function turnOrder(round: number, count: number): number[] {
  const first: number[] = [];
  for (let k = 0, low = 1, high = count - 1; k < count; k++) first.push(k === 0 ? 0 : k % 2 === 1 ? low++ : high--);
  const row = round % balancedRounds(count);
  const odd = count % 2 === 1;
  const shift = odd ? row >> 1 : row;
  const order = first.map((who) => (who + shift) % count);
  return odd && row % 2 === 1 ? order.reverse() : order;
}

/** Makes `count` calls of `call`, one after the other. */
async function repeatCall(call: () => Promise<void>, count: number): Promise<void> {
  for (let i = 0; i < count; i++) await call();
}

export interface TurnOptions {
  /** Run before each turn (webccl-perf --versus: a barrier, so that no turn's time holds a late peer's arrival). */
  readonly beforeTurn?: () => Promise<void>;
  /** The loop of a turn's timed calls (webccl-perf's own, which its warm-up has made hot); default a plain one. */
  readonly repeat?: (call: () => Promise<void>, count: number) => Promise<void>;
}

/**
 * `rounds` rounds of one turn per contender, in turnOrder's order. A turn is `beforeTurn`, one
 * untimed call (the first after another schedule's meets its leftovers: a plan to build, another
 * schedule's traffic in the sockets; a loop repeating one call does not), then
 * `callsPerTurn[c]` timed calls back to back. Returns each contender's time per call, one a
 * round, in `now`'s unit. Shared by Communicator.tune() (measure-choices.ts) and --versus.
 */
export async function timeTurns(calls: readonly (() => Promise<void>)[], callsPerTurn: readonly number[], rounds: number, now: () => number, options: TurnOptions = {}): Promise<number[][]> {
  const repeat = options.repeat ?? repeatCall;
  const times: number[][] = calls.map(() => []);
  for (let round = 0; round < rounds; round++) {
    for (const c of turnOrder(round, calls.length)) {
      await options.beforeTurn?.();
      await calls[c]!();
      const started = now();
      await repeat(calls[c]!, callsPerTurn[c]!);
      times[c]!.push((now() - started) / callsPerTurn[c]!);
    }
  }
  return times;
}
