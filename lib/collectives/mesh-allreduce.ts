// Mesh allreduce: the ring's reduce-scatter and all-gather, each done in one hop over every
// pair of ranks instead of n - 1 steps around the ring (Gloo's bcube with a single group).
// Rank r sends segment p of its buffer to rank p, folds the n - 1 pieces of segment r it gets
// into its own, then sends the finished segment r to every rank and stores the segments they
// send. Every rank moves 2(n-1)/n of the data, as in the ring, but the call's critical path is
// two message hops instead of 2(n-1): where each hop costs thread wake-ups (ntcp at 4 ranks on
// busy cores: a completion, the event loop, the peer's I/O thread), that is most of a 1 MiB
// call's time. The price is n - 1 messages in flight at once on each rank's link, each a
// segment long (whole segments, not chunk pipelines: for mid sizes only).
// Segment r is folded by rank r alone, in rank order, so every rank gets the same bits and the
// same run gets the same result whatever order the messages arrive in.
// Why writing into the segments sent in the first hop is safe: rank p's finished segment p,
// which lands there, exists only after rank p received this rank's piece of it whole.
import type { CollectiveContext, Region } from './context.js';
import { evenSegments, type Span } from './partition.js';
import { byteCut, type Traffic, type TrafficCall } from './traffic.js';

/** The first hop's messages (pieces to fold) and the second's (finished segments). */
const PIECE = 0;
const FINISHED = 1;

/** Reduces `work` (this rank's contribution, already premultiplied) in place on every rank. */
export async function meshAllReduce(ctx: CollectiveContext, work: Region): Promise<void> {
  const { rank, size, link, memory, alignElements } = ctx;
  const segments = evenSegments(work.length, size, alignElements);
  const own = segments[rank]!;
  // Every receive is posted before the first send, the second hop's with its landing (copied on
  // arrival straight into its segment, which no one touches in between but that message).
  const pieces: Promise<Uint8Array>[] = [];
  const finished: Promise<Uint8Array>[] = [];
  for (let peer = 0; peer < size; peer++) {
    if (peer === rank) continue;
    pieces.push(link.recv(peer, PIECE));
    const span = segments[peer]!;
    finished.push(link.recv(peer, FINISHED, memory.landing?.(work, span.offset, span.length, false)));
  }
  for (const promise of [...pieces, ...finished]) quiet(promise);
  const sends: Promise<void>[] = [];
  for (let step = 1; step < size; step++) {
    const peer = (rank + step) % size; // staggered, so that no rank gets every first message
    const span = segments[peer]!;
    sends.push(quiet(link.send(peer, PIECE, await memory.outgoing(work, span.offset, span.length))));
  }
  // In rank order (pieces[i] is rank i's, or i + 1's past this rank).
  for (const promise of pieces) {
    const received = await promise;
    await memory.accumulate(work, own.offset, own.length, received);
    link.release(received);
  }
  await memory.finalize(work, own.offset, own.length);
  const result = await memory.outgoing(work, own.offset, own.length);
  for (let step = 1; step < size; step++) sends.push(quiet(link.send((rank + step) % size, FINISHED, result)));
  let index = 0;
  for (let peer = 0; peer < size; peer++) {
    if (peer === rank) continue;
    const span: Span = segments[peer]!;
    const received = await finished[index++]!;
    await memory.write(work, span.offset, span.length, received);
    link.release(received);
  }
  await Promise.all(sends);
}

/** `promise`, its rejection marked handled: it is awaited later, unless an earlier failure ended the call (which poisons the communicator). */
function quiet<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => undefined);
  return promise;
}

/**
 * Cost (lib/collectives/traffic.ts): two hops in sequence (α twice), each of n-1 messages at once
 * (o each, as the direct exchange's). Rank r sends the other segments once and its own n-1 times:
 * bytes + (n-2)·its segment, the most on the rank with the longest (evenSegments' cut, as the
 * schedule's), and folds n-1 pieces of it; every message is a segment (the longest).
 * Only while a segment stays within a quarter of a chunk, where the ring sends its segments whole
 * too (pipelinedChunkElements' floor): past that the ring pipelines and the mesh's whole-segment
 * messages cost per byte what the calibrated β (chunk-sized messages) does not describe (4 ntcp
 * ranks at 16 MiB: 4 MiB segments against the 8 MiB chunk, 0.43-0.92x Gloo where the ring made
 * 0.90-1.07x; PERFORMANCE.md ntcp22), so the model does not consider the mesh there. At 2 ranks
 * it is the ring's own two hops, one message each: the ring keeps them.
 */
export function meshAllReduceTraffic(call: TrafficCall): Traffic | undefined {
  const { bytes, ranks, chunkBytes } = call;
  if (ranks < 3) return undefined;
  const longest = Math.max(...evenSegments(bytes, ranks, byteCut(call).alignElements).map((s) => s.length));
  if (longest > chunkBytes / 4) return undefined;
  return { messages: 2, sends: 2 * (ranks - 1), linkBytes: bytes + (ranks - 2) * longest, reducedBytes: (ranks - 1) * longest, messageBytes: longest };
}
