// The traffic formulas beside the schedules (lib/collectives/*-allreduce.ts, ring-allgather.ts,
// ring-reducescatter.ts) against what the schedules send: each schedule runs on host memory over
// an in-memory link that counts every rank's messages and bytes, and the busiest rank's count
// must be the formula's `sends` (the cost model's o term) at every size regime: one chunk, the
// ring's re-cut into pipelineDepth smaller chunks (pipelinedChunkElements), and many chunks; the
// count over all ranks the formula's allSendsOf (what a world on one thread pays o for).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { algorithmNamed, type ScheduledCollective } from '../lib/collectives/algorithms.js';
import type { CollectiveContext, Link } from '../lib/collectives/context.js';
import { ringAllGather, ringAllGatherTraffic } from '../lib/collectives/ring-allgather.js';
import { ringReduceScatter, ringReduceScatterTraffic } from '../lib/collectives/ring-reducescatter.js';
import { allSendsOf, type Traffic, type TrafficCall } from '../lib/collectives/traffic.js';
import { STORED_PIECE_BYTES } from '../lib/collectives/traffic.js';
import { CpuMemorySpace } from '../lib/cpu/cpu-memory.js';

/** Four-byte elements, 64 to a chunk: small sizes reach every regime of the cut. */
const CHUNK_ELEMENTS = 64;
const DEPTH = 4;

interface Counted {
  readonly sends: number[];
  readonly bytes: number[];
  /** Bytes each rank received. */
  readonly received: number[];
  /** Each rank's work buffer after the schedule ran (run's data: rank r starts at r + 1 everywhere). */
  readonly results?: Float32Array[];
}

/** An in-memory link for `size` ranks that counts what each rank sends; every wait is bounded. */
function countingLinks(size: number): { links: Link[]; counted: Counted } {
  const counted: Counted = { sends: new Array<number>(size).fill(0), bytes: new Array<number>(size).fill(0), received: new Array<number>(size).fill(0) };
  const boxes = new Map<string, { payload?: Uint8Array; waiter?: (p: Uint8Array) => void }>();
  const box = (key: string) => { let b = boxes.get(key); if (!b) boxes.set(key, (b = {})); return b; };
  const links = Array.from({ length: size }, (_, rank): Link => ({
    send: async (peer, tag, payload) => {
      counted.sends[rank]!++;
      counted.bytes[rank]! += payload.byteLength;
      const b = box(`${rank}>${peer}#${tag}`);
      const copy = payload.slice();
      counted.received[peer]! += copy.byteLength;
      if (b.waiter) b.waiter(copy); else b.payload = copy;
    },
    recv: (peer, tag) => {
      const b = box(`${peer}>${rank}#${tag}`);
      if (b.payload) return Promise.resolve(b.payload);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`rank ${rank} waited 5 s for ${peer}'s message ${tag}`)), 5000);
        b.waiter = (p) => { clearTimeout(timer); resolve(p); };
      });
    },
    release: () => undefined,
  }));
  return { links, counted };
}

/** Runs `schedule` on `size` ranks of `count` float32 each (the work buffer: `count` × `blocks`) and returns what each rank sent. */
async function run(size: number, count: number, blocks: number, schedule: (ctx: CollectiveContext, work: ReturnType<CpuMemorySpace['region']>) => Promise<void>, chunkElements = CHUNK_ELEMENTS): Promise<Counted> {
  const space = new CpuMemorySpace();
  const { links, counted } = countingLinks(size);
  const results: Float32Array[] = [];
  await Promise.all(links.map((link, rank) => {
    const data = new Float32Array(count * blocks).fill(rank + 1);
    results.push(data);
    const region = space.region({ kind: 'cpu', what: `rank ${rank}`, bytes: new Uint8Array(data.buffer) }, 'float32', 0, count * blocks);
    const ctx: CollectiveContext = { rank, size, link, memory: space.bind('float32', 'sum', size), chunkElements, alignElements: 4, pipelineDepth: DEPTH };
    return schedule(ctx, region);
  }));
  return { ...counted, results };
}

const call = (count: number, ranks: number): TrafficCall => ({ bytes: 4 * count, ranks, chunkBytes: 4 * CHUNK_ELEMENTS, pipelineDepth: DEPTH });
const COUNTS = [2, 37, 100, 300, 1000, 5000];
const sum = (values: readonly number[]) => values.reduce((total, v) => total + v, 0);

function formula(algorithm: string, collective: ScheduledCollective): (c: TrafficCall) => Traffic | undefined {
  return algorithmNamed(algorithm)!.traffic![collective]!;
}

