// The board reduce (row 'board'): the board allreduce's steps (board-allreduce.ts) with only
// the root copying the result out: a small call is one arrival and the root folds every lane
// (x0 ⊕ ... ⊕ xn-1, rank order); a large one folds each rank's slice in parallel, and the root
// gathers the slices out of the lanes while the others go on.
import { runOnBoard } from './board-run.js';
import type { CollectiveContext, Region } from './context.js';

/** `work` holds this rank's contribution (premultiplied; off the root its send buffer, only read, or scratch: planReduce); afterwards the root's holds the reduction. */
export async function boardReduce(ctx: CollectiveContext, work: Region, root: number): Promise<void> {
  const result = ctx.rank === root ? { offset: 0, length: work.length } : undefined;
  await runOnBoard(ctx, work, { collective: 'reduce', root, result }, () => ctx.memory.finalize(work, 0, work.length));
}
