// The native reduction against the TypeScript oracle (lib/cpu/reduce.ts), byte for byte: every
// dtype × op on random bit patterns laced with NaN (quiet and signalling, both signs), ±Inf,
// ±0, subnormals, 16-bit rounding ties and integer wrap-around, at lengths that leave vector
// tails and at odd byte offsets; NaNs of different payloads meeting each other across 2-4
// sources (the NaN rule); then finishAverage; then bad arguments. Every check runs once per
// build of the loops this CPU can run (baseline, AVX2, AVX-512, with and without the 16-bit
// intrinsic blocks), not only the one chosen at load.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DATA_TYPES, elementBytes, type DataType, type SimpleOp } from '../lib/dtype.js';
import { WebcclError } from '../lib/errors.js';
import { finishAverage, reduceAccumulate, reduceNary } from '../lib/cpu/reduce.js';
import { loadNative, describeUnavailable } from '../lib/native/load.js';
import { nativeFinishAverage, nativeReduceAccumulate } from '../lib/native/reduce.js';
import { isReduceVariant } from './helpers/reduce-variants.js';
import { firstDifference as ruleDifference, FLOAT_TYPES, foldOf, madeNaNCases, nanCases, type NanCases } from './helpers/nan-rule.js';

const loaded = loadNative();
if (!('addon' in loaded)) throw new Error(`the native suite needs the addon: ${describeUnavailable(loaded)}`);
const addon = loaded.addon;

const OPS: SimpleOp[] = ['sum', 'prod', 'min', 'max', 'avg'];
const VARIANTS = addon.reduceVariants ?? [addon.reduceVariant];

/** One test per variant of the loops, each run with that variant selected. */
function variantTest(name: string, body: () => void): void {
  for (const variant of VARIANTS) {
    test(`${name} [${variant}]`, () => {
      assert.is(addon.reduceSelectVariant!(variant), variant);
      try {
        body();
      } finally {
        addon.reduceSelectVariant!('auto');
      }
    });
  }
}

// A deterministic generator (xorshift32), so a failure reproduces.
let seed = 0x9e3779b9;
function next(): number {
  seed ^= seed << 13; seed >>>= 0;
  seed ^= seed >>> 17;
  seed ^= seed << 5; seed >>>= 0;
  return seed;
}

const SPECIAL32 = [0x7fc00000, 0xffc00000, 0x7f800001, 0xff812345, 0x7fbfffff, 0x7f800000, 0xff800000, 0, 0x80000000,
  0x00000001, 0x807fffff, 0x00400000, 0x3f800000, 0x7f7fffff, 0xff7fffff, 0x477ff000, 0x477fefff, 0x33000000, 0x33000001,
  0x38800000, 0x387fffff, 0x80000001, 0x7fffffff, 0x80000000 | 0x3f800000];
const SPECIAL16 = [0x7e00, 0xfe00, 0x7c01, 0xfd55, 0x7c00, 0xfc00, 0, 0x8000, 0x0001, 0x83ff, 0x03ff, 0x0400, 0x3c00,
  0x7bff, 0xfbff, 0x7f81, 0xff80, 0x7fc0, 0x0080, 0x807f];
const SPECIAL_INT = [0, 1, 0xffffffff, 0x7fffffff, 0x80000000, 0x80000001, 2, 0xfffffffe, 0x10000, 0xffff];

/** `count` elements of random bits, one in four from the special list of the dtype. */
function randomBytes(dtype: DataType, count: number): Uint8Array {
  const bytes = elementBytes(dtype);
  const out = new Uint8Array(count * bytes);
  const view = new DataView(out.buffer);
  const specials = bytes === 2 ? SPECIAL16 : dtype === 'float32' ? SPECIAL32 : SPECIAL_INT;
  for (let i = 0; i < count; i++) {
    let bits = next();
    const pick = next();
    if ((pick & 3) === 0) bits = specials[(pick >>> 2) % specials.length]!;
    else if (dtype === 'float32' && (pick & 12) === 0) bits = (bits & 0x807fffff) | ((0x7a + (bits & 15)) << 23); // near 1: sums round
    if (bytes === 2) view.setUint16(i * 2, bits & 0xffff, true);
    else view.setUint32(i * 4, bits >>> 0, true);
  }
  return out;
}

