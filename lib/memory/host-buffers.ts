// Host buffers (Communicator.allocHostBuffer): what every layer may ask about them without the
// native addon (this module is browser-safe). A freed buffer is detached, so any view of it
// reads 0 bytes; it is remembered here so that a call given such a view says it was freed
// rather than "detached".
import { invalidArgument, invalidUsage } from '../errors.js';

/** Allocates and frees host buffers in memory the ranks on one host can map (lib/transport/board.ts's BoardHost.hostBuffers). */
export interface HostBufferAllocator {
  /** An ArrayBuffer of `bytes` in a shared-memory segment of this process. */
  alloc(bytes: number): ArrayBuffer;
  /** Unmaps `buffer` and detaches it; throws while a call still uses it. */
  free(buffer: ArrayBuffer): void;
}

/** Live buffers of allocHostBuffer: whether in shared memory (the allocator's) or ordinary. */
const allocated = new WeakMap<ArrayBufferLike, 'shared' | 'ordinary'>();
/** Buffers allocated and not freed (collected ones included): while 0, a call holds nothing (holdHostBuffers' fast answer on every call). */
let unfreed = 0;
const freed = new WeakSet<ArrayBufferLike>();

export const FREED = 'its ArrayBuffer is a host buffer that was freed (freeHostBuffer)';

/** Whether `buffer` is a host buffer that freeHostBuffer freed. */
export function isFreedHostBuffer(buffer: ArrayBufferLike): boolean {
  return freed.has(buffer);
}

/**
 * A host buffer of `bytes` from `allocator`, or (none: a transport whose ranks share no memory,
 * or no addon) an ordinary ArrayBuffer that calls treat like any other (MPI_Alloc_mem's
 * fallback): code written for host buffers runs everywhere.
 */
export function allocHostBuffer(allocator: HostBufferAllocator | undefined, bytes: unknown): ArrayBuffer {
  if (typeof bytes !== 'number' || !Number.isSafeInteger(bytes) || bytes < 0) throw invalidArgument(`allocHostBuffer: ${String(bytes)} is not a non-negative integer byte count`);
  const buffer = allocator ? allocator.alloc(bytes) : new ArrayBuffer(bytes);
  allocated.set(buffer, allocator ? 'shared' : 'ordinary');
  unfreed++;
  return buffer;
}

/** Whether `buffer` is a live host buffer in shared memory (the allocator's), which the board's peers may read where it is. */
export function isSharedHostBuffer(buffer: ArrayBufferLike): boolean {
  return allocated.get(buffer) === 'shared';
}

/** Whether any host buffer is allocated and not freed: while not, no call has one to hold. */
export function hostBuffersAllocated(): boolean {
  return unfreed > 0;
}

/** Calls in flight per live host buffer (holdHostBuffers): freeHostBuffer refuses a buffer with any. */
const inFlight = new Map<ArrayBufferLike, number>();

/**
 * Marks the host buffers among a call's `buffers` in use until the returned release is called
 * (undefined: none is a host buffer), whatever path the call takes: the board's native code,
 * a transport's registered regions or a fused receive may write them until it settles.
 */
export function holdHostBuffers(buffers: readonly unknown[]): (() => void) | undefined {
  if (unfreed === 0) return undefined;
  const held = buffers.filter((buffer): buffer is ArrayBufferView => ArrayBuffer.isView(buffer) && allocated.has(buffer.buffer)).map((view) => view.buffer);
  if (held.length === 0) return undefined;
  for (const buffer of held) inFlight.set(buffer, (inFlight.get(buffer) ?? 0) + 1);
  let released = false;
  return () => {
    if (released) return;
    released = true;
    for (const buffer of held) {
      const left = inFlight.get(buffer)! - 1;
      if (left === 0) inFlight.delete(buffer);
      else inFlight.set(buffer, left);
    }
  };
}

/** Frees a buffer of allocHostBuffer (given as the ArrayBuffer or any view of it); every view of it reads 0 bytes after. */
export function freeHostBuffer(allocator: HostBufferAllocator | undefined, buffer: unknown): void {
  const raw = ArrayBuffer.isView(buffer) ? buffer.buffer : buffer;
  if (!(raw instanceof ArrayBuffer)) throw invalidArgument('freeHostBuffer: expected an ArrayBuffer of allocHostBuffer or a view of one');
  if (freed.has(raw)) throw invalidUsage('freeHostBuffer: the buffer was freed already');
  if (!allocated.has(raw)) throw invalidArgument('freeHostBuffer: not a buffer of allocHostBuffer');
  if (inFlight.has(raw)) throw invalidUsage('freeHostBuffer: the buffer is in use by a call in flight; free it once the call settled');
  try {
    // An ordinary ArrayBuffer is detached by transferring it nowhere.
    if (allocated.get(raw) === 'shared') allocator!.free(raw);
    else structuredClone(raw, { transfer: [raw] });
  } catch (error) {
    throw invalidUsage(`freeHostBuffer: ${error instanceof Error ? error.message : String(error)}`);
  }
  allocated.delete(raw);
  unfreed--;
  freed.add(raw);
}

