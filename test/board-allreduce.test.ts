// The board algorithm (lib/collectives/board-allreduce.ts over native/src/board.cc) on the shm
// world: the oracle (rank-order folds, bit for bit) across 1-4 ranks, every dtype and op, empty,
// one, odd and multi-chunk counts, in and out of place; bit-identical to the direct exchange
// (same fold order); mismatched calls are InvalidUsage; a rank SIGKILLed mid-call makes the
// others reject promptly, leaving nothing in /dev/shm; worlds without a board refuse it.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import '../lib/index.node.js';
import { getUniqueId } from '../lib/index.node.js';
import { premulSum, type DataType, type ReduceOp } from '../lib/dtype.js';
import { WebcclError } from '../lib/errors.js';
import { chooseAlgorithm, DEFAULT_DIRECT_THRESHOLD_BYTES, DEFAULT_TREE_THRESHOLD_BYTES } from '../lib/tune/select.js';
import { BOARD_BUFFER_BYTES } from '../lib/transport/board.js';
import { candidates } from '../lib/tune/model.js';
import { DEFAULT_COST_PARAMS } from '../lib/tune/params.js';
import { allocate, createWorld, destroyWorld, inputFor, oracleReduce, sameElements } from './helpers/comm-world.js';
import { requireAddon, shmLeftovers } from './helpers/native-transports.js';
import { killMidAllReduce } from './helpers/processes-native-suite.js';
import { killLeftoverRanks } from './helpers/rank-process.js';
import { within } from './within.js';
import { checkReduce } from './helpers/collective-checks.js';

requireAddon('shm');
test.after(killLeftoverRanks);

const DTYPES: readonly DataType[] = ['float32', 'float16', 'bfloat16', 'int32', 'uint32'];
const OPS: readonly ReduceOp[] = ['sum', 'prod', 'min', 'max', 'avg'];

async function check(comms: Awaited<ReturnType<typeof createWorld>>, dtype: DataType, op: ReduceOp, count: number, inPlace: boolean, algorithm = 'board') {
  const inputs = comms.map((_, rank) => inputFor(dtype, typeof op === 'string' ? op : 'sum', rank, count));
  const sends = inputs.map((input) => input.slice());
  const recvs = inputs.map((input) => (inPlace ? undefined : allocate(dtype, count)));
  await within(Promise.all(comms.map((c, r) => c.allReduce(sends[r]!, recvs[r] ?? sends[r]!, count, dtype, op, { algorithm }))), 20_000, `${algorithm} ${dtype} ${String(op)} ${count}`);
  const expected = oracleReduce(inputs, count, dtype, op);
  const name = typeof op === 'string' ? op : 'premulSum';
  for (let r = 0; r < comms.length; r++) sameElements(recvs[r] ?? sends[r]!, expected, `${comms.length} ranks, rank ${r}: ${dtype} ${name} count ${count}${inPlace ? ' in place' : ''}`);
  if (!inPlace) for (let r = 0; r < comms.length; r++) sameElements(sends[r]!, inputs[r]!, `rank ${r}'s send buffer is untouched`);
  return recvs.map((recv, r) => recv ?? sends[r]!);
}

test('board matches the oracle bit for bit: 1-4 ranks, every dtype and op, counts 0, 1, odd, several chunks, in and out of place; /dev/shm clean after', async () => {
  for (const size of [1, 2, 3, 4]) {
    const id = await getUniqueId({ transport: 'shm' });
    const comms = await Promise.all(Array.from({ length: size }, (_, rank) => import('../lib/index.node.js').then(({ Communicator }) => Communicator.init({ id, rank, size, timeoutMs: 20_000 }))));
    let flip = false;
    for (const dtype of DTYPES) {
      const ops: ReduceOp[] = [...OPS, ...(dtype === 'int32' || dtype === 'uint32' ? [] : [premulSum(0.375)])];
      for (const op of ops) {
        for (const count of [0, 1, 1001]) await check(comms, dtype, op, count, (flip = !flip));
      }
      // Several 1 MiB chunks (the sliced path, one arrival a chunk) with a ragged last one; 64 KiB (one chunk, sliced).
      const chunked = Math.floor((2.5 * BOARD_BUFFER_BYTES) / (dtype === 'float16' || dtype === 'bfloat16' ? 2 : 4)) + 7;
      if (size > 1) for (const op of ['avg', 'max'] as const) await check(comms, dtype, op, chunked, (flip = !flip));
      await check(comms, dtype, 'sum', 16_411, (flip = !flip));
    }
    await destroyWorld(comms);
    assert.equal(shmLeftovers(id), [], `${size} ranks: nothing left in /dev/shm`);
  }
});

