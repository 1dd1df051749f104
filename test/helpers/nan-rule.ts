// The NaN rule of lib/cpu/reduction.ts written out on its own, for the suites that hold each
// reduction path to it (cpu-reduce: the oracle, native-reduce: the addon, gpu-reduce: the WGSL
// kernel): inputs where NaNs of different payloads (quiet and signalling, both signs) meet each
// other and numbers in every order, and the lane the rule asks for wherever a NaN is involved.
import { bf16BitsToF32, bitsToF32, f16BitsToF32 } from '../../lib/cpu/half.js';
import type { ReduceOp } from '../../lib/dtype.js';

export type FloatType = 'float32' | 'float16' | 'bfloat16';
export const FLOAT_TYPES: readonly FloatType[] = ['float32', 'float16', 'bfloat16'];

/**
 * Per dtype: quiet NaNs of either sign (a low and a high payload bit), signalling NaNs of either
 * sign, a signalling NaN with every payload bit set, then 1.5 and -2 (no sum or product of up to
 * four of them rounds, overflows or makes a NaN of its own).
 */
const VALUES: Record<FloatType, readonly number[]> = {
  float32: [0x7fc00001, 0xffe00000, 0x7f800001, 0xffa00000, 0x7fbfffff, 0x3fc00000, 0xc0000000],
  float16: [0x7e01, 0xff00, 0x7c01, 0xfd00, 0x7dff, 0x3e00, 0xc000],
  bfloat16: [0x7fc1, 0xffe0, 0x7f81, 0xffa0, 0x7fbf, 0x3fc0, 0xc000],
};

/** The values above (NaNs first, then the numbers 1.5 and -2), as bit patterns. */
export function nanRuleValues(dtype: FloatType): readonly number[] {
  return VALUES[dtype];
}

export const QUIET_BIT: Record<FloatType, number> = { float32: 0x00400000, float16: 0x0200, bfloat16: 0x0040 };

export function isNaNBits(dtype: FloatType, bits: number): boolean {
  if (dtype === 'float32') return (bits & 0x7fffffff) >>> 0 > 0x7f800000;
  return (bits & 0x7fff) > (dtype === 'float16' ? 0x7c00 : 0x7f80);
}

/** The elements of `bytes` as bit patterns (a copy: any byte offset). */
export function bitsOf(dtype: FloatType, bytes: Uint8Array): number[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const width = dtype === 'float32' ? 4 : 2;
  return Array.from({ length: bytes.byteLength / width }, (_, i) => (width === 4 ? view.getUint32(4 * i, true) : view.getUint16(2 * i, true)));
}

function bytesOf(dtype: FloatType, bits: readonly number[]): Uint8Array {
  return new Uint8Array((dtype === 'float32' ? Uint32Array.from(bits) : Uint16Array.from(bits)).buffer);
}

export interface NanCases {
  /** One byte image per source, `count` elements each. */
  readonly inputs: Uint8Array[];
  readonly count: number;
  /** Per lane: the first NaN among the sources in source order, quieted; undefined where all are numbers. */
  readonly rule: ReadonlyArray<number | undefined>;
}

/**
 * Every ordered choice of `sources` values, one lane each: 7^sources lanes (49, 343, 2401: odd
 * counts, enough for the vector blocks and the scalar tails of every path).
 */
export function nanCases(dtype: FloatType, sources: number): NanCases {
  const values = VALUES[dtype];
  const count = values.length ** sources;
  const lanes = Array.from({ length: count }, (_, i) => Array.from({ length: sources }, (_, j) => values[Math.floor(i / values.length ** j) % values.length]!));
  const inputs = Array.from({ length: sources }, (_, j) => bytesOf(dtype, lanes.map((lane) => lane[j]!)));
  const rule = lanes.map((lane) => {
    const first = lane.find((bits) => isNaNBits(dtype, bits));
    return first === undefined ? undefined : (first | QUIET_BIT[dtype]) >>> 0;
  });
  return { inputs, count, rule };
}

const hex = (bits: number | undefined): string => (bits === undefined ? '-' : `0x${bits.toString(16)}`);

