// GPU buffers for the communicator suites: data uploaded at an offset that is not a multiple
// of the binding alignment (offsets must work anywhere a word starts) and read back as host
// elements, and the same as a CheckMemory (test/helpers/collective-checks.ts) that remembers
// its buffers so that a suite destroys them all at the end.
import type { CheckMemory } from './collective-checks.js';
import type { GpuBufferRange } from '../../lib/memory/buffers.js';
import { elementBytes, type DataType, type ElementArray } from '../../lib/dtype.js';
import { readRegion, writeRegion } from '../../lib/gpu/transfer.js';
import { allocate } from './comm-world.js';
import { device } from './gpu.js';

const USAGE = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
/** Not a multiple of the binding alignment (256): offsets must work anywhere a word starts. */
export const OFFSET = 260;

export function gpuBuffer(bytes: number): GPUBuffer {
  return device.createBuffer({ size: Math.max(16, Math.ceil((OFFSET + bytes) / 4) * 4 + 8), usage: USAGE });
}

export function upload(data: ElementArray): GpuBufferRange {
  const buffer = gpuBuffer(data.byteLength);
  const bytes = new Uint8Array(Math.ceil(data.byteLength / 4) * 4);
  bytes.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  if (bytes.byteLength > 0) writeRegion(device, { buffer, byteOffset: OFFSET }, bytes);
  return { buffer, byteOffset: OFFSET };
}

export async function download(range: GpuBufferRange, dtype: DataType, count: number): Promise<ElementArray> {
  const bytes = await readRegion(device, { buffer: range.buffer, byteOffset: range.byteOffset ?? 0 }, count * elementBytes(dtype));
  const out = allocate(dtype, count);
  new Uint8Array(out.buffer).set(bytes);
  return out;
}

/** Check buffers on the test device; `destroy` frees every buffer `place` made. */
export function gpuCheckMemory(): CheckMemory<GpuBufferRange> & { destroy(): void } {
  const made = new Set<GPUBuffer>();
  return {
    place: (data) => {
      const range = upload(data);
      made.add(range.buffer);
      return range;
    },
    block: (range, dtype, index, count) => ({ buffer: range.buffer, byteOffset: (range.byteOffset ?? 0) + index * count * elementBytes(dtype) }),
    read: download,
    destroy: () => {
      for (const buffer of made) buffer.destroy();
      made.clear();
    },
  };
}
