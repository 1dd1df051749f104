// webccl/tfjs bucket planning: consecutive tensors fill a bucket up to its size, a tensor larger
// than a bucket gets its own, no tensor is split, and the buckets cover the list in order.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { planBuckets } from '../lib/tfjs/buckets.js';

test('small tensors merge into one bucket; a large one stands alone; order is kept', () => {
  // bucketBytes 40 = 10 elements.
  assert.equal(planBuckets([3, 4, 2, 25, 1, 9, 1], 40).map((b) => [b.first, [...b.sizes], b.count]), [
    [0, [3, 4, 2], 9],
    [3, [25], 25],
    [4, [1, 9], 10],
    [6, [1], 1],
  ]);
});

test('every tensor appears exactly once, whatever the bucket size', () => {
  const sizes = [5, 0, 17, 1, 1, 64, 3, 0, 8];
  for (const bytes of [4, 8, 40, 100, 1 << 20]) {
    const buckets = planBuckets(sizes, bytes);
    assert.equal(buckets.flatMap((b) => b.sizes), sizes, `bucketBytes ${bytes}`);
    buckets.forEach((b, i) => {
      assert.is(b.count, b.sizes.reduce((x, y) => x + y, 0));
      if (i > 0) assert.is(b.first, buckets[i - 1]!.first + buckets[i - 1]!.sizes.length);
      if (b.sizes.length > 1) assert.ok(b.count <= bytes / 4, `bucket ${i} over ${bytes} bytes`);
    });
  }
  assert.equal(planBuckets([], 40), []);
  assert.is(planBuckets(sizes, 1 << 20).length, 1);
  assert.is(planBuckets([1, 1, 1], 4).length, 3);
});

test.run();
