// What a kernel benchmark case is. bench/kernels.ts loads every module in this folder that
// exports `kernelCases` and times each case next to a plain buffer copy of the same size.
import type { GpuContext } from '../../lib/gpu/context.js';

export interface KernelCase {
  /** Shown in the table, e.g. "reduce n-ary sum float32 k=2". */
  readonly name: string;
  /** Bytes the kernel reads plus bytes it writes per run (the GB/s numerator). */
  readonly bytesMoved: number;
  /** Allocates buffers and returns what records one run; called once before the case is timed. */
  setup(ctx: GpuContext): PreparedCase;
}

export interface PreparedCase {
  record(encoder: GPUCommandEncoder): void;
  dispose(): void;
}

/** A module's list of cases for a given payload size (the kernel's primary region, e.g. 64 MiB). */
export type KernelCaseList = (payloadBytes: number) => readonly KernelCase[];

const USAGE = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
let pattern: Uint8Array | undefined;

/**
 * A storage buffer filled with varied, finite data (f32, f16 and bf16 all read it as ordinary
 * numbers), so kernels take their common paths rather than the shortcuts zeros would allow.
 */
export function filledBuffer(ctx: GpuContext, bytes: number): GPUBuffer {
  const size = Math.ceil(bytes / 4) * 4;
  const buffer = ctx.device.createBuffer({ size, usage: USAGE });
  if (!pattern || pattern.byteLength < size) {
    const words = new Uint32Array(size / 4);
    // Each 16-bit half has exponent bits 0x3c..0x3f (values near 1 as f16, bf16 and f32).
    for (let i = 0; i < words.length; i++) words[i] = (((i * 2654435761) >>> 0) & 0x03ff03ff) | 0x3c003c00;
    pattern = new Uint8Array(words.buffer);
  }
  ctx.device.queue.writeBuffer(buffer, 0, pattern.buffer, 0, size);
  return buffer;
}

/** A case whose buffers are made by `make` when it is set up and destroyed after it is timed. */
export function caseWithBuffers(
  name: string, bytesMoved: number, make: (ctx: GpuContext) => GPUBuffer[],
  record: (ctx: GpuContext, encoder: GPUCommandEncoder, buffers: GPUBuffer[]) => void,
): KernelCase {
  return {
    name, bytesMoved,
    setup(ctx) {
      const buffers = make(ctx);
      return { record: (encoder) => record(ctx, encoder, buffers), dispose: () => { for (const b of buffers) b.destroy(); } };
    },
  };
}
