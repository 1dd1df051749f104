// The tree allreduce over shm on host memory: a rank without children sends its span straight
// from the caller's array (Memory.outgoing, never a copy through Memory.read: a fresh buffer per
// call cost page faults and GC work), its first child's partial is folded on arrival into the
// span and the result coming down lands there (lib/memory/landing.ts). Halves of exactly the
// ring slot's payload (SHM_SEGMENT_BYTES) and one element either side, so that messages go
// through the ring and by reference; results bit-identical to the oracle; landings and reads
// are counted, so a silent return to the copying path fails.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import '../lib/index.node.js'; // registers the webccl+shm:// world
import type { DataType, ElementArray, ReduceOp } from '../lib/dtype.js';
import { CpuMemorySpace } from '../lib/cpu/cpu-memory.js';
import { FramedTransport } from '../lib/transport/framed/framed-transport.js';
import { SHM_SEGMENT_BYTES } from '../lib/transport/shm/shm-mesh.js';
import { createWorld, destroyWorld, inputFor, oracleReduce, sameElements } from './helpers/comm-world.js';
import { requireAddon } from './helpers/native-transports.js';
import { within } from './within.js';

requireAddon('shm');

/** While `body` runs: frames that landed in `arrays` (folded or copied), and Memory.read calls on host memory. */
async function countCopies(arrays: readonly ElementArray[], body: () => Promise<void>): Promise<{ folded: number; copied: number; reads: number }> {
  const buffers = new Set<ArrayBufferLike>(arrays.map((array) => array.buffer));
  const counts = { folded: 0, copied: 0, reads: 0 };
  const sink = FramedTransport.prototype.receiveFrameSink;
  const bind = CpuMemorySpace.prototype.bind;
  FramedTransport.prototype.receiveFrameSink = function (this: FramedTransport, head: Uint8Array, from: number) {
    const found = sink.call(this, head, from);
    if (found && buffers.has(found.target.buffer)) counts[found.fold ? 'folded' : 'copied']++;
    return found;
  };
  CpuMemorySpace.prototype.bind = function (this: CpuMemorySpace, ...args: Parameters<CpuMemorySpace['bind']>) {
    const memory = bind.apply(this, args);
    const read = memory.read.bind(memory);
    memory.read = (...readArgs) => {
      counts.reads++;
      return read(...readArgs);
    };
    return memory;
  };
  try {
    await body();
  } finally {
    FramedTransport.prototype.receiveFrameSink = sink;
    CpuMemorySpace.prototype.bind = bind;
  }
  return counts;
}

const CASES: readonly [DataType, ReduceOp][] = [['float32', 'sum'], ['bfloat16', 'avg'], ['int32', 'max']];

for (const size of [2, 4]) {
  test(`${size} ranks: tree allreduce with halves at the slot size and one element either side, no copies, bit-identical`, async () => {
    const comms = await within(createWorld(size, { timeoutMs: 20_000 }, 'shm'), 10_000, 'world');
    const total = { folded: 0, copied: 0, reads: 0, calls: 0 };
    for (const [dtype, op] of CASES) {
      const bytes = dtype === 'bfloat16' ? 2 : 4;
      for (const halfBytes of [SHM_SEGMENT_BYTES - bytes, SHM_SEGMENT_BYTES, SHM_SEGMENT_BYTES + bytes]) {
        const count = (2 * halfBytes) / bytes;
        const inputs = comms.map((_, rank) => inputFor(dtype, op, rank, count));
        const bufs = inputs.map((input) => input.slice());
        const label = `${dtype} ${op}, halves of ${halfBytes} bytes`;
        const seen = await countCopies(bufs, async () => {
          await within(Promise.all(comms.map((c, r) => c.allReduce(bufs[r]!, bufs[r]!, count, dtype, op, { algorithm: 'tree' }))), 20_000, label);
        });
        const oracle = oracleReduce(inputs, count, dtype, op);
        for (const [rank, buf] of bufs.entries()) sameElements(buf, oracle, `${label}, rank ${rank}`);
        total.folded += seen.folded;
        total.copied += seen.copied;
        total.reads += seen.reads;
        total.calls++;
      }
    }
    assert.is(total.reads, 0, 'no span is copied out to be sent');
    // Each half: one partial folded up and one result copied down per tree edge (size - 1 edges),
    // unless the message came before its receive was posted (then buffered): most must land.
    const edges = 2 * (size - 1) * total.calls;
    assert.ok(total.folded >= edges / 2 && total.copied >= edges / 2, `landings ${JSON.stringify(total)} of ${edges} each way`);
    await destroyWorld(comms);
  });
}

test.run();
