// webccl-perf's reused host memory (bench/perf/host-arrays.ts): placements never share a buffer
// in use, a row's poison is written again into reused (dirty) memory, and a view over a larger
// reused buffer holds only its own elements.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parsePerfArgs, type PerfOptions } from '../bench/perf/args.js';
import { allocateElements } from '../bench/perf/data.js';
import { HostArrays } from '../bench/perf/host-arrays.js';
import { runSweep, type PerfComm } from '../bench/perf/sweep.js';
import { HostStore } from '../bench/perf/store.js';

function options(...argv: string[]): PerfOptions {
  const parsed = parsePerfArgs(argv);
  if (parsed === 'help' || parsed === 'version') throw new Error(parsed);
  return parsed;
}

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

test('reused memory is poisoned again: a collective that does nothing is caught in every row', async () => {
  // One rank whose "allreduce" never writes: out of place its receive buffer must hold poison
  // in every row, although the sweep's memory then holds earlier rows' inputs.
  const idle: PerfComm = {
    rank: 0, size: 1,
    run: async () => {},
    allGather: (async (values: Float32Array | Uint32Array) => values) as PerfComm['allGather'],
    barrier: async () => {},
    bytesSent: () => 0,
  };
  const arrays = new HostArrays();
  const factory = () => (n: number) => new HostStore('float32', n, undefined, arrays);
  for (const sweep of [['-b', '64', '-e', '4K', '-f', '4'], ['-b', '1K', '-e', '1K'], ['-b', '64', '-e', '64']]) {
    const rows = await runSweep(idle, options('allreduce', ...sweep, '-n', '1', '-w', '0', '--jit-warmup', '0'), factory);
    for (const row of rows) {
      assert.is(row.outOfPlace.wrong, row.count, `${row.bytes} B out of place`);
      assert.is(row.inPlace.wrong, 0, `${row.bytes} B in place`);
    }
  }
});

test.run();