/** randomBytes with every NaN replaced by a finite value: whole SIMD blocks then take the fast path (a block holding a NaN is redone the NaN-aware way). */
function nanFreeBytes(dtype: DataType, count: number): Uint8Array {
  const out = randomBytes(dtype, count);
  const view = new DataView(out.buffer);
  for (let i = 0; i < count; i++) {
    if (dtype === 'float16' || dtype === 'bfloat16') {
      const bits = view.getUint16(i * 2, true);
      if ((bits & 0x7fff) > (dtype === 'float16' ? 0x7c00 : 0x7f80)) view.setUint16(i * 2, bits & 0x3fff, true);
    } else if (dtype === 'float32') {
      const bits = view.getUint32(i * 4, true);
      if ((bits & 0x7fffffff) > 0x7f800000) view.setUint32(i * 4, (bits & 0x3fffffff) >>> 0, true);
    }
  }
  return out;
}

/** A copy of `bytes` placed at byte `offset` of a fresh buffer (misaligned when odd). */
function at(bytes: Uint8Array, offset: number): Uint8Array {
  const copy = new Uint8Array(bytes.length + offset).subarray(offset);
  copy.set(bytes);
  return copy;
}

function elementAt(view: Uint8Array, index: number, width: number): number {
  const data = new DataView(view.buffer, view.byteOffset, view.byteLength);
  return width === 2 ? data.getUint16(index * 2, true) : data.getUint32(index * 4, true);
}

/** The first element where native and oracle differ, or 'none' (NaN payloads included: both follow the NaN rule). */
function firstDifference(dtype: DataType, actual: Uint8Array, expected: Uint8Array): string {
  const width = elementBytes(dtype);
  for (let i = 0; i < actual.length / width; i++) {
    const a = elementAt(actual, i, width);
    const e = elementAt(expected, i, width);
    if (a !== e) return `element ${i}: native 0x${a.toString(16)}, oracle 0x${e.toString(16)}`;
  }
  return 'none';
}

/** dst op= src by the addon and by the oracle, `count` elements of `make`'s data placed at byte `offset`: the same bits. */
function checkAccumulate(dtype: DataType, op: SimpleOp, count: number, offset: number, make: (dtype: DataType, count: number) => Uint8Array): void {
  const dst = make(dtype, count);
  const src = make(dtype, count);
  const expected = at(dst, offset);
  reduceAccumulate(expected, [at(src, offset)], count, dtype, op);
  const actual = at(dst, offset);
  nativeReduceAccumulate(addon, dtype, op, actual, at(src, offset));
  const difference = firstDifference(dtype, actual, expected);
  assert.is(difference, 'none', `${dtype} ${op} count ${count} offset ${offset}: ${difference}`);
}

for (const dtype of DATA_TYPES) {
  variantTest(`native reduceAccumulate ${dtype}: every op bit-identical to the oracle`, () => {
    for (const count of [1, 7, 33, 1000, 4099]) {
      for (const op of OPS) {
        for (const offset of count === 1000 ? [0, 1, 3] : [0]) checkAccumulate(dtype, op, count, offset, randomBytes);
      }
      // In place: dst and src are the same memory.
      const both = randomBytes(dtype, count);
      const expected = both.slice();
      reduceAccumulate(expected, [expected], count, dtype, 'sum');
      nativeReduceAccumulate(addon, dtype, 'sum', both, both);
      assert.is(firstDifference(dtype, both, expected), 'none', `${dtype} in place`);
    }
  });

  variantTest(`native reduceAccumulate and finishAverage ${dtype}: NaN-free data (the blocks' fast path), bit-identical to the oracle`, () => {
    for (const count of [64, 4099]) {
      for (const offset of [0, 2, 6]) {
        for (const op of OPS) checkAccumulate(dtype, op, count, offset, nanFreeBytes);
        for (const divisor of [1, 3]) {
          const src = at(nanFreeBytes(dtype, count), offset);
          const expected = new Uint8Array(src.length);
          finishAverage(expected, src, count, dtype, divisor);
          const actual = new Uint8Array(src.length);
          nativeFinishAverage(addon, dtype, actual, src, divisor);
          assert.is(firstDifference(dtype, actual, expected), 'none', `${dtype} average / ${divisor} count ${count} offset ${offset}`);
        }
      }
    }
  });

  variantTest(`native finishAverage ${dtype}: bit-identical to the oracle for divisors 1, 2, 3, 7 and 2^31-1`, () => {
    for (const divisor of [1, 2, 3, 7, 0x7fffffff]) {
      const src = randomBytes(dtype, 517);
      const expected = new Uint8Array(src.length);
      finishAverage(expected, src, 517, dtype, divisor);
      const actual = new Uint8Array(src.length);
      nativeFinishAverage(addon, dtype, actual, src, divisor);
      assert.ok(Buffer.compare(actual, expected) === 0, `${dtype} / ${divisor}: ${firstDifference(dtype, actual, expected)}`);
    }
  });
}

