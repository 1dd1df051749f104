// Binary trees over ranks, and NCCL's double binary tree built from two of them.
//
// The base tree is an in-order tree on labels 0..n-1: a label whose lowest set bit is b spans
// the labels within b of it, its children are the labels b/2 below and above it (the upper one
// pulled down while it falls outside 0..n-1), and label 0 is a root whose single child is the
// largest power of two below n. Odd labels are the leaves, so half the ranks are leaves.
// The second tree relabels the first so that its leaves are the first's inner nodes: mirrored
// (label n-1-r) when n is even, shifted by one (label r-1) when n is odd. Each rank then does
// inner-node work in at most one tree, and the two halves of the data share the links evenly.
// Ranks map to labels one to one, the identity unless a slow rank was placed (placedLabels,
// rootedLabels): the leaves' and the roots' links carry half the bytes of the inner ranks', so a
// rank behind a slow link is given such a label (docs/PERFORMANCE.md, uneven22, place23, root26).

export interface TreeNode {
  /** The parent's rank, or -1 at the root. */
  readonly parent: number;
  readonly children: readonly number[];
}

function lowestBit(label: number): number {
  return label & -label;
}

function childLabels(label: number, size: number): number[] {
  if (label === 0) {
    if (size === 1) return [];
    let top = 1;
    while (top * 2 < size) top *= 2;
    return [top];
  }
  const children: number[] = [];
  let half = lowestBit(label) >> 1;
  if (half === 0) return children;
  children.push(label - half);
  while (half > 0 && label + half >= size) half >>= 1;
  if (half > 0) children.push(label + half);
  return children;
}

const treeCache = new Map<number, TreeNode[]>();

/** The base tree on labels, every node of it (built once per size). */
function labelTree(size: number): TreeNode[] {
  let tree = treeCache.get(size);
  if (!tree) {
    const parents = new Array<number>(size).fill(-1);
    const children = Array.from({ length: size }, (_, label) => childLabels(label, size));
    children.forEach((list, label) => { for (const child of list) parents[child] = label; });
    tree = children.map((list, label) => ({ parent: parents[label]!, children: list }));
    treeCache.set(size, tree);
  }
  return tree;
}

/** The base tree seen from `rank`, with ranks relabeled by `toLabel`/`toRank` (inverses). */
function relabeled(rank: number, size: number, toLabel: (r: number) => number, toRank: (l: number) => number): TreeNode {
  const node = labelTree(size)[toLabel(rank)]!;
  return { parent: node.parent < 0 ? -1 : toRank(node.parent), children: node.children.map(toRank) };
}

/**
 * A binary tree rooted at `root` (broadcast, reduce): rank r takes label r − root (mod n), unless
 * `slowRank` is given and would be inner (rootedLabels).
 */
export function rootedTree(rank: number, size: number, root: number, slowRank?: number): TreeNode {
  const labels = rootedLabels(size, root, slowRank);
  if (!labels) return relabeled(rank, size, (r) => (r - root + size) % size, (l) => (l + root) % size);
  const ranks = inverse(labels);
  return relabeled(rank, size, (r) => labels[r]!, (l) => ranks[l]!);
}

/**
 * Each rank's label in the tree rooted at `root` when `slowRank` is behind a slow link: an inner
 * rank's link carries each chunk once for its parent and once for each child (3 times at 2
 * children), a leaf's once, so the slow rank takes the highest leaf label, swapping with the
 * rank that had it; the root keeps label 0. Undefined (the rotation by the root) when the slow
 * rank is the root, a leaf already, or none is given.
 */
export function rootedLabels(size: number, root: number, slowRank: number | undefined): readonly number[] | undefined {
  if (slowRank === undefined || slowRank === root || slowRank < 0 || slowRank >= size) return undefined;
  return placement(`rooted ${size} ${root} ${slowRank}`, () => rootedPlacement(size, root, slowRank));
}

