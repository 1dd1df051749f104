// The two halves of every ring algorithm, for one chunk index of every segment. With n ranks
// each half takes n - 1 steps; at each step a rank passes one segment's chunk to the next rank
// and takes another from the previous one. Rank r ends reduce-scatter owning segment r fully
// reduced, and starts all-gather owning segment r.
// Chunks are sent straight from `work` (memory.outgoing, no copy on host memory): a chunk that
// was sent is written again only at a later all-gather step of the same pipeline, and only with
// bytes received from the ring, which were made after that send's receiver had read it (see
// the landing paragraph below). Reduce-scatter never writes a region it has sent.
// Each pipeline's SendQueue keeps up to SEND_WINDOW sends going: a send starts while the
// previous one still awaits its completion. Over shm by reference a send completes only with
// the receiver's ack, a round trip; waiting for it put one more hop on every step's path
// (the all-gather's first send waited for the reduce-scatter's last ack).
// Received bytes are released once folded in (reduce-scatter), or written and forwarded
// (all-gather: the send that forwards them has resolved). Each step is one fused memory
// primitive (NCCL's recvReduceSend, recvReduceCopySend, recvCopySend): one GPU round trip.
// Every receive offers the memory's landing for its elements (lib/memory/landing.ts): a
// transport that can (shm) folds or copies the payload straight into `work` on arrival, which
// may be before this pipeline's previous send has resolved. That is safe: the region a receive
// lands in was last sent at the same step of reduce-scatter, and the message landing there is
// made from bytes computed after that send's receiver had read it (it travelled on around the
// ring, or back from the peer that folded it in).
import type { CollectiveContext, Region } from './context.js';
import { chunkOf, pipelinedChunkElements, ringPeer, type Span } from './partition.js';
import { runPipelines, SendQueue } from './pipeline.js';

/** Sends of one ring pipeline started before the oldest has completed (SendQueue's window). */
const SEND_WINDOW = 2;

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
 * previous rank sends (segment r-s-2) into its own, forwarding the result at once (memory.
 * recvReduceSend: one GPU round trip a step). After n-1 steps segment r holds every rank's
 * contribution; it is finalized (avg) here, where it is complete. When all-gather follows
 * (allreduce), the last step is recvReduceCopySend and its bytes, the final segment r, are
 * handed on: they are the all-gather's first message, so nothing reads them again.
 */
export async function ringReduceScatterChunk(
  ctx: CollectiveContext, ring: RingChunk, _handedOn?: Uint8Array, handOn = false,
): Promise<Uint8Array | undefined> {
  const { rank, size, link, memory, chunkElements } = ctx;
  const next = ringPeer(rank, 1, size);
  const prev = ringPeer(rank, -1, size);
  const piece = (step: number) => chunkOf(ring.segments[ringPeer(rank, -step - 1, size)]!, ring.chunk, chunkElements);
  const owned = chunkOf(ring.segments[rank]!, ring.chunk, chunkElements);
  if (size === 1) {
    await memory.finalize(ring.work, owned.offset, owned.length);
    return undefined; // nothing to gather
  }
  const first = piece(0);
  const bytes = await memory.outgoing(ring.work, first.offset, first.length);
  await ring.sends.post(() => link.send(next, ring.tag(0), bytes));
  for (let step = 0; step < size - 2; step++) {
    const incoming = piece(step + 1);
    const received = await link.recv(prev, ring.tag(step), memory.landing?.(ring.work, incoming.offset, incoming.length, true));
    const reduced = await memory.recvReduceSend(ring.work, incoming.offset, incoming.length, received);
    link.release(received);
    await ring.sends.post(() => link.send(next, ring.tag(step + 1), reduced));
  }
  // The last step's incoming piece is the owned one (piece(size - 1) is segment r). With two
  // ranks the all-gather's first send goes back to its sender in the same turn (Landing.answeredAtOnce).
  const landing = memory.landing?.(ring.work, owned.offset, owned.length, true);
  const received = await link.recv(prev, ring.tag(size - 2), landing && handOn && next === prev ? { ...landing, answeredAtOnce: true } : landing);
  try {
    if (handOn) return await memory.recvReduceCopySend(ring.work, owned.offset, owned.length, received);
    await memory.accumulate(ring.work, owned.offset, owned.length, received);
  } finally {
    link.release(received);
  }
  await memory.finalize(ring.work, owned.offset, owned.length);
  return undefined;
}

