// The board reduce from host buffers (native/src/board.cc, Board::publishes, fold's sources;
// lib/comm/plans.ts planReduce): a large reduce whose rank's view lies in a host buffer publishes
// it and copies nothing into its lane; every rank folds that rank's elements straight from its
// buffer, chunk by chunk, the reduced slices reach the root through the lanes, and a non-root
// runs on its send buffer itself (no scratch copy). The oracle bit for bit, and the same bits as
// plain arrays (the lanes): 2, 3 and 4 ranks, roots 0 and the last, every dtype and op, counts 0,
// 1, odd, at the threshold (lanes), just over it and over several lane buffers, in and out of
// place, with the path counted; a mix of ranks; a non-root owner that overwrites its buffer as
// soon as its call resolves does not reach a slow root.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Communicator } from '../lib/index.node.js';
import { elementBytes, type DataType, type ElementArray, type ReduceOp } from '../lib/dtype.js';
import { BOARD_BUFFER_BYTES } from '../lib/transport/board.js';
import { destroyWorld, DTYPES, inputFor, opLabel, opsFor, oracleReduce, sameElements } from './helpers/comm-world.js';
import { addon, boardWorld, counters, folds, type Placement } from './helpers/board-host-world.js';
import { raceSlowReader } from './helpers/slow-board-reader.js';
import { within } from './within.js';

/**
 * One reduce over `comms` to `root`, each rank's buffers placed as `placed(rank)` says (a
 * non-root passes no recv), checked against the oracle bit for bit; returns the root's result.
 */
async function checkReduce(comms: readonly Communicator[], count: number, dtype: DataType, op: ReduceOp, root: number, placed: (rank: number) => Placement): Promise<ElementArray> {
  const inputs = comms.map((_, rank) => inputFor(dtype, op, rank, count));
  const expected = oracleReduce(inputs, count, dtype, op);
  const owned: { comm: Communicator; data: ElementArray }[] = [];
  const place = (rank: number, inHost: boolean, data: ElementArray): ElementArray => {
    // A host buffer of no bytes is none: a count of 0 passes a plain array.
    if (!inHost || data.byteLength === 0) return data.slice();
    const Kind = data.constructor as new (buffer: ArrayBuffer) => ElementArray;
    const put = new Kind(comms[rank]!.allocHostBuffer(data.byteLength));
    put.set(data);
    owned.push({ comm: comms[rank]!, data: put });
    return put;
  };
  const sends = inputs.map((input, rank) => place(rank, placed(rank).send, input));
  const recvs = inputs.map((input, rank) => (rank !== root ? null : placed(rank).inPlace ? sends[rank]! : place(rank, placed(rank).recv, input.map(() => 0) as ElementArray)));
  const label = `${comms.length} ranks ${dtype} ${opLabel(op)} count ${count} root ${root}`;
  try {
    await within(Promise.all(comms.map((comm, rank) => comm.reduce(sends[rank]!, recvs[rank]!, count, dtype, op, root))), 30_000, label);
    sameElements(recvs[root]!, expected, `${label} ${JSON.stringify(placed(root))}`);
    // A non-root's send buffer (the board's view now) and an out-of-place root's stay as given.
    for (const [rank, send] of sends.entries()) if (rank !== root || !placed(rank).inPlace) sameElements(send, inputs[rank]!, `${label} rank ${rank}'s send buffer changed`);
    return recvs[root]!.slice();
  } finally {
    for (const { comm, data } of owned) comm.freeHostBuffer(data);
  }
}

/** `direct`: every rank's view in a host buffer; otherwise only the root's (a mixed call). */
const PLACEMENTS: readonly (Placement & { direct: boolean })[] = [
  { inPlace: true, send: true, recv: true, direct: true },
  // The root's communicator copies send into recv and reduces there: recv's host buffer is what it publishes.
  { inPlace: false, send: true, recv: true, direct: true },
  { inPlace: false, send: false, recv: true, direct: false },
];
const PLAIN: Placement = { inPlace: false, send: false, recv: false };

