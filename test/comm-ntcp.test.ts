// The collective matrix over the ntcp transport: ranks in this process joined by a real
// rendezvous and the native addon's tcp provider (the multi-process runs and the
// faults are in ntcp-processes.test.ts).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import '../lib/index.node.js'; // registers the webccl+ntcp:// world
import { WebcclError } from '../lib/errors.js';
import { createWorld, destroyWorld } from './helpers/comm-world.js';
import { within } from './within.js';
import { describeUnavailable, loadNative } from '../lib/native/load.js';
import { registerCollectiveMatrix } from './helpers/collective-matrix.js';

const loaded = loadNative();
if (!('addon' in loaded)) throw new Error(`the ntcp suite needs the addon: ${describeUnavailable(loaded)}`);

registerCollectiveMatrix('ntcp');

test('ntcp: mismatched counts are InvalidUsage naming both ranks and both calls (headers travel), no timeout', async () => {
  const comms = await createWorld(3, { timeoutMs: 20_000 }, 'ntcp');
  const bufs = comms.map(() => new Float32Array(20));
  const errors = await within(Promise.all(comms.map((c, r) => c.allReduce(bufs[r]!, bufs[r]!, r === 1 ? 10 : 20, 'float32', 'sum', { algorithm: 'ring' })
    .then(() => undefined, (error: unknown) => error as WebcclError))), 5000, 'every rank rejects');
  for (const error of errors) {
    assert.instance(error, WebcclError);
    assert.is(error!.code, 'InvalidUsage', error!.message);
  }
  // Rank 2 receives from rank 1 on the ring: it compares the header with its own call.
  assert.match(errors[2]!.message, /rank 2 called allReduce\(count=20, float32, sum\) \[ring\] but rank 1 called allReduce\(count=10, float32, sum\) \[ring\]/);
  await destroyWorld(comms);
});
test.run();
