// GPU casts against the CPU oracle on identical bytes: random f32 bit patterns (every class:
// NaN, ±Inf, ±0, subnormals, ties), sizes 0/1/odd/beyond 65535 workgroups, offsets, pieces,
// src and dst in one buffer, and bad arguments. Bit-exact (NaN payloads aside).
import { test } from 'uvu';
import { castFromFloat32, castToFloat32, type HalfType } from '../lib/cpu/cast.js';
import { gpuCastFromFloat32, gpuCastToFloat32 } from '../lib/gpu/cast.js';
import type { KernelOptions } from '../lib/gpu/options.js';
import { assertSameElements, ctx, Mirrored, randomWords } from './helpers/gpu.js';
import { rejects } from './helpers/assert.js';

const HALVES: readonly HalfType[] = ['float16', 'bfloat16'];

/** f32 words: raw random bits, plus exact f16/bf16 ties (low 13 or 16 bits 0x1000 / 0x8000). */
function floatWords(count: number, seed: number): Uint8Array {
  const words = randomWords(count, seed);
  for (let i = 0; i < count; i += 7) words[i] = (words[i]! & ~0x1fff) | 0x1000;
  for (let i = 3; i < count; i += 11) words[i] = (words[i]! & ~0xffff) | 0x8000;
  for (let i = 5; i < count; i += 13) words[i] = (words[i]! & 0x80ffffff) | 0x38000000; // near f16's subnormal range
  return new Uint8Array(words.buffer);
}

let seed = 7;

async function roundTrip(half: HalfType, count: number, srcOffset: number, dstOffset: number, options: KernelOptions = {}): Promise<void> {
  const what = `${half} count ${count} src@${srcOffset} dst@${dstOffset}`;
  const floats = new Mirrored(floatWords(srcOffset / 4 + count + 1, seed++));
  const halves = new Mirrored(new Uint8Array(randomWords(dstOffset / 4 + Math.ceil(count / 2) + 1, seed++).buffer));
  await gpuCastFromFloat32(ctx, halves.region(dstOffset), floats.region(srcOffset), count, half, options);
  castFromFloat32(halves.view(dstOffset), floats.view(srcOffset), count, half);
  assertSameElements(await halves.readBack(), halves.host, half, `narrow ${what}`);
  const back = new Mirrored(new Uint8Array(randomWords(srcOffset / 4 + count + 2, seed++).buffer));
  await gpuCastToFloat32(ctx, back.region(srcOffset + 4), halves.region(dstOffset), count, half, options);
  castToFloat32(back.view(srcOffset + 4), halves.view(dstOffset), count, half);
  assertSameElements(await back.readBack(), back.host, 'float32', `widen ${what}`);
  for (const b of [floats, halves, back]) b.destroy();
}

test('cast: every residue of the 4 packed words (8 elements) a thread takes', async () => {
  for (const half of ['float16', 'bfloat16'] as const) {
    for (let count = 1; count <= 17; count++) await roundTrip(half, count, 4 * (count % 3), 4 * (count % 4));
  }
});

for (const half of HALVES) {
  test(`cast ${half}: sizes 0, 1, odd, not a workgroup multiple, at offsets`, async () => {
    for (const count of [0, 1, 2, 3, 1001, 4097]) await roundTrip(half, count, 4 * (count % 5), 260);
    await roundTrip(half, 777, 0, 0, { workgroupSize: 32 });
  });
  test(`cast ${half}: more than 65535 workgroups, and pieces at a binding limit`, async () => {
    // One-thread workgroups, each taking 4 packed words.
    await roundTrip(half, 2 * 4 * (ctx.maxWorkgroupsPerDimension + 9) - 1, 12, 8, { workgroupSize: 1 });
    await roundTrip(half, 5001, 4, 4, { maxBindingBytes: 2048 });
  });
}

