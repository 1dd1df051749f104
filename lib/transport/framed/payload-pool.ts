// Memory for received payloads, recycled. A freshly allocated ArrayBuffer per received chunk
// (a 64 MiB allreduce over tcp receives one every few hundred microseconds) kept V8 running a
// full GC every 30-50 ms; with the pool, the memory a receiver gives back through
// Message.release serves the next message of its size class, so a steady stream of equal
// chunks allocates nothing. Receivers that never release are fine: their memory is collected.
//
// Size classes are powers of two; every buffer starts at offset 0 of its own ArrayBuffer, so
// payloads are 8-byte aligned (typed-array views need it). In poisoning mode, released memory
// is overwritten with a pattern at once, so that any use after release shows up as wrong data.

/** Payloads up to this size share one smallest class (a header's worth of waste at most). */
const MIN_CLASS_BYTES = 64;
/** Larger payloads are allocated exactly and not kept: a power-of-two class could double them. */
const MAX_CLASS_BYTES = 16 << 20;
/** What released memory is filled with in poisoning mode (float32 -2.9e-16, int32 -1515870811). */
export const POISON_BYTE = 0xa5;

export interface PayloadPoolOptions {
  /** Freed memory kept for reuse, at most (bytes of whole classes). */
  readonly retainBytes: number;
  /** Overwrite released memory with POISON_BYTE (tests, WEBCCL_DEBUG=TRACE). */
  readonly poison: boolean;
}

export interface PooledPayload {
  readonly bytes: Uint8Array;
  /** Gives the memory back; later calls do nothing (a message is released at most once). */
  readonly release: () => void;
}

export class PayloadPool {
  /** Free buffers by class (log2 of their size). */
  private readonly free = new Map<number, ArrayBuffer[]>();
  private retained = 0;

  constructor(private readonly options: PayloadPoolOptions) {}

  /** `bytes` bytes of memory (contents unspecified) and the way to give them back. */
  take(bytes: number): PooledPayload {
    if (bytes > MAX_CLASS_BYTES || bytes === 0) return { bytes: new Uint8Array(bytes), release: () => undefined };
    const sizeClass = Math.max(Math.log2(MIN_CLASS_BYTES), Math.ceil(Math.log2(bytes)));
    const buffer = this.reuse(sizeClass) ?? new ArrayBuffer(2 ** sizeClass);
    const view = new Uint8Array(buffer, 0, bytes);
    let held = true;
    return {
      bytes: view,
      release: () => {
        if (!held) return;
        held = false;
        this.give(sizeClass, buffer);
      },
    };
  }

  /** Bytes of free memory kept for reuse (tests). */
  get retainedBytes(): number {
    return this.retained;
  }

  private reuse(sizeClass: number): ArrayBuffer | undefined {
    const buffer = this.free.get(sizeClass)?.pop();
    if (buffer) this.retained -= buffer.byteLength;
    return buffer;
  }

  private give(sizeClass: number, buffer: ArrayBuffer): void {
    if (this.options.poison) new Uint8Array(buffer).fill(POISON_BYTE);
    if (this.retained + buffer.byteLength > this.options.retainBytes) return;
    let list = this.free.get(sizeClass);
    if (!list) this.free.set(sizeClass, (list = []));
    list.push(buffer);
    this.retained += buffer.byteLength;
  }
}
