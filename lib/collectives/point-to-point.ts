// send/recv between two ranks: the buffer travels in chunks, tagged by their index, so a
// large message never has to sit whole in a transport queue. Even an empty buffer travels as
// one (empty) message, so that the receiver can check the sender agrees on the call.
import type { CollectiveContext, Region } from './context.js';
import { chunkCount, chunkOf } from './partition.js';
import { runPipelines } from './pipeline.js';

function messages(length: number, chunkElements: number): number {
  return Math.max(1, chunkCount(length, chunkElements));
}

export async function sendTo(ctx: CollectiveContext, source: Region, peer: number): Promise<void> {
  const whole = { offset: 0, length: source.length };
  await runPipelines(messages(source.length, ctx.chunkElements), ctx.pipelineDepth, async (chunk) => {
    const piece = chunkOf(whole, chunk, ctx.chunkElements);
    await ctx.link.send(peer, chunk, await ctx.memory.outgoing(source, piece.offset, piece.length));
  });
}

export async function recvFrom(ctx: CollectiveContext, target: Region, peer: number): Promise<void> {
  const whole = { offset: 0, length: target.length };
  await runPipelines(messages(target.length, ctx.chunkElements), ctx.pipelineDepth, async (chunk) => {
    const piece = chunkOf(whole, chunk, ctx.chunkElements);
    const bytes = await ctx.link.recv(peer, chunk);
    await ctx.memory.write(target, piece.offset, piece.length, bytes);
    ctx.link.release(bytes);
  });
}
