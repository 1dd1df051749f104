// The one shape of a GPU kernel call (lib/gpu/kernel.ts): prepare* checks a call and returns its
// recorder; recorders of several kernels and families recorded into one encoder make a single
// submission with the results of the CPU codecs, bit for bit; the gpu* form made from prepare*
// rejects a bad call before its submission opens any error scope.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { int8Dequantize, int8PackedWords, int8Quantize } from '../lib/cpu/int8.js';
import { switchmlBlockExponents, switchmlDequantize, switchmlQuantize } from '../lib/cpu/switchml.js';
import { encodeInt8Quantize, gpuInt8Quantize, prepareInt8Dequantize, prepareInt8Quantize } from '../lib/gpu/int8.js';
import { prepareSwitchmlBlockExponents, prepareSwitchmlDequantize, prepareSwitchmlQuantize } from '../lib/gpu/switchml.js';
import { codecInputs } from './helpers/codec-inputs.js';
import { Placed } from './helpers/codec-gpu.js';
import { ctx, device } from './helpers/gpu.js';
import { rejects } from './helpers/assert.js';

/** Counts the device's queue submissions until restored. */
function countSubmits(): { readonly count: number; restore(): void } {
  const queue = device.queue;
  const submit = queue.submit.bind(queue);
  let count = 0;
  (queue as { submit: GPUQueue['submit'] }).submit = (buffers) => {
    count++;
    submit(buffers);
  };
  return { get count() { return count; }, restore: () => { (queue as { submit: GPUQueue['submit'] }).submit = submit; } };
}

test('five kernels of two families, several pieces each, run as one submission with the CPU codecs\' results', async () => {
  const count = 1001;
  const blockSize = 36;
  const options = { maxBindingBytes: 1024 }; // a few blocks per piece: every kernel records several dispatches
  const input = codecInputs(count, 7, { band: 23, nonFinite: true });
  const x = new Placed(4, input);
  const exponents = Placed.empty(8, Math.ceil(count / blockSize) * 4);
  const q = Placed.empty(0, count * 4);
  const y = Placed.empty(12, count * 4);
  const packed = Placed.empty(4, int8PackedWords(count) * 4);
  const scales = Placed.empty(0, Math.ceil(count / blockSize) * 4);
  const z = Placed.empty(8, count * 4);
  // One worker: its own exponents are the agreed ones and its quantized values are the sum.
  const switchml = { exponents: exponents.region, count, blockSize, workers: 1 };
  const recorders = [
    prepareSwitchmlBlockExponents(ctx, { src: x.region, exponents: exponents.region, count, blockSize }, options),
    prepareSwitchmlQuantize(ctx, { ...switchml, src: x.region, dst: q.region }, options),
    prepareSwitchmlDequantize(ctx, { ...switchml, src: q.region, dst: y.region }, options),
    prepareInt8Quantize(ctx, { src: x.region, packed: packed.region, scales: scales.region, count, blockSize }, options),
    prepareInt8Dequantize(ctx, { packed: packed.region, scales: scales.region, dst: z.region, count, blockSize }, options),
  ];
  const submits = countSubmits();
  try {
    await ctx.run((encoder) => recorders.forEach((record) => record(encoder)));
  } finally {
    submits.restore();
  }
  assert.is(submits.count, 1);

  const agreed = switchmlBlockExponents(input, count, blockSize);
  const quantized = switchmlQuantize(input, agreed, count, blockSize, 1);
  await exponents.expect(agreed, 'exponents');
  await q.expect(quantized, 'switchml quantize');
  await y.expect(switchmlDequantize(quantized, agreed, count, blockSize, 1), 'switchml dequantize');
  const int8 = int8Quantize(input, count, blockSize);
  await packed.expect(int8.packed, 'int8 packed');
  await scales.expect(int8.scales, 'int8 scales');
  await z.expect(int8Dequantize(int8.packed, int8.scales, count, blockSize), 'int8 dequantize');
  for (const placed of [x, exponents, q, y, packed, scales, z]) placed.destroy();
});

test('a bad call throws before recording and rejects before its submission opens error scopes', async () => {
  const a = Placed.empty(0, 64);
  const b = Placed.empty(0, 64);
  const c = Placed.empty(0, 64);
  const bad = { src: a.region, packed: b.region, scales: c.region, count: 16, blockSize: 2 };
  assert.throws(() => prepareInt8Quantize(ctx, bad), /block size 2 is not a multiple of 4/);
  assert.throws(() => encodeInt8Quantize(ctx, device.createCommandEncoder(), bad), /block size 2 is not a multiple of 4/);
  const submits = countSubmits();
  try {
    await rejects(gpuInt8Quantize(ctx, bad), /InvalidArgument: int8 quantize: block size 2/);
  } finally {
    submits.restore();
  }
  assert.is(submits.count, 0);
  // Had the call been checked inside the submission, its two scopes would still be open here.
  await rejects(device.popErrorScope(), /./);
  for (const placed of [a, b, c]) placed.destroy();
});

test.run();
