// webccl-perf's reused host memory (bench/perf/host-arrays.ts): placements never share a buffer
// in use, and a view over a larger reused buffer holds only its own elements (that a row's
// poison is written again into reused memory: test/perf-e2e.test.ts).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { allocateElements } from '../bench/perf/data.js';
import { HostArrays } from '../bench/perf/host-arrays.js';
import { HostStore } from '../bench/perf/store.js';

test('buffers in use are never handed out twice; given back, the smallest that fits is reused', () => {
  const arrays = new HostArrays();
  const a = arrays.take(1024);
  const b = arrays.take(1024);
  assert.is.not(a, b, 'two placements (send and receive) would share one buffer');
  assert.ok(a.byteLength >= 1024 && b.byteLength >= 1024);
  const big = arrays.take(4096);
  arrays.give(big);
  arrays.give(a);
  assert.is(arrays.take(512), a, 'the smallest free buffer that fits');
  assert.is(arrays.take(2048), big);
  assert.is.not(arrays.take(16), a, 'a taken buffer is not free until given back');
});

test('a larger size than any free buffer drops the smaller ones (an ascending sweep keeps no pile)', () => {
  const arrays = new HostArrays();
  const small = arrays.take(256);
  arrays.give(small);
  const large = arrays.take(8192);
  assert.is.not(large, small);
  assert.is.not(arrays.take(256), small, 'the dropped buffer came back');
});

test('a view over a reused larger buffer holds only its own elements', () => {
  assert.is(allocateElements('float32', 3, new ArrayBuffer(64)).length, 3);
  assert.is(allocateElements('bfloat16', 5, new ArrayBuffer(64)).length, 5);
  const arrays = new HostArrays();
  arrays.give(new ArrayBuffer(1 << 12));
  const store = new HostStore('float32', 10, undefined, arrays);
  assert.is((store.operand(0, 10) as Float32Array).length, 10);
});

test.run();
