// Host scratch reused across calls (lib/cpu/scratch-pool.ts): power-of-two classes shared by
// calls of different sizes, a bound on what is kept, nothing kept after the space's release;
// and through a switch communicator, whose float32 calls borrow the block exponents and whose
// float16 calls a float32 array of the call's size: calls of other sizes in between, out of
// place and in place, never change an earlier call's output, and the pool serves every call of
// a class with one array.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import '../lib/index.node.js'; // registers the switch aggregator
import type { Communicator } from '../lib/comm/communicator.js';
import { castFromFloat32 } from '../lib/cpu/cast.js';
import { CpuMemorySpace } from '../lib/cpu/cpu-memory.js';
import { HostScratchPool } from '../lib/cpu/scratch-pool.js';
import { SwitchServer } from '../lib/switch/switch-server.js';
import { createWorld, destroyWorld, sameElements } from './helpers/comm-world.js';
import { float32Violation, int32Sum, randomFloat32, randomInt32 } from './helpers/switch-job.js';
import { allReduceAll } from './helpers/switch-world.js';
import { within } from './within.js';

test('a released array serves later requests of its class, of any size in it; another class gets its own', () => {
  const pool = new HostScratchPool();
  const first = pool.acquire(3000);
  assert.is(first.byteLength, 3000);
  assert.is(first.byteOffset % 4, 0);
  const memory = first.buffer;
  pool.release(first);
  assert.is(pool.retainedBytes, 4096);
  const second = pool.acquire(2100); // the same class (4 KiB)
  assert.is(second.buffer, memory);
  assert.is(second.byteLength, 2100);
  assert.is(pool.retainedBytes, 0);
  const other = pool.acquire(5000); // 8 KiB: a new array, the first is still lent
  assert.is.not(other.buffer, memory);
  assert.is(pool.created, 2);
  pool.release(second);
  pool.release(second); // a second release of the same view is ignored
  assert.is(pool.retainedBytes, 4096);
  const both = [pool.acquire(4096), pool.acquire(4096)];
  assert.is.not(both[0]!.buffer, both[1]!.buffer, 'two arrays lent at once never share memory');
  assert.is(pool.created, 3);
});

test('the pool keeps at most its bound; release of the space drops everything, also what comes back later', () => {
  const pool = new HostScratchPool(8192);
  const a = pool.acquire(8192);
  const b = pool.acquire(8192);
  pool.release(a);
  pool.release(b); // over the bound: left to the collector
  assert.is(pool.retainedBytes, 8192);

  const space = new CpuMemorySpace();
  const kept = space.scratch('int32', 1000);
  const lent = space.scratch('float32', 70_001);
  kept.release();
  assert.ok(space.scratchPool.retainedBytes > 0);
  space.release();
  assert.is(space.scratchPool.retainedBytes, 0);
  lent.release(); // lent before the release: not taken back
  assert.is(space.scratchPool.retainedBytes, 0);
});

const server = await SwitchServer.start({ port: 0 });
const RANKS = 3;
const VALUES = 256;

test('switch calls of different sizes share the pooled arrays and never write into an earlier call\'s output', async () => {
  const comms = await within(createWorld(RANKS, {
    switch: server.address, switchSecret: server.secret, algorithm: 'switch', switchPacketValues: VALUES, timeoutMs: 60_000,
  }), 30_000, 'world');
  try {
    const big = 70_001;
    const floats = (count: number, seed: number) => comms.map((_, r) => randomFloat32(count, seed + r));
    const halves = (count: number, seed: number) => floats(count, seed).map((x) => {
      const h = new Uint16Array(count);
      castFromFloat32(h, x, count, 'float16');
      return h;
    });
    // float32 borrows the exponents (the switch sums the values themselves), float16 also a
    // float32 array of the call's size to widen into: a 4 KiB, a 256 B and a 512 KiB class.
    const a = floats(big, 10);
    const outA = await allReduceAll(comms, a, 'float32', 'sum') as Float32Array[];
    // Out of place, the input is read where it lies (no copy into the output first): never written.
    for (const [r, input] of a.entries()) sameElements(input, floats(big, 10)[r]!, `call A's input on rank ${r}`);
    const keptA = outA.map((out) => out.slice());
    const h = halves(big, 20);
    const outH = await allReduceAll(comms, h, 'float16', 'sum');
    const keptH = outH.map((out) => out.slice());
    const outB = await allReduceAll(comms, floats(129, 30), 'float32', 'sum') as Float32Array[];
    const c = floats(big - 1000, 40);
    const outC = await allReduceAll(comms, c, 'float32', 'sum') as Float32Array[];
    await allReduceAll(comms, halves(big - 4000, 50), 'float16', 'sum');
    // An int32 call sums the user's own output in place (no scratch).
    const ints = comms.map((_, r) => randomInt32(big, 60 + r));
    const outI = await allReduceAll(comms, ints, 'int32', 'sum');
    for (const [r, out] of outI.entries()) sameElements(out, int32Sum(ints), `int32, rank ${r}`);
    for (const [r, out] of outA.entries()) {
      sameElements(out, keptA[r]!, `call A's output on rank ${r}, after the later calls`);
      sameElements(outH[r]!, keptH[r]!, `the float16 call's output on rank ${r}, after the later calls`);
      assert.is(float32Violation(a, out, VALUES), undefined, `call A, rank ${r}`);
      assert.is(float32Violation(c, outC[r]!, VALUES), undefined, `call C, rank ${r}`);
      sameElements(outB[r]!, outB[0]!, `call B, rank ${r} against rank 0`);
    }
    // In place, after the others: the same bits as out of place.
    const inPlace = a.map((input) => input.slice());
    const inPlaceH = h.map((input) => input.slice());
    await within(Promise.all(comms.map((comm, r) => comm.allReduce(inPlace[r]!, inPlace[r]!, big, 'float32', 'sum'))), 60_000, 'in place');
    await within(Promise.all(comms.map((comm, r) => comm.allReduce(inPlaceH[r]!, inPlaceH[r]!, big, 'float16', 'sum'))), 60_000, 'float16 in place');
    for (const [r, out] of inPlace.entries()) sameElements(out, keptA[r]!, `call A again in place, rank ${r}`);
    for (const [r, out] of inPlaceH.entries()) sameElements(out, keptH[r]!, `the float16 call again in place, rank ${r}`);
    for (const comm of comms) assert.is(poolOf(comm).created, 3, 'arrays made on each rank: one per class');
  } finally {
    await destroyWorld(comms);
  }
  for (const comm of comms) assert.is(poolOf(comm).retainedBytes, 0, 'destroy releases the pooled arrays');
});

/** The communicator's host space's pool (private: this suite checks that calls reuse it). */
function poolOf(comm: Communicator): HostScratchPool {
  return (comm as unknown as { readonly cpuSpace: CpuMemorySpace }).cpuSpace.scratchPool;
}

test.after(() => server.close());

test.run();
