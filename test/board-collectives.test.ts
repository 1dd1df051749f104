// The board's other collectives (lib/collectives/board-{reducescatter,allgather,broadcast,reduce}.ts
// over native/src/board.cc) on the shm world: the oracle bit for bit across 1-4 ranks, every
// dtype and op, counts 0, 1, odd and several chunks, in and out of place; ranks running
// different calls get InvalidUsage; a rank SIGKILLed mid-call is named by the survivors and
// nothing stays in /dev/shm; worlds without a board refuse it for every collective.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Communicator, getUniqueId } from '../lib/index.node.js';
import type { DataType } from '../lib/dtype.js';
import { WebcclError } from '../lib/errors.js';
import { BOARD_BUFFER_BYTES, type BoardHost } from '../lib/transport/board.js';
import { connectInproc } from '../lib/transport/inproc.js';
import { checkAllGather, checkBroadcast, checkReduce, checkReduceScatter, rootsOf } from './helpers/collective-checks.js';
import { createWorld, destroyWorld, DTYPES, elementBytes, inputFor, opsFor, oracleReduce, sameElements } from './helpers/comm-world.js';
import { requireAddon, shmLeftovers } from './helpers/native-transports.js';
import { killMidAllReduce } from './helpers/processes-native-suite.js';
import { killLeftoverRanks } from './helpers/rank-process.js';
import { within } from './within.js';
import { chooseAlgorithm, DEFAULT_DIRECT_THRESHOLD_BYTES, DEFAULT_TREE_THRESHOLD_BYTES } from '../lib/tune/select.js';

requireAddon('shm');
test.after(killLeftoverRanks);

/** Elements of `dtype` in `buffers` of the board's 1 MiB buffers, and 7 more (a ragged last chunk). */
const chunked = (dtype: DataType, buffers: number) => Math.floor((buffers * BOARD_BUFFER_BYTES) / elementBytes(dtype)) + 7;

/** A world whose calls all run on the board (the communicator's algorithm, not each call's). */
async function boardWorld(size: number): Promise<{ id: string; comms: Communicator[] }> {
  const id = await getUniqueId({ transport: 'shm' });
  const comms = await Promise.all(Array.from({ length: size }, (_, rank) => Communicator.init({ id, rank, size, timeoutMs: 20_000, algorithm: 'board' })));
  return { id, comms };
}

test('reduceScatter, allGather, broadcast and reduce on the board match the oracle bit for bit: 1-4 ranks, every dtype, op and root, counts 0, 1, odd, several chunks, in and out of place; /dev/shm clean after', async () => {
  for (const size of [1, 2, 3, 4]) {
    const { id, comms } = await boardWorld(size);
    let flip = false;
    for (const dtype of DTYPES) {
      for (const count of [0, 1, 1001]) {
        await within((async () => {
          await checkAllGather(comms, count, dtype, (flip = !flip));
          for (const op of opsFor(dtype)) await checkReduceScatter(comms, count, dtype, op, (flip = !flip));
          for (const root of rootsOf(size)) {
            await checkBroadcast(comms, count, dtype, root, (flip = !flip), 'board');
            for (const op of opsFor(dtype)) await checkReduce(comms, count, dtype, op, root, (flip = !flip), 'board');
          }
        })(), 20_000, `${size} ranks ${dtype} count ${count}`);
      }
      // Two chunks, the last ragged (1.3 buffers: reduce-scatter's chunk is a buffer's n-th of each
      // block, the others' a whole buffer). The chunking depends on the element size only: one
      // 4-byte and one 2-byte dtype (every dtype's folds ran above).
      if (size === 1 || (dtype !== 'float32' && dtype !== 'bfloat16')) continue;
      await within((async () => {
        await checkAllGather(comms, chunked(dtype, 1.3), dtype, (flip = !flip));
        await checkReduceScatter(comms, chunked(dtype, 1.3 / size), dtype, 'avg', (flip = !flip));
        await checkBroadcast(comms, chunked(dtype, 1.3), dtype, size - 1, (flip = !flip), 'board');
        await checkReduce(comms, chunked(dtype, 1.3), dtype, 'avg', 1, (flip = !flip), 'board');
      })(), 30_000, `${size} ranks ${dtype} two chunks`);
    }
    await destroyWorld(comms);
    assert.equal(shmLeftovers(id), [], `${size} ranks: nothing left in /dev/shm`);
  }
});

