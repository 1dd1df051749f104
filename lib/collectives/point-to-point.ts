// send/recv between two ranks: the buffer travels in chunks, tagged by their index, so a
// large message never has to sit whole in a transport queue.
import type { CollectiveContext, Region } from './context.js';
import { chunkCount, chunkOf } from './partition.js';
import { runPipelines } from './pipeline.js';

export async function sendTo(ctx: CollectiveContext, source: Region, peer: number): Promise<void> {
  const whole = { offset: 0, length: source.length };
  await runPipelines(chunkCount(source.length, ctx.chunkElements), ctx.pipelineDepth, async (chunk) => {
    const piece = chunkOf(whole, chunk, ctx.chunkElements);
    await ctx.link.send(peer, chunk, await ctx.memory.read(source, piece.offset, piece.length));
  });
}

export async function recvFrom(ctx: CollectiveContext, target: Region, peer: number): Promise<void> {
  const whole = { offset: 0, length: target.length };
  await runPipelines(chunkCount(target.length, ctx.chunkElements), ctx.pipelineDepth, async (chunk) => {
    const piece = chunkOf(whole, chunk, ctx.chunkElements);
    await ctx.memory.write(target, piece.offset, await ctx.link.recv(peer, chunk));
  });
}
