// webccl/tfjs refuses bad input on every rank before any data moves: a disposed or non-float32
// tensor on one rank (that rank InvalidArgument, the others RemoteError naming it), and ranks
// whose lists differ in names, shapes, order or options (InvalidUsage everywhere). The spy shows
// that only the agreement's allGather ran; the communicator keeps working afterwards.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { allReduceGradients } from '../lib/tfjs/gradients.js';
import { broadcastVariables } from '../lib/tfjs/broadcast.js';
import { createWorld, destroyWorld } from './helpers/comm-world.js';
import { named, rankTensors, rejectsOnEveryRank, SHAPES, spy, tf } from './helpers/tfjs.js';
import type { Communicator } from '../lib/comm/communicator.js';

await tf.setBackend('cpu');

const comms = await createWorld(3);
const spies = comms.map(spy);

/** Runs one refused call on every rank, checks nothing but the agreement ran, then a good call still works. */
async function refused(make: (rank: number) => tf.NamedTensorMap | tf.Tensor[], codes: string[], pattern: RegExp, options: (rank: number) => object = () => ({})): Promise<void> {
  for (const s of spies) s.calls.length = 0;
  const lists = comms.map((_, r) => make(r));
  await rejectsOnEveryRank(comms.map((comm, r) => allReduceGradients(comm, lists[r]!, options(r))), codes, pattern);
  for (const s of spies) assert.equal(s.calls, ['allGather:host:6'], 'data moved after a refused agreement');
  const good = comms.map((_, r) => rankTensors(r));
  const results = await Promise.all(comms.map((comm: Communicator, r) => allReduceGradients(comm, good[r]!)));
  tf.dispose([...results.flat(), ...good.flat()]);
}

test('a disposed tensor on rank 2: rank 2 InvalidArgument naming it, ranks 0 and 1 RemoteError naming rank 2', async () => {
  await refused((r) => {
    const list = named(rankTensors(r));
    if (r === 2) list['g3']!.dispose();
    return list;
  }, ['RemoteError', 'RemoteError', 'InvalidArgument'], /rank 2: tensor #3 is disposed.*nothing was exchanged/);
});

test('an int32 tensor on rank 0: every rank rejects, naming rank 0 and the dtype', async () => {
  await refused((r) => {
    const list = rankTensors(r);
    if (r === 0) list[1] = tf.tensor([1, 2, 3, 4, 5], [5], 'int32');
    return list;
  }, ['InvalidArgument', 'RemoteError', 'RemoteError'], /rank 0: tensor #1 is not float32/);
});

test('different shapes, names, order, or options: InvalidUsage on every rank', async () => {
  const usage = ['InvalidUsage', 'InvalidUsage', 'InvalidUsage'];
  // A shape: rank 1's last tensor has 301 elements.
  await refused((r) => named(rankTensors(r, r === 1 ? [...SHAPES.slice(0, 4), [301]] : SHAPES)), usage,
    /different tensor lists.*rank 0 has 5 tensors of 363 elements, rank 1 has 5 tensors of 364 elements/);
  // A name: same shapes, rank 2 calls g4 'bias'.
  await refused((r) => named(rankTensors(r), r === 2 ? ['g0', 'g1', 'g2', 'g3', 'bias'] : undefined), usage, /names, shapes, dtypes or order/);
  // The order: rank 0 swaps two tensors of different shapes (same names, same totals).
  await refused((r) => {
    const list = rankTensors(r);
    return r === 0 ? named([list[1]!, list[0]!, ...list.slice(2)], ['g1', 'g0', 'g2', 'g3', 'g4']) : named(list);
  }, usage, /different tensor lists/);
  // An option: rank 1 asks for bf16.
  await refused((r) => rankTensors(r), usage, /options \(op, bucketBytes, compression, algorithm\)/, (r) => (r === 1 ? { compression: 'bf16' } : {}));
  // An algorithm: rank 2 asks for tree (the demo's control; rank 0's choice must reach every rank).
  await refused((r) => rankTensors(r), usage, /options \(op, bucketBytes, compression, algorithm\)/, (r) => (r === 2 ? { algorithm: 'tree' } : { algorithm: 'ring' }));
});

test('broadcastVariables: a list that differs on one rank is refused everywhere and no variable changes', async () => {
  const vars = comms.map((_, r) => [tf.variable(tf.fill([4], r), true, `agree_a${r}`), tf.variable(tf.fill([r === 1 ? 3 : 2], r), true, `agree_b${r}`)]);
  await rejectsOnEveryRank(comms.map((comm, r) => broadcastVariables(comm, { a: vars[r]![0]!, b: vars[r]![1]! })), ['InvalidUsage', 'InvalidUsage', 'InvalidUsage'], /broadcastVariables: ranks pass different tensor lists/);
  for (const [r, [a]] of vars.entries()) assert.equal([...await a!.data()], [r, r, r, r]);
  tf.dispose(vars.flat());
});

test.after(async () => destroyWorld(comms));
test.run();
