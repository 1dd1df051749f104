// GPU reductions against the CPU oracle on identical bytes: every dtype, op and form, the scale
// operations, sizes 0/1/odd/not a multiple of the workgroup/beyond 65535 workgroups, non-zero
// and binding-unaligned offsets, in-place use, pieces split at the binding limit, and bad
// arguments. Results must be bit-identical (NaN payloads aside): the generators keep f32 values
// out of the subnormal range, where WGSL lets the device flush to zero (lavapipe does).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { elementBytes, premulSum, type DataType, type ReduceOp } from '../lib/dtype.js';
import { finishAverage, premultiply, reduceAccumulate, reduceNary } from '../lib/cpu/reduce.js';
import {
  encodeReduceNary, gpuFinishAverage, gpuPremultiply, gpuReduceAccumulate, gpuReduceNary,
} from '../lib/gpu/reduce.js';
import type { KernelOptions } from '../lib/gpu/options.js';
import { region } from '../lib/gpu/region.js';
import { assertSameElements, ctx, device, Mirrored, randomBytes, scalarFor } from './helpers/gpu.js';
import { rejects } from './helpers/assert.js';

const DTYPES: readonly DataType[] = ['float32', 'float16', 'bfloat16', 'int32', 'uint32'];
const OPS: readonly ReduceOp[] = ['sum', 'prod', 'min', 'max', 'avg', premulSum(0.3)];

interface Layout {
  readonly count: number;
  readonly sources: number;
  readonly dstOffset?: number;
  readonly sourceOffsets?: readonly number[];
  readonly options?: KernelOptions;
}

let seed = 1;

/** Runs one form on the GPU and on the CPU over mirrored buffers and compares the whole dst buffer. */
async function check(form: 'accumulate' | 'nary', dtype: DataType, op: ReduceOp, layout: Layout): Promise<void> {
  const { count, sources: k, dstOffset = 0, options = {} } = layout;
  const bytes = count * elementBytes(dtype);
  const offsets = layout.sourceOffsets ?? Array.from({ length: k }, (_, j) => 4 * j);
  const dst = new Mirrored(randomBytes(dtype, op, (dstOffset + bytes) / elementBytes(dtype) + 6, seed++));
  const sources = offsets.map((offset) => new Mirrored(randomBytes(dtype, op, (offset + bytes) / elementBytes(dtype) + 2, seed++)));
  const what = `${form} ${dtype} ${JSON.stringify(op)} count ${count} k ${k} dst@${dstOffset}`;
  const run = form === 'accumulate' ? gpuReduceAccumulate : gpuReduceNary;
  const cpu = form === 'accumulate' ? reduceAccumulate : reduceNary;
  await run(ctx, dst.region(dstOffset), sources.map((s, j) => s.region(offsets[j]!)), count, dtype, op, options);
  cpu(dst.view(dstOffset), sources.map((s, j) => s.view(offsets[j]!)), count, dtype, op);
  assertSameElements(await dst.readBack(), dst.host, dtype, what);
  for (const b of [dst, ...sources]) b.destroy();
}

for (const dtype of DTYPES) {
  test(`reduce ${dtype}: every op, both forms, sizes 0, 1, odd, not a workgroup multiple, 8 sources`, async () => {
    for (const rawOp of OPS) {
      const op = scalarFor(dtype, rawOp);
      for (const form of ['accumulate', 'nary'] as const) {
        const maxSources = form === 'accumulate' ? 7 : 8;
        await check(form, dtype, op, { count: 0, sources: 1 });
        await check(form, dtype, op, { count: 1, sources: 2 });
        await check(form, dtype, op, { count: 3, sources: 3, dstOffset: 8, sourceOffsets: [4, 260, 12] });
        await check(form, dtype, op, { count: 1001, sources: maxSources, dstOffset: 516, options: { workgroupSize: 64 } });
      }
    }
  });
}

test('reduce: more than 65535 workgroups (folded 2-D grid), every dtype, vec4 and scalar forms', async () => {
  // One-thread workgroups: the vec4 form's threads take 4 vec4s (16 words), the scalar form's 4 words.
  const workgroups = ctx.maxWorkgroupsPerDimension + 100;
  for (const dtype of DTYPES) {
    const count = workgroups * 16 * (4 / elementBytes(dtype)) - 1;
    await check('nary', dtype, 'sum', { count, sources: 2, sourceOffsets: [0, 0], options: { workgroupSize: 1 } });
    await check('nary', dtype, 'sum', { count: (count + 1) / 4 - 1, sources: 2, sourceOffsets: [0, 4], options: { workgroupSize: 1 } });
  }
});

test('reduce: vec4 body and scalar edges at every word residue, regions in step and not', async () => {
  // Counts cover: all head, head + tail, head + body + tail, partial last 16-bit word, and
  // threads whose 4 units run past the end.
  for (const dtype of ['float32', 'float16'] as const) {
    for (let residue = 0; residue < 4; residue++) {
      for (const count of [1, 2, 3, 5, 8, 9, 17, 31, 64, 67, 263]) {
        const inStep = [4 * residue + 16, 4 * residue + 272];
        await check('accumulate', dtype, 'sum', { count, sources: 2, dstOffset: 4 * residue, sourceOffsets: inStep });
        await check('nary', dtype, 'min', { count, sources: 3, dstOffset: 4 * residue, sourceOffsets: [...inStep, 4 * ((residue + 1) % 4)] });
      }
    }
  }
});