function rootedPlacement(size: number, root: number, slowRank: number): number[] | undefined {
  const tree = labelTree(size);
  const labels = Array.from({ length: size }, (_, r) => (r - root + size) % size);
  const slowLabel = labels[slowRank]!;
  if (tree[slowLabel]!.children.length === 0) return undefined;
  let leaf = size - 1; // label 0 has a child from 2 ranks, so a leaf is found above it
  while (tree[leaf]!.children.length > 0) leaf--;
  labels[(leaf + root) % size] = slowLabel;
  labels[slowRank] = leaf;
  return labels;
}

/**
 * The two trees of NCCL's double binary tree, as seen from `rank`. `labels` (placedLabels) gives
 * each rank its label in the first tree; absent, a rank's label is itself.
 */
export function doubleBinaryTree(rank: number, size: number, labels?: readonly number[]): readonly [TreeNode, TreeNode] {
  const toLabel = labels ? (r: number) => labels[r]! : (r: number) => r;
  const ranks = labels ? inverse(labels) : undefined;
  const toRank = ranks ? (l: number) => ranks[l]! : (l: number) => l;
  const first = relabeled(rank, size, toLabel, toRank);
  const second = size % 2 === 0
    ? relabeled(rank, size, (r) => size - 1 - toLabel(r), (l) => toRank(size - 1 - l))
    : relabeled(rank, size, (r) => (toLabel(r) - 1 + size) % size, (l) => toRank((l + 1) % size));
  return [first, second];
}

function inverse(labels: readonly number[]): number[] {
  const ranks = new Array<number>(labels.length);
  labels.forEach((label, rank) => { ranks[label] = rank; });
  return ranks;
}

const placements = new Map<string, readonly number[] | undefined>();

/** A placement worked out once: every tree call of a world with a slow rank asks for its labels. */
function placement(key: string, make: () => number[] | undefined): readonly number[] | undefined {
  if (!placements.has(key)) placements.set(key, make());
  return placements.get(key);
}

const loadsCache = new Map<number, number[]>();

/** Messages a rank sends and receives per chunk pair of the double binary tree's allreduce (a parent, children, up and down), by label (worked out once per size). */
function labelLoads(size: number): number[] {
  let loads = loadsCache.get(size);
  if (!loads) {
    loads = Array.from({ length: size }, (_, label) => 2 * doubleBinaryTree(label, size).reduce((sum, node) => sum + (node.parent >= 0 ? 1 : 0) + node.children.length, 0));
    loadsCache.set(size, loads);
  }
  return loads;
}

/** Messages the slow rank sends (and as many it receives) per chunk pair of the double binary tree's allreduce, placed by placedLabels at a least-loaded label. */
export function placedSlowSends(size: number): number {
  return Math.min(...labelLoads(size)) / 2;
}

/**
 * Each rank's label in the double binary tree when `slowRank` is behind a slow link: that rank
 * takes the highest of the labels whose link carries the fewest messages (at 4 ranks labels 0 and
 * 3, a root in one tree and a leaf in the other: S each way a call, where an inner label's link
 * carries 2S and the ring's 1.5S), swapping with the rank that had it; every other rank keeps
 * its own. The identity (undefined) when the slow rank already has such a label, or none is given.
 */
export function placedLabels(size: number, slowRank: number | undefined): readonly number[] | undefined {
  if (slowRank === undefined || size < 3 || slowRank < 0 || slowRank >= size) return undefined;
  return placement(`double ${size} ${slowRank}`, () => doublePlacement(size, slowRank));
}

function doublePlacement(size: number, slowRank: number): number[] | undefined {
  const loads = labelLoads(size);
  const least = Math.min(...loads);
  if (loads[slowRank] === least) return undefined;
  const target = loads.lastIndexOf(least);
  const labels = Array.from({ length: size }, (_, r) => r);
  labels[slowRank] = target;
  labels[target] = slowRank;
  return labels;
}

/** The most children any rank has in the tree rooted at rank 0 (the cost formulas' fan-out; the same for any root). */
export function widestFanout(size: number): number {
  let widest = 0;
  for (let rank = 0; rank < size; rank++) widest = Math.max(widest, rootedTree(rank, size, 0).children.length);
  return widest;
}
