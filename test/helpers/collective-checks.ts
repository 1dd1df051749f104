// The collective checks shared by the communicator suites (inproc and websocket): each runs one
// call on every rank of a world and compares every rank's result with the serial oracle. The
// broadcast, reduce, allGather and reduceScatter checks take the memory their buffers live in:
// host arrays unless told otherwise, GPU buffers through test/helpers/gpu-ranges.ts.
import type { Communicator } from '../../lib/comm/communicator.js';
import type { CommBuffer } from '../../lib/memory/buffers.js';
import type { DataType, ElementArray, ReduceOp } from '../../lib/dtype.js';
import { allocate, inputFor, opLabel, oracleReduce, sameElements } from './comm-world.js';

export const ALGORITHMS = ['ring', 'tree'] as const;
export type Algorithm = (typeof ALGORITHMS)[number];

export async function checkAllReduce(
  comms: readonly Communicator[], count: number, dtype: DataType, op: ReduceOp, inPlace: boolean, algorithm: 'ring' | 'tree' | 'mesh' | 'auto',
): Promise<void> {
  const inputs = comms.map((c) => inputFor(dtype, op, c.rank, count));
  const expected = oracleReduce(inputs, count, dtype, op);
  const sends = inputs.map((input) => input.slice());
  const recvs = inPlace ? sends : comms.map(() => allocate(dtype, count));
  await Promise.all(comms.map((c, r) => c.allReduce(sends[r]!, recvs[r]!, count, dtype, op, { algorithm })));
  const label = `allReduce n=${comms.length} count=${count} ${dtype} ${opLabel(op)} ${inPlace ? 'in-place' : 'out-of-place'} ${algorithm}`;
  comms.forEach((c, r) => {
    sameElements(recvs[r]!, expected, `${label} rank ${r}`);
    if (!inPlace) sameElements(sends[r]!, inputs[r]!, `${label} rank ${r} send buffer changed`);
  });
}

export function rootsOf(size: number): number[] {
  return [...new Set([0, size - 1, Math.floor(size / 2)])];
}

function block(array: ElementArray, index: number, count: number): ElementArray {
  return array.subarray(index * count, (index + 1) * count);
}

/** Where a check's buffers live. */
export interface CheckMemory<B extends CommBuffer> {
  /** A new buffer holding a copy of `data`. */
  place(data: ElementArray): B;
  /** Block `index` of `count` elements of `buffer`: a view, so that a call writing it writes the buffer. */
  block(buffer: B, dtype: DataType, index: number, count: number): B;
  /** The first `count` elements of `buffer` as host elements. */
  read(buffer: B, dtype: DataType, count: number): Promise<ElementArray>;
}

export const HOST_MEMORY: CheckMemory<ElementArray> = {
  place: (data) => data.slice(),
  block: (buffer, _dtype, index, count) => block(buffer, index, count),
  read: async (buffer, _dtype, count) => buffer.subarray(0, count),
};

/** Every rank's `buffers` read back and compared with `expected(rank)`. */
async function sameOnEveryRank(
  memory: CheckMemory<CommBuffer>, buffers: readonly CommBuffer[], dtype: DataType, expected: (rank: number) => ElementArray, label: string,
): Promise<void> {
  for (const [r, buffer] of buffers.entries()) {
    const want = expected(r);
    sameElements(await memory.read(buffer, dtype, want.length), want, `${label} rank ${r}`);
  }
}

export async function checkBroadcast(
  comms: readonly Communicator[], count: number, dtype: DataType, root: number, inPlace: boolean, algorithm: Algorithm | 'board',
  memory: CheckMemory<CommBuffer> = HOST_MEMORY,
) {
  const data = inputFor(dtype, 'sum', root, count, 3);
  const sends = comms.map((c) => memory.place(c.rank === root ? data : allocate(dtype, count)));
  const recvs = inPlace ? sends : comms.map(() => memory.place(allocate(dtype, count)));
  await Promise.all(comms.map((c, r) => c.broadcast(sends[r]!, recvs[r]!, count, dtype, root, { algorithm })));
  const label = `broadcast n=${comms.length} count=${count} ${dtype} root=${root} ${inPlace ? 'in-place' : 'out-of-place'} ${algorithm}`;
  await sameOnEveryRank(memory, recvs, dtype, () => data, label);
}

