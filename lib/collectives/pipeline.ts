// Runs independent chunk pipelines with a bounded number in flight. Pipelines of one call
// depend only on the same pipeline on other ranks, so any window size is deadlock-free; the
// window bounds memory held in transit and lets sending, receiving and reducing overlap.

/** Chunk pipelines a schedule keeps in flight unless configured otherwise (WEBCCL_PIPELINE_DEPTH). */
export const DEFAULT_PIPELINE_DEPTH = 4;

export async function runPipelines(count: number, depth: number, pipeline: (index: number) => Promise<void>): Promise<void> {
  // A small call is one pipeline: no window to keep.
  if (count === 1) return pipeline(0);
  let next = 0;
  let failed = false;
  // The first failure rejects at once (the caller then poisons the communicator, which
  // releases the pipelines still waiting on peers); no new pipeline starts after it.
  const worker = async (): Promise<void> => {
    while (next < count && !failed) {
      const index = next++;
      try {
        await pipeline(index);
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(count, Math.max(1, depth)) }, worker));
}

/**
 * The sends of one pipeline: a send starts only once all but `window - 1` of the sends before
 * it have finished (backpressure), while the pipeline goes on receiving and reducing. A window
 * of 1 runs them strictly one after the other; 2 lets a send start while the previous one still
 * waits for its completion (over shm by reference that is the receiver's ack, a round trip).
 * A failed send is reported by the next post or by drain, and is never left as an unhandled
 * rejection.
 */
export class SendQueue {
  /** Sends started and not yet awaited by a later post, oldest first (never more than window). */
  private readonly inFlight: Promise<void>[] = [];
  private failure: { error: unknown } | undefined;

  constructor(private readonly window = 1) {
    if (!Number.isInteger(window) || window < 1) throw new RangeError(`SendQueue: window ${window} is not a positive integer`);
  }

  async post(send: () => Promise<void>): Promise<void> {
    while (this.inFlight.length >= this.window) await this.inFlight.shift();
    if (this.failure) throw this.failure.error;
    this.inFlight.push(send().catch((error: unknown) => { this.failure ??= { error }; }));
  }

  async drain(): Promise<void> {
    while (this.inFlight.length > 0) await this.inFlight.shift();
    if (this.failure) throw this.failure.error;
  }
}
