// The hop codecs' folds on the GPU follow the NaN rule of lib/cpu/reduction.ts, as the CPU's do
// (test/cpu-codec-nan.test.ts): acc's NaN before the decoded value's, quieted, sign and payload
// kept, whatever NaN the device's add returns. Each fused kernel (decode + accumulate: cast.wgsl,
// block-decode.wgsl; fold + encode: half-fold-encode.wgsl, int8-fold.wgsl) against the rule's
// lanes and, bit for bit, against the CPU: the new acc and, for fold + encode, the payload.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { codecNamed } from '../lib/collectives/codecs.js';
import { hostCodec } from '../lib/cpu/host-codec.js';
import { gpuHopCodec } from '../lib/gpu/hop-codec.js';
import { codecNanCase, feedbackNanCase, FOLD_CODECS, type FoldCodec } from './helpers/codec-nan.js';
import { Placed } from './helpers/codec-gpu.js';
import { device, ctx } from './helpers/gpu.js';
import { firstDifference } from './helpers/nan-rule.js';

const USAGE = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
const bytes = (a: Float32Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

async function readBytes(buffer: GPUBuffer, offset: number, length: number): Promise<Uint8Array> {
  const size = Math.ceil((offset + length) / 4) * 4;
  const readback = device.createBuffer({ size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  try {
    const encoder = device.createCommandEncoder();
    encoder.copyBufferToBuffer(buffer, 0, readback, 0, size);
    device.queue.submit([encoder.finish()]);
    await readback.mapAsync(GPUMapMode.READ);
    return new Uint8Array(readback.getMappedRange()).slice(offset, offset + length);
  } finally {
    readback.destroy();
  }
}

async function check(codecName: FoldCodec, count: number, offset: number, fold: 'decode-accumulate' | 'fold-encode'): Promise<void> {
  const what = `${codecName} ${fold}, count ${count}, offset ${offset}`;
  const codec = codecNamed(codecName)!;
  const host = hostCodec(codec.format);
  const gpu = gpuHopCodec(codec.format);
  const cases = codecNanCase(codecName, count);
  const want = cases.acc.slice();
  host.decodeAccumulate(cases.payload, count, want);
  assert.is(firstDifference('float32', bytes(want), cases.rule), '', `${what}: CPU vs the rule`);

  const padded = new Uint8Array(Math.ceil(cases.payload.byteLength / 4) * 4);
  padded.set(cases.payload);
  const upload = new Placed(offset, padded);
  const acc = new Placed(offset, cases.acc);
  const streams = gpu.streams(count).map((size) => device.createBuffer({ size, usage: USAGE }));
  try {
    if (fold === 'decode-accumulate') await ctx.run(gpu.prepareDecodeAccumulate(ctx, upload.region, acc.region, count));
    else await ctx.run(gpu.prepareFoldEncode(ctx, upload.region, acc.region, count, streams, undefined));
    const got = new Float32Array((await acc.mirror.readBack()).slice(offset, offset + count * 4).buffer);
    assert.is(firstDifference('float32', bytes(got), cases.rule), '', `${what}: GPU vs the rule`);
    await acc.expect(want, `${what}: GPU acc vs CPU`);
    if (fold === 'fold-encode') {
      // The payload's streams in order (scales then packed words for int8, the halves for bf16/fp16).
      const payload = host.encode(want, undefined);
      const parts = await Promise.all(streams.map((s, i) => readBytes(s, 0, gpu.streams(count)[i]!)));
      const joined = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
      parts.reduce((at, p) => (joined.set(p, at), at + p.length), 0);
      assert.equal(joined.subarray(0, payload.byteLength), payload, `${what}: GPU payload vs CPU`);
    }
  } finally {
    for (const placed of [upload, acc]) placed.destroy();
    for (const s of streams) s.destroy();
  }
}

for (const codecName of FOLD_CODECS) {
  test(`${codecName}: decode + accumulate on the GPU follows the NaN rule, bit for bit the CPU`, async () => {
    // 81 and 1001: the scalar entry points and ragged blocks; 4096 at offset 0 the vec4 and
    // whole-word ones, at 4 the scalar ones again.
    for (const [count, offset] of [[81, 0], [1001, 0], [4096, 0], [4096, 4]] as const) await check(codecName, count, offset, 'decode-accumulate');
  });
}

for (const codecName of ['bf16', 'fp16', 'int8'] as const) {
  test(`${codecName}: fused fold + encode on the GPU follows the NaN rule, bit for bit the CPU`, async () => {
    for (const [count, offset] of [[81, 0], [1001, 0], [4096, 0], [4096, 4]] as const) await check(codecName, count, offset, 'fold-encode');
  });
}

for (const codecName of ['int8', 'onebit'] as const) {
  test(`${codecName} error feedback on the GPU: a poisoned block's residual is reset to 0, bit for bit the CPU`, async () => {
    const codec = codecNamed(codecName)!;
    const host = hostCodec(codec.format);
    const gpu = gpuHopCodec(codec.format);
    for (const [count, offset] of [[1001, 0], [4096, 0], [4096, 4]] as const) {
      const cases = feedbackNanCase(codecName, count);
      const want = cases.residual.slice();
      const payload = host.encode(cases.x, want);
      assert.is(firstDifference('float32', bytes(want), cases.residualAfter(want)), '', `count ${count}: CPU residual vs the rule`);
      const src = new Placed(offset, cases.x);
      const gpuResidual = new Placed(offset, cases.residual);
      const streams = gpu.streams(count).map((size) => device.createBuffer({ size, usage: USAGE }));
      try {
        await ctx.run(gpu.prepareEncode(ctx, src.region, count, streams, gpuResidual.region));
        await gpuResidual.expect(want, `count ${count}, offset ${offset}: residual vs CPU`);
        const scales = await readBytes(streams[0]!, 0, gpu.streams(count)[0]!);
        assert.equal(scales, payload.subarray(0, scales.length), `count ${count}, offset ${offset}: scales vs CPU`);
      } finally {
        for (const placed of [src, gpuResidual]) placed.destroy();
        for (const s of streams) s.destroy();
      }
    }
  });
}

test.run();