/** '' when `got` holds `want`'s bits (where `want` has a lane), else the first lane that differs. */
export function firstDifference(dtype: FloatType, got: Uint8Array, want: Uint8Array | ReadonlyArray<number | undefined>, cases?: NanCases): string {
  const g = bitsOf(dtype, got);
  const w = want instanceof Uint8Array ? bitsOf(dtype, want) : want;
  if (g.length !== w.length) return `${g.length} elements, expected ${w.length}`;
  const i = g.findIndex((bits, lane) => w[lane] !== undefined && bits !== w[lane]);
  if (i < 0) return '';
  const inputs = cases ? ` (inputs ${cases.inputs.map((input) => hex(bitsOf(dtype, input)[i])).join(', ')})` : '';
  return `lane ${i} is ${hex(g[i])}, expected ${hex(w[i])}${inputs}`;
}

/** The NaN an operation makes from numbers (∞ - ∞, 0 × ∞), in each storage type. */
export const CANONICAL_NAN: Record<FloatType, number> = { float32: 0x7fc00000, float16: 0x7e00, bfloat16: 0x7fc0 };

/** +∞, -∞, +0, -0, 1.5 and a signalling NaN: sums and products of two make NaNs of their own. */
const MADE_VALUES: Record<FloatType, readonly number[]> = {
  float32: [0x7f800000, 0xff800000, 0, 0x80000000, 0x3fc00000, 0x7fa00001],
  float16: [0x7c00, 0xfc00, 0, 0x8000, 0x3e00, 0x7d01],
  bfloat16: [0x7f80, 0xff80, 0, 0x8000, 0x3fc0, 0x7fa1],
};

export function valueOf(dtype: FloatType, bits: number): number {
  return dtype === 'float32' ? bitsToF32(bits) : dtype === 'float16' ? f16BitsToF32(bits) : bf16BitsToF32(bits);
}

/** A fold on numbers (any precision: only whether a step is NaN counts): `first` scales input 0, `step` folds the next. */
export interface NumberFold {
  readonly first?: (x: number) => number;
  readonly step: (acc: number, x: number) => number;
}

/**
 * Every ordered choice of `sources` of the values above, one lane each (6^sources lanes), and
 * per lane the rule for `fold`, operation by operation: an operation with a NaN operand gives the
 * first one quieted (acc before x), one that makes a NaN from numbers (∞ - ∞, 0 × ∞) gives
 * CANONICAL_NAN, which later operations keep; undefined where the result is a number (checked
 * against the oracle).
 */
export function madeNaNCases(dtype: FloatType, sources: number, fold: NumberFold): NanCases {
  const values = MADE_VALUES[dtype];
  const count = values.length ** sources;
  const lanes = Array.from({ length: count }, (_, i) => Array.from({ length: sources }, (_, j) => values[Math.floor(i / values.length ** j) % values.length]!));
  const inputs = Array.from({ length: sources }, (_, j) => bytesOf(dtype, lanes.map((lane) => lane[j]!)));
  const quiet = (bits: number) => (bits | QUIET_BIT[dtype]) >>> 0;
  const rule = lanes.map(([head, ...rest]) => {
    if (isNaNBits(dtype, head!)) return quiet(head!);
    let acc = fold.first ? fold.first(valueOf(dtype, head!)) : valueOf(dtype, head!);
    if (Number.isNaN(acc)) return CANONICAL_NAN[dtype];
    for (const bits of rest) {
      if (isNaNBits(dtype, bits)) return quiet(bits);
      acc = fold.step(acc, valueOf(dtype, bits));
      if (Number.isNaN(acc)) return CANONICAL_NAN[dtype];
    }
    return undefined;
  });
  return { inputs, count, rule };
}

/** The fold a reduction runs (lib/cpu/reduction.ts): n-ary premulSum scales input 0 too, accumulate does not. */
export function foldOf(op: ReduceOp, form: 'nary' | 'accumulate'): NumberFold {
  if (typeof op !== 'string') {
    const s = op.premulSum;
    const step = (acc: number, x: number) => acc + s * x;
    return form === 'nary' ? { first: (x) => s * x, step } : { step };
  }
  if (op === 'prod') return { step: (acc, x) => acc * x };
  if (op === 'min') return { step: Math.min };
  if (op === 'max') return { step: Math.max };
  return { step: (acc, x) => acc + x };
}
