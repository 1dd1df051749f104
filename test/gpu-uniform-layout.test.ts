// A kernel's uniform block declared once (lib/gpu/uniform-layout.ts): the WGSL struct made from
// the declaration, and a dispatch's words counted against it.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { WebcclError } from '../lib/errors.js';
import { UniformLayout } from '../lib/gpu/uniform-layout.js';

const layout = new UniformLayout('DemoParams', ['count', 'block_size', 'src_offset']);

test('the WGSL struct starts with the unit count and lists every field as a u32, in order', () => {
  assert.is(layout.wgsl, 'struct DemoParams { units: u32, count: u32, block_size: u32, src_offset: u32 }');
});

test('words are the values in field order; a count that differs from the fields is an internal error', () => {
  assert.equal([...layout.words([7, 36, 2])], [7, 36, 2]);
  for (const values of [[7, 36], [7, 36, 2, 9]]) {
    try {
      layout.words(values);
      assert.unreachable('expected an InternalError');
    } catch (error) {
      assert.instance(error, WebcclError);
      assert.is((error as WebcclError).code, 'InternalError');
      assert.match((error as Error).message, /DemoParams: \d values for 3 fields \(count, block_size, src_offset\)/);
    }
  }
});

test('a vec4 array at the end starts on a 16-byte boundary: the fields are padded to it', () => {
  const tailed = new UniformLayout('TailParams', ['count', 'scalar'], { name: 'offsets', vec4s: 2 });
  assert.is(tailed.wgsl, 'struct TailParams { units: u32, count: u32, scalar: u32, offsets: array<vec4u, 2> }');
  // units, count, scalar, one pad word: the offsets start at word 4 of the block (3 after units).
  assert.equal([...tailed.words([5, 9], [1, 2, 3])], [5, 9, 0, 1, 2, 3, 0, 0, 0, 0, 0]);
  const full = new UniformLayout('FullParams', ['a', 'b', 'c'], { name: 'offsets', vec4s: 1 });
  assert.equal([...full.words([1, 2, 3], [4])], [1, 2, 3, 4, 0, 0, 0]);
  assert.throws(() => tailed.words([5, 9], [1, 2, 3, 4, 5, 6, 7, 8, 9]), /TailParams: 9 words for offsets of 2 vec4s/);
  assert.throws(() => layout.words([7, 36, 2], [1]), /DemoParams: has no tail/);
});

test.run();
