// The CPU reduction against hand-computed cases: every op and dtype, both forms, the scale
// operations, wrap-around, NaN/Inf/±0/subnormals, 16-bit rounding, byte views and bad arguments.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { premulSum } from '../lib/dtype.js';
import { f32ToBf16Bits, f32ToF16Bits, f16BitsToF32 } from '../lib/cpu/half.js';
import { finishAverage, premultiply, reduceAccumulate, reduceNary } from '../lib/cpu/reduce.js';
import { foldOf, firstDifference, FLOAT_TYPES, madeNaNCases, nanCases } from './helpers/nan-rule.js';

const f32 = (...v: number[]) => new Float32Array(v);
const i32 = (...v: number[]) => new Int32Array(v);
const u32 = (...v: number[]) => new Uint32Array(v);
const f16 = (...v: number[]) => new Uint16Array(v.map(f32ToF16Bits));
const bf16 = (...v: number[]) => new Uint16Array(v.map(f32ToBf16Bits));

test('float32: sum, prod, min, max, avg and premulSum in both forms', () => {
  const a = f32(1, -2, 3.5);
  const b = f32(4, 0.5, -3.5);
  const c = f32(-1, 8, 2);
  const nary = (op: Parameters<typeof reduceNary>[4]) => { const d = new Float32Array(3); reduceNary(d, [a, b, c], 3, 'float32', op); return [...d]; };
  assert.equal(nary('sum'), [4, 6.5, 2]);
  assert.equal(nary('prod'), [-4, -8, -24.5]);
  assert.equal(nary('min'), [-1, -2, -3.5]);
  assert.equal(nary('max'), [4, 8, 3.5]);
  assert.equal(nary('avg'), [4 * Math.fround(1 / 3), Math.fround(6.5 * Math.fround(1 / 3)), Math.fround(2 * Math.fround(1 / 3))].map(Math.fround));
  assert.equal(nary(premulSum(0.5)), [2, 3.25, 1]);
  const d = f32(10, 20, 30);
  reduceAccumulate(d, [a, b], 3, 'float32', 'avg'); // avg accumulates as a plain sum
  assert.equal([...d], [15, 18.5, 30]);
  reduceAccumulate(d, [a], 3, 'float32', premulSum(2)); // dst + 2*src
  assert.equal([...d], [17, 14.5, 37]);
});

test('float32: f32 rounding at every step, not f64', () => {
  const d = new Float32Array(1);
  reduceNary(d, [f32(1), f32(2 ** -24), f32(2 ** -24)], 1, 'float32', 'sum'); // (1 + 2^-24) ties to 1, twice
  assert.is(d[0], 1);
  reduceNary(d, [f32(2 ** -24), f32(2 ** -24), f32(1)], 1, 'float32', 'sum'); // order matters: left to right
  assert.is(d[0], 1 + 2 ** -23);
});

test('float32: NaN, Inf, signed zero and subnormals', () => {
  const d = new Float32Array(5);
  const tiny = 2 ** -149;
  reduceNary(d, [f32(NaN, Infinity, -0, tiny, 1), f32(1, -Infinity, -0, tiny, NaN)], 5, 'float32', 'sum');
  assert.ok(Number.isNaN(d[0]!) && Number.isNaN(d[1]!) && Number.isNaN(d[4]!));
  assert.ok(Object.is(d[2], -0));
  assert.is(d[3], 2 * tiny);
  reduceNary(d, [f32(NaN, 1, -0, 0, 5), f32(1, NaN, 0, -0, 5)], 5, 'float32', 'min'); // NaN propagates; ties keep the first
  assert.ok(Number.isNaN(d[0]!) && Number.isNaN(d[1]!));
  assert.ok(Object.is(d[2], -0) && Object.is(d[3], 0));
  reduceNary(d, [f32(NaN, 1, -0, 0, 5), f32(1, NaN, 0, -0, 6)], 5, 'float32', 'max');
  assert.ok(Number.isNaN(d[0]!) && Number.isNaN(d[1]!) && Object.is(d[2], -0) && d[4] === 6);
  reduceNary(d, [f32(3.4e38, 1e-30, 0, 0, 0), f32(10, 1e-30, 0, 0, 0)], 5, 'float32', 'prod');
  assert.is(d[0], Infinity);
  assert.is(d[1], 0); // 1e-60 underflows f32
});

