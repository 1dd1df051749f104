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
 * The sends of one pipeline: each waits for the previous one to finish (backpressure), while
 * the pipeline goes on receiving and reducing. A failed send is reported by the next post or
 * by drain, and is never left as an unhandled rejection.
 */
export class SendQueue {
  private last: Promise<void> = Promise.resolve();
  private failure: { error: unknown } | undefined;

  async post(send: () => Promise<void>): Promise<void> {
    await this.last;
    if (this.failure) throw this.failure.error;
    this.last = send().catch((error: unknown) => { this.failure ??= { error }; });
  }

  async drain(): Promise<void> {
    await this.last;
    if (this.failure) throw this.failure.error;
  }
}
