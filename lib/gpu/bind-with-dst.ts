// Binding a kernel's output and inputs when some inputs live in the output's buffer. WebGPU
// forbids binding one buffer both writable and read-only in the same dispatch, so an input in
// dst's buffer is not bound on its own: dst's binding is widened to cover it and the kernel
// reads it through dst (the kernels take a per-input "via dst" flag and a word offset).
// In-place use (input and dst the same region) is the common case; inputs elsewhere in dst's
// buffer work too, as long as they do not partially overlap dst.
import type { GpuContext } from './context.js';
import { region, type GpuRegion } from './region.js';

/** The part of a region one piece of work touches. */
export interface Slice {
  readonly region: GpuRegion;
  /** Bytes from the region's start to the piece's start (a multiple of 4). */
  readonly skip: number;
  readonly bytes: number;
}

export interface InputBinding {
  /** Its own binding, or undefined when the input is read through dst's binding. */
  readonly resource: GPUBufferBinding | undefined;
  /** Word offset of the input's first element within whichever binding it is read through. */
  readonly wordOffset: number;
}

export interface Bound {
  readonly dst: { readonly resource: GPUBufferBinding; readonly wordOffset: number };
  readonly inputs: readonly InputBinding[];
}

export function readsThroughDst(dst: GpuRegion, input: GpuRegion): boolean {
  return input.buffer === dst.buffer;
}

export function bindWithDst(ctx: GpuContext, dst: Slice, inputs: readonly Slice[]): Bound {
  const together = [dst, ...inputs.filter((input) => readsThroughDst(dst.region, input.region))];
  const start = Math.min(...together.map((s) => s.region.byteOffset + s.skip));
  const end = Math.max(...together.map((s) => s.region.byteOffset + s.skip + s.bytes));
  const shared = ctx.bind(region(dst.region.buffer, start), end - start);
  const wordIn = (s: Slice) => shared.wordOffset + (s.region.byteOffset + s.skip - start) / 4;
  return {
    dst: { resource: shared.resource, wordOffset: wordIn(dst) },
    inputs: inputs.map((input) => {
      if (readsThroughDst(dst.region, input.region)) return { resource: undefined, wordOffset: wordIn(input) };
      const own = ctx.bind(region(input.region.buffer, input.region.byteOffset + input.skip), input.bytes);
      return { resource: own.resource, wordOffset: own.wordOffset };
    }),
  };
}

/**
 * Upper bound on how far dst's binding must reach beyond one piece because of inputs read
 * through it: their distance from dst, plus the drift between pieces when an input's
 * element size differs from dst's (`driftBytes` = units * |difference|).
 */
export function sharedSpanBytes(dst: GpuRegion, inputs: readonly GpuRegion[], driftBytes = 0): number {
  const distances = inputs.filter((input) => readsThroughDst(dst, input)).map((input) => Math.abs(input.byteOffset - dst.byteOffset) + driftBytes);
  return Math.max(0, ...distances);
}
