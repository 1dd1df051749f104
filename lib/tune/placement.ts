// The probe that finds the rank behind the slowest link, for the double binary tree's placement
// (tree-topology.ts's placedLabels): calibration runs it before it times any schedule, so the
// tree is timed, and priced, in the placement it will run (docs/PERFORMANCE.md, place23).
//
// Every pair of ranks exchanges one block, a round of disjoint pairs at a time (a round-robin
// tournament: size-1 rounds, size at odd sizes with one rank idle in each), the ranks lined up
// before each round. A rank's figure is its fastest exchange with any peer: an exchange is as
// slow as the slower of its two links, so a rank's fastest is bounded by its own link alone
// when some peer's is faster, and the rank behind a slow link is slow with every peer. One
// figure a rank tells nothing about other causes (a rank whose process lost its time slices
// in every round looks the same); a rank so placed is still priced as it runs, since the tree's
// figures are measured in the placement. Three passes, and a rank is slow only when all find it.
import { median } from './median.js';
import { MAX_SLOW_LINK_RATIO, type SlowLink } from './params.js';

/** What the probe needs of a communicator. */
export interface ProbeComm {
  readonly rank: number;
  readonly size: number;
  /** Sends `data` to `peer` and receives its block into `landing`, at once. */
  exchange(peer: number, data: Float32Array, landing: Float32Array): Promise<void>;
  /** Element-wise maximum of every rank's `values` (the same result on every rank). */
  maxAll(values: Float32Array): Promise<Float32Array>;
  /** Sends `data` to `peer` (slowLinkRatios' one-way transfers). */
  send(peer: number, data: Float32Array): Promise<void>;
  /** Receives `peer`'s block into `landing`. */
  recv(peer: number, landing: Float32Array): Promise<void>;
}

/**
 * The block each pair exchanges: 1 MiB, where a link's rate shows beyond its fixed costs (20 ms
 * on the 50 MB/s links of bench/switch-rack.sh's 400mbit rack, 80 on its quarter-rate one; a
 * few ms over shm or loopback).
 */
export const PROBE_BYTES = 1 << 20;
/**
 * Passes over every pair, each giving every rank a figure: the slow rank must be found in all
 * (slowRankOf). Loaded hosts find some rank in one pass more often than not: 8 shm ranks on 2
 * cores at load 9-15 had one rank at 2.3x and another at 2.5x the median in two passes, 4 tcp
 * ranks one at 5.6x (docs/PERFORMANCE.md, place23), never the same rank in each.
 */
const PROBE_PASSES = 3;
/**
 * A rank is declared slow only when its figure is at least this many times the median of the
 * other ranks' figures: evenly linked worlds (one host, one switch) keep the identity labels.
 * Behind a half-rate link (bench/switch-rack.sh -s 2, 4 ranks on 2 vCPUs) the slow rank's figure
 * was 1.46-1.97x the others' median in the second and third passes of three calibrations, and
 * 1.34-1.87x the median of all four in every pass, which the rule had been (1.5x that: the
 * slow rank found in 1 calibration of 4, session 34).
 */
export const SLOW_RANK_RATIO = 1.4;

/** Rounds of the round-robin tournament over `size` ranks. */
export function probeRounds(size: number): number {
  return size % 2 === 0 ? size - 1 : size;
}

/**
 * `rank`'s partner in `round` of the tournament (the circle method: the last of an even count
 * stays put while the others turn), or -1 where it sits out (odd sizes).
 */
export function probePartner(rank: number, size: number, round: number): number {
  const even = size % 2 === 0 ? size : size + 1;
  const turning = even - 1;
  let partner: number;
  if (rank === turning) partner = round;
  else if (rank === round) partner = turning;
  else partner = (((2 * round - rank) % turning) + turning) % turning;
  return partner >= size ? -1 : partner;
}

/**
 * Every rank's figure (seconds: its fastest exchange with any peer) in each pass over the pairs,
 * a list of ranks' figures a pass, the same lists on every rank.
 */
