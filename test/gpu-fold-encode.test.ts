// A compressed ring hop's send side, acc = acc + decode(payload) and then acc encoded for the
// next hop, as the GPU hop codecs record it (prepareFoldEncode: one fused kernel for bf16, fp16
// and int8 without a residual), bit for bit against the same step as two kernels on the GPU
// (decode + accumulate, then encode) and against the CPU's decodeAccumulate then encode: both
// the new acc and the encoded bytes. Values stay in f32's normal range, where lavapipe's adds
// (which flush subnormals) and the CPU's agree.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { codecNamed } from '../lib/collectives/codecs.js';
import { hostCodec } from '../lib/cpu/host-codec.js';
import { gpuHopCodec, type GpuHopCodec } from '../lib/gpu/hop-codec.js';
import { prepareInt8FoldQuantize } from '../lib/gpu/int8.js';
import type { Recorder } from '../lib/gpu/kernel.js';
import type { GpuRegion } from '../lib/gpu/region.js';
import { normalValues } from './helpers/codec-inputs.js';
import { Placed } from './helpers/codec-gpu.js';
import { ctx, device } from './helpers/gpu.js';

const USAGE = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;

async function readStreams(streams: readonly GPUBuffer[], sizes: readonly number[], payloadBytes: number): Promise<Uint8Array> {
  const total = sizes.reduce((a, b) => a + b, 0);
  const readback = device.createBuffer({ size: total, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  try {
    const encoder = device.createCommandEncoder();
    let offset = 0;
    for (const [i, stream] of streams.entries()) {
      encoder.copyBufferToBuffer(stream, 0, readback, offset, sizes[i]!);
      offset += sizes[i]!;
    }
    device.queue.submit([encoder.finish()]);
    await readback.mapAsync(GPUMapMode.READ);
    return new Uint8Array(readback.getMappedRange()).slice(0, payloadBytes);
  } finally {
    readback.destroy();
  }
}

/** Records the fused step; the int8 tests also run the layout the other adapter kind gets by default. */
type Fused = (gpu: GpuHopCodec, acc: GpuRegion, payload: GpuRegion, count: number, out: GPUBuffer[]) => Recorder;
const throughHopCodec: Fused = (gpu, acc, payload, count, out) => gpu.prepareFoldEncode(ctx, payload, acc, count, out, undefined);
const otherInt8Layout = (blockSize: number): Fused => (_gpu, acc, payload, count, out) => {
  const scalesBytes = Math.ceil(count / blockSize) * 4;
  return prepareInt8FoldQuantize(ctx, {
    recvScales: payload, recvPacked: { buffer: payload.buffer, byteOffset: payload.byteOffset + scalesBytes }, acc,
    scales: { buffer: out[0]!, byteOffset: 0 }, packed: { buffer: out[1]!, byteOffset: 0 }, count, blockSize,
  }, { quantizeLayout: ctx.isSoftwareAdapter ? 'workgroup-per-block' : 'thread-per-block' });
};

async function check(codecName: string, count: number, offset: number, fusedStep = throughHopCodec): Promise<void> {
  const what = `${codecName}, count ${count}, offset ${offset}${fusedStep === throughHopCodec ? '' : ', other layout'}`;
  const codec = codecNamed(codecName)!;
  const host = hostCodec(codec.format);
  const gpu = gpuHopCodec(codec.format);
  const payload = host.encode(normalValues(count, count + 1), undefined);
  const acc = normalValues(count, count + 2);

  const wantAcc = acc.slice();
  host.decodeAccumulate(payload, count, wantAcc);
  const wantPayload = host.encode(wantAcc, undefined);

  const padded = new Uint8Array(Math.ceil(payload.byteLength / 4) * 4);
  padded.set(payload);
  const upload = new Placed(offset, padded);
  const fused = new Placed(offset, acc);
  const twoPass = new Placed(offset, acc);
  const sizes = gpu.streams(count);
  const makeStreams = () => sizes.map((size) => device.createBuffer({ size, usage: USAGE }));
  const [fusedOut, twoPassOut] = [makeStreams(), makeStreams()];
  try {
    await ctx.run(fusedStep(gpu, fused.region, upload.region, count, fusedOut));
    await ctx.run((encoder) => {
      gpu.prepareDecodeAccumulate(ctx, upload.region, twoPass.region, count)(encoder);
      gpu.prepareEncode(ctx, twoPass.region, count, twoPassOut, undefined)(encoder);
    });
    await fused.expect(wantAcc, `${what}: fused acc vs CPU`);
    await twoPass.expect(wantAcc, `${what}: two-kernel acc vs CPU`);
    assert.equal(await readStreams(fusedOut, sizes, payload.byteLength), wantPayload, `${what}: fused payload vs CPU`);
    assert.equal(await readStreams(twoPassOut, sizes, payload.byteLength), wantPayload, `${what}: two-kernel payload vs CPU`);
  } finally {
    for (const placed of [upload, fused, twoPass]) placed.destroy();
    for (const buffer of [...fusedOut, ...twoPassOut]) buffer.destroy();
  }
}

for (const codec of ['bf16', 'fp16', 'int8']) {
  test(`${codec}: fused fold + encode = decode-accumulate then encode, GPU and CPU, bit for bit`, async () => {
    // 1 and 7: scalar quads and a ragged word; 1001: a ragged block; 4096 at offsets 0 and 16:
    // the vec4 entry points, at 4 and 8 the scalar ones; 70001: many workgroups.
    for (const count of [1, 7, 1001]) await check(codec, count, 0);
    for (const offset of [0, 4, 8, 16]) await check(codec, 4096, offset);
    await check(codec, 70_001, 0);
  });
}

test('int8: fused fold + quantize in the other block layout, bit for bit', async () => {
  const format = codecNamed('int8')!.format;
  if (format.kind !== 'blocks') throw new Error('int8 is expected to be a block format');
  const blockSize = format.blockSize;
  for (const [count, offset] of [[7, 0], [1001, 0], [4096, 0], [4096, 4], [70_001, 0]] as const) await check('int8', count, offset, otherInt8Layout(blockSize));
});

test.run();
