// The inner loops of the CPU reduction: one monomorphic loop per operator over 32-bit lanes
// (Float32Array for every float dtype, Int32Array or Uint32Array for integers), so that no
// per-element switch or closure sits in the hot path. Stores do the rounding: writing a JS
// number into a Float32Array rounds it to f32 (an f64 sum or product of two f32 values is
// exact or correctly rounded before that, so the result equals f32 arithmetic), and writing
// into an Int32Array/Uint32Array wraps modulo 2^32.
export type Lanes = Float32Array | Int32Array | Uint32Array;

/**
 * Sum is the reduction of nearly every allreduce, so its loop is unrolled by four: V8 then
 * spends less on loop and bounds-check overhead per element (1.5-2.5x on a 4096-element chunk).
 */
export function addInto(acc: Lanes, x: Lanes): void {
  const n = acc.length;
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    acc[i] = acc[i]! + x[i]!;
    acc[i + 1] = acc[i + 1]! + x[i + 1]!;
    acc[i + 2] = acc[i + 2]! + x[i + 2]!;
    acc[i + 3] = acc[i + 3]! + x[i + 3]!;
  }
  for (; i < n; i++) acc[i] = acc[i]! + x[i]!;
}

export function multiplyFloatInto(acc: Float32Array, x: Float32Array): void {
  for (let i = 0; i < acc.length; i++) acc[i] = acc[i]! * x[i]!;
}

/** Math.imul is the wrapping 32-bit product (an f64 product of two 32-bit values is not exact). */
export function multiplyIntInto(acc: Int32Array | Uint32Array, x: Int32Array | Uint32Array): void {
  for (let i = 0; i < acc.length; i++) acc[i] = Math.imul(acc[i]!, x[i]!);
}

// min and max propagate NaN (like torch.minimum); among equal values (+0 and -0) the
// earlier operand wins. The GPU kernel uses the same rule, so results agree bit for bit.
export function minInto(acc: Lanes, x: Lanes): void {
  for (let i = 0; i < acc.length; i++) {
    const a = acc[i]!;
    const b = x[i]!;
    acc[i] = a <= b || a !== a ? a : b;
  }
}

export function maxInto(acc: Lanes, x: Lanes): void {
  for (let i = 0; i < acc.length; i++) {
    const a = acc[i]!;
    const b = x[i]!;
    acc[i] = a >= b || a !== a ? a : b;
  }
}

/**
 * acc + f32(s * x): the product is rounded to f32 before the sum, as two f32 operations, never
 * a fused multiply-add. The GPU kernel is made to do the same on drivers that would fuse them
 * (rounded_product in shaders/reduce.wgsl).
 */
export function premulAddFloatInto(acc: Float32Array, x: Float32Array, scalar: number): void {
  for (let i = 0; i < acc.length; i++) acc[i] = acc[i]! + Math.fround(scalar * x[i]!);
}

export function premulAddIntInto(acc: Int32Array | Uint32Array, x: Int32Array | Uint32Array, scalar: number): void {
  for (let i = 0; i < acc.length; i++) acc[i] = acc[i]! + Math.imul(scalar, x[i]!);
}

export function scaleFloat(acc: Float32Array, scalar: number): void {
  for (let i = 0; i < acc.length; i++) acc[i] = acc[i]! * scalar;
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
