// The board's reduceScatter, allGather, broadcast and reduce on GPU buffers (a real WebGPU
// device: lavapipe in CI): an explicit `algorithm: 'board'` stages them through host bytes
// (lib/collectives/board-run.ts) and they must match the serial oracle bit for bit, in and out
// of place, for a 4-byte and a 2-byte dtype, with a count of several board buffers. The board
// allReduce on GPU buffers is in test/comm-gpu.test.ts.
import { test } from 'uvu';
import { premulSum, type DataType } from '../lib/dtype.js';
import { BOARD_BUFFER_BYTES } from '../lib/transport/board.js';
import '../lib/index.node.js'; // registers the webccl+shm:// world
import { checkAllGather, checkBroadcast, checkReduce, checkReduceScatter } from './helpers/collective-checks.js';
import { createWorld, destroyWorld, elementBytes } from './helpers/comm-world.js';
import { device } from './helpers/gpu.js';
import { gpuCheckMemory } from './helpers/gpu-ranges.js';
import { requireAddon } from './helpers/native-transports.js';
import { within } from './within.js';

requireAddon('shm');

/** Elements of `dtype` in `buffers` of the board's 1 MiB buffers, and 7 more (odd: a ragged last chunk). */
const chunked = (dtype: DataType, buffers: number) => Math.floor((buffers * BOARD_BUFFER_BYTES) / elementBytes(dtype)) + 7;
const even = (elements: number) => 2 * Math.ceil(elements / 2);

test('board on GPU buffers: reduceScatter, allGather, broadcast and reduce match the oracle bit for bit, in and out of place, float32 and bfloat16, one and several chunks', async () => {
  const size = 3;
  // The world's algorithm: allGather and reduceScatter take no per-call one.
  const comms = await createWorld(size, { device, timeoutMs: 30_000, algorithm: 'board' }, 'shm');
  const memory = gpuCheckMemory();
  try {
    for (const dtype of ['float32', 'bfloat16'] as const) {
      for (const count of [1001, chunked(dtype, 1.3)]) {
        // Blocks are even: a GPU block of a 2-byte dtype fills whole words. Reduce-scatter's chunk
        // is a buffer's n-th of each block, allgather's a buffer of one: blocks of a third and
        // of all of `count` take two chunks at the larger count.
        for (const inPlace of [false, true]) {
          await within((async () => {
            await checkReduceScatter(comms, even(count / size), dtype, 'avg', inPlace, memory);
            await checkAllGather(comms, even(count), dtype, inPlace, memory);
            await checkBroadcast(comms, count, dtype, size - 1, inPlace, 'board', memory);
            await checkReduce(comms, count, dtype, inPlace ? premulSum(0.5) : 'max', 1, inPlace, 'board', memory);
          })(), 60_000, `${dtype} count ${count} ${inPlace ? 'in place' : 'out of place'}`);
          memory.destroy();
        }
      }
    }
  } finally {
    memory.destroy();
    await destroyWorld(comms);
  }
});

test.run();
