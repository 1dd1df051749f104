// divide_by_block (shaders/quantize-common.wgsl) on the device with blockDivisor's constants
// (lib/gpu/block-divisor.ts) against floor(n / d): block sizes 1 .. 600, powers of two and
// their neighbours, large and past 2^30, and n at the ends of its range (0, 2^30 - 1) and on
// either side of multiples of d near the top, where a magic rounded down instead of up fails.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { blockDivisor } from '../lib/gpu/block-divisor.js';
import type { KernelVariant } from '../lib/gpu/context.js';
import { readRegion, writeRegion } from '../lib/gpu/transfer.js';
import { region } from '../lib/gpu/region.js';
import quantizeCommon from '../shaders/quantize-common.wgsl';
import { ctx, device } from './helpers/gpu.js';
import { wordKernel } from './helpers/word-kernel.js';

// A test-only kernel: out[i] = divide_by_block(n, magic, shift) of the triple at 3i.
const DIVIDE = `${quantizeCommon}\n${wordKernel([], 'dst[i] = divide_by_block(src[3u * i], src[3u * i + 1u], src[3u * i + 2u]);')}`;
const variant: KernelVariant = { source: DIVIDE, entryPoint: 'main', prelude: [], workgroupSize: 64 };
const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
const TOP = 2 ** 30 - 1;

/** n values for block size d: both ends of [0, 2^30) and around multiples of d, most near the top. */
function numerators(d: number, random: () => number): number[] {
  const ns = [0, 1, d - 1, d, d + 1, TOP, TOP - 1];
  const last = Math.floor(TOP / d);
  for (let j = 0; j < 8; j++) ns.push((last - j) * d - 1, (last - j) * d, (last - j) * d + d - 1);
  for (let j = 0; j < 4; j++) ns.push(Math.floor(random() * TOP));
  return ns.filter((n) => n >= 0 && n <= TOP);
}

test('divide_by_block is floor(n / d) for every n < 2^30', async () => {
  let seed = 12345;
  const random = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const sizes = [...Array.from({ length: 600 }, (_, i) => i + 1), 1000, 1023, 1024, 1025, 4095, 65535, 65536, 65537, 1_000_003,
    2 ** 29 - 1, 2 ** 29 + 1, TOP, 2 ** 30, 2 ** 31 + 7];
  for (let j = 0; j < 200; j++) sizes.push(1 + Math.floor(random() * TOP));
  const triples: number[] = [];
  const want: number[] = [];
  const divisors: number[] = [];
  for (const d of sizes) {
    const [magic, shift] = blockDivisor(d);
    for (const n of numerators(d, random)) {
      triples.push(n, magic, shift);
      want.push(Math.floor(n / d));
      divisors.push(d);
    }
  }
  const count = want.length;
  const src = device.createBuffer({ size: count * 12, usage });
  const dst = device.createBuffer({ size: count * 4, usage });
  writeRegion(device, region(src), new Uint8Array(Uint32Array.from(triples).buffer));
  await ctx.run((encoder) => ctx.dispatch(encoder, variant, new Uint32Array(0), [{ buffer: src }, { buffer: dst }], count));
  const got = new Uint32Array((await readRegion(device, region(dst), count * 4)).buffer);
  for (let i = 0; i < count; i++) {
    if (got[i] !== want[i]) assert.unreachable(`floor(${triples[3 * i]} / ${divisors[i]}): got ${got[i]}, want ${want[i]}`);
  }
  src.destroy();
  dst.destroy();
});

test.run();
