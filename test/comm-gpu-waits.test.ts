// GPU round trips of a ring allreduce on GPUBuffers, counted (GpuContext.waits), not timed:
// each reduce-scatter step is one fused submission (recvReduceSend / recvReduceCopySend: upload,
// reduce, copy out, map) and all-gather steps wait for nothing, so a rank waits n times per
// chunk (its first send, then one per reduce-scatter step) where separate calls waited 2n - 1
// (2n with avg).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { GpuContext } from '../lib/gpu/context.js';
import { device } from './helpers/gpu.js';
import { createWorld, destroyWorld, inputFor, oracleReduce, sameElements } from './helpers/comm-world.js';
import { readRegion, writeRegion } from '../lib/gpu/transfer.js';

const USAGE = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;

test('ring allreduce on GPU memory: one GPU wait per reduce-scatter step, none in all-gather', async () => {
  const size = 4;
  const count = 4096; // one chunk per segment at the default chunk size
  const comms = await createWorld(size, { device, timeoutMs: 60_000 });
  const context = GpuContext.for(device);
  try {
    for (const op of ['sum', 'avg'] as const) {
      const inputs = comms.map((c) => inputFor('float32', op, c.rank, count));
      const buffers = inputs.map((input) => {
        const buffer = device.createBuffer({ size: count * 4, usage: USAGE });
        writeRegion(device, { buffer, byteOffset: 0 }, new Uint8Array(input.buffer));
        return buffer;
      });
      const before = { ...context.waits };
      await Promise.all(comms.map((c, r) => c.allReduce(buffers[r]!, buffers[r]!, count, 'float32', op, { algorithm: 'ring' })));
      const waits = context.waits.completions - before.completions + context.waits.maps - before.maps;
      assert.ok(waits <= size * size, `${op}: ${waits} GPU waits for ${size} ranks (at most ${size} each)`);
      const expected = oracleReduce(inputs, count, 'float32', op);
      for (const [r, buffer] of buffers.entries()) {
        const bytes = await readRegion(device, { buffer, byteOffset: 0 }, count * 4);
        sameElements(new Float32Array(bytes.buffer), expected, `${op} rank ${r}`);
        buffer.destroy();
      }
    }
  } finally {
    await destroyWorld(comms);
  }
});

test.run();