test('NaN rule: NaN meeting NaN or a number gives the first NaN operand, quieted; every float op and dtype, 2-4 sources, both forms', () => {
  // Sum and product used to keep whichever NaN V8's code put first (the later source's, mostly).
  for (const dtype of FLOAT_TYPES) {
    for (const sources of [2, 3, 4]) {
      const cases = nanCases(dtype, sources);
      const { inputs, count, rule } = cases;
      for (const op of ['sum', 'prod', 'min', 'max', 'avg', premulSum(0.75)] as const) {
        const what = `${dtype} ${JSON.stringify(op)} ${sources} sources`;
        const nary = new Uint8Array(inputs[0]!.length);
        reduceNary(nary, inputs, count, dtype, op);
        assert.is(firstDifference(dtype, nary, rule, cases), '', `n-ary ${what}`);
        const accumulated = inputs[0]!.slice();
        reduceAccumulate(accumulated, inputs.slice(1), count, dtype, op);
        assert.is(firstDifference(dtype, accumulated, rule, cases), '', `accumulate ${what}`);
      }
    }
    // One operand NaN, the other the scalar or 1/divisor: the NaN, quieted.
    const single = nanCases(dtype, 1);
    const src = single.inputs[0]!;
    for (const scale of [(d: Uint8Array) => premultiply(d, src, single.count, dtype, 3), (d: Uint8Array) => finishAverage(d, src, single.count, dtype, 3)]) {
      const out = new Uint8Array(src.length);
      scale(out);
      assert.is(firstDifference(dtype, out, single.rule, single), '', `${dtype} scaled`);
    }
  }
});

test('NaN rule: a NaN made from numbers (∞ - ∞, 0 × ∞) is the canonical quiet NaN (0x7fc00000, f16 0x7e00, bf16 0x7fc0)', () => {
  // It used to be x86's default NaN, 0xffc00000, negative.
  for (const dtype of FLOAT_TYPES) {
    for (const sources of [2, 3]) {
      for (const op of ['sum', 'prod', 'min', 'max', 'avg', premulSum(0.75), premulSum(0)] as const) {
        const what = `${dtype} ${JSON.stringify(op)} ${sources} sources`;
        const nary = madeNaNCases(dtype, sources, foldOf(op, 'nary'));
        const out = new Uint8Array(nary.inputs[0]!.length);
        reduceNary(out, nary.inputs, nary.count, dtype, op);
        assert.is(firstDifference(dtype, out, nary.rule, nary), '', `n-ary ${what}`);
        const acc = madeNaNCases(dtype, sources, foldOf(op, 'accumulate'));
        const accumulated = acc.inputs[0]!.slice();
        reduceAccumulate(accumulated, acc.inputs.slice(1), acc.count, dtype, op);
        assert.is(firstDifference(dtype, accumulated, acc.rule, acc), '', `accumulate ${what}`);
      }
    }
    const single = madeNaNCases(dtype, 1, { first: (x) => 0 * x, step: () => 0 });
    const out = new Uint8Array(single.inputs[0]!.length);
    premultiply(out, single.inputs[0]!, single.count, dtype, 0);
    assert.is(firstDifference(dtype, out, single.rule, single), '', `${dtype} premultiply by 0`);
  }
});

