// A ring hop's fused decode + accumulate (dst = dst + decode(payload), one kernel per hop) on
// the real device, for every hop codec's format, bit for bit against three others: the same
// step as two kernels (decode into a temporary, then the reduce kernel's f32 sum), the CPU's
// fused loop (lib/cpu/host-codec.ts decodeAccumulate) and the CPU's decode-then-add. Values stay
// in f32's normal range, where lavapipe's adds (which flush subnormals) and the CPU's agree.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { codecNamed } from '../lib/collectives/codecs.js';
import { hostCodec } from '../lib/cpu/host-codec.js';
import { gpuHopCodec } from '../lib/gpu/hop-codec.js';
import { encodeReduceAccumulate } from '../lib/gpu/reduce.js';
import { normalValues } from './helpers/codec-inputs.js';
import { Placed } from './helpers/codec-gpu.js';
import { ctx } from './helpers/gpu.js';

const bits = (values: Float32Array) => new Uint32Array(values.buffer, values.byteOffset, values.length);

async function check(codecName: string, count: number, offset: number): Promise<void> {
  const what = `${codecName}, count ${count}, offset ${offset}`;
  const codec = codecNamed(codecName)!;
  const host = hostCodec(codec.format);
  const gpu = gpuHopCodec(codec.format);
  const x = normalValues(count, count + 1);
  const acc = normalValues(count, count + 2);
  const payload = host.encode(x, codec.errorFeedback === 'always' ? new Float32Array(count) : undefined);

  const fusedCpu = acc.slice();
  host.decodeAccumulate(payload, count, fusedCpu);
  const decoded = new Float32Array(count);
  host.decode(payload, count, decoded);
  const twoPassCpu = Float32Array.from(acc, (a, i) => a + decoded[i]!);
  assert.equal(bits(fusedCpu), bits(twoPassCpu), `${what}: CPU fused vs decode-then-add`);

  const padded = new Uint8Array(Math.ceil(payload.byteLength / 4) * 4);
  padded.set(payload);
  const upload = new Placed(offset, padded);
  const fused = new Placed(offset, acc);
  const twoPass = new Placed(offset, acc);
  const scratch = Placed.empty(0, count * 4);
  try {
    await ctx.run(gpu.prepareDecodeAccumulate(ctx, upload.region, fused.region, count));
    await ctx.run((encoder) => {
      gpu.prepareDecode(ctx, upload.region, scratch.region, count)(encoder);
      encodeReduceAccumulate(ctx, encoder, twoPass.region, [scratch.region], count, 'float32', 'sum');
    });
    await fused.expect(fusedCpu, `${what}: GPU fused vs CPU`);
    await twoPass.expect(fusedCpu, `${what}: GPU decode-then-add vs CPU`);
  } finally {
    for (const placed of [upload, fused, twoPass, scratch]) placed.destroy();
  }
}

for (const codec of ['bf16', 'fp16', 'int8', 'onebit']) {
  test(`${codec}: fused decode + accumulate = decode then add, GPU and CPU, bit for bit`, async () => {
    // 1 and 7: scalar quads and a ragged word; 1001: a ragged block; 4096 at offsets 0 and 16:
    // the vec4 entry points, at 4 and 8 the scalar ones; 70001: many workgroups.
    for (const count of [1, 7, 1001]) await check(codec, count, 0);
    for (const offset of [0, 4, 8, 16]) await check(codec, 4096, offset);
    await check(codec, 70_001, 0);
  });
}

test.run();
