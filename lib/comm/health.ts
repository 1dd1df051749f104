// A communicator's health: the first failure poisons it, rejecting every pending wait and
// every later call, and every wait on a peer carries a deadline. This is what guarantees that
// no promise webccl returns can hang: whatever a call awaits from the outside goes through
// `watch` (or `track`).
//
// Deadlines are kept by one timer per communicator, not one per wait: a small call makes a few
// waits, and arming and clearing a timer for each cost more than the rest of the call's
// bookkeeping (timer list inserts, libuv clock reads). Waits start in deadline order (one
// timeout for all), so the oldest pending wait is the next to expire; the timer fires at its
// deadline, and re-arms for the next oldest if that one has settled. While nothing is
// pending the timer is unreferenced, so an idle communicator does not keep the process alive.
//
// The pending waits are a doubly linked list, not a Set: a long-lived Set that every call adds
// to and deletes from rehashes into a new table every few calls, and V8 leaves each replaced
// table pointing at its successor and at the waits it held. Once one such table had been
// promoted to the old generation (dead, but a root for scavenges until the next full
// collection), every later table, its waits and their calls' objects survived each scavenge and
// were promoted in turn: 4 ntcp ranks' 8-byte allreduce promoted 0.7-0.8 MB a scavenge (16 KB
// with the list), and each scavenge took 3-10 ms (docs/PERFORMANCE.md, nepotism47). A settled
// wait leaves the list with its links cleared, so a dead one in the old generation holds nothing.
import { WebcclError } from '../errors.js';

/** A pending wait: when it expires, the error it then fails the communicator with, and how to reject it early. */
export interface Tracked {
  readonly deadline: number;
  readonly onTimeout: () => WebcclError;
  readonly reject: (error: WebcclError) => void;
}

/** A wait while it is pending: linked between the one tracked before it and the one after. */
class Wait implements Tracked {
  newer: Wait | undefined = undefined;
  linked = true;
  constructor(readonly deadline: number, readonly onTimeout: () => WebcclError, readonly reject: (error: WebcclError) => void, public older: Wait | undefined) {}
}

export class Health {
  private failure: WebcclError | undefined;
  /** The pending waits' ends; tracking order is deadline order. */
  private oldest: Wait | undefined;
  private newest: Wait | undefined;
  private readonly listeners: ((error: WebcclError) => void)[] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(readonly timeoutMs: number) {}

  get error(): WebcclError | undefined {
    return this.failure;
  }

  /** Throws the failure, if there was one. */
  check(): void {
    if (this.failure) throw this.failure;
  }

  /** Records the first failure and rejects everything pending with it. Later ones are ignored. */
  fail(error: WebcclError): boolean {
    if (this.failure) return false;
    this.failure = error;
    const pending: Wait[] = [];
    while (this.oldest) pending.push(this.unlink(this.oldest));
    clearTimeout(this.timer);
    this.timer = undefined;
    for (const wait of pending) wait.reject(error);
    for (const listener of this.listeners) listener(error);
    return true;
  }

  onFail(listener: (error: WebcclError) => void): void {
    this.listeners.push(listener);
  }

  /**
   * Settles as `promise` does, unless the communicator fails first or `timeoutMs` passes, in
   * which case the error `onTimeout` builds poisons the communicator (and is what we reject with).
   */
  watch<T>(promise: Promise<T>, onTimeout: () => WebcclError): Promise<T> {
    if (this.failure) {
      promise.catch(() => undefined);
      return Promise.reject(this.failure);
    }
    return new Promise<T>((resolve, reject) => {
      const wait = this.track(reject, onTimeout)!;
      promise.then(
        (value) => { this.settled(wait); resolve(value); },
        (error: unknown) => { this.settled(wait); reject(error); },
      );
    });
  }

  /**
   * `watch` for a wait whose promise the caller makes itself (no promise around a promise):
   * `reject` is called if the communicator fails or the deadline passes first, and the caller
   * calls `settled` when the wait ends otherwise. Returns undefined, having called `reject`
   * with the failure, if the communicator has failed already.
   */
  track(reject: (error: WebcclError) => void, onTimeout: () => WebcclError): Tracked | undefined {
    if (this.failure) {
      reject(this.failure);
      return undefined;
    }
    const wait = new Wait(performance.now() + this.timeoutMs, onTimeout, reject, this.newest);
    if (this.newest) this.newest.newer = wait;
    else this.oldest = wait;
    this.newest = wait;
    if (this.timer === undefined) this.timer = setTimeout(() => this.sweep(), this.timeoutMs);
    else if (wait === this.oldest) this.timer.ref?.();
    return wait;
  }

  /** The wait ended (resolved or rejected by its own source): its deadline no longer applies. */
  settled(wait: Tracked | undefined): void {
    if (!(wait instanceof Wait) || !wait.linked) return;
    this.unlink(wait);
    if (this.oldest === undefined) this.timer?.unref?.();
  }

  /** Takes `wait` out of the list and clears its links (see the header: no dead wait holds a live one). */
  private unlink(wait: Wait): Wait {
    const { older, newer } = wait;
    if (older) older.newer = newer;
    else this.oldest = newer;
    if (newer) newer.older = older;
    else this.newest = older;
    wait.older = wait.newer = undefined;
    wait.linked = false;
    return wait;
  }

  /** The timer fired: fail if the oldest wait has expired, else wait for it. */
  private sweep(): void {
    this.timer = undefined;
    const oldest = this.oldest;
    if (oldest === undefined) return;
    const left = oldest.deadline - performance.now();
    // Timers may fire a little early (they round to milliseconds): only a wait past its deadline fails.
    if (left <= 0) this.fail(oldest.onTimeout());
    else this.timer = setTimeout(() => this.sweep(), Math.ceil(left));
  }
}
