// broadcast, reduce, allGather, reduceScatter, allToAll and send/recv on the inproc transport,
// against what a serial computation over every rank's input says.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  ALGORITHMS, checkAllGather, checkAllToAll, checkBroadcast, checkReduce, checkReduceScatter, rootsOf,
} from './helpers/collective-checks.js';
import { allocate, createWorld, destroyWorld, DTYPES, inputFor, opsFor, sameElements } from './helpers/comm-world.js';

const RANKS = [1, 2, 3, 4, 5, 8];
const COUNTS = [0, 1, 7, 1000];
const BIG = 2 ** 20 + 3;

for (const size of RANKS) {
  test(`broadcast and reduce: ${size} ranks, every root kind, count, dtype, op, placement and algorithm`, async () => {
    const comms = await createWorld(size, { chunkBytes: 64, pipelineDepth: 2 });
    try {
      for (const count of COUNTS) {
        for (const dtype of DTYPES) {
          for (const root of rootsOf(size)) {
            for (const algorithm of ALGORITHMS) {
              for (const inPlace of [false, true]) {
                await checkBroadcast(comms, count, dtype, root, inPlace, algorithm);
                for (const op of opsFor(dtype)) await checkReduce(comms, count, dtype, op, root, inPlace, algorithm);
              }
            }
          }
        }
      }
    } finally {
      await destroyWorld(comms);
    }
  });

  test(`allGather, reduceScatter, allToAll: ${size} ranks, every count, dtype, op and placement`, async () => {
    const comms = await createWorld(size, { chunkBytes: 64, pipelineDepth: 2 });
    try {
      for (const count of COUNTS) {
        for (const dtype of DTYPES) {
          for (const inPlace of [false, true]) {
            await checkAllGather(comms, count, dtype, inPlace);
            await checkAllToAll(comms, count, dtype, inPlace);
            for (const op of opsFor(dtype)) await checkReduceScatter(comms, count, dtype, op, inPlace);
          }
        }
      }
    } finally {
      await destroyWorld(comms);
    }
  });
}

test('every collective at 2^20+3 elements (a subset of ranks and dtypes)', async () => {
  for (const size of [3, 8]) {
    const comms = await createWorld(size);
    try {
      await checkBroadcast(comms, BIG, 'float32', size - 1, false, 'ring');
      await checkBroadcast(comms, BIG, 'bfloat16', 1, true, 'tree');
      await checkReduce(comms, BIG, 'int32', 'sum', 0, false, 'ring');
      await checkReduce(comms, BIG, 'float32', 'max', size - 1, true, 'tree');
    } finally {
      await destroyWorld(comms);
    }
  }
  // allGather/reduceScatter/allToAll move size x count elements: keep the world small.
  const comms = await createWorld(2);
  try {
    await checkAllGather(comms, BIG, 'float16', false);
    await checkReduceScatter(comms, BIG, 'float32', 'avg', true);
    await checkAllToAll(comms, BIG, 'uint32', false);
  } finally {
    await destroyWorld(comms);
  }
});

test('send/recv: a ring exchange in a group, and unmatched order outside one', async () => {
  const comms = await createWorld(4, { chunkBytes: 64 });
  try {
    for (const count of [0, 1, 1000]) {
      const data = comms.map((c) => inputFor('float32', 'sum', c.rank, count, 13));
      const got = comms.map(() => allocate('float32', count));
      await Promise.all(comms.map(async (c, r) => {
        c.groupStart();
        const sent = c.send(data[r]!, count, 'float32', (r + 1) % 4);
        const received = c.recv(got[r]!, count, 'float32', (r + 3) % 4);
        await c.groupEnd();
        await Promise.all([sent, received]);
      }));
      got.forEach((g, r) => sameElements(g, data[(r + 3) % 4]!, `send/recv count=${count} rank ${r}`));
    }
    // Two messages between the same pair arrive in the order they were sent.
    const a = Int32Array.of(1, 2, 3);
    const b = Int32Array.of(4, 5, 6);
    const first = new Int32Array(3);
    const second = new Int32Array(3);
    await Promise.all([
      (async () => { await comms[0]!.send(a, 3, 'int32', 2); await comms[0]!.send(b, 3, 'int32', 2); })(),
      (async () => { await comms[2]!.recv(first, 3, 'int32', 0); await comms[2]!.recv(second, 3, 'int32', 0); })(),
    ]);
    assert.equal([...first, ...second], [1, 2, 3, 4, 5, 6]);
    // Collectives on the same communicator are unaffected by the point-to-point traffic.
    await Promise.all(comms.map((c) => c.barrier()));
  } finally {
    await destroyWorld(comms);
  }
});

test('barrier: every size completes, and no rank leaves before all arrived', async () => {
  for (const size of RANKS) {
    const comms = await createWorld(size);
    try {
      const arrived: number[] = [];
      const left: number[] = [];
      await Promise.all(comms.map(async (c) => {
        await new Promise((resolve) => setTimeout(resolve, c.rank * 3));
        arrived.push(c.rank);
        await c.barrier();
        left.push(c.rank);
        assert.is(arrived.length, size, `rank ${c.rank} left the barrier before every rank arrived`);
      }));
      assert.is(left.length, size);
    } finally {
      await destroyWorld(comms);
    }
  }
});

test.run();
