// Fused receive over shm (lib/memory/landing.ts): the host-memory ring offers each receive's
// span of the working array, and the shm channel folds the payload straight into it (from the
// receive slot, or from the peer's memory through a small bounce buffer when it comes by
// reference) or copies it there (all-gather), instead of buffering it. Results stay
// bit-identical to the oracle for every dtype; each landing is counted, so a silent fallback to
// the buffered path fails; a mismatched call never lands in the receiver's array.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import '../lib/index.node.js'; // registers the webccl+shm:// world
import { WebcclError } from '../lib/errors.js';
import type { DataType, ReduceOp } from '../lib/dtype.js';
import { FramedTransport } from '../lib/transport/framed/framed-transport.js';
import { SHM_SEGMENT_BYTES, SHM_SINGLE_COPY_BYTES } from '../lib/transport/shm/shm-mesh.js';
import { createWorld, destroyWorld, elementCount, inputFor, oracleReduce, sameElements } from './helpers/comm-world.js';
import type { ElementArray } from '../lib/dtype.js';
import { requireAddon } from './helpers/native-transports.js';
import { within } from './within.js';

requireAddon('shm');

/** Counts frames whose sink was a landing in one of `arrays` (folded or copied) while `body` runs. */
async function countLandings(arrays: readonly ElementArray[], body: () => Promise<void>): Promise<{ folded: number; copied: number }> {
  const buffers = new Set<ArrayBufferLike>(arrays.map((array) => array.buffer));
  const counts = { folded: 0, copied: 0 };
  const original = FramedTransport.prototype.receiveFrameSink;
  FramedTransport.prototype.receiveFrameSink = function (this: FramedTransport, head: Uint8Array, from: number) {
    const sink = original.call(this, head, from);
    if (sink && buffers.has(sink.target.buffer)) counts[sink.fold ? 'folded' : 'copied']++;
    return sink;
  };
  try {
    await body();
  } finally {
    FramedTransport.prototype.receiveFrameSink = original;
  }
  return counts;
}

const CASES: readonly [DataType, ReduceOp][] = [['float32', 'sum'], ['float32', 'avg'], ['bfloat16', 'max'], ['int32', 'min']];

for (const size of [2, 3]) {
  test(`${size} ranks: ring allreduce lands every message, by reference and through the ring, bit-identical`, async () => {
    const comms = await within(createWorld(size, { timeoutMs: 20_000 }, 'shm'), 10_000, 'world');
    const total = { folded: 0, copied: 0, messages: 0 };
    // Bytes per message (a segment): one above the single-copy threshold (by reference, folded
    // in pieces with an odd tail), one below (through the ring, folded from the receive slot).
    for (const segmentBytes of [3 * SHM_SEGMENT_BYTES + 4096 + 16, SHM_SEGMENT_BYTES / 4]) {
      for (const [dtype, op] of CASES) {
        const bytes = dtype === 'float16' || dtype === 'bfloat16' ? 2 : 4;
        const count = (size * segmentBytes) / bytes;
        const inputs = comms.map((_, rank) => inputFor(dtype, op, rank, count));
        const bufs = inputs.map((input) => input.slice());
        const label = `${dtype} ${op}, ${segmentBytes}-byte messages`;
        const landed = await countLandings(bufs, async () => {
          await within(Promise.all(comms.map((c, r) => c.allReduce(bufs[r]!, bufs[r]!, count, dtype, op, { algorithm: 'ring' }))), 20_000, label);
        });
        const oracle = oracleReduce(inputs, count, dtype, op);
        for (const [rank, buf] of bufs.entries()) sameElements(buf, oracle, `${label}, rank ${rank}`);
        total.folded += landed.folded;
        total.copied += landed.copied;
        total.messages += size * (size - 1); // n - 1 a half per rank: folded in reduce-scatter, copied in all-gather
      }
    }
    // A message that arrives before its receive is posted is buffered (nothing to land in yet),
    // so not every one lands; most must, each way.
    assert.ok(total.folded >= total.messages / 2 && total.copied >= total.messages / 2, `landings ${JSON.stringify(total)}`);
    assert.ok(total.folded <= total.messages && total.copied <= total.messages, `landings ${JSON.stringify(total)}`);
    await destroyWorld(comms);
  });
}

test('a mismatched call never lands in the receiver\'s array: InvalidUsage, the array untouched', async () => {
  const comms = await within(createWorld(3, { timeoutMs: 20_000 }, 'shm'), 10_000, 'world');
  const count = 3 * SHM_SINGLE_COPY_BYTES; // 4 × as many bytes: segments go by reference
  const inputs = comms.map((_, rank) => inputFor('float32', 'sum', rank, count));
  const bufs = inputs.map((input) => input.slice());
  // Same size, another op on rank 1: only the signature tells the messages apart.
  const errors = await within(Promise.all(comms.map((c, r) => c.allReduce(bufs[r]!, bufs[r]!, count, 'float32', r === 1 ? 'max' : 'sum', { algorithm: 'ring' })
    .then(() => undefined, (error: unknown) => error as WebcclError))), 10_000, 'every rank rejects');
  for (const error of errors) assert.instance(error, WebcclError);
  assert.is(errors[2]!.code, 'InvalidUsage', errors[2]!.message);
  // Rank 2 receives only from rank 1, whose first message it refused: nothing was folded in.
  sameElements(bufs[2]!, inputs[2]!, 'rank 2');
  assert.ok(elementCount(bufs[2]!) === count);
  await destroyWorld(comms);
});

test.run();