for (const algorithm of ['ring', 'tree', 'direct']) {
  test(`${algorithm} allreduce: the busiest rank and all ranks together send the formula's messages`, async () => {
    for (const size of [2, 3, 4, 5, 8]) {
      for (const count of COUNTS) {
        const traffic = formula(algorithm, 'allReduce')(call(count, size));
        if (!traffic) continue; // the direct exchange past its domain
        const counted = await run(size, count, 1, algorithmNamed(algorithm)!.serves.allReduce!);
        assert.is(traffic.sends, Math.max(...counted.sends), `${algorithm} n=${size} count=${count}: sends per rank ${counted.sends}`);
        assert.is(allSendsOf(traffic, size), sum(counted.sends), `${algorithm} n=${size} count=${count}: all ranks' sends ${counted.sends}`);
        if (algorithm !== 'tree') {
          // The ring's and the direct exchange's busiest rank sends the formula's bytes (the segments' alignment apart).
          const sent = Math.max(...counted.bytes);
          assert.ok(Math.abs(sent - traffic.linkBytes) <= 2 * (size - 1) * 16, `${algorithm} n=${size} count=${count}: ${sent} bytes sent, formula ${traffic.linkBytes}`);
        }
      }
    }
  });
}

test("tree allreduce under a chunk past STORED_PIECE_BYTES (ntcp's 32 MiB at 8 ranks): its halves go in pieces of at most 8 MiB, and the formula counts them", async () => {
  const chunkBytes = 32 << 20;
  for (const [count, pieces] of [[3 << 20, 1], [5 << 20, 2], [9 << 20, 3]] as const) {
    // Halves of 6, 10 and 18 MiB: one piece, two, three (float32, so 4 bytes an element).
    const traffic = formula('tree', 'allReduce')({ bytes: 4 * count, ranks: 4, chunkBytes, pipelineDepth: DEPTH })!;
    const counted = await run(4, count, 1, algorithmNamed('tree')!.serves.allReduce!, chunkBytes / 4);
    assert.is(traffic.sends, Math.max(...counted.sends), `${4 * count >> 20} MiB: sends per rank ${counted.sends}`);
    assert.is(allSendsOf(traffic, 4), sum(counted.sends), `${4 * count >> 20} MiB: all ranks' sends ${counted.sends}`);
    // 4 ranks: each rank sends up and down 4 messages a piece pair (inner in one tree, a leaf in the other).
    assert.is(Math.max(...counted.sends), 4 * pieces, `${4 * count >> 20} MiB: ${pieces} piece(s) a half`);
    assert.ok(traffic.messageBytes! <= STORED_PIECE_BYTES, `${4 * count >> 20} MiB: messages of ${traffic.messageBytes} bytes`);
    // And the pieces add up: every rank holds 1 + 2 + 3 + 4 everywhere.
    for (const result of counted.results!) assert.ok(result.every((x) => x === 10), `${4 * count >> 20} MiB: a result differs from the sum`);
  }
});

test("mesh allreduce: the busiest rank sends the formula's messages and bytes, all ranks together its messages; none past a quarter chunk's segments nor at 2 ranks", async () => {
  const mesh = algorithmNamed('mesh')!;
  for (const size of [3, 4, 5, 8]) {
    for (const count of COUNTS) {
      // A chunk large enough that every count's segments are inside the formula's domain (the schedule cuts no chunks).
      const traffic = mesh.traffic!.allReduce!({ ...call(count, size), chunkBytes: 1 << 20 })!;
      const counted = await run(size, count, 1, mesh.serves.allReduce!);
      assert.is(traffic.sends, Math.max(...counted.sends), `n=${size} count=${count}: sends per rank ${counted.sends}`);
      assert.is(allSendsOf(traffic, size), sum(counted.sends), `n=${size} count=${count}: all ranks' sends ${counted.sends}`);
      // Exactly: the formula cuts with the schedule's own evenSegments (uneven counts put more on the first ranks).
      assert.is(traffic.linkBytes, Math.max(...counted.bytes), `n=${size} count=${count}: bytes per rank ${counted.bytes}`);
      assert.is(traffic.messages, 2);
    }
  }
  // 4 ranks of 300 floats: segments of 76 floats (304 bytes) against the test's 256-byte chunk, a quarter of which is 64.
  assert.is(mesh.traffic!.allReduce!(call(300, 4)), undefined);
  assert.ok(mesh.traffic!.allReduce!(call(64, 4)) !== undefined, '16-float segments: a quarter chunk');
  assert.is(mesh.traffic!.allReduce!(call(64, 2)), undefined, 'at 2 ranks the ring keeps its two hops');
});

