// The inner loops of the CPU reduction: one monomorphic loop per operator over 32-bit lanes
// (Float32Array for every float dtype, Int32Array or Uint32Array for integers), so that no
// per-element switch or closure sits in the hot path. Stores do the rounding: writing a JS
// number into a Float32Array rounds it to f32 (an f64 sum or product of two f32 values is
// exact or correctly rounded before that, so the result equals f32 arithmetic), and writing
// into an Int32Array/Uint32Array wraps modulo 2^32.
//
// NaN (the rule of reduction.ts, which the native and WGSL kernels follow too): an operation
// with a NaN operand gives its first NaN operand with the quiet bit set, sign and payload kept.
// JS arithmetic does not: which NaN V8 keeps when both operands are NaN depends on the operand
// order of the code it emits. So every float loop tests its result, and only a NaN result (one
// compare on the common path) takes firstNaN, which writes the bits itself.
export type Lanes = Float32Array | Int32Array | Uint32Array;

const nanScratch = new Float32Array(1);
const nanScratchBits = new Uint32Array(nanScratch.buffer);

/** The NaN an operation makes from numbers (∞ - ∞, 0 × ∞): positive, quiet, no payload. */
export const CANONICAL_NAN_BITS = 0x7fc00000;

/**
 * The result of `a op b` when that result is NaN: the first NaN operand, quieted, or the
 * canonical NaN when neither operand is NaN (x86 would give its default NaN, 0xffc00000, ARM and
 * GPUs others). The bits are written rather than left to a float conversion, which the JIT may elide.
 */
export function firstNaN(a: number, b: number): number {
  if (a === a && b === b) {
    nanScratchBits[0] = CANONICAL_NAN_BITS;
    return nanScratch[0]!;
  }
  nanScratch[0] = a === a ? b : a;
  nanScratchBits[0] = nanScratchBits[0]! | 0x00400000;
  return nanScratch[0]!;
}

/**
 * Sum is the reduction of nearly every allreduce, so its loop is unrolled by four: V8 then
 * spends less on loop and bounds-check overhead per element (1.5-2.5x on a 4096-element chunk).
 */
export function addInto(acc: Lanes, x: Lanes): void {
  const n = acc.length;
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const r0 = acc[i]! + x[i]!;
    const r1 = acc[i + 1]! + x[i + 1]!;
    const r2 = acc[i + 2]! + x[i + 2]!;
    const r3 = acc[i + 3]! + x[i + 3]!;
    // Integer lanes are never NaN. A NaN result re-reads its operands: neither is stored yet.
    acc[i] = r0 === r0 ? r0 : firstNaN(acc[i]!, x[i]!);
    acc[i + 1] = r1 === r1 ? r1 : firstNaN(acc[i + 1]!, x[i + 1]!);
    acc[i + 2] = r2 === r2 ? r2 : firstNaN(acc[i + 2]!, x[i + 2]!);
    acc[i + 3] = r3 === r3 ? r3 : firstNaN(acc[i + 3]!, x[i + 3]!);
  }
  for (; i < n; i++) {
    const r = acc[i]! + x[i]!;
    acc[i] = r === r ? r : firstNaN(acc[i]!, x[i]!);
  }
}

export function multiplyFloatInto(acc: Float32Array, x: Float32Array): void {
  for (let i = 0; i < acc.length; i++) {
    const r = acc[i]! * x[i]!;
    acc[i] = r === r ? r : firstNaN(acc[i]!, x[i]!);
  }
}

/** Math.imul is the wrapping 32-bit product (an f64 product of two 32-bit values is not exact). */
export function multiplyIntInto(acc: Int32Array | Uint32Array, x: Int32Array | Uint32Array): void {
  for (let i = 0; i < acc.length; i++) acc[i] = Math.imul(acc[i]!, x[i]!);
}

// min and max propagate NaN (like torch.minimum), by the NaN rule above: an unordered pair
// takes firstNaN. Among equal values (+0 and -0) the earlier operand wins. The GPU kernel uses
// the same rule, so results agree bit for bit.
export function minInto(acc: Lanes, x: Lanes): void {
  for (let i = 0; i < acc.length; i++) {
    const a = acc[i]!;
    const b = x[i]!;
    acc[i] = a <= b ? a : b < a ? b : firstNaN(a, b);
  }
}

export function maxInto(acc: Lanes, x: Lanes): void {
  for (let i = 0; i < acc.length; i++) {
    const a = acc[i]!;
    const b = x[i]!;
    acc[i] = a >= b ? a : b > a ? b : firstNaN(a, b);
  }
}

/**
 * acc + f32(s * x): the product is rounded to f32 before the sum, as two f32 operations, never
 * a fused multiply-add. The GPU kernel is made to do the same on drivers that would fuse them
 * (rounded_product in shaders/reduce.wgsl).
 */
export function premulAddFloatInto(acc: Float32Array, x: Float32Array, scalar: number): void {
  for (let i = 0; i < acc.length; i++) {
    const r = acc[i]! + Math.fround(scalar * x[i]!);
    // The scalar is finite: a NaN product is x's NaN or 0 × ∞'s, so a NaN x is the second operand.
    acc[i] = r === r ? r : firstNaN(acc[i]!, x[i]!);
  }
}

export function premulAddIntInto(acc: Int32Array | Uint32Array, x: Int32Array | Uint32Array, scalar: number): void {
  for (let i = 0; i < acc.length; i++) acc[i] = acc[i]! + Math.imul(scalar, x[i]!);
}

export function scaleFloat(acc: Float32Array, scalar: number): void {
  for (let i = 0; i < acc.length; i++) {
    const r = acc[i]! * scalar;
    acc[i] = r === r ? r : firstNaN(acc[i]!, scalar);
  }
}

export function scaleInt(acc: Int32Array | Uint32Array, scalar: number): void {
  for (let i = 0; i < acc.length; i++) acc[i] = Math.imul(acc[i]!, scalar);
}

/** Integer division truncating toward zero, exact for every 32-bit value (a % d is exact). */
export function divideInt(acc: Int32Array | Uint32Array, divisor: number): void {
  for (let i = 0; i < acc.length; i++) {
    const a = acc[i]!;
    acc[i] = (a - (a % divisor)) / divisor;
  }
}
