// A promise with a deadline, for waits that no communicator's health watch covers (joining a
// world, forming a mesh, farewell notices): rejects with a Timeout error whose message (or a
// whole error) is built only if the deadline passes, so it can name what is still missing then.
import { timeoutError, type WebcclError } from '../errors.js';

export async function withDeadline<T>(work: Promise<T>, ms: number, timedOut?: () => string | WebcclError): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const reason = timedOut?.() ?? `no answer within ${ms} ms`;
      reject(typeof reason === 'string' ? timeoutError(reason) : reason);
    }, ms);
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
