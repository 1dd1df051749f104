// GPU side of the quantization codec suites: regions placed at a byte offset inside a buffer
// whose other bytes hold a fill pattern, and a check that a kernel wrote exactly the expected
// words there and nothing anywhere else (bit for bit: the codecs write canonical NaNs).
import { assertSameElements, Mirrored } from './gpu.js';
import type { GpuRegion } from '../../lib/gpu/region.js';

const FILL = 0xa5;
const TAIL = 12;

export class Placed {
  readonly mirror: Mirrored;

  /** `content` (a TypedArray) at `offset`, fill bytes around it (on the shared device unless told otherwise). */
  constructor(readonly offset: number, content: ArrayBufferView, owner?: GPUDevice) {
    const bytes = new Uint8Array(offset + content.byteLength + TAIL).fill(FILL);
    bytes.set(new Uint8Array(content.buffer, content.byteOffset, content.byteLength), offset);
    this.mirror = new Mirrored(bytes, owner);
  }

  /** A zero-filled region of `byteLength` bytes at `offset`. */
  static empty(offset: number, byteLength: number, owner?: GPUDevice): Placed {
    return new Placed(offset, new Uint8Array(byteLength), owner);
  }

  get region(): GpuRegion {
    return this.mirror.region(this.offset);
  }

  /** Checks the GPU buffer holds `want` at the offset and its original bytes elsewhere. */
  async expect(want: ArrayBufferView, what: string): Promise<void> {
    const image = this.mirror.host.slice();
    image.set(new Uint8Array(want.buffer, want.byteOffset, want.byteLength), this.offset);
    assertSameElements(await this.mirror.readBack(), image, 'uint32', what);
  }

  destroy(): void {
    this.mirror.destroy();
  }
}
