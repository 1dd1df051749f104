// groupStart/groupEnd bookkeeping: calls made inside a group are checked at once but run
// together when the outermost groupEnd is called (so that, e.g., every rank may send to its
// right and receive from its left without deadlock). Their promises settle when the group has
// run; they are marked handled because groupEnd reports the group's first error.
import type { WebcclError } from '../errors.js';
import type { CallPlan } from './plans.js';

export interface GroupEntry {
  readonly plan: CallPlan;
  readonly promise: Promise<void>;
  resolve(): void;
  reject(error: unknown): void;
}

export class PendingGroup {
  depth = 1;
  readonly entries: GroupEntry[] = [];
  /** The first invalid call: the whole group is then cancelled (it had no effect). */
  invalid: WebcclError | undefined;

  add(plan: CallPlan): Promise<void> {
    let resolve!: () => void;
    let reject!: (error: unknown) => void;
    const promise = new Promise<void>((yes, no) => { resolve = yes; reject = no; });
    promise.catch(() => undefined);
    this.entries.push({ plan, promise, resolve, reject });
    return promise;
  }
}

/** A rejected promise that will not be reported as unhandled (groupEnd reports it). */
export function handledRejection(error: unknown): Promise<void> {
  const promise = Promise.reject(error);
  promise.catch(() => undefined);
  return promise;
}
