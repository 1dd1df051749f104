// Pairwise all-to-all: at step s rank r sends its block for rank r+s and receives rank r-s's
// block for it, so that at every step each rank talks to exactly one sender and one receiver
// (no incast). Steps and chunks run as pipelines; their messages are told apart by tag.
import type { CollectiveContext, Region } from './context.js';
import { chunkCount, chunkOf, ringPeer } from './partition.js';
import { runPipelines } from './pipeline.js';

/**
 * `source` and `target` hold size blocks of `blockLength`; block j of `source` goes to rank j,
 * block i of `target` comes from rank i. They must not overlap (the caller copies first).
 * This rank's own block is moved by the caller, not here.
 */
export async function pairwiseAllToAll(ctx: CollectiveContext, source: Region, target: Region, blockLength: number): Promise<void> {
  const { rank, size, link, memory, chunkElements } = ctx;
  const chunks = chunkCount(blockLength, chunkElements);
  await runPipelines((size - 1) * chunks, ctx.pipelineDepth, async (index) => {
    const step = 1 + Math.floor(index / chunks);
    const chunk = index % chunks;
    const to = ringPeer(rank, step, size);
    const from = ringPeer(rank, -step, size);
    const outgoing = chunkOf({ offset: to * blockLength, length: blockLength }, chunk, chunkElements);
    const incoming = chunkOf({ offset: from * blockLength, length: blockLength }, chunk, chunkElements);
    const sent = link.send(to, chunk, await memory.read(source, outgoing.offset, outgoing.length));
    const received = link.recv(from, chunk);
    const stored = received.then(async (bytes) => {
      await memory.write(target, incoming.offset, incoming.length, bytes);
      link.release(bytes);
    });
    await Promise.all([sent, stored]);
  });
}
