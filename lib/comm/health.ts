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
// The pending waits are a PendingList, not a Set (lib/pending-list.ts says why).
import { WebcclError } from '../errors.js';
import { PendingList, type PendingEntry } from '../pending-list.js';

/** A pending wait: when it expires, the error it then fails the communicator with, and how to reject it early. */
interface Wait {
  readonly deadline: number;
  readonly onTimeout: () => WebcclError;
  readonly reject: (error: WebcclError) => void;
}

/** What track returns and settled takes. */
export type Tracked = PendingEntry<Wait>;

export class Health {
  private failure: WebcclError | undefined;
  /** Tracking order is deadline order. */
  private readonly pending = new PendingList<Wait>();
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
    const pending = this.pending.drain();
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
    const wait = this.pending.add({ deadline: performance.now() + this.timeoutMs, onTimeout, reject });
    if (this.timer === undefined) this.timer = setTimeout(() => this.sweep(), this.timeoutMs);
    else if (this.pending.first === wait.item) this.timer.ref?.();
    return wait;
  }

  /** The wait ended (resolved or rejected by its own source): its deadline no longer applies. */
  settled(wait: Tracked | undefined): void {
    if (!this.pending.remove(wait)) return;
    if (this.pending.empty) this.timer?.unref?.();
  }

  /** The timer fired: fail if the oldest wait has expired, else wait for it. */
  private sweep(): void {
    this.timer = undefined;
    const oldest = this.pending.first;
    if (oldest === undefined) return;
    const left = oldest.deadline - performance.now();
    // Timers may fire a little early (they round to milliseconds): only a wait past its deadline fails.
    if (left <= 0) this.fail(oldest.onTimeout());
    else this.timer = setTimeout(() => this.sweep(), Math.ceil(left));
  }
}
