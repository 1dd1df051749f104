// A repeated allReduce reuses the previous call's plan (lib/comm/plan-memo.ts): results must stay
// right whatever changes between calls (contents, count, placement, op, dtype), and a change the
// plan depended on (a resizable buffer that shrank) must be planned, and refused, again.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { WebcclError } from '../lib/errors.js';
import { PlanMemo, repeatableKey } from '../lib/comm/plan-memo.js';
import type { AgreedConfig } from '../lib/comm/config.js';
import type { CallOptions, CallPlan } from '../lib/comm/plans.js';
import { createWorld, destroyWorld } from './helpers/comm-world.js';

/** ES2024's resizable ArrayBuffer (Node 20 has it; this project's TypeScript lib predates it). */
type Resizable = ArrayBuffer & { resize(byteLength: number): void };
const ResizableBuffer = ArrayBuffer as unknown as new (byteLength: number, options: { maxByteLength: number }) => Resizable;

test('repeated allReduces on the same arrays stay right as contents, count, placement and op change', async () => {
  const comms = await createWorld(2, { timeoutMs: 20_000 });
  try {
    const sends = comms.map(() => new Float32Array(4));
    const recvs = comms.map(() => new Float32Array(4));
    const all = (count: number, op: 'sum' | 'max', inPlace = false) => Promise.all(
      comms.map((c, r) => c.allReduce(sends[r]!, inPlace ? sends[r]! : recvs[r]!, count, 'float32', op)),
    );
    for (let round = 1; round <= 3; round++) {
      sends.forEach((s, r) => s.fill(round * (r + 1)));
      await all(4, 'sum');
      for (const recv of recvs) assert.equal([...recv], [3 * round, 3 * round, 3 * round, 3 * round], `round ${round}`);
    }
    recvs.forEach((recv) => recv.fill(-1));
    await all(2, 'sum');
    for (const recv of recvs) assert.equal([...recv], [9, 9, -1, -1], 'count 2 leaves the rest alone');
    await all(4, 'max');
    for (const recv of recvs) assert.equal([...recv], [6, 6, 6, 6], 'max');
    await all(4, 'sum', true);
    for (const send of sends) assert.equal([...send], [9, 9, 9, 9], 'in place');
    await all(4, 'sum', true);
    for (const send of sends) assert.equal([...send], [18, 18, 18, 18], 'in place again');
  } finally {
    await destroyWorld(comms);
  }
});

test('a length-tracking array whose resizable buffer shrank is checked again and refused', async () => {
  const comms = await createWorld(2, { timeoutMs: 20_000 });
  try {
    const buffers = comms.map(() => new ResizableBuffer(16, { maxByteLength: 16 }));
    const arrays = buffers.map((b, r) => new Float32Array(b).fill(r + 1));
    await Promise.all(comms.map((c, r) => c.allReduce(arrays[r]!, arrays[r]!, 4, 'float32', 'sum')));
    assert.equal([...arrays[0]!], [3, 3, 3, 3]);
    for (const buffer of buffers) buffer.resize(8);
    for (const [r, c] of comms.entries()) {
      const error = await c.allReduce(arrays[r]!, arrays[r]!, 4, 'float32', 'sum').then(() => undefined, (e: unknown) => e);
      assert.instance(error, WebcclError, `rank ${r}`);
      assert.equal((error as WebcclError).code, 'InvalidArgument');
      assert.match((error as WebcclError).message, /needs 16 bytes .* but holds 8/);
    }
    // Refused before anything was sent: the communicator still works.
    await Promise.all(comms.map((c, r) => c.allReduce(arrays[r]!, arrays[r]!, 2, 'float32', 'sum')));
    assert.equal([...arrays[1]!], [6, 6]);
  } finally {
    await destroyWorld(comms);
  }
});

test('a call that names only its algorithm reuses its plan; other options, or another algorithm, plan again', () => {
  assert.is(repeatableKey('sum', undefined), 'sum');
  assert.is(repeatableKey('sum', { algorithm: 'ring' }), 'sum/ring');
  assert.is(repeatableKey('sum', { algorithm: 'ring', compression: 'bf16' }), undefined);
  assert.is(repeatableKey('sum', { compression: 'bf16' }), undefined);
  // Options left undefined are no options: an empty object keeps the reuse a call without one has.
  assert.is(repeatableKey('sum', {}), 'sum');
  // (as a JavaScript caller may pass them: TypeScript's exactOptionalPropertyTypes forbids it here)
  assert.is(repeatableKey('sum', { algorithm: undefined, chunkBytes: undefined } as unknown as CallOptions), 'sum');
  assert.is(repeatableKey('sum', { algorithm: 'ring', compression: undefined } as unknown as CallOptions), 'sum/ring');
  const memo = new PlanMemo();
  const config = {} as AgreedConfig;
  const array = new Float32Array(4);
  let built = 0;
  const build = () => ({ built: ++built }) as unknown as CallPlan;
  const plan = (options?: { algorithm: string }) => memo.reuse(config, array, array, 4, 'float32', repeatableKey('sum', options), build);
  const first = plan({ algorithm: 'tree' });
  // Calibration times blocks of calls like these: planning each (30-60% of a small call) was priced into the model's per-call cost.
  assert.is(plan({ algorithm: 'tree' }), first, 'the same named algorithm: the same plan');
  assert.is(built, 1);
  plan({ algorithm: 'ring' });
  plan();
  assert.is(built, 3, 'another algorithm, or none, is planned again');
});

test.run();
