// Compressed allReduce on GPUBuffers (a real WebGPU device: lavapipe here): encoding, decoding
// and reduction run in the kernels of lib/gpu (test/helpers/compression-checks.ts has the
// bounds). Every codec at 2-4 ranks, counts 0, 1, odd and large, ring/tree/direct; GPU ranks get
// the same bits as host ranks given the same inputs (the kernels match the host's bit for bit);
// onebit's residual lives on the device and its error feedback loses nothing over steps.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { device } from './helpers/gpu.js';
import { checkCompressed, compressionInput, gpuPlacement, HOST, runCompressed } from './helpers/compression-checks.js';
import { createWorld, destroyWorld } from './helpers/comm-world.js';

const GPU = gpuPlacement(device);
const CODECS = ['bf16', 'fp16', 'int8', 'switchml'] as const;

for (const size of [2, 3, 4]) {
  test(`GPU compressed allReduce: ${size} ranks, every bounded codec, counts 0/1/7/1001/70001, ring/tree/direct`, async () => {
    const comms = await createWorld(size, { device, chunkBytes: 16384, directThresholdBytes: 256 });
    try {
      for (const codec of CODECS) {
        for (const count of [0, 1, 7, 1001, 70_001]) {
          for (const algorithm of ['ring', 'tree', undefined]) {
            await checkCompressed(comms, { codec, count, op: count % 2 ? 'avg' : 'sum', ...(algorithm && { algorithm }), inPlace: count !== 7 }, GPU);
          }
        }
      }
    } finally {
      await destroyWorld(comms);
    }
  });
}

test('GPU and host ranks of the same inputs end with the same bits (every codec, onebit included)', async () => {
  const comms = await createWorld(3, { device, chunkBytes: 8192 });
  try {
    for (const codec of [...CODECS, 'onebit']) {
      for (const count of [1, 1001, 40_003]) {
        const inputs = comms.map((_, r) => compressionInput(r, count, 5));
        const [gpu] = await runCompressed(comms, { codec, count, op: 'sum', algorithm: 'ring' }, GPU, inputs);
        const [host] = await runCompressed(comms, { codec, count, op: 'sum', algorithm: 'ring' }, HOST, inputs);
        assert.equal(new Uint32Array(gpu!.buffer), new Uint32Array(host!.buffer), `${codec} count ${count}`);
      }
    }
  } finally {
    await destroyWorld(comms);
  }
});

for (const codec of ['onebit', 'int8'] as const) {
  test(`GPU ${codec} error feedback: the residual stays on the device; Σ results + Σ residuals = Σ inputs`, async () => {
    const comms = await createWorld(3, { device, chunkBytes: 4096 });
    try {
      const count = 5003;
      const steps = 8;
      const sent = new Float64Array(count);
      const exact = new Float64Array(count);
      let magnitude = 0;
      const key = { layer: 'dense/kernel' };
      for (let t = 0; t < steps; t++) {
        const inputs = comms.map((_, r) => compressionInput(r, count, t + 11));
        for (const x of inputs) x.forEach((v, i) => { exact[i]! += v; });
        const [y] = await runKeyed(comms, inputs, key, codec);
        y!.forEach((v, i) => { sent[i]! += v; magnitude = Math.max(magnitude, Math.abs(v)); });
      }
      const residuals = await Promise.all(comms.map((c) => c.readErrorFeedback(key)));
      for (let i = 0; i < count; i++) {
        const held = residuals.reduce((s, r) => s + r![i]!, 0);
        const bound = steps * 3 * 2 ** -21 * (magnitude + 48);
        assert.ok(Math.abs(sent[i]! + held - exact[i]!) <= bound, `element ${i}`);
      }
      assert.is(comms[0]!.errorFeedbackElements, count);
    } finally {
      await destroyWorld(comms);
    }
  });
}

test('GPU and host memory agree bit for bit on keyed int8 error feedback, step after step', async () => {
  const comms = await createWorld(3, { device, chunkBytes: 4096 });
  try {
    const count = 3001;
    for (let t = 0; t < 4; t++) {
      const inputs = comms.map((_, r) => compressionInput(r, count, t + 21));
      const [gpu] = await runCompressed(comms, { codec: 'int8', count, op: 'sum', algorithm: 'ring', errorFeedback: 'gpu-side' }, GPU, inputs);
      const [host] = await runCompressed(comms, { codec: 'int8', count, op: 'sum', algorithm: 'ring', errorFeedback: 'host-side' }, HOST, inputs);
      assert.equal(new Uint32Array(gpu!.buffer), new Uint32Array(host!.buffer), `step ${t}`);
    }
    const [gpuResidual, hostResidual] = await Promise.all([comms[0]!.readErrorFeedback('gpu-side'), comms[0]!.readErrorFeedback('host-side')]);
    assert.equal(new Uint32Array(gpuResidual!.buffer), new Uint32Array(hostResidual!.buffer), 'the residuals too');
  } finally {
    await destroyWorld(comms);
  }
});

/** One keyed allreduce on GPU buffers; every rank's result. */
async function runKeyed(comms: Awaited<ReturnType<typeof createWorld>>, inputs: Float32Array[], key: object, codec: 'onebit' | 'int8'): Promise<Float32Array[]> {
  const buffers = inputs.map((x) => GPU.make(x) as GPUBuffer);
  try {
    await Promise.all(comms.map((c, r) => c.allReduce(buffers[r]!, buffers[r]!, inputs[0]!.length, 'float32', 'sum', { compression: codec, errorFeedback: key })));
    const results = await Promise.all(buffers.map((b) => GPU.read(b, inputs[0]!.length)));
    for (const r of results) assert.equal(new Uint32Array(r.buffer), new Uint32Array(results[0]!.buffer));
    return results;
  } finally {
    for (const b of buffers) b.destroy();
  }
}

test.run();
