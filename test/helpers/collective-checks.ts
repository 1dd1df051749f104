// The collective checks shared by the communicator suites (inproc and websocket): each runs one
// call on every rank of a world and compares every rank's result with the serial oracle.
import type { Communicator } from '../../lib/comm/communicator.js';
import type { DataType, ElementArray, ReduceOp } from '../../lib/dtype.js';
import { allocate, inputFor, opLabel, oracleReduce, sameElements } from './comm-world.js';

export const ALGORITHMS = ['ring', 'tree'] as const;
export type Algorithm = (typeof ALGORITHMS)[number];

export async function checkAllReduce(
  comms: readonly Communicator[], count: number, dtype: DataType, op: ReduceOp, inPlace: boolean, algorithm: 'ring' | 'tree' | 'auto',
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

export async function checkBroadcast(comms: readonly Communicator[], count: number, dtype: DataType, root: number, inPlace: boolean, algorithm: Algorithm | 'board') {
  const data = inputFor(dtype, 'sum', root, count, 3);
  const sends = comms.map((c) => (c.rank === root ? data.slice() : allocate(dtype, count)));
  const recvs = inPlace ? sends : comms.map(() => allocate(dtype, count));
  await Promise.all(comms.map((c, r) => c.broadcast(sends[r]!, recvs[r]!, count, dtype, root, { algorithm })));
  const label = `broadcast n=${comms.length} count=${count} ${dtype} root=${root} ${inPlace ? 'in-place' : 'out-of-place'} ${algorithm}`;
  recvs.forEach((recv, r) => sameElements(recv, data, `${label} rank ${r}`));
}

export async function checkReduce(comms: readonly Communicator[], count: number, dtype: DataType, op: ReduceOp, root: number, inPlace: boolean, algorithm: Algorithm | 'board') {
  const inputs = comms.map((c) => inputFor(dtype, op, c.rank, count));
  const expected = oracleReduce(inputs, count, dtype, op);
  const sends = inputs.map((input) => input.slice());
  const recvs = inPlace ? sends : comms.map(() => allocate(dtype, count));
  const before = recvs.map((recv) => recv.slice());
  await Promise.all(comms.map((c, r) => c.reduce(sends[r]!, recvs[r]!, count, dtype, op, root, { algorithm })));
  const label = `reduce n=${comms.length} count=${count} ${dtype} ${opLabel(op)} root=${root} ${inPlace ? 'in-place' : 'out-of-place'} ${algorithm}`;
  recvs.forEach((recv, r) => sameElements(recv, r === root ? expected : before[r]!, `${label} rank ${r}`));
  if (!inPlace) sends.forEach((send, r) => sameElements(send, inputs[r]!, `${label} rank ${r} send buffer changed`));
}

export async function checkAllGather(comms: readonly Communicator[], count: number, dtype: DataType, inPlace: boolean) {
  const n = comms.length;
  const inputs = comms.map((c) => inputFor(dtype, 'sum', c.rank, count, 5));
  const expected = allocate(dtype, n * count);
  inputs.forEach((input, r) => expected.set(input, r * count));
  const recvs = comms.map(() => allocate(dtype, n * count));
  const sends = comms.map((c, r) => {
    if (!inPlace) return inputs[r]!.slice();
    block(recvs[r]!, r, count).set(inputs[r]!);
    return block(recvs[r]!, r, count);
  });
  await Promise.all(comms.map((c, r) => c.allGather(sends[r]!, recvs[r]!, count, dtype)));
  const label = `allGather n=${n} count=${count} ${dtype} ${inPlace ? 'in-place' : 'out-of-place'}`;
  recvs.forEach((recv, r) => sameElements(recv, expected, `${label} rank ${r}`));
}

export async function checkReduceScatter(comms: readonly Communicator[], count: number, dtype: DataType, op: ReduceOp, inPlace: boolean) {
  const n = comms.length;
  const inputs = comms.map((c) => inputFor(dtype, op, c.rank, n * count, 7));
  const expected = oracleReduce(inputs, n * count, dtype, op);
  const sends = inputs.map((input) => input.slice());
  const recvs = comms.map((c, r) => (inPlace ? block(sends[r]!, r, count) : allocate(dtype, count)));
  await Promise.all(comms.map((c, r) => c.reduceScatter(sends[r]!, recvs[r]!, count, dtype, op)));
  const label = `reduceScatter n=${n} count=${count} ${dtype} ${opLabel(op)} ${inPlace ? 'in-place' : 'out-of-place'}`;
  recvs.forEach((recv, r) => sameElements(recv, block(expected, r, count), `${label} rank ${r}`));
  if (!inPlace) sends.forEach((send, r) => sameElements(send, inputs[r]!, `${label} rank ${r} send buffer changed`));
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
