// The two halves of every ring algorithm, for one chunk index of every segment. With n ranks
// each half takes n - 1 steps; at each step a rank passes one segment's chunk to the next rank
// and takes another from the previous one. Rank r ends reduce-scatter owning segment r fully
// reduced, and starts all-gather owning segment r.
// Chunks are sent straight from `work` (memory.outgoing, no copy on host memory): a chunk that
// was sent is written again only at a later all-gather step of the same pipeline, and by then
// its send has completed, since a SendQueue starts each send only after the previous one.
// Received bytes are released once folded in (reduce-scatter), or written and forwarded
// (all-gather: the send that forwards them has resolved).
import type { CollectiveContext, Region } from './context.js';
import { chunkOf, pipelinedChunkElements, ringPeer, type Span } from './partition.js';
import { runPipelines, SendQueue } from './pipeline.js';

/** One chunk pipeline around the ring: which chunk, and how its messages are tagged. */
interface RingChunk {
  readonly work: Region;
  readonly segments: readonly Span[];
  readonly chunk: number;
  readonly sends: SendQueue;
  /** Tag of this pipeline's message at `step` (0 .. n-2 within one half). */
  readonly tag: (step: number) => number;
}

/**
 * Reduce-scatter: at step s rank r sends its partial sum of segment r-s-1 and folds what the
 * previous rank sends (segment r-s-2) into its own. After n-1 steps segment r holds every
 * rank's contribution; it is finalized (avg) here, where it is complete.
 */
export async function ringReduceScatterChunk(ctx: CollectiveContext, ring: RingChunk): Promise<void> {
  const { rank, size, link, memory, chunkElements } = ctx;
  const next = ringPeer(rank, 1, size);
  const prev = ringPeer(rank, -1, size);
  const piece = (step: number) => chunkOf(ring.segments[ringPeer(rank, -step - 1, size)]!, ring.chunk, chunkElements);
  if (size > 1) {
    const first = piece(0);
    const bytes = await memory.outgoing(ring.work, first.offset, first.length);
    await ring.sends.post(() => link.send(next, ring.tag(0), bytes));
  }
  for (let step = 0; step < size - 1; step++) {
    const incoming = piece(step + 1);
    const received = await link.recv(prev, ring.tag(step));
    await memory.accumulate(ring.work, incoming.offset, incoming.length, received);
    link.release(received);
    if (step < size - 2) {
      const bytes = await memory.outgoing(ring.work, incoming.offset, incoming.length);
      await ring.sends.post(() => link.send(next, ring.tag(step + 1), bytes));
    }
  }
  const owned = chunkOf(ring.segments[rank]!, ring.chunk, chunkElements);
  await memory.finalize(ring.work, owned.offset, owned.length);
}

/**
 * All-gather: at step s rank r sends segment r-s (its own first, then what it just received)
 * and stores segment r-s-1 from the previous rank, forwarding the same bytes next step.
 */
export async function ringAllGatherChunk(ctx: CollectiveContext, ring: RingChunk): Promise<void> {
  const { rank, size, link, memory, chunkElements } = ctx;
  if (size === 1) return;
  const next = ringPeer(rank, 1, size);
  const prev = ringPeer(rank, -1, size);
  const own = chunkOf(ring.segments[rank]!, ring.chunk, chunkElements);
  let outgoing = await memory.outgoing(ring.work, own.offset, own.length);
  for (let step = 0; step < size - 1; step++) {
    const bytes = outgoing;
    // From step 1 on, the bytes forwarded are the previous step's received ones: released once sent.
    const forwarded = step > 0;
    await ring.sends.post(() => {
      const sent = link.send(next, ring.tag(step), bytes);
      return forwarded ? sent.then(() => link.release(bytes)) : sent;
    });
    const incoming = chunkOf(ring.segments[ringPeer(rank, -step - 1, size)]!, ring.chunk, chunkElements);
    outgoing = await link.recv(prev, ring.tag(step));
    await memory.write(ring.work, incoming.offset, incoming.length, outgoing);
  }
  // The last step's bytes are not forwarded.
  link.release(outgoing);
}

/** One half of a ring algorithm (ringReduceScatterChunk or ringAllGatherChunk). */
export type RingHalf = (ctx: CollectiveContext, ring: RingChunk) => Promise<void>;

/**
 * Runs `halves` one after the other on every chunk pipeline around the ring over `segments`,
 * with the chunk size fitted to them (see pipelinedChunkElements). Pipeline c's messages of
 * half h at step s are tagged ((c * halves + h) * (n - 1) + s): distinct across pipelines.
 */
export async function runRing(base: CollectiveContext, work: Region, segments: readonly Span[], halves: readonly RingHalf[]): Promise<void> {
  const longest = Math.max(0, ...segments.map((s) => s.length));
  const ctx = { ...base, chunkElements: pipelinedChunkElements(longest, base.chunkElements, base.pipelineDepth, base.alignElements) };
  const steps = ctx.size - 1;
  await runPipelines(Math.ceil(longest / ctx.chunkElements), ctx.pipelineDepth, async (chunk) => {
    const sends = new SendQueue();
    for (const [h, half] of halves.entries()) {
      const first = (chunk * halves.length + h) * steps;
      await half(ctx, { work, segments, chunk, sends, tag: (step) => first + step });
    }
    await sends.drain();
  });
}
