// webccl-perf's check a slice at a time (bench/perf/check.ts): the slices of the expected output
// are the whole one's, for every collective, and a wrong element is found in any slice, at its
// edges included. Poison is written a slice at a time over the whole receive buffer.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { DataType, ElementArray } from '../lib/dtype.js';
import { checkOutput } from '../bench/perf/check.js';
import { getElement, setElement } from '../bench/perf/data.js';
import { expectedOutput, expectedSlice, sendInput, type CallShape } from '../bench/perf/expected.js';
import { bufferLayout } from '../bench/perf/layout.js';
import { COLLECTIVES, type PerfCollective, type PerfOp } from '../bench/perf/names.js';
import { createPlacement, rowData, type Placement } from '../bench/perf/placement.js';
import { HostStore } from '../bench/perf/store.js';

function shapeOf(collective: PerfCollective, dtype: DataType, op: PerfOp, ranks: number, bytes: number): CallShape {
  return { collective, dtype, op, root: 1, ranks, layout: bufferLayout(collective, bytes, dtype, ranks) };
}

/** A placement whose output is `array` (what a call left there). */
function holding(array: ElementArray): Placement {
  return {
    send: array, recv: array,
    prepare: async () => {},
    output: async (from, count) => array.slice(from, from + count),
    destroy: () => {},
  };
}

test('expectedSlice: every slice of every collective is the same elements of the whole output', () => {
  for (const collective of COLLECTIVES) {
    for (const [dtype, op] of [['float32', 'sum'], ['bfloat16', 'mulsum'], ['int32', 'max'], ['float16', 'avg']] as const) {
      const shape = shapeOf(collective, dtype, op, 3, 3 * 4 * 37);
      for (const rank of [0, 1, 2]) {
        const whole = expectedOutput(shape, rank);
        for (const [from, count] of [[0, 5], [7, 30], [shape.layout.recvCount - 3, 3], [10, 0]] as const) {
          const slice = expectedSlice(shape, rank, from, count);
          if (whole === undefined) { assert.is(slice, undefined, `${collective} rank ${rank}`); continue; }
          assert.equal(Array.from(slice!), Array.from(whole.subarray(from, from + count)), `${collective} ${dtype} ${op} rank ${rank} [${from}, +${count})`);
        }
      }
    }
  }
});

test('checkOutput: counts the wrong elements of every slice, at the slices\' edges too', async () => {
  const shape = shapeOf('allreduce', 'float32', 'sum', 4, 4 * 1000);
  const output = expectedOutput(shape, 2)!.slice();
  assert.equal(await checkOutput(shape, 2, holding(output), true, 64), { wrong: 0, maxRelError: 0 });
  for (const index of [0, 63, 64, 999]) setElement('float32', output, index, getElement('float32', output, index) + 0.5);
  const sliced = await checkOutput(shape, 2, holding(output), true, 64);
  assert.is(sliced.wrong, 4);
  assert.ok(sliced.maxRelError > 0.1, `${sliced.maxRelError}`);
  assert.equal(await checkOutput(shape, 2, holding(output), false, 1000), { wrong: 4, maxRelError: 0 });
  // Off the root, reduce defines no output: nothing is compared.
  assert.equal(await checkOutput(shapeOf('reduce', 'float32', 'sum', 4, 4000), 0, holding(output), true, 64), { wrong: 0, maxRelError: 0 });
  // An empty call compares nothing.
  assert.equal(await checkOutput(shapeOf('allreduce', 'float32', 'sum', 4, 0), 0, holding(new Float32Array(0)), true), { wrong: 0, maxRelError: 0 });
});

test('prepare poisons the whole receive buffer, past the poison slice, and the input lands whole', async () => {
  // A little over one poison slice (2^20 elements), with an odd tail; then a smaller row reusing the data.
  for (const count of [(1 << 20) + 3, 5]) {
    const shape = shapeOf('allgather', 'float32', 'sum', 2, count * 4 * 2);
    const input = sendInput(shape, 1);
    const data = rowData('float32', input);
    for (const kind of ['out-of-place', 'in-place'] as const) {
      const placement = createPlacement(kind, 'allgather', 'float32', shape.layout, 1, (length) => new HostStore('float32', length));
      await placement.prepare(data);
      const recv = await placement.output(0, shape.layout.recvCount);
      const slot = kind === 'in-place' ? shape.layout.callCount : -1;
      let poisoned = 0;
      for (let i = 0; i < recv.length; i++) if (recv[i] === 12345.5) poisoned++;
      assert.is(poisoned, kind === 'in-place' ? recv.length - input.length : recv.length, `${kind} ${count}`);
      if (slot >= 0) assert.equal(recv.subarray(slot, slot + input.length), input);
      const send = placement.send as Float32Array;
      if (kind === 'out-of-place') assert.equal(send, input);
      placement.destroy();
    }
  }
});

test.run();
