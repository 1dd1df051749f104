// A bound on waits that happen outside any communicator (joining a world, farewell notices),
// where Health.watch cannot be used because there is nothing to poison.
import { timeoutError, type WebcclError } from '../errors.js';

export function withDeadline<T>(promise: Promise<T>, ms: number, onTimeout?: () => WebcclError): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(onTimeout ? onTimeout() : timeoutError(`no answer within ${ms} ms`)), ms);
    promise.then((value) => { clearTimeout(timer); resolve(value); }, (error: unknown) => { clearTimeout(timer); reject(error); });
  });
}
