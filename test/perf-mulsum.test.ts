// webccl-perf's -o mulsum: nccl-tests' premulSum with each rank's own scalar (1 on even ranks,
// 2 on odd ones). The oracle is checked against a sum written out by hand, and webccl's results
// against the oracle bit for bit (the inputs are small multiples of 1/4, so every sum is exact).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Communicator, getUniqueId } from '../lib/index.node.js';
import type { DataType } from '../lib/dtype.js';
import { expectedOutput, sendInput, type CallShape } from '../bench/perf/expected.js';
import { bufferLayout } from '../bench/perf/layout.js';
import { getElement, inputValue, allocateElements } from '../bench/perf/data.js';
import { mulsumScalar, parseOps, rankReduceOp, type PerfCollective } from '../bench/perf/names.js';

function shapeOf(collective: PerfCollective, dtype: DataType, ranks: number, bytes: number): CallShape {
  return { collective, dtype, op: 'mulsum', root: 1, ranks, layout: bufferLayout(collective, bytes, dtype, ranks) };
}

test('mulsum: nccl-tests scalars, parsed by -o and included in -o all', () => {
  assert.equal([0, 1, 2, 3].map(mulsumScalar), [1, 2, 1, 2]);
  assert.equal(rankReduceOp('mulsum', 3), { premulSum: 2 });
  assert.is(rankReduceOp('max', 3), 'max');
  assert.equal(parseOps('MulSum'), ['mulsum']);
  assert.ok(parseOps('all').includes('mulsum'));
});

test('mulsum oracle: element i is the sum over ranks k of scalar(k) x input(k, i)', () => {
  for (const dtype of ['float32', 'int32', 'float16'] as const) {
    const shape = shapeOf('allreduce', dtype, 3, 64);
    const expected = expectedOutput(shape, 0)!;
    for (let i = 0; i < shape.layout.sendCount; i++) {
      const byHand = inputValue(dtype, 0, i) + 2 * inputValue(dtype, 1, i) + inputValue(dtype, 2, i);
      assert.is(getElement(dtype, expected, i), byHand, `${dtype} element ${i}`);
    }
  }
});

/** Runs one collective on 3 in-process ranks with each rank's mulsum op; returns each rank's output. */
async function runMulsum(collective: 'allreduce' | 'reducescatter' | 'reduce', dtype: DataType) {
  const ranks = 3;
  const shape = shapeOf(collective, dtype, ranks, 3 * 4 * 40);
  const id = await getUniqueId({ transport: 'inproc' });
  const comms = await Promise.all([0, 1, 2].map((rank) => Communicator.init({ id, rank, size: ranks })));
  try {
    const outputs = comms.map(() => allocateElements(dtype, shape.layout.recvCount));
    await Promise.all(comms.map((comm, r) => {
      const send = sendInput(shape, r);
      const op = rankReduceOp('mulsum', r);
      const count = shape.layout.callCount;
      if (collective === 'allreduce') return comm.allReduce(send, outputs[r]!, count, dtype, op);
      if (collective === 'reducescatter') return comm.reduceScatter(send, outputs[r]!, count, dtype, op);
      return comm.reduce(send, outputs[r]!, count, dtype, op, shape.root);
    }));
    return { shape, outputs };
  } finally {
    await Promise.all(comms.map((comm) => comm.destroy()));
  }
}

test('mulsum through webccl: allreduce, reducescatter and reduce equal the oracle exactly', async () => {
  for (const collective of ['allreduce', 'reducescatter', 'reduce'] as const) {
    for (const dtype of ['float32', 'bfloat16', 'int32', 'uint32'] as const) {
      const { shape, outputs } = await runMulsum(collective, dtype);
      outputs.forEach((got, rank) => {
        const expected = expectedOutput(shape, rank);
        if (expected !== undefined) assert.equal(Array.from(got), Array.from(expected), `${collective} ${dtype} rank ${rank}`);
      });
    }
  }
});

test.run();