test('reduceScatter out of place on the board: recv apart from send is written straight (send untouched), recv overlapping another block of send goes through scratch; both match the oracle', async () => {
  const { comms } = await boardWorld(3);
  const count = chunked('float32', 0.4);
  for (const op of ['sum', 'avg'] as const) await within(checkReduceScatter(comms, count, 'float32', op, false), 20_000, `apart ${op}`);
  const inputs = comms.map((c) => inputFor('float32', 'sum', c.rank, 3 * count, 5));
  const expected = oracleReduce(inputs, 3 * count, 'float32', 'sum');
  const sends = inputs.map((input) => input.slice());
  // Rank r's recv is block r + 1 of its own send buffer: neither in place nor apart.
  const recvs = sends.map((send, r) => send.subarray(((r + 1) % 3) * count, ((r + 1) % 3 + 1) * count));
  await within(Promise.all(comms.map((c, r) => c.reduceScatter(sends[r]!, recvs[r]!, count, 'float32', 'sum'))), 20_000, 'overlapping');
  for (let r = 0; r < 3; r++) sameElements(recvs[r]!, expected.subarray(r * count, (r + 1) * count), `rank ${r}: recv over block ${(r + 1) % 3} of send`);
  await destroyWorld(comms);
});

test('tune() on a board world times reduceScatter and allGather against the ring (each on buffers of its own shape), agreed on every rank; the calls stay exact after', async () => {
  const id = await getUniqueId({ transport: 'shm' });
  const comms = await Promise.all([0, 1, 2].map((rank) => Communicator.init({ id, rank, size: 3, timeoutMs: 20_000 })));
  try {
    const count = 3001;
    await within((async () => {
      await checkReduceScatter(comms, count, 'float32', 'sum', false);
      await checkAllGather(comms, count, 'float32', false);
      const tuned = await Promise.all(comms.map((comm) => comm.tune({ warmCalls: 1, rounds: 2, blockSeconds: 0.002 })));
      for (const mine of tuned) assert.equal(mine, tuned[0]);
      assert.equal(tuned[0]!.map((t) => [t.collective, t.count, t.bytes]), [['reduceScatter', count, 4 * count], ['allGather', count, 4 * count]]);
      for (const outcome of tuned[0]!) {
        assert.equal(outcome.seconds.map((c) => c.algorithm).sort(), ['board', 'ring'], JSON.stringify(outcome));
        assert.is(outcome.previous, 'board');
        assert.ok(outcome.seconds.every((c) => c.seconds > 0), JSON.stringify(outcome));
      }
      await checkReduceScatter(comms, count, 'float32', 'sum', true);
      await checkAllGather(comms, count, 'float32', true);
    })(), 30_000, 'tune on 3 shm ranks');
  } finally {
    await destroyWorld(comms);
  }
});

test('board: a group of different collectives runs them one after another on the board, in call order', async () => {
  const { comms } = await boardWorld(3);
  const count = 70_001;
  const inputs = comms.map((_, r) => inputFor('float32', 'sum', r, 3 * count, 9));
  const sums = inputs.map((input) => input.slice());
  const scattered = comms.map(() => new Float32Array(count));
  const gathered = comms.map(() => new Float32Array(3 * count));
  const cast = comms.map((_, r) => (r === 2 ? inputs[2]!.slice(0, count) : new Float32Array(count)));
  await within(Promise.all(comms.map((c, r) => {
    c.groupStart();
    void c.allReduce(sums[r]!, sums[r]!, 3 * count, 'float32', 'sum');
    void c.reduceScatter(inputs[r]!, scattered[r]!, count, 'float32', 'sum');
    void c.allGather(inputs[r]!.subarray(0, count), gathered[r]!, count, 'float32');
    void c.broadcast(cast[r]!, cast[r]!, count, 'float32', 2);
    return c.groupEnd();
  })), 20_000, 'the group');
  const total = oracleReduce(inputs, 3 * count, 'float32', 'sum');
  for (let r = 0; r < 3; r++) {
    sameElements(sums[r]!, total, `allReduce rank ${r}`);
    sameElements(scattered[r]!, total.subarray(r * count, (r + 1) * count), `reduceScatter rank ${r}`);
    for (let from = 0; from < 3; from++) sameElements(gathered[r]!.subarray(from * count, (from + 1) * count), inputs[from]!.subarray(0, count), `allGather rank ${r} block ${from}`);
    sameElements(cast[r]!, inputs[2]!.subarray(0, count), `broadcast rank ${r}`);
  }
  await destroyWorld(comms);
});