test('reduce: work split into pieces at the binding limit, including inputs that share dst\'s buffer', async () => {
  const options = { maxBindingBytes: 4096 };
  for (const dtype of ['float16', 'int32'] as const) {
    await check('accumulate', dtype, 'max', { count: 5001, sources: 3, dstOffset: 4, sourceOffsets: [0, 8, 300], options });
    await check('nary', dtype, 'avg', { count: 3333, sources: 2, dstOffset: 1028, options });
  }
  // n-ary in place: dst is source 0, source 1 lies further on in the same buffer (read through dst's binding).
  const count = 2999;
  const buffer = new Mirrored(randomBytes('float32', 'sum', 2 * count + 8, 99));
  const other = new Mirrored(randomBytes('float32', 'sum', count, 98));
  const at = [region(buffer.gpu, 16), region(buffer.gpu, 16 + 4 * count + 12), other.region(0)];
  // The shared binding spans both regions (12 KB apart), so pieces shrink to fit 16 KB.
  await gpuReduceNary(ctx, at[0]!, at, count, 'float32', 'sum', { maxBindingBytes: 16384 });
  await rejects(gpuReduceNary(ctx, at[0]!, at, count, 'float32', 'sum', options), /cannot be bound together within the device's 4096-byte/);
  reduceNary(buffer.view(16), [buffer.view(16), buffer.view(16 + 4 * count + 12), other.view(0)], count, 'float32', 'sum');
  assertSameElements(await buffer.readBack(), buffer.host, 'float32', 'in place with a same-buffer source');
  buffer.destroy();
  other.destroy();
});

test('scale operations: premultiply and finishAverage, every dtype, odd counts at offsets', async () => {
  for (const dtype of DTYPES) {
    for (const count of [1, 7, 1001]) {
      const src = new Mirrored(randomBytes(dtype, 'sum', count + 3, seed++));
      const dst = new Mirrored(randomBytes(dtype, 'sum', count + 5, seed++));
      const scalar = dtype === 'int32' || dtype === 'uint32' ? 7 : 0.1;
      await gpuPremultiply(ctx, dst.region(4), src.region(4), count, dtype, scalar);
      premultiply(dst.view(4), src.view(4), count, dtype, scalar);
      assertSameElements(await dst.readBack(), dst.host, dtype, `premultiply ${dtype} ${count}`);
      await gpuFinishAverage(ctx, dst.region(4), dst.region(4), count, dtype, 3); // in place
      finishAverage(dst.view(4), dst.view(4), count, dtype, 3);
      assertSameElements(await dst.readBack(), dst.host, dtype, `finishAverage ${dtype} ${count}`);
      src.destroy();
      dst.destroy();
    }
  }
});

test('reduce: several dispatches recorded into one caller encoder', async () => {
  const a = new Mirrored(randomBytes('int32', 'sum', 100, 5));
  const b = new Mirrored(randomBytes('int32', 'sum', 100, 6));
  const encoder = device.createCommandEncoder();
  encodeReduceNary(ctx, encoder, a.region(0), [a.region(0), b.region(0)], 100, 'int32', 'sum');
  encodeReduceNary(ctx, encoder, a.region(0), [a.region(0), b.region(0)], 100, 'int32', 'prod');
  device.queue.submit([encoder.finish()]);
  reduceNary(a.view(0), [a.view(0), b.view(0)], 100, 'int32', 'sum');
  reduceNary(a.view(0), [a.view(0), b.view(0)], 100, 'int32', 'prod');
  assertSameElements(await a.readBack(), a.host, 'int32', 'batched');
  a.destroy();
  b.destroy();
});

test('reduce: bad arguments are named and reject before any work', async () => {
  const buf = new Mirrored(new Uint8Array(64));
  const r = buf.region(0);
  await rejects(gpuReduceNary(ctx, buf.region(2), [r], 4, 'float32', 'sum'), /InvalidArgument: reduce float32 dst: byte offset 2 is not a non-negative multiple of 4/);
  await rejects(gpuReduceNary(ctx, r, [buf.region(6)], 4, 'float16', 'sum'), /reduce float16 source 0: byte offset 6/);
  await rejects(gpuReduceNary(ctx, r, [buf.region(56)], 4, 'int32', 'sum'), /reduce int32 source 0: needs 16 bytes at offset 56 but the buffer holds 64/);
  await rejects(gpuReduceAccumulate(ctx, r, [r], 17, 'float32', 'sum'), /reduce float32 dst: needs 68 bytes/);
  await rejects(gpuReduceNary(ctx, r, [r], 4, 'float64' as never, 'sum'), /unknown dtype float64/);
  await rejects(gpuReduceNary(ctx, r, [r], 4, 'float32', 'mean' as never), /unknown reduction op "mean"/);
  await rejects(gpuReduceNary(ctx, r, Array(9).fill(r), 4, 'float32', 'sum'), /9 sources given, between 1 and 8/);
  await rejects(gpuReduceAccumulate(ctx, r, Array(8).fill(r), 4, 'float32', 'sum'), /8 sources given, between 1 and 7/);
  await rejects(gpuReduceNary(ctx, r, [r], 1.5, 'float32', 'sum'), /count 1.5 is not a non-negative integer/);
  await rejects(gpuReduceNary(ctx, r, [r], 4, 'float32', 'sum', { workgroupSize: 100000 }), /workgroup size 100000 is not an integer/);
  await rejects(gpuFinishAverage(ctx, r, r, 4, 'int32', -2), /divisor -2/);
  const noStorage = device.createBuffer({ size: 64, usage: GPUBufferUsage.COPY_DST });
  await rejects(gpuReduceNary(ctx, r, [region(noStorage, 0)], 4, 'float32', 'sum'), /source 0: buffer lacks the usage flags/);
  assert.throws(() => encodeReduceNary(ctx, device.createCommandEncoder(), r, [r], 4, 'float32', premulSum(Infinity)), /unknown reduction op/);
  noStorage.destroy();
  buf.destroy();
});

test.run();
