// groupStart/groupEnd and split.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Communicator } from '../lib/comm/communicator.js';
import { WebcclError } from '../lib/errors.js';
import { createWorld, destroyWorld } from './helpers/comm-world.js';

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'resolved';
  } catch (error) {
    return error instanceof WebcclError ? error.code : String(error);
  }
}

test('group: queued calls run together at groupEnd, nested groups run at the outermost end', async () => {
  const comms = await createWorld(3);
  const sums = comms.map((c) => Int32Array.of(c.rank, 10 * c.rank));
  const bcast = comms.map((c) => Int32Array.of(c.rank === 1 ? 7 : 0));
  await Promise.all(comms.map(async (c, r) => {
    c.groupStart();
    const a = c.allReduce(sums[r]!, sums[r]!, 2, 'int32', 'sum');
    c.groupStart();
    const b = c.broadcast(bcast[r]!, bcast[r]!, 1, 'int32', 1);
    await c.groupEnd(); // inner: nothing runs yet
    assert.equal([...sums[r]!], [r, 10 * r], 'nothing ran before the outermost groupEnd');
    await c.groupEnd();
    await Promise.all([a, b]);
  }));
  for (const r of [0, 1, 2]) {
    assert.equal([...sums[r]!], [3, 30]);
    assert.equal([...bcast[r]!], [7]);
  }
  await destroyWorld(comms);
});

test('group: an invalid call cancels the whole group (nothing sent) and groupEnd reports it', async () => {
  const comms = await createWorld(2, { timeoutMs: 5000 });
  const bufs = comms.map(() => Float32Array.of(1, 2));
  const outcomes = await Promise.all(comms.map(async (c, r) => {
    c.groupStart();
    const good = c.allReduce(bufs[r]!, bufs[r]!, 2, 'float32', 'sum');
    const bad = c.allReduce(bufs[r]!, bufs[r]!, 3, 'float32', 'sum');
    const end = await codeOf(c.groupEnd());
    return [end, await codeOf(good), await codeOf(bad)];
  }));
  for (const outcome of outcomes) assert.equal(outcome, ['InvalidArgument', 'InvalidArgument', 'InvalidArgument']);
  assert.equal([...bufs[0]!], [1, 2], 'the valid call did not run');
  // The communicator is fine: a later call works on every rank.
  await Promise.all(comms.map((c, r) => c.allReduce(bufs[r]!, bufs[r]!, 2, 'float32', 'sum')));
  assert.equal([...bufs[1]!], [2, 4]);
  assert.is(await codeOf(comms[0]!.groupEnd()), 'InvalidUsage');
  await destroyWorld(comms);
});

test('group: a failure while running is reported by groupEnd and by the failing call', async () => {
  const comms = await createWorld(2, { timeoutMs: 5000 });
  const outcomes = await Promise.all(comms.map(async (c) => {
    c.groupStart();
    const call = c.allReduce(new Int32Array(4), new Int32Array(4), c.rank === 0 ? 4 : 3, 'int32', 'sum');
    return [await codeOf(c.groupEnd()), await codeOf(call)];
  }));
  for (const outcome of outcomes) assert.equal(outcome, ['InvalidUsage', 'InvalidUsage']);
  await destroyWorld(comms);
});

test('split: colors and keys pick members and order; children work alongside the parent', async () => {
  const comms = await createWorld(5);
  // Even ranks and odd ranks, each ordered by descending rank.
  const children = await Promise.all(comms.map((c) => c.split(c.rank % 2, -c.rank)));
  const sizes = children.map((child) => child!.size);
  assert.equal(sizes, [3, 2, 3, 2, 3]);
  assert.equal(children.map((child) => child!.rank), [2, 1, 1, 0, 0]);
  const childData = children.map((child, r) => Int32Array.of(r));
  const parentData = comms.map((c) => Int32Array.of(100 * c.rank));
  await Promise.all([
    ...children.map((child, r) => child!.allReduce(childData[r]!, childData[r]!, 1, 'int32', 'sum')),
    ...comms.map((c, r) => c.allReduce(parentData[r]!, parentData[r]!, 1, 'int32', 'sum')),
  ]);
  assert.equal(childData.map((d) => d[0]), [6, 4, 6, 4, 6]);
  assert.equal(parentData.map((d) => d[0]), [1000, 1000, 1000, 1000, 1000]);
  // The new rank order is the key order: broadcast from child rank 0 (parent rank 4 / 3).
  const fromFirst = children.map((child, r) => Int32Array.of(r));
  await Promise.all(children.map((child, r) => child!.broadcast(fromFirst[r]!, fromFirst[r]!, 1, 'int32', 0)));
  assert.equal(fromFirst.map((d) => d[0]), [4, 3, 4, 3, 4]);
  // A split of a split.
  const grandchildren = await Promise.all(children.map((child) => child!.split(child!.rank === 0 ? null : 0)));
  assert.equal(grandchildren.map((g) => g?.size ?? null), [2, 1, 2, null, null]);
  await destroyWorld(grandchildren.filter((g): g is Communicator => g !== null));
  await destroyWorld(children as Communicator[]);
  await destroyWorld(comms);
});

test('split: aborting a child fails only the child', async () => {
  const comms = await createWorld(3);
  const children = (await Promise.all(comms.map((c) => c.split(0)))) as Communicator[];
  const pending = children.slice(1).map((child) => codeOf(child.allReduce(new Float32Array(8), new Float32Array(8), 8, 'float32', 'sum')));
  await children[0]!.abort();
  assert.equal(await Promise.all(pending), ['RemoteError', 'RemoteError']);
  const data = comms.map(() => Float32Array.of(1));
  await Promise.all(comms.map((c, r) => c.allReduce(data[r]!, data[r]!, 1, 'float32', 'sum')));
  assert.equal(data.map((d) => d[0]), [3, 3, 3]);
  await destroyWorld(children);
  await destroyWorld(comms);
});

test('split: bad colors and keys are InvalidArgument; split inside a group is InvalidUsage', async () => {
  const comms = await createWorld(1);
  const c = comms[0]!;
  assert.is(await codeOf(c.split(-2)), 'InvalidArgument');
  assert.is(await codeOf(c.split(1.5)), 'InvalidArgument');
  assert.is(await codeOf(c.split(0, 2 ** 40)), 'InvalidArgument');
  c.groupStart();
  assert.is(await codeOf(c.split(0)), 'InvalidUsage');
  await c.groupEnd();
  const alone = await c.split(3);
  assert.is(alone!.size, 1);
  await destroyWorld([alone!, c]);
});

test.run();