/**
 * All-gather: at step s rank r sends segment r-s (its own first, then what it just received)
 * and stores segment r-s-1 from the previous rank, forwarding the same bytes next step
 * (memory.recvCopySend). `own` is segment r's bytes when reduce-scatter handed them on.
 */
export async function ringAllGatherChunk(ctx: CollectiveContext, ring: RingChunk, own?: Uint8Array): Promise<undefined> {
  const { rank, size, link, memory, chunkElements } = ctx;
  if (size === 1) return undefined;
  const next = ringPeer(rank, 1, size);
  const prev = ringPeer(rank, -1, size);
  const mine = chunkOf(ring.segments[rank]!, ring.chunk, chunkElements);
  let outgoing = own ?? await memory.outgoing(ring.work, mine.offset, mine.length);
  /** The received payload `outgoing` was made from (released once it has been sent), if any. */
  let source: Uint8Array | undefined;
  for (let step = 0; step < size - 1; step++) {
    const [bytes, forwarded] = [outgoing, source];
    await ring.sends.post(() => {
      const sent = link.send(next, ring.tag(step), bytes);
      return forwarded ? sent.then(() => link.release(forwarded)) : sent;
    });
    const incoming = chunkOf(ring.segments[ringPeer(rank, -step - 1, size)]!, ring.chunk, chunkElements);
    const received = await link.recv(prev, ring.tag(step), memory.landing?.(ring.work, incoming.offset, incoming.length, false));
    if (step < size - 2) {
      outgoing = await memory.recvCopySend(ring.work, incoming.offset, incoming.length, received);
      source = received;
    } else {
      // The last step's bytes are not forwarded.
      await memory.write(ring.work, incoming.offset, incoming.length, received);
      link.release(received);
    }
  }
  return undefined;
}

/**
 * One half of a ring algorithm (ringReduceScatterChunk or ringAllGatherChunk): given what the
 * previous half handed on (if anything) and whether another half follows, it may hand bytes on.
 */
export type RingHalf = (ctx: CollectiveContext, ring: RingChunk, handedOn: Uint8Array | undefined, followed: boolean) => Promise<Uint8Array | undefined>;

/**
 * How runRing cuts segments of up to `longest` elements: the chunk size (pipelinedChunkElements)
 * and the chunk pipelines, each of which sends n - 1 messages per half on every rank (a chunk
 * of every segment, empty where a segment is shorter). The traffic formulas of the ring
 * schedules count their messages with it, so the model prices what the schedule sends.
 */
export function ringPipelines(longest: number, cut: Pick<CollectiveContext, 'chunkElements' | 'pipelineDepth' | 'alignElements'>): { chunkElements: number; pipelines: number } {
  const chunkElements = pipelinedChunkElements(longest, cut.chunkElements, cut.pipelineDepth, cut.alignElements);
  return { chunkElements, pipelines: Math.ceil(longest / chunkElements) };
}

/**
 * Runs `halves` one after the other on every chunk pipeline around the ring over `segments`,
 * with the chunk size fitted to them (see pipelinedChunkElements). Pipeline c's messages of
 * half h at step s are tagged ((c * halves + h) * (n - 1) + s): distinct across pipelines.
 */
export async function runRing(base: CollectiveContext, work: Region, segments: readonly Span[], halves: readonly RingHalf[]): Promise<void> {
  const cut = ringPipelines(Math.max(0, ...segments.map((s) => s.length)), base);
  const ctx = { ...base, chunkElements: cut.chunkElements };
  const steps = ctx.size - 1;
  await runPipelines(cut.pipelines, ctx.pipelineDepth, async (chunk) => {
    const sends = new SendQueue(SEND_WINDOW);
    let handedOn: Uint8Array | undefined;
    for (const [h, half] of halves.entries()) {
      const first = (chunk * halves.length + h) * steps;
      handedOn = await half(ctx, { work, segments, chunk, sends, tag: (step) => first + step }, handedOn, h < halves.length - 1);
    }
    await sends.drain();
  });
}
