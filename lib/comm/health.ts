// A communicator's health: the first failure poisons it, rejecting every pending wait and
// every later call, and every wait on a peer carries a deadline. This is what guarantees that
// no promise webccl returns can hang: whatever a call awaits from the outside goes through
// `watch`.
import { WebcclError } from '../errors.js';

export class Health {
  private failure: WebcclError | undefined;
  private readonly waiters = new Set<(error: WebcclError) => void>();
  private readonly listeners: ((error: WebcclError) => void)[] = [];

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
    for (const reject of [...this.waiters]) reject(error);
    this.waiters.clear();
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
      const settle = () => {
        clearTimeout(timer);
        this.waiters.delete(abandon);
      };
      const abandon = (error: WebcclError) => { settle(); reject(error); };
      const timer = setTimeout(() => this.fail(onTimeout()), this.timeoutMs);
      this.waiters.add(abandon);
      promise.then(
        (value) => { settle(); resolve(value); },
        (error: unknown) => { settle(); reject(error); },
      );
    });
  }
}