export async function linkFigures(comm: ProbeComm, bytes = PROBE_BYTES): Promise<number[][]> {
  const { rank, size } = comm;
  const data = new Float32Array(bytes / 4);
  const landing = new Float32Array(bytes / 4);
  const lineUp = new Float32Array(1);
  const mine = new Float32Array(PROBE_PASSES * size);
  // A first pass not counted: the connections' first megabytes go out under TCP's slow start,
  // which put every fast rank's figure 1.2-1.5x above its later ones on the half-rate rack.
  for (let pass = -1; pass < PROBE_PASSES; pass++) {
    let fastest = Infinity;
    for (let round = 0; round < probeRounds(size); round++) {
      await comm.maxAll(lineUp);
      const peer = probePartner(rank, size, round);
      if (peer < 0) continue;
      const started = performance.now();
      await comm.exchange(peer, data, landing);
      fastest = Math.min(fastest, (performance.now() - started) / 1000);
    }
    if (pass >= 0) mine[pass * size + rank] = fastest;
  }
  const all = Array.from(await comm.maxAll(mine));
  return Array.from({ length: PROBE_PASSES }, (_, pass) => all.slice(pass * size, (pass + 1) * size));
}

/**
 * The slow rank of the probe's passes: the one slowestRank finds in every pass (a rank that lost
 * its time slices in one pass's rounds is not slow in the others'), or undefined.
 */
export function slowRankOf(passes: readonly (readonly number[])[]): number | undefined {
  const found = passes.map(slowestRank);
  return found.length > 0 && found.every((rank) => rank !== undefined && rank === found[0]) ? found[0] : undefined;
}

/**
 * The rank with the largest figure (the lowest such rank) where it is at least SLOW_RANK_RATIO
 * times the median of the others' figures (not of all: at 4 ranks that median is half the slow
 * rank's own), or undefined.
 */
export function slowestRank(figures: readonly number[]): number | undefined {
  if (figures.length < 3) return undefined;
  const slowest = figures.indexOf(Math.max(...figures));
  const middle = median(figures.filter((_, rank) => rank !== slowest));
  return middle > 0 && figures[slowest]! >= SLOW_RANK_RATIO * middle ? slowest : undefined;
}

/**
 * How much slower `slowRank`'s link is than the others', each way (CostParams.slowLink): one-way
 * transfers of a block, one at a time, each timed by its sender from its send to the receiver's
 * few-byte acknowledgement (a send may end once the socket buffer holds the block; the receiver's
 * own clock would start at its line-up, which ends a link latency apart from the sender's). The
 * slow rank's send to a rank p against another rank q's send to p, and p's send to the slow rank
 * against p's to q: each pair shares one end, so the ratio is the other end's link. A link may be
 * shaped unevenly (bench/switch-rack.sh's quarter-rate rack ran the slow rank's receives faster
 * than its sends), and a rooted tree's slow leaf uses one way only. The fastest of PROBE_PASSES
 * passes each; at least 3 ranks (p and q besides the slow rank).
 */
export async function slowLinkRatios(comm: ProbeComm, slowRank: number, bytes = PROBE_BYTES): Promise<SlowLink> {
  const { rank, size } = comm;
  const [p, q] = Array.from({ length: size }, (_, r) => r).filter((r) => r !== slowRank);
  if (p === undefined || q === undefined || slowRank < 0 || slowRank >= size) throw new Error(`slowLinkRatios: slow rank ${slowRank} of ${size} ranks leaves no two others to compare it with`);
  const transfers: readonly (readonly [number, number])[] = [[slowRank, p], [q, p], [p, slowRank], [p, q]];
  const data = new Float32Array(bytes / 4);
  const landing = new Float32Array(bytes / 4);
  const ack = new Float32Array(1);
  const lineUp = new Float32Array(1);
  // Each transfer's time as its sender saw it (seconds); the maximum over ranks shares it (the others hold 0).
  const fastest = new Float32Array(transfers.length);
  for (let pass = 0; pass < PROBE_PASSES; pass++) {
    for (const [i, [from, to]] of transfers.entries()) {
      await comm.maxAll(lineUp);
      if (rank === from) {
        const started = performance.now();
        await comm.send(to, data);
        await comm.recv(to, ack);
        const seconds = (performance.now() - started) / 1000;
        fastest[i] = pass === 0 ? seconds : Math.min(fastest[i]!, seconds);
      } else if (rank === to) {
        await comm.recv(from, landing);
        await comm.send(from, ack);
      }
    }
  }
  const [slowSends, otherSends, slowReceives, otherReceives] = Array.from(await comm.maxAll(fastest));
  return { send: ratioOf(slowSends!, otherSends!), receive: ratioOf(slowReceives!, otherReceives!) };
}

/** `slow` over `other`, within the tuning file's bounds (params.ts's MAX_SLOW_LINK_RATIO, either way); 1 where either is no time (a clock that did not move). */
function ratioOf(slow: number, other: number): number {
  if (!(slow > 0) || !(other > 0)) return 1;
  return Math.min(MAX_SLOW_LINK_RATIO, Math.max(1 / MAX_SLOW_LINK_RATIO, slow / other));
}