test('cast: vec4 bodies and scalar edges at every offset residue, in both unit layouts', async () => {
  for (const unitLayout of ['coalesced', 'consecutive'] as const) {
    for (const half of HALVES) {
      for (let residue = 0; residue < 16; residue++) {
        await roundTrip(half, 200 + residue, 4 * (residue % 4), 4 * (residue >> 2), { unitLayout, workgroupSize: 4 });
      }
      await roundTrip(half, 2 * 4 * 8 * 4 * 70 + 6, 16, 32, { unitLayout, workgroupSize: 4 }); // many workgroups of 4 threads
    }
  }
});

/**
 * Every high half (sign, exponent, top mantissa bits) with low halves at and around each rounding
 * boundary of f16 (bit 12 and the bits above it) and bf16 (bit 15): every class and every tie,
 * subnormal results included (their halfway bits lie in the high half).
 */
function boundaryWords(): Uint32Array {
  const lows = [0x0000, 0x0001, 0x0fff, 0x1000, 0x1001, 0x2fff, 0x3000, 0x3001, 0x7000, 0x7fff, 0x8000, 0x8001, 0xe000, 0xffff];
  const words = new Uint32Array(65536 * lows.length);
  for (let high = 0; high < 65536; high++) lows.forEach((low, i) => { words[high * lows.length + i] = ((high << 16) | low) >>> 0; });
  return words;
}

// The 16-bit codecs (shaders/half.wgsl) are straight-line selects: every case is checked here
// at once, rather than sampled by random words.
test('cast: every 16-bit pattern widens, and f32 values at every rounding boundary narrow, as on the CPU', async () => {
  const words = boundaryWords();
  for (const half of HALVES) {
    const floats = new Mirrored(new Uint8Array(words.buffer.slice(0)));
    const halves = new Mirrored(new Uint8Array(words.length * 2));
    await gpuCastFromFloat32(ctx, halves.region(0), floats.region(0), words.length, half);
    castFromFloat32(halves.view(0), floats.view(0), words.length, half);
    assertSameElements(await halves.readBack(), halves.host, half, `narrow ${half} boundaries`);
    const patterns = new Mirrored(new Uint8Array(Uint16Array.from({ length: 65536 }, (_, h) => h).buffer));
    const widened = new Mirrored(new Uint8Array(65536 * 4));
    await gpuCastToFloat32(ctx, widened.region(0), patterns.region(0), 65536, half);
    castToFloat32(widened.view(0), patterns.view(0), 65536, half);
    assertSameElements(await widened.readBack(), widened.host, 'float32', `widen every ${half} pattern`);
    for (const b of [floats, halves, patterns, widened]) b.destroy();
  }
});

test('cast: src and dst in one buffer (read through the dst binding)', async () => {
  const count = 301;
  const buffer = new Mirrored(floatWords(2 * count, 3));
  await gpuCastFromFloat32(ctx, buffer.region(4 * count + 4), buffer.region(0), count, 'float16', { maxBindingBytes: 4096 });
  castFromFloat32(buffer.view(4 * count + 4), buffer.view(0), count, 'float16');
  assertSameElements(await buffer.readBack(), buffer.host, 'float16', 'same-buffer narrow');
  buffer.destroy();
});

test('cast: bad arguments are named', async () => {
  const b = new Mirrored(new Uint8Array(64));
  await rejects(gpuCastFromFloat32(ctx, b.region(0), b.region(2), 2, 'float16'), /castFromFloat32 src: byte offset 2/);
  await rejects(gpuCastFromFloat32(ctx, b.region(0), b.region(32), 9, 'float16'), /castFromFloat32 src: needs 36 bytes at offset 32/);
  await rejects(gpuCastToFloat32(ctx, b.region(40), b.region(0), 7, 'bfloat16'), /castToFloat32 dst: needs 28 bytes at offset 40/);
  await rejects(gpuCastToFloat32(ctx, b.region(0), b.region(0), 2, 'float8' as never), /unknown 16-bit type float8/);
  b.destroy();
});

test.run();
