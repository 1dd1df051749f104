// A GPU region: a buffer plus a byte offset, the unit every kernel and collective works on.
// Offsets need only be 4-byte aligned: storage bindings must start on the device's
// minStorageBufferOffsetAlignment (often 256), so a region is bound from the aligned offset
// below it and the kernel is told how many 32-bit words to skip.
import { invalidArgument } from '../errors.js';

export interface GpuRegion {
  readonly buffer: GPUBuffer;
  /** Byte offset of element 0 in `buffer`; a multiple of 4. */
  readonly byteOffset: number;
}

export function region(buffer: GPUBuffer, byteOffset = 0): GpuRegion {
  return { buffer, byteOffset };
}

/** Checks that `byteLength` bytes from the region's offset fit in its buffer and are bindable. */
export function checkRegion(what: string, r: GpuRegion, byteLength: number, usage = GPUBufferUsage.STORAGE): void {
  if (!Number.isInteger(r.byteOffset) || r.byteOffset < 0 || r.byteOffset % 4 !== 0) {
    throw invalidArgument(`${what}: byte offset ${r.byteOffset} is not a non-negative multiple of 4`);
  }
  if (r.byteOffset + byteLength > r.buffer.size) {
    throw invalidArgument(`${what}: needs ${byteLength} bytes at offset ${r.byteOffset} but the buffer holds ${r.buffer.size}`);
  }
  if ((r.buffer.usage & usage) !== usage) {
    throw invalidArgument(`${what}: buffer lacks the usage flags ${usage} (has ${r.buffer.usage})`);
  }
}

/** Where a region is bound and how far in (in 32-bit words) its first element lies. */
export interface Binding {
  readonly resource: GPUBufferBinding;
  readonly wordOffset: number;
}

export function bindRegion(r: GpuRegion, byteLength: number, alignment: number): Binding {
  const start = Math.floor(r.byteOffset / alignment) * alignment;
  const wordOffset = (r.byteOffset - start) / 4;
  // Bindings of size 0 are invalid; a 4-byte minimum keeps empty ranges bindable.
  const size = Math.max(4, Math.ceil((r.byteOffset - start + byteLength) / 4) * 4);
  return { resource: { buffer: r.buffer, offset: start, size }, wordOffset };
}