export async function checkReduce(
  comms: readonly Communicator[], count: number, dtype: DataType, op: ReduceOp, root: number, inPlace: boolean, algorithm: Algorithm | 'board',
  memory: CheckMemory<CommBuffer> = HOST_MEMORY,
) {
  const inputs = comms.map((c) => inputFor(dtype, op, c.rank, count));
  const expected = oracleReduce(inputs, count, dtype, op);
  const sends = inputs.map((input) => memory.place(input));
  // What each receive buffer held before the call: off the root it must still hold it after.
  const before = inPlace ? inputs : comms.map(() => allocate(dtype, count));
  const recvs = inPlace ? sends : before.map((initial) => memory.place(initial));
  await Promise.all(comms.map((c, r) => c.reduce(sends[r]!, recvs[r]!, count, dtype, op, root, { algorithm })));
  const label = `reduce n=${comms.length} count=${count} ${dtype} ${opLabel(op)} root=${root} ${inPlace ? 'in-place' : 'out-of-place'} ${algorithm}`;
  await sameOnEveryRank(memory, recvs, dtype, (r) => (r === root ? expected : before[r]!), label);
  if (!inPlace) await sameOnEveryRank(memory, sends, dtype, (r) => inputs[r]!, `${label} send buffer changed`);
}

export async function checkAllGather(
  comms: readonly Communicator[], count: number, dtype: DataType, inPlace: boolean,
  memory: CheckMemory<CommBuffer> = HOST_MEMORY,
) {
  const n = comms.length;
  const inputs = comms.map((c) => inputFor(dtype, 'sum', c.rank, count, 5));
  const expected = allocate(dtype, n * count);
  inputs.forEach((input, r) => expected.set(input, r * count));
  const recvs = comms.map((c, r) => {
    const initial = allocate(dtype, n * count);
    if (inPlace) initial.set(inputs[r]!, r * count);
    return memory.place(initial);
  });
  const sends = comms.map((c, r) => (inPlace ? memory.block(recvs[r]!, dtype, r, count) : memory.place(inputs[r]!)));
  await Promise.all(comms.map((c, r) => c.allGather(sends[r]!, recvs[r]!, count, dtype)));
  const label = `allGather n=${n} count=${count} ${dtype} ${inPlace ? 'in-place' : 'out-of-place'}`;
  await sameOnEveryRank(memory, recvs, dtype, () => expected, label);
}

export async function checkReduceScatter(
  comms: readonly Communicator[], count: number, dtype: DataType, op: ReduceOp, inPlace: boolean,
  memory: CheckMemory<CommBuffer> = HOST_MEMORY,
) {
  const n = comms.length;
  const inputs = comms.map((c) => inputFor(dtype, op, c.rank, n * count, 7));
  const expected = oracleReduce(inputs, n * count, dtype, op);
  const sends = inputs.map((input) => memory.place(input));
  const recvs = comms.map((c, r) => (inPlace ? memory.block(sends[r]!, dtype, r, count) : memory.place(allocate(dtype, count))));
  await Promise.all(comms.map((c, r) => c.reduceScatter(sends[r]!, recvs[r]!, count, dtype, op)));
  const label = `reduceScatter n=${n} count=${count} ${dtype} ${opLabel(op)} ${inPlace ? 'in-place' : 'out-of-place'}`;
  await sameOnEveryRank(memory, recvs, dtype, (r) => block(expected, r, count), label);
  if (!inPlace) await sameOnEveryRank(memory, sends, dtype, (r) => inputs[r]!, `${label} send buffer changed`);
}

export async function checkAllToAll(comms: readonly Communicator[], count: number, dtype: DataType, inPlace: boolean) {
  const n = comms.length;
  const inputs = comms.map((c) => inputFor(dtype, 'sum', c.rank, n * count, 11));
  const sends = inputs.map((input) => input.slice());
  const recvs = inPlace ? sends : comms.map(() => allocate(dtype, n * count));
  await Promise.all(comms.map((c, r) => c.allToAll(sends[r]!, recvs[r]!, count, dtype)));
  const label = `allToAll n=${n} count=${count} ${dtype} ${inPlace ? 'in-place' : 'out-of-place'}`;
  recvs.forEach((recv, r) => {
    for (let from = 0; from < n; from++) sameElements(block(recv, from, count), block(inputs[from]!, r, count), `${label} rank ${r} block from ${from}`);
  });
}