variantTest('native finishAverage int32/uint32: every divisor 2-40 and some large ones, at and around each multiple, the extremes, as the oracle truncates', () => {
  const divisors = [...Array.from({ length: 39 }, (_, i) => i + 2), 255, 256, 1000, 65535, 65536, 65537, 0x12345678, 0x7fffffff];
  for (const dtype of ['int32', 'uint32'] as const) {
    for (const divisor of divisors) {
      const values: number[] = [0, 1, 2, 0x7fffffff, 0x80000000, 0x80000001, 0xffffffff, 0xfffffffe];
      for (const multiple of [1, 2, 3, 1000, Math.floor(0x7fffffff / divisor), Math.floor(0xffffffff / divisor)]) {
        const at = multiple * divisor;
        for (const delta of [-1, 0, 1]) values.push((at + delta) >>> 0, (-(at + delta)) >>> 0);
      }
      for (let i = 0; i < 64; i++) values.push(next());
      const src = new Uint8Array(new Uint32Array(values).buffer);
      const expected = new Uint8Array(src.length);
      finishAverage(expected, src, values.length, dtype, divisor);
      const actual = new Uint8Array(src.length);
      nativeFinishAverage(addon, dtype, actual, src, divisor);
      assert.is(firstDifference(dtype, actual, expected), 'none', `${dtype} / ${divisor}`);
    }
  }
});

variantTest('native reduce: every float16 and bfloat16 value sums with every 16th other value as the oracle does', () => {
  // All 65536 bit patterns as dst, shifted patterns as src: covers every exponent, NaN payload and rounding tie.
  for (const dtype of ['float16', 'bfloat16'] as const) {
    for (const shift of [1, 4099, 30001]) {
      const dst = new Uint16Array(65536).map((_, i) => i);
      const src = new Uint16Array(65536).map((_, i) => (i * 16 + shift) & 0xffff);
      const expected = dst.slice();
      reduceAccumulate(expected, [src], 65536, dtype, 'sum');
      nativeReduceAccumulate(addon, dtype, 'sum', dst, src);
      const difference = firstDifference(dtype, new Uint8Array(dst.buffer), new Uint8Array(expected.buffer));
      assert.is(difference, 'none', `${dtype} shift ${shift}`);
    }
  }
});

variantTest('native reduce: every float16 and bfloat16 number meets every 16th other number in min and max (NaN-free blocks: the keys\' order, ±0 ties), as the oracle', () => {
  for (const dtype of ['float16', 'bfloat16'] as const) {
    const infinity = dtype === 'float16' ? 0x7c00 : 0x7f80;
    const numbers = Uint16Array.from({ length: 65536 }, (_, i) => i).filter((bits) => (bits & 0x7fff) <= infinity);
    for (const shift of [0, 1, 4099, 30001]) {
      const src = numbers.map((_, i) => numbers[(i * 16 + shift) % numbers.length]!);
      for (const op of ['min', 'max'] as const) {
        const expected = numbers.slice();
        reduceAccumulate(expected, [src], numbers.length, dtype, op);
        const actual = numbers.slice();
        nativeReduceAccumulate(addon, dtype, op, actual, src);
        const difference = firstDifference(dtype, new Uint8Array(actual.buffer), new Uint8Array(expected.buffer));
        assert.is(difference, 'none', `${dtype} ${op} shift ${shift}`);
      }
    }
  }
});

