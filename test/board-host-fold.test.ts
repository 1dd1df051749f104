// The board allreduce from host buffers (native/src/board.cc, Board::publishes, fold's sources):
// a large in-place allreduce whose view lies in a host buffer publishes it and copies nothing
// into its lane; every rank folds that rank's elements straight from its buffer, chunk by chunk,
// and the reduced slices go through the lanes as before (every rank with one, or only some). The oracle bit for bit (2 and 4 ranks, every dtype, sum and
// avg/max/prod, counts at the threshold, just over it and over several lane buffers, in and out
// of place) with the path counted; a mix of ranks; an owner that overwrites its buffer as soon as
// its call resolves does not reach a slow peer; a freed buffer is InvalidArgument.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Communicator } from '../lib/index.node.js';
import { elementBytes, type DataType, type ElementArray, type ReduceOp } from '../lib/dtype.js';
import { WebcclError } from '../lib/errors.js';
import { BOARD_BUFFER_BYTES } from '../lib/transport/board.js';
import { destroyWorld, DTYPES, inputFor, oracleReduce, sameElements } from './helpers/comm-world.js';
import { hostBufferMemory } from './helpers/host-buffer-memory.js';
import { addon, boardWorld, counters, folds, type Placement } from './helpers/board-host-world.js';
import { raceSlowReader } from './helpers/slow-board-reader.js';
import { rejection, within } from './within.js';

/** One allreduce over `comms`, each rank's buffers placed as `placed(rank)` says, checked against the oracle bit for bit. */
async function checkAllReduce(comms: readonly Communicator[], count: number, dtype: DataType, op: ReduceOp, placed: (rank: number) => Placement): Promise<void> {
  const inputs = comms.map((_, rank) => inputFor(dtype, op, rank, count));
  const expected = oracleReduce(inputs, count, dtype, op);
  const memories = comms.map((comm) => hostBufferMemory(comm));
  const place = (rank: number, inHost: boolean, data: ElementArray) => (inHost ? memories[rank]!.place(data) : data.slice());
  const sends = inputs.map((input, rank) => place(rank, placed(rank).send, input));
  const recvs = inputs.map((input, rank) => (placed(rank).inPlace ? sends[rank]! : place(rank, placed(rank).recv, input.map(() => 0) as ElementArray)));
  const label = `${comms.length} ranks ${dtype} ${String(op)} count ${count}`;
  await within(Promise.all(comms.map((comm, rank) => comm.allReduce(sends[rank]!, recvs[rank]!, count, dtype, op))), 30_000, label);
  for (const [rank, recv] of recvs.entries()) {
    sameElements(recv, expected, `${label} rank ${rank} ${JSON.stringify(placed(rank))}`);
    if (!placed(rank).inPlace) sameElements(sends[rank]!, inputs[rank]!, `${label} rank ${rank}'s send buffer changed`);
  }
  for (const memory of memories) memory.freeAll();
}

const PLACEMENTS: readonly (Placement & { direct: boolean })[] = [
  { inPlace: true, send: true, recv: true, direct: true },
  // The communicator copies send into recv and reduces there: recv's host buffer is what publishes.
  { inPlace: false, send: false, recv: true, direct: true },
  { inPlace: false, send: true, recv: false, direct: false },
];

test('allReduce from host buffers matches the oracle bit for bit: 2 and 4 ranks, every dtype, sum and avg/max/prod, at the threshold (lanes), just over and over 2.5 lane buffers (direct), in and out of place; the direct path counted', async () => {
  for (const size of [2, 4]) {
    const comms = await boardWorld(size);
    try {
      const before = counters();
      let direct = 0;
      for (const dtype of DTYPES) {
        const e = elementBytes(dtype);
        const floats = dtype !== 'int32' && dtype !== 'uint32';
        for (const count of [BOARD_BUFFER_BYTES / e, BOARD_BUFFER_BYTES / e + 17, Math.floor((2.5 * BOARD_BUFFER_BYTES) / e) + 7]) {
          const ops: ReduceOp[] = count === BOARD_BUFFER_BYTES / e + 17 ? ['sum', ...(floats ? ['avg', 'max', 'prod'] as const : [])] : ['sum'];
          for (const op of ops) {
            for (const placement of PLACEMENTS) {
              await checkAllReduce(comms, count, dtype, op, () => placement);
              if (placement.direct && folds(count * e)) direct++;
            }
          }
        }
      }
      const after = counters();
      // Every rank counts each direct call once; none was mixed.
      assert.is(after.hostBufferCalls - before.hostBufferCalls, size * direct, `direct calls at ${size} ranks`);
      assert.is(after.hostBufferMixedCalls - before.hostBufferMixedCalls, 0, `no mixed call at ${size} ranks`);
    } finally {
      await destroyWorld(comms);
    }
    assert.is(addon.hostBufferCount!(), 0, 'every host buffer freed');
  }
});

test('only some ranks with host buffers: the others fold their elements from there, the slices through the lanes (one chunk and several, in and out of place), counted as mixed', async () => {
  const comms = await boardWorld(3);
  try {
    for (const count of [BOARD_BUFFER_BYTES / 4 + 5, Math.floor((2.5 * BOARD_BUFFER_BYTES) / 4) + 1]) {
      for (const inPlace of [true, false]) {
        const before = counters();
        await checkAllReduce(comms, count, 'float32', 'avg', (rank) => ({ inPlace, send: rank === 1, recv: rank === 1 }));
        const after = counters();
        assert.is(after.hostBufferMixedCalls - before.hostBufferMixedCalls, 3, `one mixed call per rank (count ${count}, ${inPlace ? 'in place' : 'out of place'})`);
        assert.is(after.hostBufferCalls - before.hostBufferCalls, 0, 'none direct');
      }
    }
  } finally {
    await destroyWorld(comms);
  }
});

test('an owner returns only once its peers folded its elements: rank 0 overwriting its host buffer as soon as its allReduce resolves does not reach a slow rank 1', async () => {
  // Rank 1 sleeps 1 s before it maps its peer's buffer and folds from it: the owner's call
  // must not resolve before that fold of its last chunk, or rank 1 folds the overwritten elements.
  await raceSlowReader('slow-gather', { collective: 'allReduce', dtype: 'uint32', op: 'sum', average: false }, 1);
});

test('a freed host buffer given to a board allReduce is InvalidArgument saying so', async () => {
  const comms = await boardWorld(2);
  try {
    const count = BOARD_BUFFER_BYTES / 2;
    const buffers = comms.map((comm) => new Float32Array(comm.allocHostBuffer(count * 4)));
    for (const [rank, comm] of comms.entries()) comm.freeHostBuffer(buffers[rank]!);
    const error = await rejection(comms[0]!.allReduce(buffers[0]!, buffers[0]!, count, 'float32', 'sum'), 10_000, 'an allReduce on a freed view');
    assert.instance(error, WebcclError);
    assert.is((error as WebcclError).code, 'InvalidArgument');
    assert.match(error.message, /host buffer that was freed \(freeHostBuffer\)/);
  } finally {
    await destroyWorld(comms);
  }
});

test.run();
