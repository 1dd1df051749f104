// Every await in the network tests goes through this, so that a bug shows up as a failed
// test naming what it waited for, never as a hung suite.
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout>;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`test timeout: ${what} did not settle within ${ms} ms`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

/** The error a promise rejects with (fails if it resolves or hangs). */
export async function rejection(promise: Promise<unknown>, ms: number, what: string): Promise<Error> {
  try {
    await within(promise, ms, what);
  } catch (error) {
    if ((error as Error).message.startsWith('test timeout:')) throw error;
    return error as Error;
  }
  throw new Error(`${what} resolved but should have rejected`);
}

/** Polls `done` every 5 ms until it holds; fails naming `what` after `ms` (and stops polling then). */
export async function until(done: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`test timeout: ${what} did not happen within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