// Edge values of each 16-bit type: NaNs (quiet, signalling, both signs, payloads), ±Inf, ±0,
// subnormals, the smallest normal, the largest finite, and operands whose sums, products and
// averages land exactly halfway between two representable values (ties to even, in the normal
// and the subnormal range, and at the overflow boundary).
const EDGES: Record<'float16' | 'bfloat16', number[]> = {
  float16: [0x7e00, 0xfe00, 0x7c01, 0xfd55, 0x7fff, 0x7c00, 0xfc00, 0x0000, 0x8000, 0x0001, 0x8001, 0x0002, 0x0003, 0x03ff,
    0x83ff, 0x0200, 0x0400, 0x8400, 0x3c00, 0xbc00, 0x3c01, 0x3c03, 0x1000, 0x1001, 0x9000, 0x3800, 0x3555, 0x4200, 0x7bff,
    0xfbff, 0x4c00, 0x7bfe, 0x5bff, 0x3bff, 0x0c00, 0x1400],
  bfloat16: [0x7fc0, 0xffc0, 0x7f81, 0xffaa, 0x7fff, 0x7f80, 0xff80, 0x0000, 0x8000, 0x0001, 0x8001, 0x0003, 0x007f,
    0x807f, 0x0040, 0x0080, 0x8080, 0x3f80, 0xbf80, 0x3f81, 0x3f83, 0x3b80, 0x3b81, 0xbb80, 0x3f00, 0x3eab, 0x4040,
    0x7f7f, 0xff7f, 0x7400, 0x7f7e, 0x3f7f, 0x0100, 0x0180],
};

variantTest('native reduce: float16/bfloat16 edge values, every pair, every op and the average, as the oracle', () => {
  for (const dtype of ['float16', 'bfloat16'] as const) {
    const edges = EDGES[dtype];
    // Every ordered pair once: 1,000+ lanes, so the 16-lane SIMD blocks and the scalar tail both see them.
    const dst = new Uint16Array(edges.length * edges.length).map((_, i) => edges[Math.floor(i / edges.length)]!);
    const src = new Uint16Array(dst.length).map((_, i) => edges[i % edges.length]!);
    const inputs: [Uint8Array, Uint8Array] = [new Uint8Array(dst.buffer), new Uint8Array(src.buffer)];
    for (const op of OPS) {
      for (const offset of [0, 1]) {
        const expected = at(inputs[0], offset);
        reduceAccumulate(expected, [at(inputs[1], offset)], dst.length, dtype, op);
        const actual = at(inputs[0], offset);
        nativeReduceAccumulate(addon, dtype, op, actual, at(inputs[1], offset));
        const difference = firstDifference(dtype, actual, expected);
        assert.is(difference, 'none', `${dtype} ${op} offset ${offset}: ${difference}`);
      }
    }
    for (const divisor of [1, 2, 3, 10]) {
      const expected = new Uint8Array(src.byteLength);
      finishAverage(expected, inputs[1], src.length, dtype, divisor);
      const actual = new Uint8Array(src.byteLength);
      nativeFinishAverage(addon, dtype, actual, inputs[1], divisor);
      assert.is(firstDifference(dtype, actual, expected), 'none', `${dtype} average / ${divisor}`);
    }
  }
});

variantTest('native reduce: float16/bfloat16 min and max of every pair of numbers among the edge values (SIMD blocks without a NaN: ±0 ties, ±Inf, subnormals), as the oracle', () => {
  for (const dtype of ['float16', 'bfloat16'] as const) {
    const infinity = dtype === 'float16' ? 0x7c00 : 0x7f80;
    const numbers = EDGES[dtype].filter((bits) => (bits & 0x7fff) <= infinity);
    const dst = new Uint16Array(numbers.length * numbers.length).map((_, i) => numbers[Math.floor(i / numbers.length)]!);
    const src = new Uint16Array(dst.length).map((_, i) => numbers[i % numbers.length]!);
    for (const op of ['min', 'max'] as const) {
      const expected = new Uint8Array(dst.slice().buffer);
      reduceAccumulate(expected, [new Uint8Array(src.buffer)], dst.length, dtype, op);
      const actual = new Uint8Array(dst.slice().buffer);
      nativeReduceAccumulate(addon, dtype, op, actual, new Uint8Array(src.buffer));
      assert.is(firstDifference(dtype, actual, expected), 'none', `${dtype} ${op}`);
    }
  }
});

variantTest('native reduce: NaN meeting NaN or a number, 2-4 sources folded pairwise, as the oracle\'s n-ary fold and the NaN rule', () => {
  for (const dtype of FLOAT_TYPES) {
    for (const sources of [2, 3, 4]) checkRule(dtype, sources, () => nanCases(dtype, sources));
  }
});

variantTest('native reduce: a NaN made from numbers (∞ - ∞, 0 × ∞) is the canonical quiet NaN, as the oracle\'s', () => {
  // It used to be x86's default NaN, 0xffc00000 (f16 0xfe00, bf16 0xffc0).
  for (const dtype of FLOAT_TYPES) {
    for (const sources of [2, 3]) checkRule(dtype, sources, (op) => madeNaNCases(dtype, sources, foldOf(op, 'nary')));
  }
});

