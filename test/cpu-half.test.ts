// f32 <-> f16 / bf16 conversions: RNE ties, overflow, subnormals, NaN, signed zero, and an
// exhaustive round trip of every 16-bit pattern; casts over views.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  bf16BitsToF32, bitsToF32, f16BitsToF32, f32BitsToBf16Bits, f32BitsToF16Bits, f32ToBf16Bits, f32ToF16Bits,
} from '../lib/cpu/half.js';
import { castFromFloat32, castToFloat32 } from '../lib/cpu/cast.js';

const hex = (n: number) => n.toString(16);

test('f16: exact values, ties to even, overflow, underflow', () => {
  const cases: [number, number][] = [
    [0, 0x0000], [-0, 0x8000], [1, 0x3c00], [-2, 0xc000], [65504, 0x7bff], [Infinity, 0x7c00], [-Infinity, 0xfc00],
    [1 + 2 ** -11, 0x3c00], // tie between 1 and 1+2^-10: even (1)
    [1 + 3 * 2 ** -11, 0x3c02], // tie between 1+2^-10 and 1+2^-9: even (0x3c02)
    [1 + 2 ** -11 + 2 ** -20, 0x3c01], // just above the tie
    [65519, 0x7bff], [65520, 0x7c00], // 65520 is the tie to Inf
    [2 ** -24, 0x0001], [2 ** -25, 0x0000], [2 ** -25 * 1.5, 0x0001], [3 * 2 ** -25, 0x0002], // subnormal ties
    [2 ** -14, 0x0400], [2 ** -14 - 2 ** -25, 0x0400], // rounds up into the smallest normal
    [1e-30, 0x0000], [-1e-30, 0x8000], [1e10, 0x7c00],
  ];
  for (const [value, bits] of cases) assert.is(hex(f32ToF16Bits(value)), hex(bits), `f16(${value})`);
});

test('f16: NaN stays NaN, quiet, with its sign', () => {
  assert.is(hex(f32BitsToF16Bits(0x7fc00000)), '7e00');
  assert.is(hex(f32BitsToF16Bits(0xff800001)), 'fe00'); // payload below f16's bits: quiet bit keeps it NaN
  assert.ok(Number.isNaN(f16BitsToF32(0x7d00)));
});

test('bf16: ties to even, overflow to Inf, subnormals kept, NaN quiet', () => {
  assert.is(hex(f32ToBf16Bits(1)), '3f80');
  assert.is(hex(f32BitsToBf16Bits(0x3f808000)), '3f80'); // tie: even
  assert.is(hex(f32BitsToBf16Bits(0x3f818000)), '3f82'); // tie: even (up)
  assert.is(hex(f32BitsToBf16Bits(0x3f808001)), '3f81');
  assert.is(hex(f32BitsToBf16Bits(0x7f7fffff)), '7f80'); // f32 max rounds to Inf
  assert.is(hex(f32BitsToBf16Bits(0x00010000)), '1'); // subnormal
  assert.is(hex(f32BitsToBf16Bits(0x80000000)), '8000');
  assert.is(hex(f32BitsToBf16Bits(0x7f800001)), '7fc0');
  assert.is(hex(f32BitsToBf16Bits(0xffffffff)), 'ffff');
  assert.is(bf16BitsToF32(0x4049), 3.140625);
});

test('every f16 and bf16 value widens exactly and narrows back to itself', () => {
  for (let h = 0; h < 65536; h++) {
    const f = f16BitsToF32(h);
    const b = bf16BitsToF32(h);
    if (!Number.isNaN(f) && f32ToF16Bits(f) !== h) assert.unreachable(`f16 ${hex(h)} -> ${f} -> ${hex(f32ToF16Bits(f))}`);
    if (!Number.isNaN(b) && f32ToBf16Bits(b) !== h) assert.unreachable(`bf16 ${hex(h)} -> ${b}`);
    if (Number.isNaN(f) !== ((h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0)) assert.unreachable(`f16 NaN class of ${hex(h)}`);
  }
  assert.is(f16BitsToF32(0x0001), 2 ** -24);
  assert.is(f16BitsToF32(0x03ff), 1023 * 2 ** -24);
  assert.is(f16BitsToF32(0x8001), -(2 ** -24));
});

test('f16 narrowing agrees with a reference built from f64 midpoints over random f32 bits', () => {
  // Reference: the nearest f16 by distance, ties to the even pattern, over the finite f16 values.
  const finite: number[] = [];
  for (let h = 0; h < 0x7c00; h++) finite.push(f16BitsToF32(h));
  let seed = 12345;
  for (let n = 0; n < 20000; n++) {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    const bits = ((seed & 0x0fffffff) + 0x30000000) >>> 0; // magnitudes around the f16 range
    const x = bitsToF32(bits);
    let lo = 0;
    let hi = finite.length - 1;
    while (hi - lo > 1) { const mid = (lo + hi) >> 1; if (finite[mid]! <= x) lo = mid; else hi = mid; }
    let want: number;
    if (x >= 65520) want = 0x7c00;
    else if (x >= 65504) want = 0x7bff;
    else {
      const dl = x - finite[lo]!;
      const dh = finite[hi]! - x;
      want = dl < dh ? lo : dh < dl ? hi : (lo % 2 === 0 ? lo : hi);
    }
    if (f32BitsToF16Bits(bits) !== want) assert.unreachable(`bits ${hex(bits)} (${x}): got ${hex(f32BitsToF16Bits(bits))}, want ${hex(want)}`);
  }
});

test('casts over views, including misaligned byte views and count 0', () => {
  const src = new Float32Array([1, -2.5, 65520, 1 / 3, NaN]);
  const half = new Uint16Array(5);
  castFromFloat32(half, src, 5, 'float16');
  assert.equal([...half].map(hex), ['3c00', 'c100', '7c00', '3555', '7e00']);
  const raw = new Uint8Array(1 + 10);
  castFromFloat32(new Uint8Array(raw.buffer, 1, 10), src, 5, 'bfloat16');
  const back = new Float32Array(5);
  castToFloat32(back, new Uint8Array(raw.buffer, 1, 10), 5, 'bfloat16');
  assert.equal([...back.subarray(0, 4)], [1, -2.5, 65536, 0.333984375]);
  assert.ok(Number.isNaN(back[4]!));
  castFromFloat32(new Uint16Array(0), new Float32Array(0), 0, 'float16');
  assert.throws(() => castFromFloat32(new Uint16Array(2), src, 3, 'float16'), /castFromFloat32 dst: needs 6 bytes but the view holds 4/);
  assert.throws(() => castToFloat32(back, half, 1, 'float8' as never), /unknown 16-bit type float8/);
});

test.run();
