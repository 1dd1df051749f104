// The ring's receives are posted one step ahead (lib/collectives/ring-receives.ts): one rank's
// ring allreduce runs against a scripted link that hands out messages only when the test says,
// so what was posted, with which landing, can be checked before every message; and a receive
// posted ahead whose message fails before the pipeline takes it is no unhandled rejection
// (the suite runs with unhandled rejections fatal).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CpuMemorySpace } from '../lib/cpu/cpu-memory.js';
import type { CollectiveContext, Landing, Link } from '../lib/collectives/context.js';
import { ringAllReduce } from '../lib/collectives/ring-allreduce.js';
import { systemError } from '../lib/errors.js';
import { rejects } from './helpers/assert.js';

const SEGMENT = 1000; // elements of each rank's segment (float32)

/** A link whose receives wait until the test delivers (or fails) them; sends complete at once. */
class ScriptedLink implements Link {
  readonly posted: { tag: number; landing: Landing | undefined }[] = [];
  private readonly waiting = new Map<number, { resolve(bytes: Uint8Array): void; reject(error: unknown): void }>();
  send(): Promise<void> {
    return Promise.resolve();
  }
  recv(_peer: number, tag: number, landing?: Landing): Promise<Uint8Array> {
    this.posted.push({ tag, landing });
    return new Promise((resolve, reject) => this.waiting.set(tag, { resolve, reject }));
  }
  release(): void {}
  deliver(tag: number, bytes: Uint8Array): void {
    this.waiting.get(tag)!.resolve(bytes);
  }
  fail(tag: number, error: unknown): void {
    this.waiting.get(tag)!.reject(error);
  }
}

/** Rank 0 of `size` running a one-pipeline ring allreduce of float32 ones over `link`. */
function start(size: number, link: ScriptedLink): { values: Float32Array; done: Promise<void> } {
  const space = new CpuMemorySpace();
  const values = new Float32Array(size * SEGMENT).fill(1);
  const work = space.region({ kind: 'cpu', what: 'test buffer', bytes: new Uint8Array(values.buffer) }, 'float32', 0, values.length);
  const ctx: CollectiveContext = { rank: 0, size, link, memory: space.bind('float32', 'sum', size), chunkElements: 1 << 20, alignElements: 4, pipelineDepth: 1 };
  const done = ringAllReduce(ctx, work);
  done.catch(() => undefined); // awaited by each test
  return { values, done };
}

const turns = async (count = 5) => { for (let i = 0; i < count; i++) await new Promise((resolve) => setImmediate(resolve)); };

for (const size of [2, 4]) {
  test(`${size} ranks: every receive is posted, with its landing, while the one before it is still awaited`, async () => {
    const link = new ScriptedLink();
    const { values, done } = start(size, link);
    const steps = size - 1;
    // Rank 0's segments in the order its receives land in them: reduce-scatter folds segment
    // -s-2, all-gather copies segment -s-1 (mod size).
    const order = [
      ...Array.from({ length: steps }, (_, s) => ({ segment: (2 * size - s - 2) % size, fold: true })),
      ...Array.from({ length: steps }, (_, s) => ({ segment: (2 * size - s - 1) % size, fold: false })),
    ];
    for (const [index, expected] of order.entries()) {
      await turns();
      // Receive `index` is awaited (nothing after it was delivered): the next one is posted too.
      assert.equal(link.posted.map((p) => p.tag), order.slice(0, index + 2).map((_, i) => i), `posted while receive ${index} is awaited`);
      const { landing } = link.posted[index]!;
      assert.ok(landing, `receive ${index} offers a landing`);
      assert.is(landing!.target.buffer, values.buffer, `receive ${index} lands in the work buffer`);
      assert.is(landing!.target.byteOffset, expected.segment * SEGMENT * 4, `receive ${index}: segment ${expected.segment}`);
      assert.is(landing!.target.byteLength, SEGMENT * 4);
      assert.is(landing!.fold !== undefined, expected.fold, `receive ${index} ${expected.fold ? 'folds' : 'copies'}`);
      // Only a 2-rank ring's reduce-scatter answers its sender in the same turn.
      assert.is(landing!.answeredAtOnce === true, size === 2 && index === 0, `receive ${index}: answeredAtOnce`);
      link.deliver(index, new Uint8Array(new Float32Array(SEGMENT).fill(expected.fold ? size - 1 : size).buffer));
    }
    await done;
    assert.is(link.posted.length, order.length, 'nothing posted past the last receive');
    assert.ok(values.every((x) => x === size), 'the ones summed over every rank');
  });
}

test('a receive posted ahead that fails before it is taken is handled; the call fails with the awaited receive', async () => {
  const link = new ScriptedLink();
  const { done } = start(4, link);
  await turns();
  assert.equal(link.posted.map((p) => p.tag), [0, 1]);
  link.fail(1, systemError('the ahead receive failed'));
  await turns();
  link.fail(0, systemError('the awaited receive failed'));
  await rejects(done, /^SystemError: the awaited receive failed/);
});

test.run();
