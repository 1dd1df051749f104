// Error-feedback residuals of one communicator, one per key the caller names: a string
// ('layer3/kernel') or an object the caller holds (held weakly: when the caller drops it, the
// residual is freed too). A residual is `count` float32 values in the memory space of the
// call's buffers (on the GPU for GPUBuffers: encoding never moves it to the host), created
// zeroed on the key's first call. Cost: 4 bytes per element per key, on every rank.
// resetErrorFeedback() and destroy() free them.
import { invalidArgument } from '../errors.js';
import type { MemorySpace, Region, Scratch } from '../memory/memory.js';

/** Names an error-feedback residual: a non-empty string, or an object the caller keeps. */
export type FeedbackKey = string | object;

interface Entry {
  readonly space: MemorySpace;
  readonly count: number;
  readonly codec: string;
  readonly residual: Scratch;
}

export function checkFeedbackKey(what: string, key: unknown): asserts key is FeedbackKey | undefined {
  if (key === undefined) return;
  if ((typeof key === 'string' && key !== '') || (typeof key === 'object' && key !== null) || typeof key === 'function') return;
  throw invalidArgument(`${what}: errorFeedback ${typeof key === 'string' ? '""' : String(key)} is not a non-empty string or an object`);
}

function describe(key: FeedbackKey): string {
  return typeof key === 'string' ? `'${key}'` : 'the given object';
}

export class ErrorFeedback {
  private readonly named = new Map<string, Entry>();
  private readonly held = new WeakMap<object, Entry>();
  /** Every live entry, so that destroy() can free those of object keys too. */
  private readonly live = new Set<Entry>();
  /** Frees a residual whose object key the caller dropped. */
  private readonly collected = new FinalizationRegistry<Entry>((entry) => this.free(entry));

  private lookup(key: FeedbackKey): Entry | undefined {
    const entry = typeof key === 'string' ? this.named.get(key) : this.held.get(key);
    // reset() of every key leaves object keys mapped to freed entries (a WeakMap cannot be cleared).
    return entry && this.live.has(entry) ? entry : undefined;
  }

  /** Throws InvalidArgument (before the call is queued) if the key's residual was made for another call shape. */
  check(what: string, key: FeedbackKey, space: MemorySpace, count: number, codec: string): void {
    const entry = this.lookup(key);
    if (!entry) return;
    if (entry.count !== count || entry.space !== space || entry.codec !== codec) {
      throw invalidArgument(
        `${what}: errorFeedback ${describe(key)} holds the residual of ${entry.count} elements of '${entry.codec}' in ${entry.space.kind} memory,`
        + ` not ${count} of '${codec}' in ${space.kind} memory (use another key, or resetErrorFeedback(key) first)`,
      );
    }
  }

  /** The key's residual, created (zeroed) on first use. */
  residual(key: FeedbackKey, space: MemorySpace, count: number, codec: string): Region {
    const found = this.lookup(key);
    if (found) return found.residual.region;
    const entry: Entry = { space, count, codec, residual: space.residual(count) };
    this.live.add(entry);
    if (typeof key === 'string') this.named.set(key, entry);
    else {
      this.held.set(key, entry);
      this.collected.register(key, entry, entry);
    }
    return entry.residual.region;
  }

  /** The key's residual as it stands, if it has one. */
  find(key: FeedbackKey): { space: MemorySpace; region: Region; count: number } | undefined {
    const entry = this.lookup(key);
    return entry && { space: entry.space, region: entry.residual.region, count: entry.count };
  }

  /** Frees one key's residual, or every one. */
  reset(key?: FeedbackKey): void {
    if (key === undefined) {
      for (const entry of [...this.live]) this.free(entry);
      this.named.clear();
      return;
    }
    const entry = this.lookup(key);
    if (!entry) return;
    if (typeof key === 'string') this.named.delete(key);
    else this.held.delete(key);
    this.free(entry);
  }

  /** Residual elements held (for tests and diagnostics). */
  get elements(): number {
    let total = 0;
    for (const entry of this.live) total += entry.count;
    return total;
  }

  private free(entry: Entry): void {
    if (!this.live.delete(entry)) return;
    this.collected.unregister(entry);
    entry.residual.release();
  }
}