/** Each op's cases folded pairwise by the addon (at two offsets), against the oracle and the cases' rule. */
function checkRule(dtype: (typeof FLOAT_TYPES)[number], sources: number, casesFor: (op: SimpleOp) => NanCases): void {
  for (const op of OPS) {
    const cases = casesFor(op);
    const { inputs, count, rule } = cases;
    for (const offset of [0, 1]) {
      const what = `${dtype} ${op} ${sources} sources offset ${offset}`;
      const expected = new Uint8Array(inputs[0]!.length);
      reduceNary(expected, inputs, count, dtype, op);
      const folded = at(inputs[0]!, offset);
      for (const input of inputs.slice(1)) nativeReduceAccumulate(addon, dtype, op, folded, at(input, offset));
      const actual = op === 'avg' ? at(folded, offset) : folded;
      if (op === 'avg') nativeFinishAverage(addon, dtype, actual, folded, sources);
      assert.is(firstDifference(dtype, actual, expected), 'none', `${what}: native against the oracle`);
      assert.is(ruleDifference(dtype, actual, rule, cases), '', `${what}: native against the rule`);
    }
  }
}

test('native reduce: the variants this CPU runs, best first, and a name it cannot run refused', () => {
  assert.is(VARIANTS[0], addon.reduceVariant);
  assert.is(VARIANTS[VARIANTS.length - 1], 'baseline');
  assert.ok(addon.reduceVariants!.every(isReduceVariant), addon.reduceVariants!.join());
  for (const wanted of ['sse9', '', 'AVX2']) {
    assert.throws(() => addon.reduceSelectVariant!(wanted), (error: Error) => error.message.includes(`this CPU runs auto, ${VARIANTS.join(', ')}, not ${wanted}`));
  }
  assert.throws(() => addon.reduceSelectVariant!(5 as unknown as string), /reduceSelectVariant: variant must be a string/);
  assert.throws(() => (addon.reduceSelectVariant as () => string)(), /expected 1 arguments, got 0/);
  assert.is(addon.reduceSelectVariant!('auto'), addon.reduceVariant);
});

test('native reduce: bad arguments throw InvalidArgument and leave dst untouched', () => {
  const dst = new Uint8Array(8).fill(7);
  const cases: Array<[() => void, RegExp]> = [
    [() => nativeReduceAccumulate(addon, 'float64' as DataType, 'sum', dst, new Uint8Array(8)), /unknown dtype float64/],
    [() => nativeReduceAccumulate(addon, 'float32', 'xor' as SimpleOp, dst, new Uint8Array(8)), /unknown op xor/],
    [() => nativeReduceAccumulate(addon, 'float32', 'sum', dst, new Uint8Array(4)), /dst holds 8 bytes but src 4/],
    [() => nativeReduceAccumulate(addon, 'float32', 'sum', new Uint8Array(6), new Uint8Array(6)), /6 bytes is not a whole number of 4-byte elements/],
    [() => nativeReduceAccumulate(addon, 'float32', 'sum', dst, [1, 2] as unknown as Uint8Array), /src must be a TypedArray or DataView/],
    [() => { const b = new ArrayBuffer(12); nativeReduceAccumulate(addon, 'int32', 'sum', new Uint8Array(b, 0, 8), new Uint8Array(b, 4, 8)); }, /overlap partially/],
    [() => nativeFinishAverage(addon, 'float32', dst, new Uint8Array(8), 0), /divisor 0 is not an integer/],
    [() => nativeFinishAverage(addon, 'float32', dst, new Uint8Array(8), 1.5), /divisor must be a non-negative integer/],
  ];
  for (const [call, message] of cases) {
    try {
      call();
      assert.unreachable(`expected ${message}`);
    } catch (error) {
      assert.ok(error instanceof WebcclError && error.code === 'InvalidArgument', String(error));
      assert.match((error as Error).message, message);
    }
  }
  assert.equal([...dst], [7, 7, 7, 7, 7, 7, 7, 7]);
  const detached = new Uint8Array(new ArrayBuffer(8));
  structuredClone(detached.buffer, { transfer: [detached.buffer] });
  assert.throws(() => nativeReduceAccumulate(addon, 'float32', 'sum', detached, new Uint8Array(8)), /dst holds 0 bytes but src 8/);
});

test.run();