test('board: ranks running different collectives, or one with another root, get InvalidUsage naming the other rank', async () => {
  const cases: readonly [string, (c: Communicator, r: number) => Promise<void>][] = [
    ['reduceScatter vs allGather', (c, r) => (r === 0 ? c.reduceScatter(new Float32Array(20), new Float32Array(10), 10, 'float32', 'sum') : c.allGather(new Float32Array(10), new Float32Array(20), 10, 'float32'))],
    ['reduce with roots 0 and 1', (c, r) => c.reduce(new Float32Array(10), new Float32Array(10), 10, 'float32', 'sum', r, { algorithm: 'board' })],
    ['broadcast vs allReduce', (c, r) => (r === 0 ? c.broadcast(new Float32Array(10), new Float32Array(10), 10, 'float32', 0, { algorithm: 'board' }) : c.allReduce(new Float32Array(10), new Float32Array(10), 10, 'float32', 'sum', { algorithm: 'board' }))],
  ];
  for (const [label, call] of cases) {
    const { comms } = await boardWorld(2);
    const errors = await within(Promise.all(comms.map((c, r) => call(c, r).then(() => undefined, (error: unknown) => error as WebcclError))), 10_000, label);
    for (const [r, error] of errors.entries()) {
      assert.instance(error, WebcclError, `${label}: rank ${r}`);
      assert.is(error!.code, 'InvalidUsage', `${label}: ${error!.message}`);
      assert.match(error!.message, /rank [01] runs another call/, label);
    }
    await destroyWorld(comms);
  }
});