test('board chunking at 3 ranks (slices of unequal units): counts at and across the small-call bound and one, two and three buffers, allreduce and reduce (roots 0 and 2), two dtypes, in and out of place', async () => {
  const id = await getUniqueId({ transport: 'shm' });
  const comms = await Promise.all([0, 1, 2].map((rank) => import('../lib/index.node.js').then(({ Communicator }) => Communicator.init({ id, rank, size: 3, timeoutMs: 20_000 }))));
  let flip = false;
  for (const dtype of ['float32', 'bfloat16'] as const) {
    const size = dtype === 'float32' ? 4 : 2;
    const buffer = BOARD_BUFFER_BYTES / size;
    // (n - 1) x bytes within 64 KiB is one arrival (board.cc's kSmallBytes); a buffer and more is several chunks of equal length.
    const small = (64 << 10) / 2 / size;
    for (const count of [small, small + 1, buffer - 1, buffer, buffer + 1, 2 * buffer + 5, 3 * buffer - 17]) {
      await check(comms, dtype, 'avg', count, (flip = !flip));
      for (const root of [0, 2]) await within(checkReduce(comms, count, dtype, 'sum', root, (flip = !flip), 'board'), 20_000, `reduce ${dtype} ${count} root ${root}`);
    }
  }
  await destroyWorld(comms);
  assert.equal(shmLeftovers(id), [], 'nothing left in /dev/shm');
});

test('board is bit-identical to the direct exchange (the same rank-order folds) and matches the ring on integers', async () => {
  const comms = await createWorld(3, { timeoutMs: 20_000 }, 'shm');
  for (const [dtype, count] of [['float32', 1001], ['float16', 5000], ['bfloat16', 3]] as const) {
    const board = await check(comms, dtype, 'sum', count, true);
    const direct = await check(comms, dtype, 'sum', count, true, 'direct');
    for (let r = 0; r < 3; r++) sameElements(board[r]!, direct[r]!, `rank ${r} ${dtype}: board vs direct`);
  }
  const board = await check(comms, 'int32', 'sum', 300_001, false);
  const ring = await check(comms, 'int32', 'sum', 300_001, false, 'ring');
  for (let r = 0; r < 3; r++) sameElements(board[r]!, ring[r]!, `rank ${r}: board vs ring (int32)`);
  await destroyWorld(comms);
});

test('board: calls of a group run one after another on the board, in call order (empty, small and chunked ones mixed)', async () => {
  const comms = await createWorld(3, { timeoutMs: 20_000 }, 'shm');
  const counts = [1001, 0, 700_001, 5, 300_000];
  const inputs = counts.map((count, c) => comms.map((_, rank) => inputFor('float32', 'sum', rank, count, c + 2)));
  const bufs = inputs.map((perRank) => perRank.map((input) => input.slice()));
  await within(Promise.all(comms.map((comm, r) => {
    comm.groupStart();
    for (const [c, count] of counts.entries()) void comm.allReduce(bufs[c]![r]!, bufs[c]![r]!, count, 'float32', 'sum', { algorithm: 'board' });
    return comm.groupEnd();
  })), 20_000, 'the group');
  for (const [c, count] of counts.entries()) {
    const expected = oracleReduce(inputs[c]!, count, 'float32', 'sum');
    for (let r = 0; r < 3; r++) sameElements(bufs[c]![r]!, expected, `call ${c} (count ${count}) rank ${r}`);
  }
  await destroyWorld(comms);
});