test('reduce from host buffers matches the oracle and plain arrays bit for bit: 2, 3 and 4 ranks, roots 0 and the last, every dtype and op just over the threshold, counts 0, 1, odd, at the threshold and over 2.5 lane buffers, in and out of place; the direct path counted', async () => {
  for (const size of [2, 3, 4]) {
    const comms = await boardWorld(size);
    try {
      const before = counters();
      let direct = 0, mixed = 0;
      for (const root of [0, size - 1]) {
        for (const dtype of DTYPES) {
          const e = elementBytes(dtype);
          const over = BOARD_BUFFER_BYTES / e + 17;
          // Every op just over the threshold (the new path), the same bits as plain arrays (the lanes).
          for (const op of opsFor(dtype)) {
            const lanes = await checkReduce(comms, over, dtype, op, root, () => PLAIN);
            const placement = PLACEMENTS[0]!;
            sameElements(await checkReduce(comms, over, dtype, op, root, () => placement), lanes, `${size} ranks ${dtype} ${opLabel(op)} root ${root}: host buffers against plain arrays`);
            // premulSum scales a copy first: a non-root's send buffer is not the board's view then,
            // and only the root's host buffer publishes.
            if (typeof op === 'string') direct++;
            else mixed++;
          }
          if (dtype !== 'float32' && dtype !== 'int32') continue;
          const counts = [0, 1, 1001, BOARD_BUFFER_BYTES / e, over, Math.floor((2.5 * BOARD_BUFFER_BYTES) / e) + 7];
          for (const count of counts) {
            for (const placement of PLACEMENTS) {
              await checkReduce(comms, count, dtype, dtype === 'float32' ? 'avg' : 'max', root, () => placement);
              if (folds(count * e) && placement.direct) direct++;
              else if (folds(count * e)) mixed++;
            }
          }
        }
      }
      const after = counters();
      // Every rank counts each direct or mixed call once.
      assert.is(after.hostBufferCalls - before.hostBufferCalls, size * direct, `direct calls at ${size} ranks`);
      assert.is(after.hostBufferMixedCalls - before.hostBufferMixedCalls, size * mixed, `mixed calls at ${size} ranks`);
    } finally {
      await destroyWorld(comms);
    }
    assert.is(addon.hostBufferCount!(), 0, 'every host buffer freed');
  }
});

test('only some ranks with host buffers: the others fold their elements from there and the lanes, counted as mixed (the root with one and without)', async () => {
  const comms = await boardWorld(3);
  try {
    for (const count of [BOARD_BUFFER_BYTES / 4 + 5, Math.floor((2.5 * BOARD_BUFFER_BYTES) / 4) + 1]) {
      for (const root of [0, 1]) {
        const before = counters();
        await checkReduce(comms, count, 'float32', 'sum', root, (rank) => ({ inPlace: true, send: rank === 1, recv: rank === 1 }));
        const after = counters();
        assert.is(after.hostBufferMixedCalls - before.hostBufferMixedCalls, 3, `one mixed call per rank (count ${count}, root ${root})`);
        assert.is(after.hostBufferCalls - before.hostBufferCalls, 0, 'none direct');
      }
    }
  } finally {
    await destroyWorld(comms);
  }
});

test('a non-root owner returns only once the root folded its elements: rank 1 overwriting its host buffer as soon as its reduce resolves does not reach a slow root', async () => {
  // Rank 0 sleeps 1 s before it maps rank 1's buffer and again before it folds the last chunk
  // (board.cc's test hook), so rank 1, past the last chunk's input arrival, would return and
  // overwrite its buffer while the root has yet to read it: with the non-root's wait removed
  // this fails (rank 0's elements read 0xdead + 1).
  await raceSlowReader('slow-root', { collective: 'reduce', dtype: 'uint32', op: 'sum', average: false, root: 0 }, 0);
});

test.run();
