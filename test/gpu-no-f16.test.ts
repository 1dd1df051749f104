// The 16-bit kernels on a device without shader-f16 (SwiftShader, many older GPUs and browsers
// that withhold it): float16 and bfloat16 reductions and casts are written with integer
// rounding code and must stay bit-identical to the CPU oracle there. The device comes from the
// same adapter, requested with no optional features and default limits (the sources below
// are at most 3, well within the default of 8 storage buffers per stage).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { elementBytes, premulSum, type DataType, type ReduceOp } from '../lib/dtype.js';
import { castFromFloat32, castToFloat32, type HalfType } from '../lib/cpu/cast.js';
import { f32ToBf16Bits, f32ToF16Bits } from '../lib/cpu/half.js';
import { reduceAccumulate, reduceNary } from '../lib/cpu/reduce.js';
import { GpuContext } from '../lib/gpu/context.js';
import { gpuCastFromFloat32, gpuCastToFloat32 } from '../lib/gpu/cast.js';
import { nodeGpu } from '../lib/gpu/node-device.js';
import { gpuReduceAccumulate, gpuReduceNary } from '../lib/gpu/reduce.js';
import { assertSameElements, Mirrored, randomWords } from './helpers/gpu.js';

const adapter = await (await nodeGpu()).requestAdapter();
if (!adapter) throw new Error('no WebGPU adapter');
const bare = await adapter.requestDevice();
const ctx = GpuContext.for(bare);

const HALVES: readonly HalfType[] = ['float16', 'bfloat16'];
const OPS: readonly ReduceOp[] = ['sum', 'prod', 'min', 'max', 'avg', premulSum(0.3)];

/** 16-bit values whose f32 widening is normal (WGSL may flush f32 subnormals): near 1 for products. */
function halfBytes(dtype: DataType, op: ReduceOp, count: number, seed: number): Uint8Array {
  const value = (w: number): number => (w & 1 ? -1 : 1) * (1 + (w >>> 9) / 2 ** 23) * 2 ** (op === 'prod' ? -1 + (w >>> 30) : ((w >>> 1) & 31) - 16);
  const encode = dtype === 'float16' ? f32ToF16Bits : f32ToBf16Bits;
  return new Uint8Array(Uint16Array.from(randomWords(count, seed), (w) => encode(value(w))).buffer);
}

let seed = 11;

test('the device has no shader-f16', () => {
  assert.is(bare.features.has('shader-f16'), false);
  assert.is(ctx.hasF16, false);
});

for (const dtype of HALVES) {
  test(`reduce ${dtype} without shader-f16: every op, both forms, odd sizes and offsets`, async () => {
    for (const op of OPS) {
      for (const form of ['accumulate', 'nary'] as const) {
        for (const [count, offset] of [[1, 0], [257, 4], [1001, 8]] as const) {
          const bytes = count * elementBytes(dtype);
          const dst = new Mirrored(halfBytes(dtype, op, (offset + bytes) / 2 + 6, seed++), bare);
          const sources = [0, 1, 2].map(() => new Mirrored(halfBytes(dtype, op, (offset + bytes) / 2 + 2, seed++), bare));
          const run = form === 'accumulate' ? gpuReduceAccumulate : gpuReduceNary;
          const cpu = form === 'accumulate' ? reduceAccumulate : reduceNary;
          await run(ctx, dst.region(offset), sources.map((s) => s.region(offset)), count, dtype, op);
          cpu(dst.view(offset), sources.map((s) => s.view(offset)), count, dtype, op);
          assertSameElements(await dst.readBack(), dst.host, dtype, `${form} ${dtype} ${JSON.stringify(op)} count ${count}`);
          for (const b of [dst, ...sources]) b.destroy();
        }
      }
    }
  });

  test(`cast float32 <-> ${dtype} without shader-f16: random bit patterns, odd sizes`, async () => {
    for (const count of [1, 2, 17, 1001]) {
      const floats = new Mirrored(new Uint8Array(randomWords(count, seed++).buffer), bare);
      const halves = new Mirrored(new Uint8Array(randomWords(Math.ceil(count / 2), seed++).buffer), bare);
      await gpuCastFromFloat32(ctx, halves.region(0), floats.region(0), count, dtype);
      castFromFloat32(halves.view(0), floats.view(0), count, dtype);
      assertSameElements(await halves.readBack(), halves.host, dtype, `narrow ${dtype} count ${count}`);
      const back = new Mirrored(new Uint8Array(randomWords(count, seed++).buffer), bare);
      await gpuCastToFloat32(ctx, back.region(0), halves.region(0), count, dtype);
      castToFloat32(back.view(0), halves.view(0), count, dtype);
      assertSameElements(await back.readBack(), back.host, 'float32', `widen ${dtype} count ${count}`);
      for (const b of [floats, halves, back]) b.destroy();
    }
  });
}

test.after(() => bare.destroy());

test.run();
