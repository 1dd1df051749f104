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
// transport that can (shm, ntcp) folds or copies the payload straight into `work` on arrival,
// which may be before this pipeline's previous send has resolved. That is safe: the region a
// receive lands in was last sent at the same step of reduce-scatter, and the message landing
// there is made from bytes computed after that send's receiver had read it (it travelled on
// around the ring, or back from the peer that folded it in). Each receive is posted one step
// before it is awaited (RingReceives; ring-receives.ts has why that is safe too).
import type { CollectiveContext, Region } from './context.js';
import { chunkOf, pipelinedChunkElements, ringPeer, type Span } from './partition.js';
import { runPipelines, SendQueue } from './pipeline.js';
import { RingReceives, type PlannedReceive } from './ring-receives.js';

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
  /** This half's receive at `step`, posted one step ahead (RingHalf.receive says what it lands in). */
  readonly receive: (step: number) => Promise<Uint8Array>;
}

/** What a half's receive at a step lands in: elements of `work`, folded in or copied. */
interface HalfReceive {
  readonly span: Span;
  readonly fold: boolean;
  readonly answeredAtOnce?: boolean;
}

/** Reduce-scatter's receive at `step`: segment r-s-2's chunk (the last, s = n-2, is segment r's). */
function reduceScatterIncoming({ rank, size, chunkElements }: CollectiveContext, segments: readonly Span[], chunk: number, step: number): Span {
  return chunkOf(segments[ringPeer(rank, -step - 2, size)]!, chunk, chunkElements);
}

/** All-gather's receive at `step`: segment r-s-1's chunk. */
function allGatherIncoming({ rank, size, chunkElements }: CollectiveContext, segments: readonly Span[], chunk: number, step: number): Span {
  return chunkOf(segments[ringPeer(rank, -step - 1, size)]!, chunk, chunkElements);
}

/**
 * Reduce-scatter: at step s rank r sends its partial sum of segment r-s-1 and folds what the
 * previous rank sends (segment r-s-2) into its own, forwarding the result at once (memory.
 * recvReduceSend: one GPU round trip a step). After n-1 steps segment r holds every rank's
 * contribution; it is finalized (avg) here, where it is complete. When all-gather follows
 * (allreduce), the last step is recvReduceCopySend and its bytes, the final segment r, are
 * handed on: they are the all-gather's first message, so nothing reads them again.
 */
export const ringReduceScatterChunk: RingHalf = {
  // With two ranks the all-gather's first send goes back to the last step's sender in the same
  // turn (Landing.answeredAtOnce).
  receive: (ctx, segments, chunk, step, followed) => ({
    span: reduceScatterIncoming(ctx, segments, chunk, step),
    fold: true,
    answeredAtOnce: followed && ctx.size === 2 && step === 0,
  }),
  async run(ctx, ring, _handedOn, handOn) {
    const { rank, size, link, memory, chunkElements } = ctx;
    const next = ringPeer(rank, 1, size);
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
      const incoming = reduceScatterIncoming(ctx, ring.segments, ring.chunk, step);
      const received = await ring.receive(step);
      const reduced = await memory.recvReduceSend(ring.work, incoming.offset, incoming.length, received);
      link.release(received);
      await ring.sends.post(() => link.send(next, ring.tag(step + 1), reduced));
    }
    // The last step's incoming piece is the owned one (piece(size - 1) is segment r).
    const received = await ring.receive(size - 2);
    try {
      if (handOn) return await memory.recvReduceCopySend(ring.work, owned.offset, owned.length, received);
      await memory.accumulate(ring.work, owned.offset, owned.length, received);
    } finally {
      link.release(received);
    }
    await memory.finalize(ring.work, owned.offset, owned.length);
    return undefined;
  },
};

/**
 * All-gather: at step s rank r sends segment r-s (its own first, then what it just received)
 * and stores segment r-s-1 from the previous rank, forwarding the same bytes next step
 * (memory.recvCopySend). `own` is segment r's bytes when reduce-scatter handed them on.
 */
export const ringAllGatherChunk: RingHalf = {
  receive: (ctx, segments, chunk, step) => ({ span: allGatherIncoming(ctx, segments, chunk, step), fold: false }),
  async run(ctx, ring, own) {
    const { rank, size, link, memory, chunkElements } = ctx;
    if (size === 1) return undefined;
    const next = ringPeer(rank, 1, size);
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
      const incoming = allGatherIncoming(ctx, ring.segments, ring.chunk, step);
      const received = await ring.receive(step);
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
  },
};

/**
 * One half of a ring algorithm (reduce-scatter or all-gather): `run` does its n - 1 steps on one
 * chunk pipeline, given what the previous half handed on (if anything) and whether another half
 * follows, and may hand bytes on; `receive` says what its receive at each step lands in, so that
 * runRing can post it ahead (RingReceives).
 */
export interface RingHalf {
  readonly receive: (ctx: CollectiveContext, segments: readonly Span[], chunk: number, step: number, followed: boolean) => HalfReceive;
  readonly run: (ctx: CollectiveContext, ring: RingChunk, handedOn: Uint8Array | undefined, followed: boolean) => Promise<Uint8Array | undefined>;
}

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
 * A pipeline's receives, across its halves, are posted one ahead of the one awaited, the first
 * before its first send.
 */
export async function runRing(base: CollectiveContext, work: Region, segments: readonly Span[], halves: readonly RingHalf[]): Promise<void> {
  const cut = ringPipelines(Math.max(0, ...segments.map((s) => s.length)), base);
  const ctx = { ...base, chunkElements: cut.chunkElements };
  const steps = ctx.size - 1;
  const prev = ringPeer(ctx.rank, -1, ctx.size);
  await runPipelines(cut.pipelines, ctx.pipelineDepth, async (chunk) => {
    const sends = new SendQueue(SEND_WINDOW);
    const tagOf = (h: number, step: number) => (chunk * halves.length + h) * steps + step;
    const plan: PlannedReceive[] = halves.flatMap((half, h) => Array.from({ length: steps }, (_, step) => {
      const { span, fold, answeredAtOnce } = half.receive(ctx, segments, chunk, step, h < halves.length - 1);
      return { tag: tagOf(h, step), span, fold, answeredAtOnce: answeredAtOnce === true };
    }));
    const receives = new RingReceives(ctx, work, prev, plan);
    receives.postAhead(0);
    let handedOn: Uint8Array | undefined;
    for (const [h, half] of halves.entries()) {
      const ring: RingChunk = { work, segments, chunk, sends, tag: (step) => tagOf(h, step), receive: (step) => receives.take(h * steps + step) };
      handedOn = await half.run(ctx, ring, handedOn, h < halves.length - 1);
    }
    await sends.drain();
  });
}
