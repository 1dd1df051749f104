// Direct allreduce for small counts: every rank sends its whole buffer to every other rank and
// reduces all contributions itself. One message hop (n-1 messages out and in, all in flight at
// once) instead of the ring's 2(n-1) steps or the tree's up-and-down 2 log n: latency-optimal,
// at the price of (n-1) times the data per rank, so it only pays for small counts.
// Every rank folds the contributions in rank order (x0 ⊕ x1 ⊕ ... ⊕ xn-1), so all ranks get
// bit-identical results, as with the other algorithms, also when a codec encodes the payloads.
import type { CollectiveContext, Region } from './context.js';
import type { Traffic, TrafficCall } from './traffic.js';

/** One message per peer per call: its tag. */
const CONTRIBUTION = 0;

/** Reduces `work` (this rank's contribution, already premultiplied) in place on every rank. */
export async function directAllReduce(ctx: CollectiveContext, work: Region): Promise<void> {
  const { rank, size, link, memory } = ctx;
  const count = work.length;
  // A copy: `work` is overwritten below, while this rank's contribution is still to be folded in.
  const own = await memory.read(work, 0, count);
  // Sends and receives interleaved in one list (plain loops: this runs once per small call, where
  // the arrays and closures of a map/filter chain are a measurable share of the time).
  const exchanges: Promise<unknown>[] = [];
  for (let peer = 0; peer < size; peer++) {
    if (peer !== rank) exchanges.push(link.send(peer, CONTRIBUTION, own), link.recv(peer, CONTRIBUTION));
  }
  const settled = await Promise.all(exchanges);
  const received: Uint8Array[] = [];
  for (let i = 1; i < settled.length; i += 2) received.push(settled[i] as Uint8Array);
  const contributions = received.slice();
  contributions.splice(rank, 0, own);
  // Every rank folds the same n payloads, its own as sent included: with a lossy codec the
  // payloads' decodings, not the raw input still in `work`, are what every rank must sum.
  await memory.recvReduceAll(work, 0, count, contributions, true);
  for (const bytes of received) link.release(bytes);
}

/**
 * The most bytes a rank's n-1 whole-buffer messages may add up to where the model prices the
 * direct exchange: an eighth of a chunk, and never more than DIRECT_MOST_LINK_BYTES. Past that,
 * whole-buffer messages (unpipelined, beyond what the transports' payload pools hold) cost 3-7x
 * the per-byte price of chunked traffic (bench/tune-sweep.ts measured it from 128 KiB up on
 * 1 MiB chunks), which the formula does not describe.
 */
export function directReachBytes(chunkBytes: number): number {
  return Math.min(chunkBytes / 8, DIRECT_MOST_LINK_BYTES);
}

/**
 * Where a transport's chunk is large (ntcp's 4 MiB at 2 ranks, 16 MiB at 4; shm's 8 MiB), its
 * eighth priced whole-buffer messages that run with a heavy tail: 2 ntcp ranks, 2000 calls each
 * (bench/allreduce-percentiles.ts), the direct exchange at 64 / 128 / 256 KiB p10 99 / 158 / 179
 * µs, p90 429 / 395 / 1173, mean 276 / 496 / 487, against the ring's means 334 / 517 / 383 and the
 * tree's 375 / 478 / 395. Calibration's mid-size points (lower quartiles) see the fast calls, so
 * auto ran it at 256 KiB, 1.4-2.4x the ring's time (docs/PERFORMANCE.md, versus31 and day33).
 */
const DIRECT_MOST_LINK_BYTES = 128 << 10;

/**
 * Cost (lib/collectives/traffic.ts): one hop (α once) of n-1 messages at once (o each) of the
 * whole buffer, n-1 folds. Only up to directReachBytes: the model does not consider the direct
 * exchange past it.
 */
export function directAllReduceTraffic({ bytes, ranks, chunkBytes }: TrafficCall): Traffic | undefined {
  if ((ranks - 1) * bytes > directReachBytes(chunkBytes)) return undefined;
  return { messages: 1, sends: ranks - 1, linkBytes: (ranks - 1) * bytes, reducedBytes: (ranks - 1) * bytes, messageBytes: bytes };
}
