// The Aggregator seam (lib/memory/aggregator.ts) with a test double: an in-process aggregator
// that sums what every rank sends, in rank order, driving aggregatorAllReduce on host memory.
// Results must be the serial oracle's, bit for bit.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { aggregatorAllReduce } from '../lib/collectives/aggregator-allreduce.js';
import type { CollectiveContext, Link } from '../lib/collectives/context.js';
import { CpuMemorySpace } from '../lib/cpu/cpu-memory.js';
import { reduceNary } from '../lib/cpu/reduce.js';
import { elementBytes, type DataType, type ReduceOp } from '../lib/dtype.js';
import type { AggregateOp, Aggregator } from '../lib/memory/aggregator.js';
import { allocate, inputFor, oracleReduce, sameElements } from './helpers/comm-world.js';

interface Slot {
  readonly payloads: (Uint8Array | undefined)[];
  readonly done: ((total: Uint8Array) => void)[];
  arrived: number;
}

/** Sums each slot once every rank has contributed, in rank order whatever the arrival order. */
class InProcessAggregator {
  private readonly slots = new Map<number, Slot>();
  constructor(private readonly size: number) {}

  rank(rank: number): Aggregator {
    return { allReduce: (slot, payload, count, dtype, op) => this.contribute(rank, slot, payload, count, dtype, op) };
  }

  private contribute(rank: number, key: number, payload: Uint8Array, count: number, dtype: DataType, op: AggregateOp): Promise<Uint8Array> {
    let slot = this.slots.get(key);
    if (!slot) this.slots.set(key, (slot = { payloads: [], done: [], arrived: 0 }));
    assert.is(payload.byteLength, count * elementBytes(dtype), 'payload size');
    assert.is(slot.payloads[rank], undefined, `rank ${rank} contributed to slot ${key} twice`);
    slot.payloads[rank] = payload.slice();
    const total = new Promise<Uint8Array>((resolve) => slot.done.push(resolve));
    if (++slot.arrived === this.size) {
      this.slots.delete(key);
      const out = new Uint8Array(count * elementBytes(dtype));
      reduceNary(out, slot.payloads as Uint8Array[], count, dtype, op);
      for (const resolve of slot.done) resolve(out.slice());
    }
    return total;
  }
}

const noLink: Link = {
  send: () => Promise.reject(new Error('an aggregator schedule sends nothing to peers')),
  recv: () => Promise.reject(new Error('an aggregator schedule receives nothing from peers')),
  release: () => undefined,
};

test('aggregatorAllReduce over an in-process aggregator equals the serial oracle', async () => {
  const space = new CpuMemorySpace();
  for (const [size, count] of [[1, 5], [3, 37], [4, 64]] as const) {
    for (const dtype of ['float32', 'float16', 'int32'] as const) {
      for (const op of ['sum', 'max', 'avg'] as ReduceOp[]) {
        if (op === 'avg' && dtype === 'int32') continue;
        const aggregator = new InProcessAggregator(size);
        const inputs = Array.from({ length: size }, (_, rank) => inputFor(dtype, op, rank, count));
        const outputs = inputs.map((input) => { const out = allocate(dtype, count); out.set(input); return out; });
        await Promise.all(outputs.map(async (output, rank) => {
          const memory = space.bind(dtype, op, size);
          const located = { kind: 'cpu' as const, what: `rank ${rank}`, bytes: new Uint8Array(output.buffer) };
          const ctx: CollectiveContext = { rank, size, link: noLink, memory, chunkElements: 8, alignElements: 4, pipelineDepth: 2 };
          await aggregatorAllReduce(ctx, space.region(located, dtype, 0, count), { aggregator: aggregator.rank(rank), dtype, op });
        }));
        const expected = oracleReduce(inputs, count, dtype, op);
        for (const [rank, output] of outputs.entries()) sameElements(output, expected, `n=${size} ${count} ${dtype} ${String(op)} rank ${rank}`);
      }
    }
  }
});

test.run();
