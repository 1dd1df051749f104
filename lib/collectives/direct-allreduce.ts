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
 * The most bytes per rank (each of its n-1 messages) for which the model prices the direct
 * exchange: its messages adding up to an eighth of a chunk at most, each DIRECT_MOST_MESSAGE_BYTES
 * at most. Past that, whole-buffer messages (unpipelined, beyond what the transports' payload
 * pools hold) cost 3-7x the per-byte price of chunked traffic (bench/tune-sweep.ts measured it
 * from 128 KiB up on 1 MiB chunks), which the formula does not describe.
 */
export function directReachBytes(chunkBytes: number, ranks: number): number {
  return Math.min(chunkBytes / 8 / Math.max(1, ranks - 1), DIRECT_MOST_MESSAGE_BYTES);
}

/**
 * A whole-buffer message past this runs with a heavy tail, which calibration's mid-size points
 * (lower quartiles) do not see. 2 ntcp ranks, 2000 calls each (bench/allreduce-percentiles.ts):
 * the direct exchange at 64 / 128 / 256 KiB p10 99 / 158 / 179 µs, p90 429 / 395 / 1173, mean
 * 276 / 496 / 487, against the ring's means 334 / 517 / 383. In webccl-perf --versus turns, 2
 * ranks: the direct exchange's column over the ring's at 32 / 64 / 128 KiB 0.59 / 1.08 / 2.89 on
 * tcp, 0.69 / 1.00 / 1.28 on ntcp; 4 ntcp ranks at 32 KiB (three 32 KiB messages) 0.79 of the
 * tree's. ntcp's and shm's larger chunks (4-32 and 8 MiB) had put the limit at 512 KiB-4 MiB a
 * message, and auto ran 2 ntcp ranks' 256 KiB calls there at 1.95-2.38x the fastest column
 * (docs/PERFORMANCE.md, versus31 and day33).
 */
const DIRECT_MOST_MESSAGE_BYTES = 64 << 10;

/**
 * Cost (lib/collectives/traffic.ts): one hop (α once) of n-1 messages at once (o each) of the
 * whole buffer, n-1 folds. Only up to directReachBytes: the model does not consider the direct
 * exchange past it.
 */
export function directAllReduceTraffic({ bytes, ranks, chunkBytes }: TrafficCall): Traffic | undefined {
  if (bytes > directReachBytes(chunkBytes, ranks)) return undefined;
  return { messages: 1, sends: ranks - 1, linkBytes: (ranks - 1) * bytes, reducedBytes: (ranks - 1) * bytes, messageBytes: bytes };
}