test('board: split communicators of one world get boards of their own (two pairs at once, then the parent)', async () => {
  const comms = await createWorld(4, { timeoutMs: 20_000 }, 'shm');
  const pairs = (await Promise.all(comms.map((c) => c.split(c.rank % 2)))).map((child) => child!);
  const count = 70_001;
  const inputs = pairs.map((_, r) => inputFor('float32', 'avg', r, count));
  const bufs = inputs.map((input) => input.slice());
  await within(Promise.all(pairs.map((c, r) => c.allReduce(bufs[r]!, bufs[r]!, count, 'float32', 'avg', { algorithm: 'board' }))), 20_000, 'both pairs');
  for (const color of [0, 1]) {
    const members = [color, color + 2];
    const expected = oracleReduce(members.map((r) => inputs[r]!), count, 'float32', 'avg');
    for (const r of members) sameElements(bufs[r]!, expected, `pair ${color}, world rank ${r}`);
  }
  await check(comms, 'float32', 'sum', 1001, true);
  await destroyWorld(pairs);
  await destroyWorld(comms);
});

test('board: mismatched counts are InvalidUsage on every rank, not a timeout', async () => {
  const comms = await createWorld(2, { timeoutMs: 20_000 }, 'shm');
  const bufs = comms.map(() => new Float32Array(20));
  const errors = await within(Promise.all(comms.map((c, r) => c.allReduce(bufs[r]!, bufs[r]!, r === 1 ? 10 : 20, 'float32', 'sum', { algorithm: 'board' })
    .then(() => undefined, (error: unknown) => error as WebcclError))), 5000, 'every rank rejects');
  for (const error of errors) {
    assert.instance(error, WebcclError);
    assert.is(error!.code, 'InvalidUsage', error!.message);
    assert.match(error!.message, /runs another call/);
  }
  await destroyWorld(comms);
});

