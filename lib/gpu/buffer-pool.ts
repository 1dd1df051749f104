// Pooled GPU buffers of one usage (staging on the way in and out, scratch), so that a call's
// chunks reuse buffers instead of creating one per chunk.
const align4 = (n: number) => Math.ceil(n / 4) * 4;

/**
 * Buffers of one usage, handed out and taken back. Sizes are rounded up to a power of two, so
 * a freed buffer serves every later request of its class: how many buffers a pool ever holds is
 * then set by how many are in use at once (the pipeline depth), not by the order in which
 * chunks of different sizes happen to come and go.
 */
export class BufferPool {
  private readonly free = new Map<number, GPUBuffer[]>();
  private readonly all: GPUBuffer[] = [];

  constructor(private readonly device: GPUDevice, private readonly usage: GPUBufferUsageFlags, private readonly label: string) {}

  /** How many buffers this pool ever created (tests check that it stays bounded). */
  get created(): number {
    return this.all.length;
  }

  acquire(bytes: number): GPUBuffer {
    const size = 2 ** Math.ceil(Math.log2(Math.max(256, align4(bytes))));
    const reused = this.free.get(size)?.pop();
    if (reused) return reused;
    const buffer = this.device.createBuffer({ size, usage: this.usage, label: this.label });
    this.all.push(buffer);
    return buffer;
  }

  release(buffer: GPUBuffer): void {
    const list = this.free.get(buffer.size);
    if (list) list.push(buffer);
    else this.free.set(buffer.size, [buffer]);
  }

  destroy(): void {
    for (const buffer of this.all) buffer.destroy();
    this.all.length = 0;
    this.free.clear();
  }
}
