// A promise with a deadline: rejects with a Timeout error whose message is built only if the
// deadline passes (so it can name what is still missing at that moment).
import { timeoutError } from '../errors.js';

export async function withDeadline<T>(work: Promise<T>, ms: number, message: () => string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(timeoutError(message())), ms); });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
