// Where a benchmark buffer lives: a TypedArray (--mem cpu) or a GPUBuffer (--mem gpu). The sweep
// only writes inputs, reads outputs and hands out operands (views at an element offset) that go
// straight into the communicator's calls.
import { elementBytes, type DataType, type ElementArray } from '../../lib/dtype.js';
import { region, type GpuRegion } from '../../lib/gpu/region.js';
import { readRegion, writeRegion } from '../../lib/gpu/transfer.js';
import { allocateElements } from './data.js';
import type { HostArrays } from './host-arrays.js';

/** What a communicator call accepts as a buffer. */
export type Operand = ElementArray | GpuRegion;

export interface ElementStore {
  readonly length: number;
  /** The `count` elements from `offset`, as a call operand. */
  operand(offset: number, count: number): Operand;
  write(offset: number, data: ElementArray): Promise<void>;
  read(offset: number, count: number): Promise<ElementArray>;
  destroy(): void;
}

/** Allocates and frees a host buffer (Communicator.allocHostBuffer / freeHostBuffer). */
export interface HostBufferSource {
  alloc(bytes: number): ArrayBuffer;
  free(buffer: ArrayBuffer): void;
}

export class HostStore implements ElementStore {
  private readonly array: ElementArray;

  /**
   * `hostBuffers`: the elements live in a host buffer of it (--host-buffers); else in `arrays`'
   * memory where given (the sweep's, reused), else in a TypedArray of their own.
   */
  constructor(dtype: DataType, readonly length: number, private readonly hostBuffers?: HostBufferSource, private readonly arrays?: HostArrays) {
    const bytes = length * elementBytes(dtype);
    const buffer = hostBuffers?.alloc(bytes) ?? this.arrays?.take(bytes);
    this.array = allocateElements(dtype, length, buffer);
  }

  operand(offset: number, count: number): Operand {
    return this.array.subarray(offset, offset + count);
  }

  async write(offset: number, data: ElementArray): Promise<void> {
    this.array.set(data, offset);
  }

  async read(offset: number, count: number): Promise<ElementArray> {
    return this.array.slice(offset, offset + count);
  }

  destroy(): void {
    if (this.hostBuffers) this.hostBuffers.free(this.array.buffer as ArrayBuffer);
    else this.arrays?.give(this.array.buffer as ArrayBuffer);
  }
}

export class GpuStore implements ElementStore {
  private readonly buffer: GPUBuffer;
  private readonly bytesPerElement: number;

  constructor(private readonly device: GPUDevice, private readonly dtype: DataType, readonly length: number) {
    this.bytesPerElement = elementBytes(dtype);
    // WebGPU copies move whole 4-byte words: round the size up so odd 16-bit counts fit.
    const size = Math.max(4, Math.ceil((length * this.bytesPerElement) / 4) * 4);
    this.buffer = device.createBuffer({ size, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST });
  }

  operand(offset: number): Operand {
    return region(this.buffer, offset * this.bytesPerElement);
  }

  async write(offset: number, data: ElementArray): Promise<void> {
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    // A 16-bit write that ends mid-word carries the neighbouring element along, read back first.
    const padded = bytes.byteLength % 4 === 0 ? bytes : await this.withTrailingBytes(offset, data);
    writeRegion(this.device, region(this.buffer, offset * this.bytesPerElement), padded);
  }

  async read(offset: number, count: number): Promise<ElementArray> {
    const bytes = await readRegion(this.device, region(this.buffer, offset * this.bytesPerElement), count * this.bytesPerElement);
    const out = allocateElements(this.dtype, count);
    new Uint8Array(out.buffer).set(bytes);
    return out;
  }

  destroy(): void {
    this.buffer.destroy();
  }

  private async withTrailingBytes(offset: number, data: ElementArray): Promise<Uint8Array> {
    const end = offset + data.length;
    const next = end < this.length ? await this.read(end, 1) : allocateElements(this.dtype, 1);
    const padded = new Uint8Array(data.byteLength + this.bytesPerElement);
    padded.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    padded.set(new Uint8Array(next.buffer, 0, this.bytesPerElement), data.byteLength);
    return padded;
  }
}
