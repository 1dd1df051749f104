// Host memory encodes a compressed allreduce's payloads into arrays borrowed from the space's
// scratch pool and takes them back at the call's finish (lib/cpu/cpu-memory.ts). Were one taken
// back while a send could still read it, a later encode of the same call would write over bytes
// in flight. So: repeated calls with different data each call, every hop codec (int8 with error
// feedback), ring, tree and the direct exchange, over inproc, tcp and shm, give bit for bit what
// the same calls give on a world whose pools are emptied before every call (every encode a fresh
// array); and once a call of each shape has run, later calls create no array.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import '../lib/index.node.js'; // registers the webccl+tcp:// and webccl+shm:// worlds
import type { Communicator } from '../lib/comm/communicator.js';
import type { CpuMemorySpace } from '../lib/cpu/cpu-memory.js';
import type { HostScratchPool } from '../lib/cpu/scratch-pool.js';
import type { TransportSetting } from '../lib/settings.js';
import { compressionInput, runCompressed } from './helpers/compression-checks.js';
import { createWorld, destroyWorld } from './helpers/comm-world.js';
import { requireAddon } from './helpers/native-transports.js';

/** The communicator's host space's pool (private: this suite checks that calls reuse it). */
function poolOf(comm: Communicator): HostScratchPool {
  return (comm as unknown as { readonly cpuSpace: CpuMemorySpace }).cpuSpace.scratchPool;
}

const CODECS = [
  { codec: 'bf16' }, { codec: 'fp16' }, { codec: 'int8', errorFeedback: 'w' }, { codec: 'onebit' },
] as const;
const ALGORITHMS = ['ring', 'tree', 'direct'] as const;
/** Odd, so that segments and chunks end in partial blocks; several chunk pipelines at 64 KiB chunks. */
const COUNT = 60_001;
const CALLS = 4;

/** Runs CALLS rounds of every (codec, algorithm) on `pooled` and `fresh` alike and compares them; returns each pooled rank's `created` after every round. */
async function compareRounds(pooled: readonly Communicator[], fresh: readonly Communicator[], label: string): Promise<number[][]> {
  const created: number[][] = [];
  for (let call = 0; call < CALLS; call++) {
    for (const { codec, ...feedback } of CODECS) {
      for (const algorithm of ALGORITHMS) {
        // Different data every call and shape: stale bytes of an earlier encode would show.
        const seed = 1 + call * 100 + CODECS.findIndex((c) => c.codec === codec) * 10 + ALGORITHMS.indexOf(algorithm);
        const inputs = pooled.map((_, r) => compressionInput(r, COUNT, seed));
        const call_ = { codec, count: COUNT, op: 'sum' as const, algorithm, inPlace: call % 2 === 0, ...feedback };
        const got = await runCompressed(pooled, call_, undefined, inputs.map((x) => x.slice()));
        for (const comm of fresh) poolOf(comm).clear(); // every encode of this call a new array
        const want = await runCompressed(fresh, call_, undefined, inputs.map((x) => x.slice()));
        const a = new Uint32Array(got[0]!.buffer);
        const b = new Uint32Array(want[0]!.buffer);
        for (let i = 0; i < COUNT; i++) {
          if (a[i] !== b[i]) assert.unreachable(`${label} ${codec} ${algorithm} call ${call}: element ${i} is ${got[0]![i]} with pooled payloads, ${want[0]![i]} with fresh ones`);
        }
      }
    }
    created.push(pooled.map((comm) => poolOf(comm).created));
  }
  return created;
}

async function checkTransport(transport: TransportSetting, ranks: number): Promise<void> {
  const options = { chunkBytes: 64 << 10, timeoutMs: 60_000 };
  const pooled = await createWorld(ranks, options, transport);
  const fresh = await createWorld(ranks, options, transport);
  try {
    const created = await compareRounds(pooled, fresh, transport);
    for (const [r, count] of created[0]!.entries()) assert.ok(count > 0, `${transport}: rank ${r}'s encodes borrow from the pool (created ${count})`);
    // The first round made every class its calls need; later rounds reuse them.
    for (const round of created.slice(1)) assert.equal(round, created[0], `${transport}: arrays created after each round ${JSON.stringify(created)}`);
  } finally {
    await destroyWorld([...pooled, ...fresh]);
  }
}

test('inproc, 3 ranks: pooled payloads give the fresh ones\' bits, and no new array after the first round', () => checkTransport('inproc', 3));

test('tcp, 3 ranks: pooled payloads give the fresh ones\' bits, and no new array after the first round', () => checkTransport('tcp', 3));

test('shm, 2 ranks, every segment over 4 KiB by reference (the sender\'s memory read by the peer): the same', async () => {
  requireAddon('shm');
  const before = process.env['WEBCCL_SHM_SINGLE_COPY_BYTES'];
  process.env['WEBCCL_SHM_SINGLE_COPY_BYTES'] = '4096';
  try {
    await checkTransport('shm', 2);
  } finally {
    if (before === undefined) delete process.env['WEBCCL_SHM_SINGLE_COPY_BYTES'];
    else process.env['WEBCCL_SHM_SINGLE_COPY_BYTES'] = before;
  }
});

// 1-bit without a feedback key encodes against zeros for the call alone. Those zeros come from the
// same pool (a fresh array faulted in every page), so they must be zeroed: a pool whose free array
// of that class holds garbage must still give the fresh world's bits, and the call must borrow it.
test('1-bit without a key: its one-call residual is a pooled array, zeroed first', async () => {
  const count = 50_001;
  const pooled = await createWorld(2, { timeoutMs: 60_000 }, 'inproc');
  const fresh = await createWorld(2, { timeoutMs: 60_000 }, 'inproc');
  try {
    const borrowed: number[][] = pooled.map(() => []);
    for (const [r, comm] of pooled.entries()) {
      const pool = poolOf(comm);
      const garbage = pool.acquire(count * 4);
      new Float32Array(garbage.buffer, 0, count).fill(1e30);
      pool.release(garbage);
      const acquire = pool.acquire.bind(pool);
      pool.acquire = (bytes) => { borrowed[r]!.push(bytes); return acquire(bytes); };
    }
    for (const algorithm of ALGORITHMS) {
      const inputs = pooled.map((_, r) => compressionInput(r, count, 7));
      const call = { codec: 'onebit' as const, count, op: 'sum' as const, algorithm };
      const got = await runCompressed(pooled, call, undefined, inputs.map((x) => x.slice()));
      const want = await runCompressed(fresh, call, undefined, inputs.map((x) => x.slice()));
      const a = new Uint32Array(got[0]!.buffer);
      const b = new Uint32Array(want[0]!.buffer);
      for (let i = 0; i < count; i++) {
        if (a[i] !== b[i]) assert.unreachable(`${algorithm}: element ${i} is ${got[0]![i]} with a pooled residual, ${want[0]![i]} with fresh zeros`);
      }
    }
    for (const [r, sizes] of borrowed.entries()) assert.ok(sizes.includes(count * 4), `rank ${r} borrowed its residual (${count * 4} bytes) from the pool: ${JSON.stringify(sizes)}`);
  } finally {
    await destroyWorld([...pooled, ...fresh]);
  }
});

test.run();
