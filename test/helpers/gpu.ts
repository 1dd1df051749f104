// Shared by the GPU kernel suites: one device per process, buffers mirrored by host memory so
// a kernel and its CPU oracle run on identical bytes (same offsets, same neighbours), and a
// comparison that is bit-exact except that any NaN equals any NaN (the reduce kernel's payloads
// are held to the bit by its own NaN rule test, helpers/nan-rule.ts).
import * as assert from 'uvu/assert';
import { premulSum, type DataType, type ReduceOp } from '../../lib/dtype.js';
import { f32ToBf16Bits, f32ToF16Bits } from '../../lib/cpu/half.js';
import { createNodeDevice } from '../../lib/gpu/node-device.js';
import { GpuContext } from '../../lib/gpu/context.js';
import { region, type GpuRegion } from '../../lib/gpu/region.js';
import { readRegion, writeRegion } from '../../lib/gpu/transfer.js';

export const device = await createNodeDevice();
export const ctx = GpuContext.for(device);

const USAGE = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;

/** A GPU buffer and a host copy of the same bytes (on the shared device unless told otherwise). */
export class Mirrored {
  readonly gpu: GPUBuffer;
  readonly host: Uint8Array;

  constructor(bytes: Uint8Array, private readonly owner: GPUDevice = device) {
    this.host = new Uint8Array(Math.ceil(bytes.byteLength / 4) * 4);
    this.host.set(bytes);
    this.gpu = owner.createBuffer({ size: Math.max(4, this.host.byteLength), usage: USAGE });
    writeRegion(owner, region(this.gpu), this.host);
  }

  region(byteOffset: number): GpuRegion {
    return region(this.gpu, byteOffset);
  }

  /** The host bytes from `byteOffset` (a view, for the CPU oracle to work in place). */
  view(byteOffset: number): Uint8Array {
    return this.host.subarray(byteOffset);
  }

  readBack(): Promise<Uint8Array> {
    return readRegion(this.owner, region(this.gpu), this.host.byteLength);
  }

  destroy(): void {
    this.gpu.destroy();
  }
}

/** Deterministic pseudo-random 32-bit words. */
export function randomWords(count: number, seed: number): Uint32Array {
  const out = new Uint32Array(count);
  let state = seed >>> 0 || 1;
  for (let i = 0; i < count; i++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    out[i] = state >>> 0;
  }
  return out;
}

/**
 * Reduction inputs of `dtype` suited to `op`: wide ranges with specials, or near 1 for products.
 * f32 values stay out of the subnormal range, where WGSL lets the device flush to zero.
 */
export function randomBytes(dtype: DataType, op: ReduceOp, count: number, seed: number): Uint8Array {
  const words = randomWords(count, seed);
  const special = [0, -0, Infinity, -Infinity, NaN];
  const value = (w: number): number => {
    if (op === 'prod') return (w & 1 ? -1 : 1) * (0.5 + (w >>> 8) / 2 ** 24 * 1.5);
    if (w % 97 === 0) return special[(w >>> 8) % special.length]!;
    return (w & 1 ? -1 : 1) * (1 + (w >>> 9) / 2 ** 23) * 2 ** (((w >>> 1) & 63) - 32);
  };
  switch (dtype) {
    case 'int32':
    case 'uint32': return new Uint8Array(words.buffer);
    case 'float32': return new Uint8Array(Float32Array.from(words, value).buffer);
    case 'bfloat16': return new Uint8Array(Uint16Array.from(words, (w) => f32ToBf16Bits(value(w))).buffer);
    // Every f16 bit pattern is an f32 normal: any bits will do, except for products.
    case 'float16': return new Uint8Array(Uint16Array.from(words, (w) => (op === 'prod' ? f32ToF16Bits(value(w)) : w & 0xffff)).buffer);
  }
}

/** premulSum's scalar made an integer for integer dtypes (their scalars must be). */
export const scalarFor = (dtype: DataType, op: ReduceOp): ReduceOp => (typeof op !== 'string' && (dtype === 'int32' || dtype === 'uint32') ? premulSum(-3) : op);

function isNanBits(dtype: DataType, bits: number): boolean {
  switch (dtype) {
    case 'float32': return (bits & 0x7fffffff) > 0x7f800000;
    case 'float16': return (bits & 0x7fff) > 0x7c00;
    case 'bfloat16': return (bits & 0x7fff) > 0x7f80;
    default: return false;
  }
}

/** Bit-exact comparison of two byte images holding `dtype` elements; NaN matches NaN. */
export function assertSameElements(got: Uint8Array, want: Uint8Array, dtype: DataType, what: string): void {
  assert.is(got.byteLength, want.byteLength, `${what}: length`);
  const wide = dtype === 'float32' || dtype === 'int32' || dtype === 'uint32';
  const g = wide ? new Uint32Array(got.buffer, got.byteOffset, got.byteLength / 4) : new Uint16Array(got.buffer, got.byteOffset, got.byteLength / 2);
  const w = wide ? new Uint32Array(want.buffer, want.byteOffset, want.byteLength / 4) : new Uint16Array(want.buffer, want.byteOffset, want.byteLength / 2);
  for (let i = 0; i < g.length; i++) {
    if (g[i] !== w[i] && !(isNanBits(dtype, g[i]!) && isNanBits(dtype, w[i]!))) {
      assert.unreachable(`${what}: element ${i} of the buffer is ${g[i]!.toString(16)}, expected ${w[i]!.toString(16)}`);
    }
  }
}