test('board refuses every collective in worlds without one (tcp): InvalidArgument naming what it needs, with no effect', async () => {
  const comms = await createWorld(2, { timeoutMs: 10_000 }, 'tcp');
  const buf = new Float32Array(8);
  const refusals = [
    comms[0]!.broadcast(buf, buf, 8, 'float32', 0, { algorithm: 'board' }),
    comms[0]!.reduce(buf, buf, 8, 'float32', 'sum', 0, { algorithm: 'board' }),
    // Named per call too (calibration times each of the board's collectives so).
    comms[0]!.allGather(buf.subarray(0, 4), buf, 4, 'float32', { algorithm: 'board' }),
    comms[0]!.reduceScatter(buf, buf.subarray(0, 4), 4, 'float32', 'sum', { algorithm: 'board' }),
  ];
  for (const refused of refusals) {
    const error = await refused.then(() => undefined, (e: unknown) => e as WebcclError);
    assert.instance(error, WebcclError);
    assert.is(error!.code, 'InvalidArgument');
    assert.match(error!.message, /board algorithm needs ranks that share one host's memory: the shm transport/);
  }
  await destroyWorld(comms);
  // Named for the whole communicator: allGather and reduceScatter are refused alike.
  const named = await createWorld(2, { timeoutMs: 10_000, algorithm: 'board' }, 'tcp');
  for (const refused of [named[0]!.allGather(buf.subarray(0, 4), buf, 4, 'float32'), named[0]!.reduceScatter(buf, buf.subarray(0, 4), 4, 'float32', 'sum')]) {
    const error = await refused.then(() => undefined, (e: unknown) => e as WebcclError);
    assert.is(error?.code, 'InvalidArgument', String(error?.message));
    assert.match(error!.message, /board algorithm needs ranks that share one host's memory/);
  }
  await destroyWorld(named);
});

test("'auto' picks the board for host calls of every collective it serves where there is one; never for GPU buffers, without one, or alone; a named ring still runs the ring", () => {
  const config = { algorithm: 'auto', treeThresholdBytes: DEFAULT_TREE_THRESHOLD_BYTES, directThresholdBytes: DEFAULT_DIRECT_THRESHOLD_BYTES };
  for (const collective of ['reduceScatter', 'allGather', 'broadcast', 'reduce'] as const) {
    const call = { dtype: 'float32' as const, ...(collective.startsWith('reduce') && { op: 'sum' as const }) };
    for (const ranks of [2, 4]) {
      for (const bytes of [8, 64 << 10, 16 << 20]) {
        const label = `${collective} ${bytes} B at ${ranks} ranks`;
        assert.is(chooseAlgorithm(collective, bytes, ranks, config, undefined, { ...call, board: true }).algorithm, 'board', label);
        assert.is.not(chooseAlgorithm(collective, bytes, ranks, config, undefined, call).algorithm, 'board', `${label}, no board`);
        assert.is.not(chooseAlgorithm(collective, bytes, ranks, config, undefined, { ...call, board: true }, undefined, 'gpu').algorithm, 'board', `${label}, GPU buffers`);
        assert.is(chooseAlgorithm(collective, bytes, ranks, config, 'ring', { ...call, board: true }).algorithm, 'ring', `${label}, ring named`);
      }
    }
    assert.is.not(chooseAlgorithm(collective, 8, 1, config, undefined, { ...call, board: true }).algorithm, 'board', `${collective}: a world of one`);
    assert.throws(() => chooseAlgorithm(collective, 8, 2, config, 'board', call), /board algorithm needs ranks that share one host's memory/, `${collective}: named without one`);
  }
});

test('board availability is agreed at init: ranks whose transports differ fail init with InvalidArgument naming them; shm worlds agree on one, tcp on none', async () => {
  // A board host no call opens (init only asks whether there is one).
  const host: BoardHost = { open: () => { throw new Error('not opened in this test'); } };
  const name = `board-agreement-${Math.random()}`;
  const transports = [0, 1, 2].map((rank) => Object.assign(connectInproc(name, rank, 3), rank === 1 ? {} : { board: host }));
  const errors = await within(Promise.all(transports.map((transport, rank) => Communicator.init({ rank, size: 3, transport, timeoutMs: 5000 })
    .then((comm) => comm, (error: unknown) => error as WebcclError))), 10_000, 'init with boards on ranks 0 and 2 only');
  for (const [rank, error] of errors.entries()) {
    assert.instance(error, WebcclError, `rank ${rank} fails init`);
    assert.is((error as WebcclError).code, 'InvalidArgument', (error as WebcclError).message);
    assert.match((error as WebcclError).message, /ranks 0, 2 has a collective board .* but that of rank 1 has none/);
  }
  await Promise.all(transports.map((t) => t.close()));
  const shm = await createWorld(2, { timeoutMs: 10_000 }, 'shm');
  for (const comm of shm) assert.is(comm.config.board, true, 'shm: every rank has a board');
  await destroyWorld(shm);
  const tcp = await createWorld(2, { timeoutMs: 10_000 }, 'tcp');
  for (const comm of tcp) assert.is(comm.config.board, undefined, 'tcp: none');
  await destroyWorld(tcp);
});

for (const collective of ['reduceScatter', 'allGather', 'broadcast', 'reduce'] as const) {
  test(`board: a rank SIGKILLed mid-${collective} makes the others reject promptly naming it, gives back threads and descriptors, leaves no /dev/shm name`, async () => {
    const id = await getUniqueId({ transport: 'shm', host: '127.0.0.1' });
    const env = { VICTIM_COLLECTIVE: collective, VICTIM_ALGO: 'board', WEBCCL_ALGO: 'board', VICTIM_FLOATS: String(3 * 2 ** 19) };
    await killMidAllReduce(id, 3, 1, env, /rank 1 \(process \d+\) died|peer process \d+ died/);
  });
}

test.run();
