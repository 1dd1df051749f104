// The references every kernel is measured against (bench/kernels.ts): a WGSL vec4<f32> copy
// kernel and a vec4 add kernel (a + b -> c) over the payload, and, for information only,
// copyBufferToBuffer. On an H200 the WGSL copy reached 4,248 GB/s and the add 4,380 GB/s while
// copyBufferToBuffer reached only 851: a ratio to the buffer copy flatters a kernel 5x. It
// exports no kernelCases: the table lists these as references, not as kernels.
import type { GpuContext, KernelVariant, UnitLayout } from '../../lib/gpu/context.js';
import { filledBuffer, type KernelCase } from './case.js';
import referenceSource from './reference.wgsl';

/** vec4s per thread, as the library's vec4 kernels take. */
const UNITS_PER_THREAD = 4;
const WORKGROUP_SIZE = 256;

function variant(entryPoint: 'copy' | 'add', unitLayout?: UnitLayout): KernelVariant {
  return { source: referenceSource, entryPoint, workgroupSize: WORKGROUP_SIZE, unitsPerThread: UNITS_PER_THREAD, prelude: [], ...(unitLayout && { unitLayout }) };
}

/** The WGSL copy ('copy', 2 x payload moved) or add ('add', 3 x payload moved) over `payloadBytes` (a multiple of 16). */
export function referenceCase(kind: 'copy' | 'add', payloadBytes: number, unitLayout?: UnitLayout): KernelCase {
  const inputs = kind === 'copy' ? 1 : 2;
  return {
    name: `reference ${kind} vec4<f32>${unitLayout ? ` (${unitLayout})` : ''}`,
    bytesMoved: (inputs + 1) * payloadBytes,
    setup(ctx: GpuContext) {
      const buffers = Array.from({ length: inputs + 1 }, () => filledBuffer(ctx, payloadBytes));
      const storage = buffers.map((buffer) => ({ buffer }));
      const v = variant(kind, unitLayout);
      return {
        record: (encoder) => ctx.dispatch(encoder, v, new Uint32Array(0), storage, payloadBytes / 16),
        dispose: () => { for (const b of buffers) b.destroy(); },
      };
    },
  };
}

/** copyBufferToBuffer over the payload (2 x payload moved): shown for comparison, not a ratio's base. */
export function bufferCopyCase(payloadBytes: number): KernelCase {
  return {
    name: 'copyBufferToBuffer',
    bytesMoved: 2 * payloadBytes,
    setup(ctx: GpuContext) {
      const usage = GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
      const from = ctx.device.createBuffer({ size: payloadBytes, usage });
      const to = ctx.device.createBuffer({ size: payloadBytes, usage });
      return {
        record: (encoder) => encoder.copyBufferToBuffer(from, 0, to, 0, payloadBytes),
        dispose: () => { from.destroy(); to.destroy(); },
      };
    },
  };
}