test('int32 and uint32: wrap-around, signedness, integer average', () => {
  const d = new Int32Array(4);
  reduceNary(d, [i32(0x7fffffff, -0x80000000, 65536, -7), i32(1, -1, 65536, 2)], 4, 'int32', 'sum');
  assert.equal([...d], [-0x80000000, 0x7fffffff, 131072, -5]);
  reduceNary(d, [i32(0x7fffffff, -0x80000000, 65536, -7), i32(2, -1, 65536, 2)], 4, 'int32', 'prod');
  assert.equal([...d], [-2, -0x80000000, 0, -14]);
  reduceNary(d, [i32(-1, 5, -0x80000000, 0), i32(1, -5, 0x7fffffff, 0)], 4, 'int32', 'min');
  assert.equal([...d], [-1, -5, -0x80000000, 0]);
  reduceNary(d, [i32(7, -7, 8, 0x7fffffff), i32(0, 0, 1, 1)], 4, 'int32', 'avg'); // sum (wrapping) then truncate
  assert.equal([...d], [3, -3, 4, -0x40000000]);
  const u = new Uint32Array(3);
  reduceNary(u, [u32(0xffffffff, 1, 0x80000000), u32(1, 0xffffffff, 0x80000000)], 3, 'uint32', 'sum');
  assert.equal([...u], [0, 0, 0]);
  reduceNary(u, [u32(0xffffffff, 1, 0x80000000), u32(1, 0xffffffff, 3)], 3, 'uint32', 'min'); // unsigned order
  assert.equal([...u], [1, 1, 3]);
  reduceNary(u, [u32(0xffffffff, 7, 0x80000000), u32(0xffffffff, 0, 0x80000001)], 3, 'uint32', 'avg');
  assert.equal([...u], [0x7fffffff, 3, 0]);
  reduceNary(u, [u32(0x10000, 3), u32(0x10000, 4)], 2, 'uint32', 'prod');
  assert.equal([...u.subarray(0, 2)], [0, 12]);
  reduceNary(d, [i32(3, -3, 0x40000000, 1)], 4, 'int32', premulSum(-2));
  assert.equal([...d], [-6, 6, -0x80000000, -2]);
});

test('float16 and bfloat16: f32 math, one rounding at the end', () => {
  const d = new Uint16Array(3);
  // 2048 + 1 + 1: rounding after each step would stay at 2048 (ulp 2); one rounding gives 2050.
  reduceNary(d, [f16(2048, 65504, 0.1), f16(1, 65504, 0.2), f16(1, -65504, 0)], 3, 'float16', 'sum');
  assert.equal([...d].map(f16BitsToF32), [2050, 65504, Math.fround(f16BitsToF32(f32ToF16Bits(0.1)) + f16BitsToF32(f32ToF16Bits(0.2)))].map((x) => f16BitsToF32(f32ToF16Bits(x))));
  reduceNary(d, [f16(65504, 2 ** -24, 3), f16(2, 0.5, 1)], 3, 'float16', 'prod');
  assert.equal([...d], [0x7c00, 0x0000, f32ToF16Bits(3)]); // overflow to Inf; 2^-25 ties to 0
  reduceNary(d, [bf16(256, 1, -3), bf16(1, 2 ** -8, 5), bf16(1, 2 ** -8, 0)], 3, 'bfloat16', 'sum');
  assert.equal([...d], [f32ToBf16Bits(258), f32ToBf16Bits(1 + 2 ** -7), f32ToBf16Bits(2)]);
  reduceNary(d, [bf16(1, 2, 3), bf16(2, 2, 2), bf16(4, 5, 6)], 3, 'bfloat16', 'avg');
  assert.equal([...d], [f32ToBf16Bits(7 * Math.fround(1 / 3)), f32ToBf16Bits(3), f32ToBf16Bits(11 * Math.fround(1 / 3))]);
});

test('scale operations: premultiply and finishAverage', () => {
  const d = new Float32Array(2);
  premultiply(d, f32(3, -1), 2, 'float32', 0.1);
  assert.equal([...d], [Math.fround(3 * Math.fround(0.1)), -Math.fround(0.1)]);
  finishAverage(d, f32(9, 1), 2, 'float32', 3);
  assert.equal([...d], [Math.fround(9 * Math.fround(1 / 3)), Math.fround(1 / 3)]);
  const i = new Int32Array(2);
  finishAverage(i, i32(-9, 10), 2, 'int32', 4);
  assert.equal([...i], [-2, 2]);
  premultiply(i, i32(0x40000000, 5), 2, 'int32', 4);
  assert.equal([...i], [0, 20]);
  const h = new Uint16Array(1);
  premultiply(h, f16(3), 1, 'float16', 1 / 3);
  assert.is(h[0], f32ToF16Bits(Math.fround(3 * Math.fround(1 / 3))));
});

