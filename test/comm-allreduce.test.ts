// allReduce on the inproc transport against the serial oracle: every rank count, count,
// dtype, op, in place and out of place, ring, tree and mesh (and auto).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { checkAllReduce } from './helpers/collective-checks.js';
import { selectAlgorithm } from '../lib/tune/select.js';
import { createWorld, destroyWorld, DTYPES, opsFor, sameElements } from './helpers/comm-world.js';

const RANKS = [1, 2, 3, 4, 5, 8];
const SMALL_COUNTS = [0, 1, 7, 1000];
const BIG = 2 ** 20 + 3;

for (const size of RANKS) {
  test(`allReduce: ${size} ranks, counts ${SMALL_COUNTS.join('/')}, every dtype, op, placement and algorithm`, async () => {
    // Small chunks, so that even 1000 elements travel as many pipelined chunks.
    const comms = await createWorld(size, { chunkBytes: 64, pipelineDepth: 3 });
    try {
      for (const count of SMALL_COUNTS) {
        for (const dtype of DTYPES) {
          for (const op of opsFor(dtype)) {
            for (const algorithm of ['ring', 'tree', 'mesh'] as const) {
              for (const inPlace of [false, true]) await checkAllReduce(comms, count, dtype, op, inPlace, algorithm);
            }
          }
        }
      }
    } finally {
      await destroyWorld(comms);
    }
  });
}

for (const size of RANKS) {
  test(`allReduce: ${size} ranks, direct exchange (auto under a threshold), counts ${SMALL_COUNTS.join('/')}, every dtype, op and placement`, async () => {
    // A threshold above every count here: 'auto' picks the direct exchange for all of them.
    const comms = await createWorld(size, { directThresholdBytes: 2 ** 30 });
    try {
      for (const count of SMALL_COUNTS) {
        for (const dtype of DTYPES) {
          for (const op of opsFor(dtype)) {
            for (const inPlace of [false, true]) await checkAllReduce(comms, count, dtype, op, inPlace, 'auto');
          }
        }
      }
    } finally {
      await destroyWorld(comms);
    }
  });
}

test('allReduce: the mesh (auto under its threshold, 3-5 ranks) matches the oracle, every rank the same bits, 2^20+3 elements', async () => {
  for (const size of [3, 5]) {
    const comms = await createWorld(size, { meshThresholdBytes: 1 << 30 });
    try {
      for (const comm of comms) assert.is(selectAlgorithm('allReduce', 4 * BIG, size, comm.config), 'mesh');
      for (const [dtype, op] of [['float32', 'sum'], ['bfloat16', 'avg'], ['int32', 'max']] as const) await checkAllReduce(comms, BIG, dtype, op, size === 3, 'auto');
      const count = 1000;
      const bufs = comms.map((_, r) => Float32Array.from({ length: count }, (_, i) => Math.fround(1 / (1 + i + 7 * r))));
      await Promise.all(comms.map((c, r) => c.allReduce(bufs[r]!, bufs[r]!, count, 'float32', 'sum')));
      for (let r = 1; r < size; r++) sameElements(bufs[r]!, bufs[0]!, `rank ${r} vs rank 0`);
    } finally {
      await destroyWorld(comms);
    }
  }
});

test('allReduce: direct exchange results are bit-identical on every rank (rank-order fold)', async () => {
  // Inexact float sums: a different fold order on some rank would show as differing bits.
  const comms = await createWorld(5, { directThresholdBytes: 2 ** 30 });
  try {
    const count = 4096;
    const sends = comms.map((c) => Float32Array.from({ length: count }, (_, i) => Math.sin(i * 7.1 + c.rank * 13.3) * 10 ** ((i + c.rank) % 9)));
    await Promise.all(comms.map((c, r) => c.allReduce(sends[r]!, sends[r]!, count, 'float32', 'sum')));
    for (const r of [1, 2, 3, 4]) sameElements(sends[r]!, sends[0]!, `rank ${r} vs rank 0`);
  } finally {
    await destroyWorld(comms);
  }
});

test(`allReduce: 2^20+3 elements, ring and tree, a subset of ranks, dtypes and ops`, async () => {
  for (const size of [2, 5, 8]) {
    const comms = await createWorld(size);
    try {
      for (const [dtype, op] of [['float32', 'sum'], ['bfloat16', 'avg'], ['int32', 'max'], ['float16', 'sum']] as const) {
        const algorithm = size === 5 && dtype !== 'float32' ? 'tree' : dtype === 'int32' ? 'tree' : 'ring';
        await checkAllReduce(comms, BIG, dtype, op, size !== 5, algorithm);
      }
    } finally {
      await destroyWorld(comms);
    }
  }
});

test('allReduce: auto picks by size and every rank agrees', async () => {
  const comms = await createWorld(3, { treeThresholdBytes: 1024, directThresholdBytes: 64 });
  try {
    for (const count of [2, 8, 9, 10, 256, 257, 5000]) await checkAllReduce(comms, count, 'float32', 'sum', false, 'auto');
    assert.is(comms[1]!.config.treeThresholdBytes, 1024);
    assert.is(comms[1]!.config.directThresholdBytes, 64);
  } finally {
    await destroyWorld(comms);
  }
});

test('allReduce: rank 0 configuration is the one every rank uses', async () => {
  const { getUniqueId, Communicator } = await import('../lib/comm/communicator.js');
  const id = await getUniqueId({ transport: 'inproc' });
  const comms = await Promise.all([0, 1, 2].map((rank) => Communicator.init({
    id, rank, size: 3, chunkBytes: rank === 0 ? 128 : 4096, algorithm: rank === 0 ? 'tree' : 'ring',
  })));
  try {
    for (const comm of comms) assert.equal(comm.config.chunkBytes, 128);
    for (const comm of comms) assert.is(comm.config.algorithm, 'tree');
    await checkAllReduce(comms, 777, 'int32', 'sum', true, 'auto');
  } finally {
    await destroyWorld(comms);
  }
});

test.run();
