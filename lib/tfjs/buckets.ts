// Fused buckets: consecutive tensors packed into one flat float32 run per allreduce call, as
// PyTorch DDP and Horovod's tensor fusion do, so a model of a hundred small tensors costs a few
// collective calls instead of a hundred. A tensor is never split: one larger than the bucket
// size gets a bucket of its own. The plan depends only on the sizes and the bucket size, which
// every rank has agreed on (agreement.ts) before any bucket moves.

/** One bucket: tensors [first, first + sizes.length) of the list, laid end to end. */
export interface Bucket {
  readonly first: number;
  /** Elements of each tensor in the bucket, in list order. */
  readonly sizes: readonly number[];
  /** Elements in the bucket (the sum of sizes). */
  readonly count: number;
}

/** Default bucket size: 4 MiB of float32 (1 Mi elements), small enough to overlap packing with the wire. */
export const DEFAULT_BUCKET_BYTES = 4 << 20;

/** Splits tensors of the given element counts into buckets of at most `bucketBytes` (float32). */
export function planBuckets(sizes: readonly number[], bucketBytes: number = DEFAULT_BUCKET_BYTES): Bucket[] {
  const limit = Math.max(1, Math.floor(bucketBytes / 4));
  const buckets: Bucket[] = [];
  let first = 0;
  let current: number[] = [];
  let count = 0;
  sizes.forEach((size, index) => {
    if (current.length > 0 && count + size > limit) {
      buckets.push({ first, sizes: current, count });
      first = index;
      current = [];
      count = 0;
    }
    current.push(size);
    count += size;
  });
  if (current.length > 0) buckets.push({ first, sizes: current, count });
  return buckets;
}