test('in place, byte views (aligned and misaligned), chunk boundaries and count 0', () => {
  const n = 10000; // crosses the CPU's internal chunk boundary
  const a = new Float32Array(n).map((_, i) => i);
  const b = new Float32Array(n).map((_, i) => 2 * i);
  reduceNary(a, [a, b], n, 'float32', 'sum');
  assert.ok(a.every((x, i) => x === 3 * i));
  const raw = new Uint8Array(3 + 4 * 3);
  new DataView(raw.buffer).setInt32(3, 5, true);
  new DataView(raw.buffer).setInt32(7, -6, true);
  const view = new Uint8Array(raw.buffer, 3, 8); // misaligned: copied and written back
  reduceAccumulate(view, [new Uint8Array(i32(1, 2).buffer)], 2, 'int32', 'sum');
  assert.equal([new DataView(raw.buffer).getInt32(3, true), new DataView(raw.buffer).getInt32(7, true)], [6, -4]);
  assert.is(raw[11], 0); // nothing past count written
  reduceNary(new Float32Array(0), [new Float32Array(0)], 0, 'float32', 'sum');
  const half = new Uint16Array([f32ToF16Bits(1), f32ToF16Bits(2), 0xabcd]);
  reduceAccumulate(half, [half], 2, 'float16', 'sum'); // only 2 of 3 half-words
  assert.equal([...half], [f32ToF16Bits(2), f32ToF16Bits(4), 0xabcd]);
});

test('sum at every length residue around the unrolled loop and the chunk boundary', () => {
  for (const n of [1, 2, 3, 4, 5, 6, 7, 4095, 4097, 4098, 4099]) {
    const d = new Float32Array(n).map((_, i) => i + 0.25);
    const s = new Float32Array(n).map((_, i) => -2 * i);
    reduceAccumulate(d, [s], n, 'float32', 'sum');
    assert.ok(d.every((x, i) => x === Math.fround(0.25 - i)), `length ${n}`);
  }
});

test('32-bit outputs that are also a later input (through another view) are read before written', () => {
  const n = 10000; // several internal chunks
  const a = new Float32Array(n).map((_, i) => i);
  const d = new Float32Array(n).map((_, i) => 0.5 * i);
  const alias = new Uint8Array(d.buffer); // same memory, another object
  reduceNary(d, [a, alias], n, 'float32', 'sum'); // dst = a + dst
  assert.ok(d.every((x, i) => x === 1.5 * i));
  const x = new Int32Array(n).fill(7);
  reduceNary(x, [i32(...new Array(n).fill(1)), new Uint8Array(x.buffer), new Uint8Array(x.buffer)], n, 'int32', 'prod'); // 1*x*x
  assert.ok(x.every((v) => v === 49));
  const y = new Float32Array(n).fill(3);
  reduceAccumulate(y, [new Uint8Array(y.buffer)], n, 'float32', 'max'); // dst given twice: fine either way
  assert.ok(y.every((v) => v === 3));
});

test('bad arguments are named', () => {
  const v = new Float32Array(4);
  assert.throws(() => reduceNary(v, [v], 4, 'float64' as never, 'sum'), /InvalidArgument: unknown dtype float64/);
  assert.throws(() => reduceNary(v, [v], 4, 'float32', 'mean' as never), /unknown reduction op "mean"/);
  assert.throws(() => reduceNary(v, [v], 4, 'float32', premulSum(NaN)), /unknown reduction op/);
  assert.throws(() => reduceNary(v, [], 4, 'float32', 'sum'), /n-ary reduce: 0 sources given, between 1 and 8/);
  assert.throws(() => reduceAccumulate(v, Array(8).fill(v), 4, 'float32', 'sum'), /accumulate: 8 sources given, between 1 and 7/);
  assert.throws(() => reduceNary(v, [v], 5, 'float32', 'sum'), /reduce dst: needs 20 bytes but the view holds 16/);
  assert.throws(() => reduceNary(v, [new Float32Array(2)], 4, 'float32', 'sum'), /reduce input 0: needs 16 bytes/);
  assert.throws(() => reduceNary(v, [v], -1, 'float32', 'sum'), /count -1 is not a non-negative integer/);
  assert.throws(() => reduceNary(new Int32Array(1), [new Int32Array(1)], 1, 'int32', premulSum(0.5)), /scalar 0.5 for int32 must be an integer/);
  assert.throws(() => finishAverage(v, v, 4, 'float32', 0), /divisor 0 is not an integer/);
});

test.run();
