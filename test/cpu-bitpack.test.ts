// CPU bit packing against hand-computed words: lane order, masking, zero-filled tails, round
// trips for every width, misaligned byte views and bad arguments.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { LANE_BITS, packBits, packedWords, unpackBits } from '../lib/cpu/bitpack.js';

test('lane order is little-end first; values are masked; the tail is zero', () => {
  const out = new Uint32Array(2);
  packBits(out, new Uint32Array([1, 0, 1, 1, 0xffffffff]), 5, 1);
  assert.equal([...out], [0b11101, 0]);
  packBits(out, new Uint32Array([0x1, 0x2, 0x3, 0xf]), 4, 2);
  assert.equal([...out], [0b11111001, 0]);
  packBits(out, new Uint32Array([0xa, 0xb, 0xc, 0xd, 0xe, 0xf, 0x1, 0x2, 0x13]), 9, 4);
  assert.equal([...out], [0x21fedcba, 0x3]);
  packBits(out, new Uint32Array([0x12, 0x34, 0x56, 0x78, 0x1ff]), 5, 8);
  assert.equal([...out], [0x78563412, 0xff]);
  packBits(out, new Uint32Array([0xbeef, 0x1dead, 0x7]), 3, 16);
  assert.equal([...out], [0xdeadbeef, 0x7]);
});

test('round trip for every width and sizes around word boundaries', () => {
  for (const bits of LANE_BITS) {
    for (const count of [0, 1, 31, 32, 33, 1000]) {
      const values = Uint32Array.from({ length: count }, (_, i) => (i * 2654435761) >>> (32 - bits));
      const packed = new Uint32Array(packedWords(count, bits));
      packBits(packed, values, count, bits);
      const back = new Uint32Array(count);
      unpackBits(back, packed, count, bits);
      assert.equal([...back], [...values], `${bits} bits, ${count} values`);
    }
  }
});

test('byte views at misaligned offsets; nothing past count is written', () => {
  const raw = new Uint8Array(3 + 12);
  unpackBits(new Uint8Array(raw.buffer, 3, 12), new Uint32Array([0x00000201]), 2, 8);
  assert.equal([...raw.subarray(3, 15)], [1, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0]);
});

test('bad arguments are named', () => {
  const v = new Uint32Array(4);
  assert.throws(() => packBits(v, v, 4, 3 as never), /packBits: lane width 3 bits is not one of 1, 2, 4, 8, 16/);
  assert.throws(() => packBits(new Uint32Array(1), v, 4, 16), /packBits dst: needs 8 bytes but the view holds 4/);
  assert.throws(() => unpackBits(v, v, 5, 1), /unpackBits dst: needs 20 bytes/);
  assert.throws(() => unpackBits(v, v, -2, 1), /count -2/);
});

test.run();
