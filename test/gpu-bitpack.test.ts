// GPU bit packing against the CPU oracle on identical bytes: every width, sizes 0/1/odd/not a
// word or workgroup multiple/beyond 65535 workgroups, offsets, pieces, a shared buffer, and
// bad arguments. Bit-exact.
import { test } from 'uvu';
import { LANE_BITS, packBits, packedWords, unpackBits, type LaneBits } from '../lib/cpu/bitpack.js';
import { gpuPackBits, gpuUnpackBits } from '../lib/gpu/bitpack.js';
import type { KernelOptions } from '../lib/gpu/options.js';
import { assertSameElements, ctx, Mirrored, randomWords } from './helpers/gpu.js';
import { rejects } from './helpers/assert.js';

let seed = 11;

async function roundTrip(bits: LaneBits, count: number, srcOffset: number, dstOffset: number, options: KernelOptions = {}): Promise<void> {
  const what = `${bits} bits, count ${count}, src@${srcOffset} dst@${dstOffset}`;
  const words = packedWords(count, bits);
  const values = new Mirrored(new Uint8Array(randomWords(srcOffset / 4 + count + 1, seed++).buffer)); // high bits set: must be masked
  const packed = new Mirrored(new Uint8Array(randomWords(dstOffset / 4 + words + 1, seed++).buffer));
  await gpuPackBits(ctx, packed.region(dstOffset), values.region(srcOffset), count, bits, options);
  packBits(packed.view(dstOffset), values.view(srcOffset), count, bits);
  assertSameElements(await packed.readBack(), packed.host, 'uint32', `pack ${what}`);
  const back = new Mirrored(new Uint8Array(randomWords(count + 3, seed++).buffer));
  await gpuUnpackBits(ctx, back.region(8), packed.region(dstOffset), count, bits, options);
  unpackBits(back.view(8), packed.view(dstOffset), count, bits);
  assertSameElements(await back.readBack(), back.host, 'uint32', `unpack ${what}`);
  for (const b of [values, packed, back]) b.destroy();
}

test('bitpack: every width, sizes 0, 1, odd, word and workgroup boundaries, offsets', async () => {
  for (const bits of LANE_BITS) {
    for (const count of [0, 1, 3, 32, 33, 1001]) await roundTrip(bits, count, 4 * (count % 3), 260 + 4 * (count % 2));
    await roundTrip(bits, 4099, 0, 0, { workgroupSize: 16 });
  }
});

test('bitpack: every residue of the values a thread takes (16 or more)', async () => {
  for (const bits of [1, 2, 4, 8, 16] as const) {
    for (let count = 1; count <= 33; count++) await roundTrip(bits, count, 4 * (count % 4), 4 * (count % 3));
  }
});

test('bitpack: more than 65535 workgroups, and pieces at a binding limit', async () => {
  // unpack runs one thread per value: 8 per workgroup beyond the grid's first dimension.
  // Threads take 16 values (8 packed words of 16-bit lanes, one of 1-bit lanes).
  await roundTrip(16, 16 * (ctx.maxWorkgroupsPerDimension + 5) + 3, 4, 4, { workgroupSize: 1 });
  await roundTrip(1, 32 * 2 * (ctx.maxWorkgroupsPerDimension + 5) + 3, 0, 0, { workgroupSize: 2 });
  for (const bits of [1, 4, 16] as const) await roundTrip(bits, 20001, 12, 8, { maxBindingBytes: 8192 });
});

test('bitpack: vec4 bodies and scalar edges at every offset residue, in both unit layouts', async () => {
  for (const unitLayout of ['coalesced', 'consecutive'] as const) {
    for (const bits of LANE_BITS) {
      for (let residue = 0; residue < 16; residue++) {
        await roundTrip(bits, 900 + residue * 37, 4 * (residue % 4), 4 * (residue >> 2), { unitLayout, workgroupSize: 4 });
      }
      await roundTrip(bits, 4 * 32 * 4 * 50 + 5, 0, 16, { unitLayout, workgroupSize: 4 });
    }
  }
});

test('bitpack: packing a word per unit in the consecutive layout (1- and 2-bit lanes): partial workgroups, a scalar head and tail', async () => {
  // pack_words_vec4 (packed-io.wgsl): a 1-bit thread packs 1 word, a 2-bit thread 2; word counts
  // that leave the last workgroup part-filled, and offsets that put scalar words before and after.
  for (const workgroupSize of [4, 8]) {
    for (const bits of [1, 2] as const) {
      const perWord = 32 / bits;
      await roundTrip(bits, perWord * 12, 0, 0, { unitLayout: 'consecutive', workgroupSize });
      await roundTrip(bits, perWord * 44 + 5, 16, 4, { unitLayout: 'consecutive', workgroupSize });
      await roundTrip(bits, perWord * 20 + perWord - 1, 4, 8, { unitLayout: 'consecutive', workgroupSize });
    }
  }
});

test('bitpack: src and dst in one buffer', async () => {
  const count = 1000;
  const buffer = new Mirrored(new Uint8Array(randomWords(count + 130, 5).buffer));
  await gpuPackBits(ctx, buffer.region(4 * count + 16), buffer.region(0), count, 4);
  packBits(buffer.view(4 * count + 16), buffer.view(0), count, 4);
  assertSameElements(await buffer.readBack(), buffer.host, 'uint32', 'same-buffer pack');
  // And back, read through dst's binding by the vec4 form too, in both unit layouts (coalesced:
  // one vec4 of values per unit, unpack_quads).
  for (const unitLayout of ['consecutive', 'coalesced'] as const) {
    await gpuUnpackBits(ctx, buffer.region(0), buffer.region(4 * count + 16), count, 4, { unitLayout });
    unpackBits(buffer.view(0), buffer.view(4 * count + 16), count, 4);
    assertSameElements(await buffer.readBack(), buffer.host, 'uint32', `same-buffer unpack (${unitLayout})`);
  }
  buffer.destroy();
});

test('bitpack: bad arguments are named', async () => {
  const b = new Mirrored(new Uint8Array(64));
  await rejects(gpuPackBits(ctx, b.region(0), b.region(0), 4, 5 as never), /packBits: lane width 5 bits/);
  await rejects(gpuPackBits(ctx, b.region(1), b.region(0), 4, 8), /packBits dst: byte offset 1/);
  await rejects(gpuUnpackBits(ctx, b.region(0), b.region(0), 17, 8), /unpackBits dst: needs 68 bytes/);
  b.destroy();
});

test.run();
