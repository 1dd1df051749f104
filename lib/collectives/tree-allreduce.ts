// Double binary tree allreduce (NCCL's "tree" algorithm): the data is cut in two halves, each
// reduced up one of the two trees and broadcast back down it, chunk by chunk, so a chunk can
// go down while later ones are still going up. Latency grows with log(n) instead of n, which
// wins for small counts; every rank is a leaf in one tree, so no rank does inner-node work twice.
import type { CollectiveContext, Region } from './context.js';
import { chunkCount, chunkOf, evenSegments } from './partition.js';
import { runPipelines } from './pipeline.js';
import { doubleBinaryTree, type TreeNode } from './tree-topology.js';

const UP = 0;
const DOWN = 1;

/** Reduces `work` (this rank's contribution, already premultiplied) in place on every rank. */
export async function treeAllReduce(ctx: CollectiveContext, work: Region): Promise<void> {
  const { rank, size, chunkElements } = ctx;
  const trees = doubleBinaryTree(rank, size);
  const halves = evenSegments(work.length, 2, ctx.alignElements);
  const perTree = Math.max(...halves.map((half) => chunkCount(half.length, chunkElements)));
  // Pipelines alternate between the trees so that both halves progress together.
  await runPipelines(2 * perTree, ctx.pipelineDepth, async (index) => {
    const which = index % 2;
    const chunk = Math.floor(index / 2);
    const piece = chunkOf(halves[which]!, chunk, chunkElements);
    const tag = (direction: number) => index * 2 + direction;
    await reduceUpThenBroadcastDown(ctx, trees[which]!, work, piece.offset, piece.length, tag);
  });
}

async function reduceUpThenBroadcastDown(
  ctx: CollectiveContext, node: TreeNode, work: Region, offset: number, length: number, tag: (direction: number) => number,
): Promise<void> {
  const { link, memory } = ctx;
  for (const child of node.children) {
    const partial = await link.recv(child, tag(UP));
    await memory.accumulate(work, offset, length, partial);
    link.release(partial);
  }
  let result: Uint8Array;
  if (node.parent >= 0) {
    await link.send(node.parent, tag(UP), await memory.read(work, offset, length));
    result = await link.recv(node.parent, tag(DOWN));
    await memory.write(work, offset, length, result);
  } else {
    await memory.finalize(work, offset, length);
    result = await memory.read(work, offset, length);
  }
  await Promise.all(node.children.map((child) => link.send(child, tag(DOWN), result)));
  // Received from the parent and forwarded to the children (a no-op for the root's own copy).
  link.release(result);
}
