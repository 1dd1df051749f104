// Shared by the communicator suites of the switch's hierarchies (host-local, two levels): every
// rank's allReduce at once, and a split child of the first three ranks checked against the oracle.
import type { Communicator } from '../../lib/comm/communicator.js';
import type { DataType, ElementArray, ReduceOp } from '../../lib/dtype.js';
import { allocate, oracleReduce, sameElements } from './comm-world.js';
import { within } from '../within.js';

/** Each rank's allReduce of its input, all at once; the outputs in rank order. */
export async function allReduceAll(comms: readonly Communicator[], inputs: readonly ElementArray[], dtype: DataType, op: ReduceOp): Promise<ElementArray[]> {
  const outputs = inputs.map((input) => allocate(dtype, input.length));
  await within(Promise.all(comms.map((c, r) => c.allReduce(inputs[r]!, outputs[r]!, inputs[r]!.length, dtype, op))), 60_000, `${dtype} ${String(op)}`);
  return outputs;
}

/** Splits ranks 0-2 off `comms`, checks their int32 sum of `ints[0..2]` exactly, and returns the child (the caller destroys it). */
export async function splitFirstThreeAndSum(comms: readonly Communicator[], ints: readonly Int32Array[]): Promise<Communicator[]> {
  const children = await within(Promise.all(comms.map((c) => c.split(c.rank < 3 ? 1 : null))), 30_000, 'split');
  const members = children.filter((c): c is Communicator => c !== null);
  const inputs = ints.slice(0, 3);
  const out = await allReduceAll(members, inputs, 'int32', 'sum');
  for (const [r, o] of out.entries()) sameElements(o, oracleReduce(inputs, inputs[0]!.length, 'int32', 'sum'), `child rank ${r}`);
  return members;
}