test('board refuses worlds without one (tcp, inproc): InvalidArgument naming what it needs; auto never picks it there', async () => {
  for (const transport of ['tcp', 'inproc'] as const) {
    const comms = await createWorld(2, { timeoutMs: 10_000 }, transport);
    const buf = new Float32Array(8);
    const error = await comms[0]!.allReduce(buf, buf, 8, 'float32', 'sum', { algorithm: 'board' }).then(() => undefined, (e: unknown) => e as WebcclError);
    assert.instance(error, WebcclError, transport);
    assert.is(error!.code, 'InvalidArgument');
    assert.match(error!.message, /board algorithm needs ranks that share one host's memory: the shm transport/);
    // The refused call had no effect: the communicator still works under 'auto'.
    const data = comms.map((_, r) => Float32Array.of(r + 1, 2));
    await within(Promise.all(comms.map((c, r) => c.allReduce(data[r]!, data[r]!, 2, 'float32', 'sum'))), 10_000, `${transport} auto`);
    assert.equal([...data[0]!], [3, 4]);
    await destroyWorld(comms);
  }
});

test("'auto' picks the board for host allreduces where the transport has one, never for GPU buffers or without one", () => {
  const config = { algorithm: 'auto', treeThresholdBytes: DEFAULT_TREE_THRESHOLD_BYTES, directThresholdBytes: DEFAULT_DIRECT_THRESHOLD_BYTES };
  const call = { dtype: 'float32', op: 'sum' } as const;
  for (const bytes of [8, 64 << 10, 16 << 20]) {
    assert.is(chooseAlgorithm('allReduce', bytes, 4, config, undefined, { ...call, board: true }).algorithm, 'board', `${bytes} B`);
    assert.is.not(chooseAlgorithm('allReduce', bytes, 4, config, undefined, call).algorithm, 'board');
    assert.is.not(chooseAlgorithm('allReduce', bytes, 4, config, undefined, { ...call, board: true }, undefined, 'gpu').algorithm, 'board');
  }
  assert.is.not(chooseAlgorithm('allReduce', 8, 1, config, undefined, { ...call, board: true }).algorithm, 'board', 'a world of one has nothing to share');
  // At 2 ranks the board takes the direct exchange's sizes too (8 B-32 KiB), and every larger one.
  for (const bytes of [8, 32 << 10, 16 << 20]) assert.is(chooseAlgorithm('allReduce', bytes, 2, config, undefined, { ...call, board: true }).algorithm, 'board', `${bytes} B at 2 ranks`);
  assert.is(chooseAlgorithm('allReduce', 8, 2, config, undefined, call).algorithm, 'direct', '8 B at 2 ranks without a board');
  assert.throws(() => chooseAlgorithm('allReduce', 8, 2, config, 'board', call), /board algorithm needs ranks that share one host's memory/);
  // A tuning file that did not time the board (calibration does not yet) keeps it for host calls,
  // with the model's price; one that did lets the model choose.
  const tuned = (betaCurves: Record<string, readonly { linkBytes: number; beta: number }[]>) => ({ ...config, tuning: { digest: 'test', params: { ...DEFAULT_COST_PARAMS, betaCurves } } });
  for (const bytes of [8, 16 << 20]) {
    const choice = chooseAlgorithm('allReduce', bytes, 4, tuned({}), undefined, { ...call, board: true });
    assert.is(choice.algorithm, 'board', `${bytes} B, a file without the board`);
    assert.ok(choice.predicted! > 0, `${bytes} B: the model's price of the board`);
    assert.is.not(chooseAlgorithm('allReduce', bytes, 4, tuned({}), undefined, call).algorithm, 'board', `${bytes} B, no board`);
  }
  const dear = chooseAlgorithm('allReduce', 16 << 20, 4, tuned({ board: [{ linkBytes: 1 << 20, beta: 1e-3 }] }), undefined, { ...call, board: true });
  assert.is.not(dear.algorithm, 'board', 'a file that measured the board 1000x dearer lets the model pass it over');
  // The cost model prices it (a formula beside the schedule) only where the call says there is a board.
  for (const bytes of [8, 16 << 20]) {
    const priced = (board: boolean) => candidates({ collective: 'allReduce', bytes, ranks: 4, chunkBytes: 1 << 20 }, DEFAULT_COST_PARAMS, { aggregator: false, call: { ...call, board } }).map((c) => c.algorithm);
    assert.ok(priced(true).includes('board'), `${bytes} B with a board`);
    assert.not.ok(priced(false).includes('board'), `${bytes} B without`);
  }
});

test('board: a rank SIGKILLed mid-allReduce makes the others reject promptly naming it, gives back threads and descriptors, leaves no /dev/shm name', async () => {
  const id = await getUniqueId({ transport: 'shm', host: '127.0.0.1' });
  // Rank 1's death is seen on the board (its pidfd) or by the shm transport: either names it.
  await killMidAllReduce(id, 3, 1, { VICTIM_ALGO: 'board', VICTIM_FLOATS: String(2 ** 20) }, /rank 1 \(process \d+\) died|peer process \d+ died/);
});

test('board: a rank SIGKILLed while its peer spins for up to a second on small calls is still named within the timeout', async () => {
  // The JS thread's spin is bounded (WEBCCL_BOARD_SPIN_US, here 100,000x the default): what the
  // dead rank never finishes goes to the board thread, whose pidfd check names it. A spin that
  // ignored its bound would hold the survivor's event loop and never reject.
  const id = await getUniqueId({ transport: 'shm', host: '127.0.0.1' });
  await killMidAllReduce(id, 2, 1, { VICTIM_ALGO: 'board', VICTIM_FLOATS: '2', WEBCCL_BOARD_SPIN_US: '1000000' }, /rank 1 \(process \d+\) died|peer process \d+ died/);
});

test.run();
