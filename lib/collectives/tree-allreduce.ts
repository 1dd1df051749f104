// Double binary tree allreduce (NCCL's "tree" algorithm): the data is cut in two halves, each
// reduced up one of the two trees and broadcast back down it, chunk by chunk, so a chunk can
// go down while later ones are still going up. Latency grows with log(n) instead of n, which
// wins for small counts; every rank is a leaf in one tree, so no rank does inner-node work twice.
// A slow rank is placed at a root/leaf label (ctx.slowRank, placedLabels): the formula below
// counts the busiest rank's messages, the same whichever rank that is.
import type { CollectiveContext, Region } from './context.js';
import { chunkCount, chunkOf, evenSegments } from './partition.js';
import { runPipelines } from './pipeline.js';
import { doubleBinaryTree, placedLabels, placedSlowSends, type TreeNode } from './tree-topology.js';
import { byteCut, storedPieceElements, treeDepth, waves, type Traffic, type TrafficCall } from './traffic.js';

const UP = 0;
const DOWN = 1;

/** Reduces `work` (this rank's contribution, already premultiplied) in place on every rank. */
export async function treeAllReduce(ctx: CollectiveContext, work: Region): Promise<void> {
  const { rank, size } = ctx;
  const chunkElements = storedPieceElements(ctx.chunkElements, ctx.alignElements);
  const trees = doubleBinaryTree(rank, size, placedLabels(size, ctx.slowRank));
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
  const isRoot = node.parent < 0;
  // Children's partials are folded in order; the last fold also yields the bytes that go on
  // (up to the parent, or, at the root, finalized and down), in one memory step.
  // The first child's partial is offered a landing that folds it on arrival (fused receive, as
  // the ring's): it is the first fold either way, so the order of folds, and the bits, stay the
  // same. Later children are received only after it, as before, and fold in order.
  let up: Uint8Array | undefined;
  for (const [i, child] of node.children.entries()) {
    const partial = await link.recv(child, tag(UP), i === 0 ? memory.landing?.(work, offset, length, true) : undefined);
    if (i < node.children.length - 1) await memory.accumulate(work, offset, length, partial);
    else if (isRoot) up = await memory.recvReduceCopySend(work, offset, length, partial);
    else up = await memory.recvReduceSend(work, offset, length, partial);
    link.release(partial);
  }
  let result: Uint8Array;
  let received: Uint8Array | undefined;
  if (!isRoot) {
    // Without children the span itself is sent (outgoing: no copy on host memory): it is
    // written only when the result comes down, after this send has resolved. A copy (read)
    // cost a fresh buffer per call, 512 KiB a half at 1 MiB: page faults and GC work, about
    // 4x the CPU of the whole call at 2 shm ranks (docs/PERFORMANCE.md, shm11).
    await link.send(node.parent, tag(UP), up ?? await memory.outgoing(work, offset, length));
    // The result lands in the span on arrival (no buffer to copy it out of).
    received = await link.recv(node.parent, tag(DOWN), memory.landing?.(work, offset, length, false));
    if (node.children.length > 0) {
      result = await memory.recvCopySend(work, offset, length, received);
    } else {
      await memory.write(work, offset, length, received);
      result = received;
    }
  } else if (up) {
    result = up;
  } else {
    // A root without children (a world of one).
    await memory.finalize(work, offset, length);
    result = await memory.outgoing(work, offset, length);
  }
  await Promise.all(node.children.map((child) => link.send(child, tag(DOWN), result)));
  // Received from the parent, written and forwarded to the children (the root received nothing).
  if (received) link.release(received);
}

/**
 * Cost (lib/collectives/traffic.ts): each half goes up and down its tree, 2·ceil(log2 n) hops,
 * chunk by chunk (the schedule's own cut, m pieces of at most STORED_PIECE_BYTES a half); the two
 * trees' chunk pipelines run pipelineDepth at once, each wave's hops in sequence. Per chunk pair
 * a rank sends one message to its parent and one to each child in each tree: the busiest (inner
 * in one tree, a leaf in the other, from 4 ranks) sends 4, about 2x the ring's bytes. The bytes
 * on the path count the pipeline's fill: 2·ceil(log2 n) + (m-1)·4 chunks. All ranks together
 * send 2(n-1) messages a chunk pair (each tree's n-1 edges, up and down), not n times the
 * busiest rank's 4 (allSends). The slow rank, at a least-loaded label (placedLabels), sends and
 * receives its own count a chunk pair (2 from 4 ranks), every chunk in turn over its link, and
 * waits a chunk's crossing more: in each tree its last chunk's result comes back over the link
 * its partial went up (a leaf's parent, a root's child). So its count × (m + 1) chunks each way
 * (S·(1 + 1/m) from 4 ranks; the fill's other hops cross the fast links). On the quarter-rate
 * rack the tree's 1 MiB allreduce (m = 1) took 52 ms, its slow link's 2S about 60% of it.
 */
export function treeAllReduceTraffic(call: TrafficCall): Traffic {
  const { bytes, ranks } = call;
  if (ranks === 1) return { messages: 0, sends: 0, linkBytes: 0, reducedBytes: 0 };
  const cut = byteCut(call);
  const piece = storedPieceElements(cut.chunkElements, cut.alignElements);
  const halves = evenSegments(bytes, 2, cut.alignElements);
  const chunks = Math.max(1, ...halves.map((half) => chunkCount(half.length, piece)));
  // The schedule's own trees: each rank's messages and folds per chunk pair.
  let perChunk = 0;
  let allPerChunk = 0;
  let folds = 0;
  for (let rank = 0; rank < ranks; rank++) {
    const trees = doubleBinaryTree(rank, ranks);
    const sent = trees.reduce((sum, node) => sum + (node.parent >= 0 ? 1 : 0) + node.children.length, 0);
    perChunk = Math.max(perChunk, sent);
    allPerChunk += sent;
    folds = Math.max(folds, trees.reduce((sum, node) => sum + node.children.length, 0));
  }
  const hops = 2 * treeDepth(ranks);
  const filled = hops + (chunks - 1) * perChunk;
  const slow = (placedSlowSends(ranks) * (chunks + 1) * bytes) / 2 / chunks;
  return { messages: hops * waves(2 * chunks, cut.pipelineDepth), sends: chunks * perChunk, allSends: chunks * allPerChunk, linkBytes: (filled * bytes) / 2 / chunks, reducedBytes: (folds * bytes) / 2, messageBytes: Math.min(piece, Math.max(...halves.map((half) => half.length))), slowRankBytes: { sent: slow, received: slow } };
}
