// Moving bytes between GPU regions and host memory. queue.writeBuffer and a mapped read-back
// copy are the only two ways WebGPU offers; both need 4-byte-aligned offsets and sizes.
import { invalidArgument, systemError } from '../errors.js';
import { GpuContext } from './context.js';
import { captureErrors, gpuErrorSummary } from './error-scope.js';
import { checkRegion, type GpuRegion } from './region.js';

const align4 = (n: number) => Math.ceil(n / 4) * 4;

/** Writes `bytes` at the region's offset. The length must be a multiple of 4. */
export function writeRegion(device: GPUDevice, r: GpuRegion, bytes: Uint8Array): void {
  checkRegion('write', r, align4(bytes.byteLength), GPUBufferUsage.COPY_DST);
  if (bytes.byteLength % 4 !== 0) {
    throw invalidArgument(`write: ${bytes.byteLength} bytes is not a multiple of 4`);
  }
  device.queue.writeBuffer(r.buffer, r.byteOffset, bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * Reads `byteLength` bytes from the region through `staging` (a MAP_READ | COPY_DST buffer of
 * at least the rounded-up size, reused by the caller) or a temporary buffer when none is given.
 */
export async function readRegion(device: GPUDevice, r: GpuRegion, byteLength: number, staging?: GPUBuffer): Promise<Uint8Array> {
  const size = align4(byteLength);
  checkRegion('read', r, size, GPUBufferUsage.COPY_SRC);
  const out = new Uint8Array(byteLength);
  if (byteLength === 0) return out;
  const buffer = staging ?? device.createBuffer({ size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  if (buffer.size < size) throw invalidArgument(`read: staging buffer of ${buffer.size} bytes is smaller than ${size}`);
  // The copy runs in an error scope: a refused copy (the region's buffer destroyed, or of
  // another device) would leave the staging buffer with whatever it held before.
  const copied = captureErrors(device, () => {
    const encoder = device.createCommandEncoder();
    encoder.copyBufferToBuffer(r.buffer, r.byteOffset, buffer, 0, size);
    device.queue.submit([encoder.finish()]);
  });
  try {
    const [error] = await Promise.all([copied, GpuContext.for(device).mapForRead(buffer, size)]);
    if (error) throw systemError(`read: GPU rejected the copy: ${gpuErrorSummary(error)}`);
    out.set(new Uint8Array(buffer.getMappedRange(0, size), 0, byteLength));
  } finally {
    if (buffer.mapState === 'mapped') buffer.unmap();
    if (!staging) buffer.destroy();
  }
  return out;
}
