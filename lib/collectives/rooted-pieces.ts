// What the rooted trees (tree-broadcast.ts, tree-reduce.ts) share: this rank's place in the binary
// tree rooted at the call's root, and the call cut into pieces that run as pipelines.
import type { CollectiveContext, Region } from './context.js';
import { chunkCount, chunkOf, type Span } from './partition.js';
import { runPipelines } from './pipeline.js';
import { rootedTree, type TreeNode } from './tree-topology.js';
import { rootedPieceElements } from './traffic.js';

/**
 * Runs `step` for every piece of `work` (its elements and its index, which tags its messages),
 * ctx.pipelineDepth pieces at once, on this rank's node of the tree rooted at `root` (the slow
 * rank, where calibration found one, at a leaf). Each piece goes whole from hop to hop: at most
 * STORED_PIECE_BYTES, and at least the depth of them where a quarter chunk allows (traffic.ts's
 * rootedPieceElements).
 */
export function runRootedPieces(ctx: CollectiveContext, work: Region, root: number, step: (node: TreeNode, piece: Span, index: number) => Promise<void>): Promise<void> {
  const chunkElements = rootedPieceElements(work.length, ctx);
  const node = rootedTree(ctx.rank, ctx.size, root, ctx.slowRank);
  const whole = { offset: 0, length: work.length };
  return runPipelines(chunkCount(work.length, chunkElements), ctx.pipelineDepth, (index) => step(node, chunkOf(whole, index, chunkElements), index));
}
