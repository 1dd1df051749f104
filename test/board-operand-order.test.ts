// The board's fold keeps the oracle's operand order, x0 ⊕ x1 ⊕ … ⊕ xn-1, where the order shows
// in the bits: a NaN meeting another NaN or a number (the first operand's, quieted, wins) and
// min/max ties between +0 and -0 (the first operand wins), against the CPU oracle's n-ary fold
// (which follows the same NaN rule, lib/cpu/reduction.ts). Ordinary inputs (small integers)
// cannot tell x0 ⊕ x1 from x1 ⊕ x0; these can, so a fold that combined its first two sources
// the other way round, or read its running result where it had already overwritten a source,
// fails here. Allreduce in and out of place, reduce at two roots and reduce-scatter in and out
// of place, at 2-4 ranks, one-arrival and chunked sizes (odd counts), the three float dtypes.
import { test } from 'uvu';
import '../lib/index.node.js';
import type { Communicator } from '../lib/index.node.js';
import type { DataType, ElementArray, ReduceOp } from '../lib/dtype.js';
import { BOARD_BUFFER_BYTES } from '../lib/transport/board.js';
import { allocate, createWorld, destroyWorld, oracleReduce, sameElements } from './helpers/comm-world.js';
import { requireAddon } from './helpers/native-transports.js';
import { killLeftoverRanks } from './helpers/rank-process.js';
import { within } from './within.js';

requireAddon('shm');
test.after(killLeftoverRanks);

const FLOATS: readonly DataType[] = ['float32', 'float16', 'bfloat16'];
const OPS: readonly ReduceOp[] = ['sum', 'prod', 'min', 'max'];

/** Bits of a NaN with payload `p` (1 .. 31): quiet or signalling, either sign. */
function nanBits(dtype: DataType, p: number, signalling: boolean, negative: boolean): number {
  if (dtype === 'float32') return ((negative ? 0x80000000 : 0) | (signalling ? 0x7f800000 : 0x7fc00000) | p) >>> 0;
  if (dtype === 'float16') return (negative ? 0x8000 : 0) | (signalling ? 0x7c00 : 0x7e00) | p;
  return (negative ? 0x8000 : 0) | (signalling ? 0x7f80 : 0x7fc0) | p;
}

function zeroBits(dtype: DataType, negative: boolean): number {
  return negative ? (dtype === 'float32' ? 0x80000000 : 0x8000) : 0;
}

function numberBits(dtype: DataType, k: number): number {
  const f32 = [0x3f800000, 0xbf800000, 0x40000000, 0x3f000000][k % 4]!;
  return dtype === 'float32' ? f32 : dtype === 'bfloat16' ? f32 >>> 16 : [0x3c00, 0xbc00, 0x4000, 0x3800][k % 4]!;
}

/**
 * `count` elements of rank `rank` whose kind is the same on every rank at an index: NaNs on
 * every rank with the rank in the payload (the first operand's wins each step), signed zeros
 * that differ between ranks (min and max keep the first of a tie), NaNs on some ranks only, numbers.
 */
function orderSensitive(dtype: DataType, rank: number, count: number): ElementArray {
  const out = allocate(dtype, count);
  const bits = bitsOf(dtype, out);
  for (let i = 0; i < count; i++) {
    const odd = (rank + i) % 2 === 1;
    switch (i % 4) {
      case 0: bits[i] = nanBits(dtype, 1 + rank + 8 * (i % 3), (i >> 2) % 2 === 1, odd); break;
      case 1: bits[i] = zeroBits(dtype, odd); break;
      case 2: bits[i] = (rank + (i >> 2)) % 3 === 0 ? nanBits(dtype, 2 + rank, odd, false) : numberBits(dtype, rank + i); break;
      default: bits[i] = numberBits(dtype, rank * 3 + (i >> 2));
    }
  }
  return out;
}

function bitsOf(dtype: DataType, array: ElementArray): Uint32Array | Uint16Array {
  return dtype === 'float32' ? new Uint32Array(array.buffer, array.byteOffset, array.length) : (array as Uint16Array);
}

