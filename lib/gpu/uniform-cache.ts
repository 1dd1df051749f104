// Uniform buffers for kernel parameters, shared by every dispatch with the same words. Making a
// buffer per dispatch costs more than the dispatch itself on small messages (a collective on a
// few KiB records dispatches with the same counts and offsets again and again), so buffers are
// looked up by content. Their words are written once, at creation, and never rewritten, so an
// entry can be handed to any number of encoders, submitted or not; eviction only drops the
// cache's reference (never destroy()): an encoder that still uses the buffer keeps it alive,
// and the garbage collector frees it after that.

/** Distinct parameter blocks kept: far more than a collective's plan uses, small in memory (16-64 B each). */
export const UNIFORM_CACHE_ENTRIES = 256;

export class UniformCache {
  /** Least recently used first (a Map iterates in insertion order; a hit re-inserts). */
  private readonly entries = new Map<string, GPUBuffer>();

  constructor(private readonly device: GPUDevice, private readonly capacity = UNIFORM_CACHE_ENTRIES) {}

  /** A uniform buffer holding exactly `words`. */
  get(words: Uint32Array): GPUBuffer {
    const key = words.join(',');
    let buffer = this.entries.get(key);
    if (buffer) {
      this.entries.delete(key);
    } else {
      buffer = this.device.createBuffer({ size: words.byteLength, usage: GPUBufferUsage.UNIFORM, mappedAtCreation: true });
      new Uint32Array(buffer.getMappedRange()).set(words);
      buffer.unmap();
      if (this.entries.size >= this.capacity) this.entries.delete(this.entries.keys().next().value!);
    }
    this.entries.set(key, buffer);
    return buffer;
  }

  get size(): number {
    return this.entries.size;
  }
}
