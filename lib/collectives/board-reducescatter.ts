// The board reduce-scatter (row 'board'): per chunk, every rank copies that chunk of the n-1
// other blocks into its lane side by side and arrives once; rank r then folds block r's chunk
// over the n lanes (x0 ⊕ ... ⊕ xn-1, rank order, finalized; its own part read where it lies)
// straight into its own block. One arrival and one copy of the others' blocks per chunk, each
// rank folding only its own block (the ring forwards n-1 partial sums through the transport).
import { BOARD_BUFFER_BYTES } from '../transport/board.js';
import { runOnBoard } from './board-run.js';
import type { CollectiveContext, Region } from './context.js';
import type { Traffic, TrafficCall } from './traffic.js';

/** `work` holds size blocks of `blockLength`; afterwards block `rank` is the finalized result. */
export async function boardReduceScatter(ctx: CollectiveContext, work: Region, blockLength: number): Promise<void> {
  const owned = { offset: ctx.rank * blockLength, length: blockLength };
  await runOnBoard(ctx, work, { collective: 'reduceScatter', result: owned }, () => ctx.memory.finalize(work, owned.offset, owned.length));
}

/**
 * Out of place: `send` holds size blocks of `output.length` and is only read; `output` gets
 * the finalized result of block `rank` (no scratch copy of `send` in and of the block out). It
 * must not overlap `send`; premulSum, which scales every block first, takes the scratch path.
 */
export async function boardReduceScatterInto(ctx: CollectiveContext, send: Region, output: Region): Promise<void> {
  await runOnBoard(ctx, send, { collective: 'reduceScatter', result: undefined, output }, async () => {
    await ctx.memory.write(output, 0, output.length, await ctx.memory.read(send, 0, output.length));
    await ctx.memory.finalize(output, 0, output.length);
  });
}

/** Cost (lib/collectives/traffic.ts): one arrival per chunk of n blocks' worth of a buffer, the copy in of the n-1 others' blocks (`bytes` each) and n-1 folds of its own. */
export function boardReduceScatterTraffic({ bytes, ranks }: TrafficCall): Traffic {
  if (bytes === 0 || ranks < 2) return { messages: 0, sends: 0, linkBytes: 0, reducedBytes: 0 };
  return { messages: Math.ceil((ranks * bytes) / BOARD_BUFFER_BYTES), sends: 0, linkBytes: (ranks - 1) * bytes, reducedBytes: (ranks - 1) * bytes };
}