function counts(dtype: DataType, ranks: number): number[] {
  const size = dtype === 'float32' ? 4 : 2;
  // One arrival ((n - 1) x bytes within 64 KiB), and two and a half buffers (chunked, a ragged last chunk).
  return [1001, Math.floor((2.5 * BOARD_BUFFER_BYTES) / size / ranks) * ranks + ranks];
}

async function allReduceCase(comms: readonly Communicator[], dtype: DataType, op: ReduceOp, count: number, inPlace: boolean): Promise<void> {
  const inputs = comms.map((c) => orderSensitive(dtype, c.rank, count));
  const sends = inputs.map((input) => input.slice());
  const recvs = inPlace ? sends : comms.map(() => allocate(dtype, count));
  await within(Promise.all(comms.map((c, r) => c.allReduce(sends[r]!, recvs[r]!, count, dtype, op, { algorithm: 'board' }))), 20_000, `allReduce ${dtype} ${op} ${count}`);
  const expected = oracleReduce(inputs, inputs[0]!.length, dtype, op);
  const label = `allReduce ${comms.length} ranks ${dtype} ${op} count ${count} ${inPlace ? 'in place' : 'out of place'}`;
  recvs.forEach((recv, r) => sameElements(recv, expected, `${label}, rank ${r}`));
  if (!inPlace) sends.forEach((send, r) => sameElements(send, inputs[r]!, `${label}, rank ${r}'s send buffer`));
}

async function reduceCase(comms: readonly Communicator[], dtype: DataType, op: ReduceOp, count: number, root: number): Promise<void> {
  const inputs = comms.map((c) => orderSensitive(dtype, c.rank, count));
  const sends = inputs.map((input) => input.slice());
  await within(Promise.all(comms.map((c, r) => c.reduce(sends[r]!, sends[r]!, count, dtype, op, root, { algorithm: 'board' }))), 20_000, `reduce ${dtype} ${op} ${count}`);
  sameElements(sends[root]!, oracleReduce(inputs, count, dtype, op), `reduce ${comms.length} ranks ${dtype} ${op} count ${count} root ${root}`);
}

async function reduceScatterCase(comms: readonly Communicator[], dtype: DataType, op: ReduceOp, count: number, inPlace: boolean): Promise<void> {
  const n = comms.length;
  const inputs = comms.map((c) => orderSensitive(dtype, c.rank, n * count));
  const sends = inputs.map((input) => input.slice());
  const recvs = comms.map((_, r) => (inPlace ? sends[r]!.subarray(r * count, (r + 1) * count) : allocate(dtype, count)));
  await within(Promise.all(comms.map((c, r) => c.reduceScatter(sends[r]!, recvs[r]!, count, dtype, op, { algorithm: 'board' }))), 20_000, `reduceScatter ${dtype} ${op} ${count}`);
  const expected = oracleReduce(inputs, inputs[0]!.length, dtype, op);
  recvs.forEach((recv, r) => sameElements(recv, expected.subarray(r * count, (r + 1) * count), `reduceScatter ${n} ranks ${dtype} ${op} count ${count} ${inPlace ? 'in place' : 'out of place'}, rank ${r}`));
}

test('board folds in rank order where the order shows in the bits (NaN payloads, signed-zero ties): allreduce, reduce, reduce-scatter; 2-4 ranks; in and out of place', async () => {
  for (const ranks of [2, 3, 4]) {
    const comms = await createWorld(ranks, { timeoutMs: 20_000 }, 'shm');
    let flip = false;
    try {
      for (const dtype of FLOATS) {
        for (const op of OPS) {
          for (const count of counts(dtype, ranks)) {
            await allReduceCase(comms, dtype, op, count, true);
            await allReduceCase(comms, dtype, op, count, false);
            await reduceCase(comms, dtype, op, count, (flip = !flip) ? 0 : ranks - 1);
            await reduceScatterCase(comms, dtype, op, Math.floor(count / ranks), flip);
          }
        }
      }
    } finally {
      await destroyWorld(comms);
    }
  }
});

test.run();
