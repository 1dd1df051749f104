// The server-side state of the store: keys to bytes, and callers waiting for keys to appear.
// Like torch's TCPStore: `add` keeps counters as decimal strings so `get` can read them too.
import { invalidUsage } from '../errors.js';

type Waiter = () => void;

export class KeyValueStore {
  private readonly values = new Map<string, Uint8Array>();
  private readonly waiters = new Map<string, Set<Waiter>>();

  set(key: string, value: Uint8Array): void {
    this.values.set(key, value);
    const waiting = this.waiters.get(key);
    this.waiters.delete(key);
    waiting?.forEach((wake) => wake());
  }

  get(key: string): Uint8Array | undefined {
    return this.values.get(key);
  }

  add(key: string, n: number): number {
    const current = this.values.get(key);
    const text = current === undefined ? '0' : new TextDecoder().decode(current);
    if (!/^-?\d+$/.test(text)) throw invalidUsage(`store add('${key}'): the value is not an integer counter`);
    const next = Number(text) + n;
    if (!Number.isSafeInteger(next)) throw invalidUsage(`store add('${key}'): ${text} + ${n} is not a safe integer`);
    this.set(key, new TextEncoder().encode(String(next)));
    return next;
  }

  /**
   * Calls `ready` once every key is present (at once if they already are). Returns a function
   * that cancels the wait, for callers that go away first.
   */
  whenPresent(keys: readonly string[], ready: () => void): () => void {
    const missing = keys.filter((key) => !this.values.has(key));
    if (missing.length === 0) {
      ready();
      return () => {};
    }
    const retry: Waiter = () => {
      cancel();
      cancel = this.whenPresent(keys, ready);
    };
    let cancel = () => missing.forEach((key) => this.waiters.get(key)?.delete(retry));
    for (const key of missing) {
      let set = this.waiters.get(key);
      if (!set) this.waiters.set(key, (set = new Set()));
      set.add(retry);
    }
    return () => cancel();
  }
}