test('ring allreduce: segments between a quarter chunk and pipelineDepth chunks are re-cut, and the formula counts the re-cut', async () => {
  // 4 ranks of 400 floats: 100 a segment, between a quarter chunk (16) and 4 chunks (256): the
  // schedule cuts it into 4 chunks of 28 (a quarter of it, aligned), where counting whole chunks
  // of 64 gives 2.
  const counted = await run(4, 400, 1, algorithmNamed('ring')!.serves.allReduce!);
  assert.is(Math.max(...counted.sends), 2 * 3 * 4);
  assert.is(formula('ring', 'allReduce')(call(400, 4))!.sends, 24);
  // Pipelines in flight at once overlap: one wave of 4 chunk pipelines, 2(n-1) messages in sequence.
  assert.is(formula('ring', 'allReduce')(call(400, 4))!.messages, 6);
  // 5000 floats, 1250 a segment: 20 chunks of 64, 5 waves of 4.
  assert.is(formula('ring', 'allReduce')(call(5000, 4))!.messages, 6 * 5);
});

for (const [name, schedule, traffic] of [['allGather', ringAllGather, ringAllGatherTraffic], ['reduceScatter', ringReduceScatter, ringReduceScatterTraffic]] as const) {
  test(`ring ${name}: the busiest rank sends the formula's messages and bytes, all ranks together its messages`, async () => {
    for (const size of [2, 3, 5]) {
      for (const count of COUNTS) {
        const counted = await run(size, count, size, (ctx, work) => schedule(ctx, work, count));
        const t = traffic(call(count, size));
        assert.is(t.sends, Math.max(...counted.sends), `n=${size} count=${count}: sends per rank ${counted.sends}`);
        assert.is(allSendsOf(t, size), sum(counted.sends), `n=${size} count=${count}: all ranks' sends ${counted.sends}`);
        assert.is(t.linkBytes, Math.max(...counted.bytes), `n=${size} count=${count}`);
      }
    }
  });
}

for (const collective of ['broadcast', 'reduce'] as const) {
  for (const algorithm of ['ring', 'tree']) {
    test(`${algorithm} ${collective}: the busiest rank and all ranks together send the formula's messages`, async () => {
      const schedule = algorithmNamed(algorithm)!.serves[collective]!;
      for (const size of [2, 3, 4, 7]) {
        for (const count of COUNTS) {
          const counted = await run(size, count, 1, (ctx, work) => schedule(ctx, work, 0));
          const traffic = formula(algorithm, collective)(call(count, size))!;
          assert.is(traffic.sends, Math.max(...counted.sends), `n=${size} count=${count}: sends per rank ${counted.sends}`);
          assert.is(allSendsOf(traffic, size), sum(counted.sends), `n=${size} count=${count}: all ranks' sends ${counted.sends}`);
        }
      }
      // Under ntcp's 32 MiB chunk a 40 MiB call goes in pieces of at most 8 MiB (STORED_PIECE_BYTES): 5, and the formula counts them.
      const chunkBytes = 32 << 20;
      const count = 10 << 20;
      const counted = await run(4, count, 1, (ctx, work) => schedule(ctx, work, 0), chunkBytes / 4);
      const traffic = formula(algorithm, collective)({ bytes: 4 * count, ranks: 4, chunkBytes, pipelineDepth: DEPTH })!;
      assert.is(traffic.sends, Math.max(...counted.sends), `40 MiB at a 32 MiB chunk: sends per rank ${counted.sends}`);
      assert.is(allSendsOf(traffic, 4), sum(counted.sends), `40 MiB at a 32 MiB chunk: all ranks' sends ${counted.sends}`);
      assert.is(sum(counted.sends), 5 * 3, `40 MiB at a 32 MiB chunk: 5 pieces to each of 3 ranks (${counted.sends})`);
      // A call of one 1 MiB chunk goes in the pipeline depth's pieces of 256 KiB: 4 to each of 3 ranks.
      const oneChunk = await run(4, 1 << 18, 1, (ctx, work) => schedule(ctx, work, 0), (1 << 20) / 4);
      assert.is(sum(oneChunk.sends), 4 * 3, `1 MiB at a 1 MiB chunk: 4 pieces to each of 3 ranks (${oneChunk.sends})`);
      assert.is(formula(algorithm, collective)({ bytes: 1 << 20, ranks: 4, chunkBytes: 1 << 20, pipelineDepth: DEPTH })!.allSends, 4 * 3);
    });

    test(`${algorithm} ${collective}: back to back, a call's link bytes are the busiest rank's one way, sent or received (a tree's inner rank sends each piece to each child, or receives each child's)`, async () => {
      const schedule = algorithmNamed(algorithm)!.serves[collective]!;
      for (const size of [2, 3, 4, 7]) {
        for (const count of COUNTS) {
          const counted = await run(size, count, 1, (ctx, work) => schedule(ctx, work, 0));
          const busiest = Math.max(...counted.bytes, ...counted.received);
          assert.is(formula(algorithm, collective)(call(count, size))!.stream!.linkBytes, busiest, `n=${size} count=${count}: sent ${counted.bytes}, received ${counted.received}`);
        }
      }
    });
  }
}

test.run();
